"""Who may do what: tokens, impersonation, operator-only and trust mode."""

from __future__ import annotations

from support import Server


async def test_calls_without_a_token_are_401_with_a_hint(server: Server) -> None:
    status, body = await server.request("GET", "/agents")

    assert status == 401
    assert body["error"]["code"] == "UNAUTHENTICATED"
    assert "Bearer" in body["error"]["message"]


async def test_an_unknown_token_is_401(server: Server) -> None:
    status, body = await server.request("GET", "/agents", token="envoy_not-a-real-token")

    assert status == 401
    assert body["error"]["code"] == "INVALID_TOKEN"


async def test_public_routes_need_no_token(server: Server) -> None:
    for path in ("/health", "/stats", "/openapi.json", "/"):
        status, _ = await server.request("GET", path)
        assert status == 200, path


async def test_a_child_needs_its_parents_token(server: Server) -> None:
    await server.register("parent")
    stranger = await server.register("stranger")

    status, body = await server.request(
        "POST", "/agents", {"name": "x", "kind": "k", "parent_id": "id1"}, token=stranger["token"]
    )
    anonymous_status, _ = await server.request(
        "POST", "/agents", {"name": "x", "kind": "k", "parent_id": "id1"}
    )

    assert status == 403
    assert body["error"]["code"] == "PERMISSION_DENIED"
    assert "id1" in body["error"]["message"]
    assert anonymous_status == 403


async def test_an_ancestor_or_the_operator_may_create_grandchildren(server: Server) -> None:
    root = await server.register("root")
    await server.register("child", parent_id="id1", token=root["token"])

    by_ancestor = await server.register("grandchild", parent_id="id1.1", token=root["token"])
    by_operator = await server.register("grandchild-2", parent_id="id1.1", token=server.operator_token)

    assert by_ancestor["agent_id"] == "id1.1.1"
    assert by_operator["agent_id"] == "id1.1.2"


async def test_agents_cannot_retire_each_other(server: Server) -> None:
    await server.register("victim")
    attacker = await server.register("attacker")

    status, body = await server.request("POST", "/agents/id1/retire", {}, token=attacker["token"])

    assert status == 403
    assert "id1" in body["error"]["message"]
    _, victim = await server.request("GET", "/agents/id1", token=attacker["token"])
    assert victim["lifecycle"] == "active"


async def test_a_child_cannot_retire_its_parent_but_the_parent_can_retire_the_child(server: Server) -> None:
    parent = await server.register("parent")
    child = await server.register("child", parent_id="id1", token=parent["token"])

    up_status, _ = await server.request("POST", "/agents/id1/retire", {}, token=child["token"])
    down_status, down = await server.request("POST", "/agents/id1.1/retire", {}, token=parent["token"])

    assert up_status == 403
    assert down_status == 200
    assert down["affected"] == ["id1.1"]


async def test_a_heartbeat_for_another_agent_is_refused(server: Server) -> None:
    await server.register("victim")
    attacker = await server.register("attacker")

    status, body = await server.request("POST", "/heartbeat", {"agent_id": "id1"}, token=attacker["token"])

    assert status == 403
    assert body["error"]["code"] == "PERMISSION_DENIED"


async def test_a_token_cannot_be_rotated_by_another_agent(server: Server) -> None:
    await server.register("victim")
    attacker = await server.register("attacker")

    status, _ = await server.request("POST", "/agents/id1/token", {}, token=attacker["token"])

    assert status == 403


async def test_the_operator_token_file_is_private(server: Server) -> None:
    mode = server.running.config.operator_token_path.stat().st_mode & 0o777

    assert mode == 0o600


async def test_the_operator_may_retire_anyone(server: Server) -> None:
    await server.register("worker")

    status, body = await server.request("POST", "/agents/id1/retire", {}, token=server.operator_token)

    assert status == 200
    assert body["affected"] == ["id1"]
