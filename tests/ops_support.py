"""A server with one of everything, for the backup, export and restore tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from support import Server

SESSION = "sess-ops-1"


@dataclass
class Populated:
    """What `populate` created: tokens by agent ID and how many records of each export kind."""

    tokens: dict[str, str]
    counts: dict[str, int]
    message_ids: list[str] = field(default_factory=list)


async def post(server: Server, path: str, body: Any, token: str, expect: int = 201) -> Any:
    status, answer = await server.request("POST", path, body, token=token)
    assert status in (expect, 200), (path, status, answer)
    return answer


async def populate(server: Server) -> Populated:
    """Agents (one a child), three messages (one acked), a session with its evidence, knowledge, a
    lease and a task: every kind the export writes about, through the public API."""
    alice = await server.register("alice")
    bob = await server.register("bob")
    child = await server.register("alice-sub", parent_id=alice["agent_id"], token=alice["token"])
    tokens = {a["agent_id"]: a["token"] for a in (alice, bob, child)}
    a, b = alice["token"], bob["token"]
    sent = [
        await post(server, "/messages", {"to": "id2", "parts": [{"text": f"note {n} about the parser"}]}, a)
        for n in range(3)
    ]
    await post(server, f"/messages/{sent[0]['message_id']}/ack", {}, b, expect=200)
    await post(server, "/atheneum/sessions", {"session_id": SESSION, "agent": "alice", "project": "envoy"}, a)
    await post(
        server,
        "/atheneum/prompts",
        {"session_id": SESSION, "role": "user", "input_hash": "h1"},
        a,
        expect=200,
    )
    tool_call = {"session_id": SESSION, "tool_name": "Edit", "exit_status": "success", "file_paths": ["a.py"]}
    await post(server, "/atheneum/tool-calls", tool_call, a, expect=200)
    await post(server, "/atheneum/file-writes", {"session_id": SESSION, "file_path": "a.py"}, a, expect=200)
    test_run = {"session_id": SESSION, "test_name": "test_parser", "result": "pass"}
    await post(server, "/atheneum/test-runs", test_run, a, expect=200)
    await post(server, f"/atheneum/sessions/{SESSION}/handover", {"summary": "parser split"}, a, expect=200)
    discovery = {
        "agent": "alice",
        "discovery_type": "Bug",
        "target": "tokenizer",
        "metadata": {"why": "quadratic backtracking in the tokenizer"},
    }
    await post(server, "/atheneum/discoveries", discovery, a)
    memory = {
        "key": "style",
        "scope": "project",
        "project": "envoy",
        "content": "ruff, always",
        "confidence": 0.9,
    }
    await post(server, "/atheneum/memories", memory, a)
    handoff = {"from_agent": "alice", "to_agent": "bob", "manifest": {"done": ["parser"]}}
    await post(server, "/atheneum/handoffs", handoff, a)
    await post(server, "/leases", {"project": "envoy", "path": "src/parser.py", "reason": "split"}, a)
    await post(server, "/tasks/propose", {"project": "envoy", "description": "write the schema"}, a)
    counts = {
        "agent": 3,
        "message": 3,
        "session": 1,
        "prompt": 1,
        "tool_call": 1,
        "file_write": 1,
        "test_run": 1,
        "handover": 1,
        "discovery": 1,
        "memory": 1,
        "handoff": 1,
        "lease": 1,
        "task": 1,
    }
    return Populated(tokens, counts, [m["message_id"] for m in sent])
