"""Memories over HTTP and gRPC: upsert by scope, owner and key (201 then 200, same ID and created_at),
provenance defaulting to the caller, scopes that refuse the wrong owner, lists, pages, get and delete."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from support import Server, auth

from envoy_grpc.gen.envoy.v1 import knowledge_pb2 as pb
from envoy_grpc.gen.envoy.v1 import knowledge_pb2_grpc


async def remember(server: Server, token: str, status: int = 201, **fields: Any) -> dict[str, Any]:
    body = {
        "key": "style",
        "scope": "project",
        "project": "envoy",
        "content": "ruff format, line 110",
        **fields,
    }
    got, memory = await server.request("POST", "/atheneum/memories", body, token=token)
    assert got == status, memory
    return dict(memory)


async def test_upsert_creates_then_replaces_keeping_id_and_created_at(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]

    first = await remember(server, token, confidence=0.5, target="pyproject.toml")
    second = await remember(
        server,
        token,
        status=200,
        content="ruff format, line 120",
        provenance={"agent": "claude", "session_id": "s-9", "tool_use_id": "toolu_1"},
    )
    status, fetched = await server.request("GET", f"/atheneum/memories/{first['id']}", token=token)

    assert first["scope"] == "project" and first["project"] == "envoy" and first["agent"] is None
    assert first["confidence"] == 0.5 and first["target"] == "pyproject.toml"
    assert first["provenance"] == {"agent": agent["agent_id"], "session_id": "", "tool_use_id": ""}
    assert first["created_at"] == first["updated_at"]
    assert second["id"] == first["id"] and second["created_at"] == first["created_at"]
    assert second["updated_at"] > first["updated_at"]
    assert second["content"] == "ruff format, line 120"
    assert second["confidence"] == 1.0 and second["target"] is None
    assert second["provenance"] == {"agent": "claude", "session_id": "s-9", "tool_use_id": "toolu_1"}
    assert status == 200 and fetched == second


async def test_scopes_are_separate_and_refuse_the_wrong_owner(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]
    user = await remember(server, token, scope="user", project="", content="prefers tabs")
    mine = await remember(server, token, scope="agent", project="", agent="claude", content="mine")
    theirs = await remember(server, token, scope="agent", project="", agent="codex", content="theirs")
    envoy = await remember(server, token)
    other = await remember(server, token, project_id="other")

    cases = {
        "project-without-project": {"scope": "project", "project": ""},
        "project-with-agent": {"scope": "project", "agent": "claude"},
        "agent-without-agent": {"scope": "agent", "project": ""},
        "user-with-project": {"scope": "user"},
        "bad-confidence": {"confidence": 1.5},
        "empty-target": {"target": ""},
        "long-key": {"key": "k" * 201},
        "bad-scope": {"scope": "galaxy"},
    }
    answers = {}
    for name, fields in cases.items():
        body = {"key": "style", "scope": "project", "project": "envoy", "content": "x", **fields}
        answers[name] = await server.request("POST", "/atheneum/memories", body, token=token)
    missing_status, missing = await server.request(
        "POST", "/atheneum/memories", {"content": "x"}, token=token
    )

    assert len({user["id"], mine["id"], theirs["id"], envoy["id"], other["id"]}) == 5
    assert user["project"] is None and user["agent"] is None
    assert (mine["agent"], theirs["agent"]) == ("claude", "codex")
    assert other["project"] == "other"
    expected_field = {
        "project-without-project": "project",
        "project-with-agent": "agent",
        "agent-without-agent": "agent",
        "user-with-project": "project",
        "bad-confidence": "confidence",
        "empty-target": "target",
        "long-key": "key",
        "bad-scope": "scope",
    }
    for name, (status, body) in answers.items():
        assert status in (400, 422), (name, body)
        assert body["error"]["message"].startswith(expected_field[name]) or expected_field[name] in str(
            body["error"]["details"]
        ), (name, body)
    assert missing_status == 422
    assert "key" in missing["error"]["message"] and "scope" in missing["error"]["message"]


async def test_list_filters_and_pages_most_recent_first(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]
    made = [
        await remember(server, token, key=f"k{n}", target="a.py" if n % 2 else None, project_id=f"p{n % 2}")
        for n in range(5)
    ]
    agent_note = await remember(server, token, scope="agent", project="", agent="claude", key="k1")
    touched = await remember(server, token, status=200, key="k0", project="p0", content="again")

    async def listed(query: str) -> list[int]:
        status, body = await server.request("GET", f"/atheneum/memories?{query}", token=token)
        assert status == 200, body
        return [m["id"] for m in body["memories"]]

    ids = [m["id"] for m in made]
    assert await listed("") == [touched["id"], agent_note["id"], ids[4], ids[3], ids[2], ids[1]]
    assert await listed("scope=project&project=p1") == [ids[3], ids[1]]
    assert await listed("project_id=p0") == [touched["id"], ids[4], ids[2]]
    assert await listed("agent=claude") == [agent_note["id"]]
    assert await listed("key=k1") == [agent_note["id"], ids[1]]
    assert await listed("target=a.py") == [ids[3], ids[1]]
    assert await listed("scope=agent") == [agent_note["id"]]
    assert await listed("project=p0&agent=claude") == []
    _, first = await server.request("GET", "/atheneum/memories?page_size=4", token=token)
    _, rest = await server.request(
        "GET", f"/atheneum/memories?page_size=4&page_token={first['next_page_token']}", token=token
    )
    assert [m["id"] for m in first["memories"] + rest["memories"]] == await listed("")
    assert rest["next_page_token"] == ""


async def test_get_and_delete_by_id_or_key(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]
    one = await remember(server, token)
    two = await remember(server, token, scope="agent", project="", agent="claude", key="note")

    missing_status, missing = await server.request("GET", "/atheneum/memories/9999", token=token)
    deleted_status, deleted = await server.request("DELETE", f"/atheneum/memories/{one['id']}", token=token)
    gone_status, gone = await server.request("GET", f"/atheneum/memories/{one['id']}", token=token)
    again_status, again = await server.request("DELETE", f"/atheneum/memories/{one['id']}", token=token)
    tolerated_status, tolerated = await server.request(
        "DELETE", f"/atheneum/memories/{one['id']}?allow_missing=true", token=token
    )
    by_key_status, by_key = await server.request(
        "DELETE", "/atheneum/memories?key=note&scope=agent&agent=claude", token=token
    )
    no_owner_status, no_owner = await server.request(
        "DELETE", "/atheneum/memories?key=note&scope=agent", token=token
    )
    nothing_status, nothing = await server.request("DELETE", "/atheneum/memories", token=token)

    assert missing_status == 404 and missing["error"]["code"] == "MEMORY_NOT_FOUND"
    assert "memory_id" in missing["error"]["message"]
    assert deleted_status == 200 and deleted == {"memory_id": one["id"], "deleted": True}
    assert gone_status == 404 and gone["error"]["code"] == "MEMORY_NOT_FOUND"
    assert again_status == 404 and again["error"]["code"] == "MEMORY_NOT_FOUND"
    assert tolerated_status == 200 and tolerated == {"memory_id": 0, "deleted": False}
    assert by_key_status == 200 and by_key == {"memory_id": two["id"], "deleted": True}
    assert no_owner_status == 422 and "agent" in no_owner["error"]["message"]
    assert nothing_status == 400 and "memory_id" in nothing["error"]["message"]


async def test_grpc_upsert_says_existing_in_metadata(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]
    stub = knowledge_pb2_grpc.KnowledgeServiceStub(server.channel)
    request = pb.UpsertMemoryRequest(key="k", scope=pb.MEMORY_SCOPE_USER, content="c", confidence=0.25)

    first = stub.UpsertMemory(request, metadata=auth(token))
    created = await first
    second = stub.UpsertMemory(request, metadata=auth(token))
    replaced = await second
    with pytest.raises(grpc.aio.AioRpcError) as unscoped:
        await stub.UpsertMemory(pb.UpsertMemoryRequest(key="k", content="c"), metadata=auth(token))

    assert created.id == replaced.id and created.confidence == 0.25
    assert ("envoy-existing", "true") not in tuple(await first.trailing_metadata() or ())
    assert ("envoy-existing", "true") in tuple(await second.trailing_metadata() or ())
    assert unscoped.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "scope" in (unscoped.value.details() or "")
