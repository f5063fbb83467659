"""Bad input over HTTP: each mistake gets the right status and a message naming the problem."""

from __future__ import annotations

import io

from support import Server


def violations(body: dict[str, object]) -> list[dict[str, str]]:
    for detail in body["error"]["details"]:  # type: ignore[index]
        if detail["@type"].endswith("BadRequest"):
            return list(detail["fieldViolations"])
    return []


async def test_malformed_json_is_400(server: Server) -> None:
    status, body = await server.request("POST", "/agents", raw=b'{"name": "x",')

    assert status == 400
    assert body["error"]["code"] == "MALFORMED_JSON"
    assert "line 1" in body["error"]["message"]


async def test_a_body_that_is_not_an_object_is_400(server: Server) -> None:
    status, body = await server.request("POST", "/agents", raw=b'["name"]')

    assert status == 400
    assert "JSON object" in body["error"]["message"]


async def test_invalid_utf8_is_400(server: Server) -> None:
    status, body = await server.request("POST", "/agents", raw=b'{"name": "\xff\xfe"}')

    assert status == 400
    assert body["error"]["code"] == "MALFORMED_JSON"


async def test_missing_fields_are_422_and_each_is_named(server: Server) -> None:
    status, body = await server.request("POST", "/agents", {"kind": "claude"})

    assert status == 422
    assert body["error"]["code"] == "FIELD_REQUIRED"
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    assert body["error"]["message"] == "missing required field: name"
    assert violations(body) == [{"field": "name", "description": "is required"}]


async def test_blank_strings_count_as_missing(server: Server) -> None:
    status, body = await server.request("POST", "/agents", {"name": "   ", "kind": ""})

    assert status == 422
    assert [v["field"] for v in violations(body)] == ["name", "kind"]


async def test_a_mistyped_field_is_422_and_says_what_was_expected(server: Server) -> None:
    status, body = await server.request("POST", "/agents", {"name": ["x"], "kind": "claude"})

    assert status == 422
    assert body["error"]["code"] == "FIELD_TYPE"
    assert body["error"]["message"] == "name: expected a string, got an array"


async def test_a_mistyped_nested_field_names_its_path(server: Server) -> None:
    agent = await server.register("worker")

    status, body = await server.request(
        "POST", "/heartbeat", {"status": {"working_on": 5}}, token=agent["token"]
    )

    assert status == 422
    assert violations(body)[0]["field"] == "status.working_on"


async def test_unknown_json_fields_are_ignored(server: Server) -> None:
    status, agent = await server.request(
        "POST", "/agents", {"name": "a", "kind": "b", "capabilities": ["x"], "version": 3}
    )

    assert status == 201
    assert agent["agent_id"] == "id1"


async def test_too_long_a_name_is_400_with_the_limit(server: Server) -> None:
    status, body = await server.request("POST", "/agents", {"name": "n" * 201, "kind": "claude"})

    assert status == 400
    assert "at most 200" in body["error"]["message"]
    assert violations(body)[0]["field"] == "name"


async def test_an_unknown_agent_is_404_naming_it(server: Server) -> None:
    agent = await server.register("worker")

    status, body = await server.request("GET", "/agents/id42", token=agent["token"])

    assert status == 404
    assert body["error"]["code"] == "AGENT_NOT_FOUND"
    assert "id42" in body["error"]["message"]


async def test_an_unknown_parent_is_404(server: Server) -> None:
    status, body = await server.request(
        "POST", "/agents", {"name": "x", "kind": "y", "parent_id": "id7"}, token=server.operator_token
    )

    assert status == 404
    assert body["error"]["code"] == "AGENT_NOT_FOUND"
    assert "parent_id" in body["error"]["message"]


async def test_a_retired_parent_is_409_agent_offline(server: Server) -> None:
    parent = await server.register("parent")
    await server.request("POST", "/agents/id1/retire", {}, token=parent["token"])

    status, body = await server.request(
        "POST", "/agents", {"name": "x", "kind": "y", "parent_id": "id1"}, token=server.operator_token
    )

    assert status == 409
    assert body["error"]["code"] == "AGENT_OFFLINE"


async def test_an_oversize_body_is_413(server: Server) -> None:
    huge = io.BytesIO(b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}')

    status, body = await server.request("POST", "/agents", raw=huge)

    assert status == 413
    assert body["error"]["code"] == "BODY_TOO_LARGE"
    assert "1048576" in body["error"]["message"]


async def test_an_unknown_route_is_404_and_a_wrong_method_is_405(server: Server) -> None:
    missing_status, missing = await server.request("GET", "/no/such/thing")
    wrong_status, wrong = await server.request("PUT", "/agents")

    assert missing_status == 404
    assert missing["error"]["code"] == "NO_ROUTE"
    assert wrong_status == 405
    assert "POST" in wrong["error"]["message"]


async def test_every_error_has_the_same_shape(server: Server) -> None:
    agent = await server.register("worker")
    cases = [
        ("GET", "/agents", None, None),
        ("GET", "/agents/id9", None, agent["token"]),
        ("POST", "/agents", {}, None),
        ("GET", "/nowhere", None, None),
    ]
    for method, path, body, token in cases:
        status, error = await server.request(method, path, body, token=token)
        assert status >= 400
        assert set(error) == {"error"}
        assert set(error["error"]) == {"code", "message", "status", "details"}
        assert error["error"]["code"].isupper()


async def test_a_token_with_characters_no_token_has_is_401_not_500(server: Server) -> None:
    status, body = await server.request("GET", "/agents", headers={"authorization": "Bearer tok\u00e9n"})

    assert status == 401
    assert body["error"]["code"] == "INVALID_TOKEN"


async def test_a_very_long_query_string_gets_the_json_error_shape(server: Server) -> None:
    agent = await server.register("worker")

    status, body = await server.request("GET", "/atheneum/search?q=" + "word " * 3000, token=agent["token"])

    assert status == 400
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    assert "q" in body["error"]["message"]
