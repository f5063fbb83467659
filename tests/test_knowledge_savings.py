"""GetKnowledge: what is known about a target, and the token-savings estimate of knowledge.proto's
TokenSavings on hand-built evidence whose answer is worked out by hand below."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from support import Server

from envoy_grpc.core.knowledge_savings import knowledge_tokens, rounded_mean, token_savings

TARGET = "/home/ada/envoy/src/parser.rs"


def test_the_formula_on_the_proto_example() -> None:
    # U = 3, F = 1,200, K = 150: without 3,600, with min(3,600, 1,200 + 2 * 150) = 1,500.
    savings = token_savings(unique_agents=3, file_tokens=1200, knowledge=150, recorded_reads=2)

    assert (savings.without_sharing, savings.with_sharing, savings.saved) == (3600, 1500, 2100)
    assert savings.percentage_reduction == 58.3


def test_the_formula_at_its_edges() -> None:
    nobody = token_savings(unique_agents=0, file_tokens=0, knowledge=0, recorded_reads=0)
    alone = token_savings(unique_agents=1, file_tokens=800, knowledge=50, recorded_reads=1)
    bulky = token_savings(unique_agents=2, file_tokens=10, knowledge=100, recorded_reads=1)
    unread = token_savings(unique_agents=4, file_tokens=0, knowledge=30, recorded_reads=0)
    half = token_savings(unique_agents=8, file_tokens=1, knowledge=0, recorded_reads=8)

    assert (nobody.without_sharing, nobody.with_sharing, nobody.saved, nobody.percentage_reduction) == (
        0,
        0,
        0,
        0.0,
    )
    assert (alone.without_sharing, alone.with_sharing, alone.saved) == (800, 800, 0)
    assert (bulky.without_sharing, bulky.with_sharing, bulky.saved, bulky.percentage_reduction) == (
        20,
        20,
        0,
        0.0,
    )
    assert (unread.without_sharing, unread.with_sharing, unread.saved) == (0, 0, 0)
    assert (half.saved, half.percentage_reduction) == (7, 87.5)
    assert [rounded_mean(3, 2), rounded_mean(5, 2), rounded_mean(4, 3), rounded_mean(0, 0)] == [2, 3, 1, 0]
    assert [knowledge_tokens(0), knowledge_tokens(597), knowledge_tokens(600), knowledge_tokens(601)] == [
        0,
        150,
        150,
        151,
    ]


async def post(server: Server, token: str, path: str, body: dict[str, Any], status: int = 200) -> Any:
    got, answer = await server.request("POST", path, body, token=token)
    assert got == status, answer
    return answer


async def read(server: Server, token: str, session_id: str, tool: str, **fields: Any) -> None:
    body = {
        "session_id": session_id,
        "tool_name": tool,
        "exit_status": "success",
        "file_paths": [TARGET],
        **fields,
    }
    await post(server, token, "/atheneum/tool-calls", body)


async def knowledge(server: Server, token: str, **params: Any) -> dict[str, Any]:
    status, body = await server.request(
        "GET", f"/atheneum/knowledge?{urllib.parse.urlencode({'target': TARGET, **params})}", token=token
    )
    assert status == 200, body
    return dict(body)


async def test_savings_on_a_hand_built_case(server: Server) -> None:
    """Two agents read the file, a third wrote a 597-byte memory about it:

    - reads: alice 1,000 and 1,400 tokens, bob one read without an estimate (bob's Edit of the file
      and alice's Bash call are not reads): recorded_reads 3, F = (1,000 + 1,400) / 2 = 1,200;
    - K = ceil(597 / 4) = 150 (the memory: 100 * "é", 2 bytes each, and 397 * "x");
    - U = {alice, bob, carol} = 3;
    - without_sharing 3 * 1,200 = 3,600; with_sharing min(3,600, 1,200 + 2 * 150) = 1,500;
      saved 2,100; percentage_reduction 100 * 2,100 / 3,600 = 58.33… → 58.3.
    """
    token = (await server.register("operator-side"))["token"]
    for session_id, agent in (("s-alice", "alice"), ("s-bob", "bob")):
        body = {"session_id": session_id, "agent": agent, "project": "envoy"}
        await post(server, token, "/atheneum/sessions", body, 201)
    await read(server, token, "s-alice", "Read", input_tokens_est=1000, tool_category="file_read")
    await read(server, token, "s-alice", "Read", input_tokens_est=1400)
    await read(server, token, "s-bob", "Read")
    await read(server, token, "s-bob", "Edit", input_tokens_est=99_999, tool_category="file_write")
    await post(
        server,
        token,
        "/atheneum/tool-calls",
        {"session_id": "s-alice", "tool_name": "Bash", "exit_status": "success", "input_tokens_est": 5},
    )
    content = "é" * 100 + "x" * 397
    assert len(content.encode()) == 597
    memory = {
        "key": "parser",
        "scope": "user",
        "content": content,
        "target": TARGET,
        "provenance": {"agent": "carol"},
    }
    await post(server, token, "/atheneum/memories", memory, 201)
    await server.running.knowledge.catch_up()

    found = await knowledge(server, token)

    assert found["token_savings"] == {
        "unique_agents": 3,
        "estimated_file_tokens": 1200,
        "without_sharing": 3600,
        "with_sharing": 1500,
        "saved": 2100,
        "percentage_reduction": 58.3,
        "knowledge_tokens": 150,
        "recorded_reads": 3,
    }
    assert (found["memory_count"], found["discovery_count"], found["handoff_count"]) == (1, 0, 0)
    assert found["total_entities"] == 1 and found["target"] == TARGET and found["project"] is None


def compact_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


async def test_knowledge_sizes_and_project_filter(server: Server) -> None:
    """K counts a discovery's `data` and a handoff's `manifest` as compact UTF-8 JSON; the project
    filter narrows the records, the reads and the agents."""
    token = (await server.register("worker"))["token"]
    await post(
        server, token, "/atheneum/sessions", {"session_id": "s-1", "agent": "alice", "project": "envoy"}, 201
    )
    await post(
        server, token, "/atheneum/sessions", {"session_id": "s-2", "agent": "zed", "project": "other"}, 201
    )
    await read(server, token, "s-1", "Read", input_tokens_est=2000)
    await read(server, token, "s-2", "Read", input_tokens_est=10)
    discovery = {
        "agent": "bob",
        "discovery_type": "Bug",
        "target": TARGET,
        "project_id": "envoy",
        "metadata": {"line": 547, "why": "naïve recursion"},
    }
    await post(server, token, "/atheneum/discoveries", discovery, 201)
    manifest = {"files": [TARGET], "left": "tokenizer → parser"}
    await post(
        server,
        token,
        "/atheneum/handoffs",
        {"from_agent": "carol", "to_agent": "dan", "manifest": manifest, "project_id": "envoy"},
        201,
    )
    await post(
        server,
        token,
        "/atheneum/handoffs",
        {"from_agent": "erin", "to_agent": "dan", "manifest": {"elsewhere": "nothing about it"}},
        201,
    )
    await server.running.knowledge.catch_up()

    everything = await knowledge(server, token)
    envoy = await knowledge(server, token, project="envoy", limit=1)
    nothing = await knowledge(server, token, target="never/recorded.rs")
    missing_status, missing = await server.request("GET", "/atheneum/knowledge", token=token)
    negative_status, negative = await server.request(
        "GET", f"/atheneum/knowledge?target={TARGET}&limit=-1", token=token
    )

    size = compact_size(envoy["discoveries"][0]["data"]) + compact_size(manifest)
    k = -(-size // 4)
    assert envoy["token_savings"]["knowledge_tokens"] == k
    # envoy: U = {alice, bob, carol}, F = 2,000: with min(6,000, 2,000 + 2 * K).
    assert envoy["token_savings"]["unique_agents"] == 3
    assert envoy["token_savings"]["estimated_file_tokens"] == 2000
    assert envoy["token_savings"]["with_sharing"] == min(6000, 2000 + 2 * k)
    assert envoy["token_savings"]["recorded_reads"] == 1
    assert envoy["project"] == "envoy"
    assert (envoy["discovery_count"], envoy["handoff_count"], envoy["memory_count"]) == (1, 1, 0)
    assert everything["token_savings"]["unique_agents"] == 4  # zed read it in another project
    assert everything["token_savings"]["estimated_file_tokens"] == 1005
    assert everything["token_savings"]["recorded_reads"] == 2
    assert [h["from_agent"] for h in everything["handoffs"]] == ["carol"]
    assert nothing["total_entities"] == 0 and nothing["token_savings"]["saved"] == 0
    assert nothing["discoveries"] == [] and nothing["handoffs"] == [] and nothing["memories"] == []
    assert missing_status == 422 and "target" in missing["error"]["message"]
    assert negative_status == 400 and "limit" in negative["error"]["message"]


async def test_knowledge_lists_are_limited_but_counts_cover_everything(server: Server) -> None:
    token = (await server.register("worker"))["token"]
    for n in range(3):
        body = {"agent": f"a{n}", "discovery_type": "Note", "target": TARGET, "metadata": {"n": n}}
        await post(server, token, "/atheneum/discoveries", body, 201)

    limited = await knowledge(server, token, limit=2)

    assert limited["discovery_count"] == 3 and len(limited["discoveries"]) == 2
    assert [d["agent"] for d in limited["discoveries"]] == ["a2", "a1"]
    assert limited["token_savings"]["unique_agents"] == 3
