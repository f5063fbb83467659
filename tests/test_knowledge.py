"""Discoveries, context and handoffs over HTTP: the article's example, idempotent repeats, listing with
or without a target, pages, the context a new session reads, handoffs from creation to claim, and the
404s and 422s that name what was wrong."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import grpc
import pytest
from support import Server, auth

from envoy_grpc.gen.envoy.v1 import knowledge_pb2, knowledge_pb2_grpc


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


SEED = {
    "agent": "claude",
    "discovery_type": "Bug",
    "target": "evidence.rs",
    "metadata": {"file": "evidence.rs", "line": 547, "why": "record_session duplicates Session entities"},
}


async def discover(server: Server, token: str, **fields: Any) -> dict[str, Any]:
    status, created = await server.request("POST", "/atheneum/discoveries", {**SEED, **fields}, token=token)
    assert status == 201, created
    return dict(created)


async def handoff(server: Server, token: str, **fields: Any) -> dict[str, Any]:
    body = {"from_agent": "claude", "to_agent": "codex", "manifest": {"done": ["parser"]}, **fields}
    status, created = await server.request("POST", "/atheneum/handoffs", body, token=token)
    assert status == 201, created
    return dict(created)


async def test_seed_discovery_is_201_with_a_numeric_id(server: Server) -> None:
    agent = await server.register("claude-main")

    status, created = await server.request(
        "POST", "/atheneum/discoveries", {**SEED, "project_id": "envoy"}, token=agent["token"]
    )
    _, listed = await server.request("GET", "/atheneum/discoveries?target=evidence.rs", token=agent["token"])

    assert status == 201
    assert isinstance(created["discovery_id"], int) and created["discovery_id"] > 0
    assert (created["agent"], created["target"], created["discovery_type"]) == (
        "claude",
        "evidence.rs",
        "Bug",
    )
    assert created["project"] == "envoy" and created["session_id"] is None and created["is_new"] is True
    assert listed["target"] == "evidence.rs" and listed["discovery_count"] == 1
    stored = listed["discoveries"][0]
    assert stored["id"] == created["discovery_id"]
    assert stored["name"] == "claude: evidence.rs"
    assert stored["metadata"] == SEED["metadata"]
    assert stored["data"]["why"] == SEED["metadata"]["why"] and stored["data"]["line"] == 547
    assert stored["data"]["project_id"] == "envoy" and stored["data"]["agent"] == "claude"
    # The same instant; the API's Timestamp drops trailing zeros of the fraction, the stored form keeps six.
    assert instant(stored["data"]["timestamp"]) == instant(stored["created_at"])


async def test_the_article_example_in_trust_mode(server_factory: Any) -> None:
    server: Server = await server_factory(auth="trust")
    await server.register("claude-main")  # id1
    body = {
        "agent": "claude",
        "discovery_type": "Bug",
        "target": "query_sessions",
        "metadata": {"file": "evidence.rs", "line": 547, "why": "anonymous ? params required"},
    }

    status, created = await server.request(
        "POST", "/atheneum/discoveries", body, headers={"X-Agent-Id": "id1"}
    )

    assert status == 201
    assert type(created["discovery_id"]) is int
    assert (created["agent"], created["target"], created["discovery_type"]) == (
        "claude",
        "query_sessions",
        "Bug",
    )


async def test_identical_discovery_is_stored_once_and_answers_200(server: Server) -> None:
    agent = await server.register("claude-main")
    first = await discover(server, agent["token"])

    status, again = await server.request("POST", "/atheneum/discoveries", SEED, token=agent["token"])
    other = await discover(server, agent["token"], metadata={**SEED["metadata"], "line": 548})
    _, listed = await server.request("GET", "/atheneum/discoveries", token=agent["token"])

    assert status == 200
    assert again["discovery_id"] == first["discovery_id"] and again["is_new"] is False
    assert again["created_at"] == first["created_at"]
    assert other["discovery_id"] != first["discovery_id"]
    assert listed["discovery_count"] == 2


async def test_metadata_is_optional_and_fields_are_validated(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]
    bare = {"agent": "claude", "discovery_type": "Pattern", "target": "tool:grep"}

    ok_status, ok = await server.request("POST", "/atheneum/discoveries", bare, token=token)
    missing_status, missing = await server.request(
        "POST", "/atheneum/discoveries", {"agent": "claude"}, token=token
    )
    bad_type_status, bad_type = await server.request(
        "POST", "/atheneum/discoveries", {**bare, "discovery_type": "a bug!"}, token=token
    )
    long_status, long = await server.request(
        "POST", "/atheneum/discoveries", {**bare, "target": "x" * 1001}, token=token
    )
    wrong_status, wrong = await server.request(
        "POST", "/atheneum/discoveries", {**bare, "metadata": "not an object"}, token=token
    )

    assert ok_status == 201 and ok["discovery_id"] > 0
    assert missing_status == 422 and missing["error"]["code"] == "FIELD_REQUIRED"
    assert "discovery_type" in missing["error"]["message"] and "target" in missing["error"]["message"]
    assert bad_type_status == 400 and "discovery_type" in bad_type["error"]["message"]
    assert long_status == 400 and "target" in long["error"]["message"]
    assert wrong_status == 422 and "metadata" in wrong["error"]["message"]


async def test_session_links_and_unknown_sessions(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]
    body = {"session_id": "s-1", "agent": "claude", "project": "envoy"}
    assert (await server.request("POST", "/atheneum/sessions", body, token=token))[0] == 201

    linked = await discover(server, token, session_id="s-1")
    status, unknown = await server.request(
        "POST", "/atheneum/discoveries", {**SEED, "session_id": "nope"}, token=token
    )
    via_metadata = await discover(server, token, metadata={"session_id": "s-1", "why": "seen"})
    kept = await discover(server, token, metadata={"session_id": "gone", "why": "kept"})
    _, listed = await server.request("GET", "/atheneum/discoveries", token=token)

    assert linked["session_id"] == "s-1"
    assert status == 404 and unknown["error"]["code"] == "SESSION_NOT_FOUND"
    assert "session_id" in unknown["error"]["message"]
    assert via_metadata["session_id"] == "s-1"
    assert kept["session_id"] is None
    by_id = {d["id"]: d for d in listed["discoveries"]}
    assert by_id[kept["discovery_id"]]["session_id"] == "gone"
    assert by_id[kept["discovery_id"]]["data"]["session_id"] == "gone"


async def test_listing_filters_without_a_target_newest_first_in_pages(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]
    made = []
    for n in range(5):
        made.append(
            await discover(
                server,
                token,
                agent="claude" if n % 2 else "codex",
                discovery_type="Bug" if n < 3 else "Decision",
                target=f"src/{n % 2}.py",
                metadata={"n": n},
                project_id="envoy" if n != 4 else "other",
            )
        )
    ids = [m["discovery_id"] for m in made]

    async def listed(query: str) -> dict[str, Any]:
        status, body = await server.request("GET", f"/atheneum/discoveries?{query}", token=token)
        assert status == 200, body
        return dict(body)

    everything = await listed("")
    by_target = await listed("target=src/1.py")
    by_project = await listed("project=envoy")
    by_alias = await listed("project_id=other")
    by_type = await listed("discovery_type=Decision")
    by_agent = await listed("agent=codex&project=envoy")
    first = await listed("page_size=2")
    second = await listed(f"page_size=2&page_token={first['next_page_token']}")
    last = await listed(f"page_size=2&page_token={second['next_page_token']}")
    mixed_status, mixed = await server.request(
        "GET",
        f"/atheneum/discoveries?page_size=2&target=x&page_token={first['next_page_token']}",
        token=token,
    )
    negative_status, negative = await server.request("GET", "/atheneum/discoveries?page_size=-1", token=token)

    assert [d["id"] for d in everything["discoveries"]] == ids[::-1]
    assert everything["discovery_count"] == 5 and everything["target"] == ""
    assert [d["id"] for d in by_target["discoveries"]] == [ids[3], ids[1]]
    assert by_target["target"] == "src/1.py"
    assert [d["id"] for d in by_project["discoveries"]] == ids[3::-1]
    assert [d["id"] for d in by_alias["discoveries"]] == [ids[4]]
    assert [d["id"] for d in by_type["discoveries"]] == [ids[4], ids[3]]
    assert [d["id"] for d in by_agent["discoveries"]] == [ids[2], ids[0]]
    assert [d["id"] for d in first["discoveries"] + second["discoveries"] + last["discoveries"]] == ids[::-1]
    assert first["discovery_count"] == 5 and last["next_page_token"] == ""
    assert mixed_status == 400 and "page_token" in mixed["error"]["message"]
    assert negative_status == 400 and "page_size" in negative["error"]["message"]


async def test_context_is_newest_first_with_why_and_project_memories(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]
    old = await discover(server, token, project_id="envoy", metadata={"why": "old news"})
    await discover(server, token, project_id="other", metadata={"why": "elsewhere"})
    new = await discover(server, token, project_id="envoy", target="tool:cargo", metadata={"line": 1})
    nested = await discover(server, token, project_id="envoy", target="x", metadata={"metadata": {"why": 42}})
    memory = {
        "key": "style",
        "scope": "project",
        "project": "envoy",
        "content": "ruff, always",
        "confidence": 0.9,
    }
    assert (await server.request("POST", "/atheneum/memories", memory, token=token))[0] == 201

    status, context = await server.request("GET", "/atheneum/context?project=envoy&limit=2", token=token)
    _, everything = await server.request("GET", "/atheneum/context?project_id=envoy", token=token)
    _, unknown = await server.request("GET", "/atheneum/context?project=nobody", token=token)
    missing_status, missing = await server.request("GET", "/atheneum/context", token=token)
    negative_status, negative = await server.request(
        "GET", "/atheneum/context?project=envoy&limit=-1", token=token
    )

    assert status == 200 and context["project"] == "envoy"
    assert [i["discovery_id"] for i in context["items"]] == [nested["discovery_id"], new["discovery_id"]]
    assert context["items"][0]["why"] == "42" and context["items"][1]["why"] is None
    assert context["items"][1] == {
        "discovery_type": "Bug",
        "target": "tool:cargo",
        "why": None,
        "agent": "claude",
        "discovery_id": new["discovery_id"],
        "created_at": new["created_at"],
    }
    assert [i["why"] for i in everything["items"]][-1] == "old news"
    assert everything["items"][-1]["discovery_id"] == old["discovery_id"]
    assert [m["key"] for m in context["memories"]] == ["style"]
    assert unknown == {"project": "nobody", "items": [], "memories": []}
    assert missing_status == 422 and "project" in missing["error"]["message"]
    assert negative_status == 400 and "limit" in negative["error"]["message"]


async def test_handoffs_from_creation_to_claim(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]
    manifest = {"done": ["parser"], "left": {"next": "wire the lexer", "files": ["src/lex.rs"]}, "n": 3}
    first = await handoff(server, token, manifest=manifest, project_id="envoy")
    second = await handoff(server, token, project_id="other")
    third = await handoff(server, token, from_agent="codex", to_agent="gemini")

    _, pending = await server.request("GET", "/atheneum/handoffs/pending?agent=codex", token=token)
    _, pending_other = await server.request(
        "GET", "/atheneum/handoffs/pending?agent=codex&project=other", token=token
    )
    claim_status, claimed = await server.request(
        "POST", f"/atheneum/handoffs/{first['handoff_id']}/claim", {}, token=token
    )
    _, again = await server.request("POST", f"/atheneum/handoffs/{first['handoff_id']}/claim", token=token)
    _, next_pending = await server.request("GET", "/atheneum/handoffs/pending?agent=codex", token=token)
    _, nobody = await server.request("GET", "/atheneum/handoffs/pending?agent=nobody", token=token)
    _, recent = await server.request("GET", "/atheneum/handoffs/recent", token=token)
    _, by_agent = await server.request("GET", "/atheneum/handoffs/recent?agent=codex&limit=5", token=token)
    _, by_project = await server.request("GET", "/atheneum/handoffs/recent?project=envoy", token=token)

    assert first["project"] == "envoy" and third["project"] is None
    assert isinstance(first["handoff_id"], int)
    assert pending["handoff"]["id"] == first["handoff_id"]
    assert pending["handoff"]["manifest"] == manifest
    assert pending["handoff"]["name"] == "handoff:claude:codex"
    assert pending["handoff"]["claimed"] is False and pending["handoff"]["claimed_at"] is None
    assert pending_other["handoff"]["id"] == second["handoff_id"]
    assert claim_status == 200 and claimed["claimed"] is True and claimed["handoff_id"] == first["handoff_id"]
    assert again["claimed_at"] == claimed["claimed_at"]
    assert next_pending["handoff"]["id"] == second["handoff_id"]
    assert nobody == {"handoff": None}
    assert recent["count"] == 3
    assert [h["id"] for h in recent["handoffs"]] == [
        third["handoff_id"],
        second["handoff_id"],
        first["handoff_id"],
    ]
    assert (
        recent["handoffs"][2]["claimed"] is True
        and recent["handoffs"][2]["claimed_at"] == claimed["claimed_at"]
    )
    assert [h["id"] for h in by_agent["handoffs"]] == [
        third["handoff_id"],
        second["handoff_id"],
        first["handoff_id"],
    ]
    assert [h["id"] for h in by_project["handoffs"]] == [first["handoff_id"]]


async def test_handoff_errors_name_the_field(server: Server) -> None:
    token = (await server.register("claude-main"))["token"]

    missing_status, missing = await server.request(
        "POST", "/atheneum/handoffs", {"from_agent": "a"}, token=token
    )
    unknown_status, unknown = await server.request("POST", "/atheneum/handoffs/999/claim", token=token)
    pending_status, pending = await server.request("GET", "/atheneum/handoffs/pending", token=token)
    limit_status, limit = await server.request("GET", "/atheneum/handoffs/recent?limit=-2", token=token)
    stub = knowledge_pb2_grpc.KnowledgeServiceStub(server.channel)
    big = knowledge_pb2.CreateHandoffRequest(from_agent="a", to_agent="b")
    big.manifest.update({"blob": "x" * (1024 * 1024)})
    with pytest.raises(grpc.aio.AioRpcError) as too_big:
        await stub.CreateHandoff(big, metadata=auth(token))

    assert missing_status == 422
    assert "to_agent" in missing["error"]["message"] and "manifest" in missing["error"]["message"]
    assert unknown_status == 404 and unknown["error"]["code"] == "HANDOFF_NOT_FOUND"
    assert pending_status == 422 and "agent" in pending["error"]["message"]
    assert limit_status == 400 and "limit" in limit["error"]["message"]
    assert too_big.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "manifest" in (too_big.value.details() or "") and "1 MiB" in (too_big.value.details() or "")


async def test_knowledge_needs_a_token(server: Server) -> None:
    status, body = await server.request("GET", "/atheneum/discoveries")

    assert status == 401
    assert body["error"]["code"] == "UNAUTHENTICATED"
