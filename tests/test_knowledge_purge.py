"""PurgeData: operator only; a dry run counts exactly what a purge then deletes; a project's or an
agent's records, search documents and graph entities go, other projects' and shared ones stay; a
repeat deletes nothing; the purge itself is audited."""

from __future__ import annotations

import urllib.parse
from typing import Any

from support import Server


async def post(server: Server, token: str, path: str, body: dict[str, Any], status: int = 201) -> Any:
    got, answer = await server.request("POST", path, body, token=token)
    assert got == status, answer
    return answer


async def hits(server: Server, token: str, q: str) -> list[tuple[str, str]]:
    _, found = await server.request(
        "GET", f"/atheneum/search?{urllib.parse.urlencode({'q': q, 'k': 50})}", token=token
    )
    return sorted((r["kind"], r["name"]) for r in found["results"])


def session_records(session_id: str, agent: str, project: str) -> list[tuple[str, dict[str, Any], int]]:
    """(path, body, expected status) of a session with a prompt, a read, a handover and a discovery."""
    sid = {"session_id": session_id}
    return [
        ("/atheneum/sessions", {**sid, "agent": agent, "project": project}, 201),
        (
            "/atheneum/prompts",
            {**sid, "role": "user", "input_hash": "h", "input_summary": "find the quokka"},
            200,
        ),
        (
            "/atheneum/tool-calls",
            {**sid, "tool_name": "Read", "exit_status": "success", "file_paths": ["/q"]},
            200,
        ),
        (f"/atheneum/sessions/{session_id}/handover", {"summary": "quokka found"}, 200),
        (
            "/atheneum/discoveries",
            {
                **sid,
                "agent": agent,
                "discovery_type": "Note",
                "target": "/q",
                "metadata": {"why": "quokka"},
                "project_id": project,
            },
            201,
        ),
    ]


async def seed(server: Server, token: str) -> dict[str, Any]:
    """Project envoy: alice's session with evidence, a discovery, a memory, a handoff. Project other:
    bob's session and discovery, and a memory bob wrote. Every text says "quokka"."""
    records = [
        *session_records("s-1", "alice", "envoy"),
        *session_records("s-2", "bob", "other"),
        # bob's test run names alice's commit: purging envoy must unlink it, not fail on the foreign key.
        (
            "/atheneum/commits",
            {
                "session_id": "s-1",
                "commit_sha": "abc123",
                "message": "m",
                "author": "a",
                "commit_type": "fix",
            },
            200,
        ),
        (
            "/atheneum/test-runs",
            {"session_id": "s-2", "test_name": "t", "result": "passed", "commit_sha": "abc123"},
            200,
        ),
        (
            "/atheneum/memories",
            {
                "key": "k",
                "scope": "project",
                "project": "envoy",
                "content": "quokka facts",
                "provenance": {"agent": "alice"},
            },
            201,
        ),
        (
            "/atheneum/memories",
            {"key": "k", "scope": "user", "content": "quokka by bob", "provenance": {"agent": "bob"}},
            201,
        ),
        (
            "/atheneum/handoffs",
            {"from_agent": "alice", "to_agent": "bob", "manifest": {"note": "quokka"}, "project_id": "envoy"},
            201,
        ),
    ]
    answers = [await post(server, token, path, body, status) for path, body, status in records]
    await server.running.knowledge.catch_up()
    await server.running.graph.catch_up()
    return {"envoy": answers[4], "other": answers[9], "memory": answers[12], "bobs_memory": answers[13]}


async def test_purge_is_operator_only_and_names_its_subject(server: Server) -> None:
    agent = await server.register("alice")

    denied_status, denied = await server.request(
        "POST", "/atheneum/purge", {"project": "envoy"}, token=agent["token"]
    )
    neither_status, neither = await server.request("POST", "/atheneum/purge", {}, token=server.operator_token)
    both_status, both = await server.request(
        "POST", "/atheneum/purge", {"project": "envoy", "agent": "alice"}, token=server.operator_token
    )
    audit_status, audit = await server.request(
        "POST", "/atheneum/purge", {"project": "_envoy_audit"}, token=server.operator_token
    )

    assert denied_status == 403 and denied["error"]["code"] == "OPERATOR_ONLY"
    assert neither_status == 400 and neither["error"]["message"].startswith("project:")
    assert both_status == 400 and both["error"]["message"].startswith("project:")
    assert audit_status == 400 and "audit log" in audit["error"]["message"]


async def test_project_purge_removes_records_documents_and_entities(server: Server) -> None:
    token = (await server.register("alice"))["token"]
    made = await seed(server, token)
    before = await hits(server, token, "quokka")
    _, stats_before = await server.request("GET", "/atheneum/graph/stats", token=token)

    dry = await post(
        server, server.operator_token, "/atheneum/purge", {"project_id": "envoy", "dry_run": True}, 200
    )
    unchanged = await hits(server, token, "quokka")
    _, done = await server.request(
        "POST", "/atheneum/purge", {"project": "envoy"}, token=server.operator_token
    )
    after = await hits(server, token, "quokka")
    _, again = await server.request(
        "POST", "/atheneum/purge", {"project": "envoy"}, token=server.operator_token
    )
    session_status, _ = await server.request("GET", "/atheneum/sessions/s-1", token=token)
    kept_status, _ = await server.request("GET", "/atheneum/sessions/s-2", token=token)
    gone_status, _ = await server.request(
        "GET", f"/atheneum/graph/entities/{made['envoy']['discovery_id']}", token=token
    )
    other_status, _ = await server.request(
        "GET", f"/atheneum/graph/entities/{made['other']['discovery_id']}", token=token
    )
    _, listed = await server.request("GET", "/atheneum/discoveries?project=envoy", token=token)
    _, stats_after = await server.request("GET", "/atheneum/graph/stats", token=token)
    _, audit = await server.request("GET", "/audit?operation=data_purged", token=server.operator_token)

    assert dry["dry_run"] is True and dry["deleted_entities"] > 0 and dry["deleted_edges"] > 0
    assert unchanged == before
    assert {k: done[k] for k in ("deleted_entities", "deleted_edges", "deleted_documents")} == {
        k: dry[k] for k in ("deleted_entities", "deleted_edges", "deleted_documents")
    }
    assert done["dry_run"] is False
    # Session, Handover, Discovery, Memory and Handoff documents of envoy.
    assert done["deleted_documents"] == 5
    assert stats_before["total_entities"] - stats_after["total_entities"] == done["deleted_entities"]
    assert stats_before["total_edges"] - stats_after["total_edges"] == done["deleted_edges"]
    assert after == sorted(
        h
        for h in before
        if h
        not in {
            ("Discovery", "alice: /q"),
            ("Memory", "project:envoy:k"),
            ("Handoff", "handoff:alice:bob"),
            ("Session", "s-1"),
        }
        and not h[1].startswith("s-1:")
    )
    assert ("Discovery", "bob: /q") in after and ("Session", "s-2") in after
    assert again == {"deleted_entities": 0, "deleted_edges": 0, "deleted_documents": 0, "dry_run": False}
    assert (session_status, kept_status, gone_status, other_status) == (404, 200, 404, 200)
    assert listed["discovery_count"] == 0
    assert audit["events"][0]["data"]["project"] == "envoy"


async def test_agent_purge_takes_what_the_agent_ran_recorded_and_wrote(server: Server) -> None:
    token = (await server.register("alice"))["token"]
    made = await seed(server, token)

    _, done = await server.request("POST", "/atheneum/purge", {"agent": "bob"}, token=server.operator_token)
    after = await hits(server, token, "quokka")
    _, handoffs = await server.request("GET", "/atheneum/handoffs/recent", token=token)
    memory_status, _ = await server.request(
        "GET", f"/atheneum/memories/{made['bobs_memory']['id']}", token=token
    )
    kept_status, _ = await server.request("GET", f"/atheneum/memories/{made['memory']['id']}", token=token)

    assert done["deleted_documents"] == 5  # bob's session, handover, discovery, memory; the handoff to bob
    assert {kind for kind, name in after} == {"Discovery", "Memory", "Session", "Handover"}
    assert ("Discovery", "alice: /q") in after and ("Session", "s-1") in after
    assert ("Session", "s-2") not in after and ("Discovery", "bob: /q") not in after
    assert handoffs["count"] == 0
    assert (memory_status, kept_status) == (404, 200)
