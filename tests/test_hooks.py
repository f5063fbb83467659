"""The Claude Code hook adapter: whole sessions replayed through POST /hooks/claude and `envoy-grpc hook`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

import hook_payloads as hooks
from support import Server

SID = "5f0c2a9e-1111-4222-8333-944455556666"


def hook_token(server: Server) -> str:
    return (server.running.config.data_dir / "hook.token").read_text().strip()


async def fire(server: Server, payload: dict[str, Any]) -> dict[str, Any]:
    status, output = await server.request("POST", "/hooks/claude", payload, token=hook_token(server))
    assert status == 200, output
    return dict(output)


async def replay(server: Server, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [await fire(server, payload) for payload in payloads]


async def sessions(server: Server) -> dict[str, dict[str, Any]]:
    status, found = await server.request(
        "GET", "/atheneum/sessions?project=envoy&last=50", token=server.operator_token
    )
    assert status == 200
    return {s["session_id"]: s for s in found}


async def check_whole_session(server: Server) -> None:
    """What a replayed whole_session must have left behind."""
    recorded = await sessions(server)
    main, first, second = SID, f"{SID}.a1b2c3d4", f"{SID}.e5f6a7b8"
    assert set(recorded) == {main, first, second}
    assert (recorded[main]["tool_call_count"], recorded[main]["file_write_count"]) == (4, 2)
    assert (recorded[first]["tool_call_count"], recorded[first]["file_write_count"]) == (2, 1)
    assert (recorded[second]["tool_call_count"], recorded[second]["file_write_count"]) == (2, 1)
    assert recorded[main]["last_tool"] == "Edit"
    assert recorded[first]["parent_session_id"] == main
    assert all(s["ended_at"] is not None for s in recorded.values())
    assert recorded[main]["exit_status"] == "prompt_input_exit"

    _, agents = await server.request("GET", "/agents?lifecycle=retired", token=server.operator_token)
    assert [(a["agent_id"], a["name"]) for a in agents["agents"]] == [
        ("id1", "claude-5f0c2a9e"),
        ("id1.1", "a1b2c3d4"),
        ("id1.2", "e5f6a7b8"),
    ]

    _, detail_a = await server.request("GET", f"/atheneum/sessions/{first}", token=server.operator_token)
    _, detail_b = await server.request("GET", f"/atheneum/sessions/{second}", token=server.operator_token)
    handover_a, handover_b = detail_a["handovers"][0], detail_b["handovers"][0]
    assert handover_a["verified"] is True
    assert handover_a["to_agent"] == "id1"
    assert handover_a["files_changed"] == ["src/helpers.py"]
    assert handover_b["verified"] is False
    assert any("failed" in reason for reason in handover_b["verification_reasons"])

    _, history = await server.request(
        "GET", "/atheneum/files/history?path=src/login.py&project=envoy", token=server.operator_token
    )
    changes = history["changes"]
    assert [c["write"]["tool_use_id"] for c in changes] == ["toolu_04", "toolu_21", "toolu_02"]
    assert [c["agent_id"] for c in changes] == ["id1", "id1.2", "id1"]
    assert changes[0]["prompt"]["input_summary"] == "Revert the second change"
    assert changes[1]["handover"]["verified"] is False


async def test_a_whole_session_with_two_subagents_through_the_http_hook(server: Server) -> None:
    outputs = await replay(server, hooks.whole_session(SID))

    await check_whole_session(server)
    start_context = outputs[0]["hookSpecificOutput"]["additionalContext"]
    assert "you are agent id1" in start_context
    # The parent hears about each handover at its next hook that can show messages.
    revert_prompt = outputs[13]["hookSpecificOutput"]["additionalContext"]
    assert "Subagent id1.1 handed back (verified)" in revert_prompt
    assert "Subagent id1.2 handed back (NOT verified" in revert_prompt


async def test_a_whole_session_through_the_command_hook(server: Server) -> None:
    env = {
        **os.environ,
        "ENVOY_URL": server.base_url,
        "ENVOY_HOME": str(server.running.config.data_dir),
    }

    def run(payload: dict[str, Any]) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "envoy_grpc", "hook"],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=True,
        )
        return done.stdout

    outputs = [await asyncio.to_thread(run, payload) for payload in hooks.whole_session(SID)]

    await check_whole_session(server)
    assert "you are agent id1" in json.loads(outputs[0])["hookSpecificOutput"]["additionalContext"]


async def test_a_message_appears_in_the_next_hook_response_exactly_once(server: Server) -> None:
    await fire(server, hooks.session_start(SID))
    sender = await server.register("reviewer")
    await server.request(
        "POST",
        "/messages",
        {"to": "id1", "parts": [{"text": "please rebase on main"}]},
        token=sender["token"],
    )

    first = await fire(server, hooks.bash(SID, "ls", "a b", "toolu_1"))
    second = await fire(server, hooks.bash(SID, "ls", "a b", "toolu_2"))

    context = first["hookSpecificOutput"]["additionalContext"]
    assert "please rebase on main" in context
    assert "from id2" in context
    assert second == {}
    _, deliveries = await server.request("GET", "/messages/1/deliveries", token=sender["token"])
    delivery = deliveries["deliveries"][0]
    assert delivery["state"] == "acked"
    assert delivery["surfaced_at"] is not None


async def test_a_message_that_needs_an_ack_is_surfaced_again_after_the_ack_wait(server_factory: Any) -> None:
    server: Server = await server_factory(ack_wait=0.4)
    await fire(server, hooks.session_start(SID))
    sender = await server.register("reviewer")
    await server.request(
        "POST",
        "/messages",
        {"to": "id1", "parts": [{"text": "confirm the deploy"}], "require_ack": True},
        token=sender["token"],
    )

    first = await fire(server, hooks.prompt(SID, "go"))
    soon = await fire(server, hooks.prompt(SID, "go on"))
    await asyncio.sleep(0.5)
    later = await fire(server, hooks.prompt(SID, "and?"))
    await server.request("POST", "/messages/1/ack", {"agent_id": "id1"}, token=server.operator_token)
    await asyncio.sleep(0.5)
    after_ack = await fire(server, hooks.prompt(SID, "done"))

    assert "confirm the deploy" in first["hookSpecificOutput"]["additionalContext"]
    assert "needs an ack" in first["hookSpecificOutput"]["additionalContext"]
    assert soon == {}
    assert "confirm the deploy" in later["hookSpecificOutput"]["additionalContext"]
    assert after_ack == {}


async def test_an_urgent_message_keeps_stop_from_ending_the_turn_once(server: Server) -> None:
    await fire(server, hooks.session_start(SID))
    sender = await server.register("lead")
    await server.request(
        "POST",
        "/messages",
        {"to": "id1", "parts": [{"text": "STOP: prod is down"}], "urgent": True},
        token=sender["token"],
    )

    blocked = await fire(server, hooks.stop(SID))
    again = await fire(server, hooks.stop(SID, active=True))

    assert blocked["decision"] == "block"
    assert "prod is down" in blocked["reason"]
    assert again == {}


async def test_hooks_need_the_hook_token(server: Server) -> None:
    agent = await server.register("sneaky")

    no_token, _ = await server.request("POST", "/hooks/claude", hooks.session_start(SID))
    agent_token, body = await server.request(
        "POST", "/hooks/claude", hooks.session_start(SID), token=agent["token"]
    )
    missing, missing_body = await server.request(
        "POST", "/hooks/claude", {"hook_event_name": "Stop"}, token=hook_token(server)
    )

    assert no_token == 401
    assert agent_token == 403
    assert body["error"]["code"] == "HOOK_TOKEN_REQUIRED"
    assert missing == 422
    assert "payload.session_id" in missing_body["error"]["message"]


async def test_unknown_events_and_fields_are_ignored(server: Server) -> None:
    await fire(server, hooks.session_start(SID))

    output = await fire(server, {**hooks.base("TeammateIdle", SID), "extra": {"nested": [1, 2]}})
    tool = await fire(server, {**hooks.bash(SID, "echo hi", "hi", "toolu_9"), "new_field_2027": True})

    assert output == {}
    assert tool == {}
    recorded = await sessions(server)
    assert recorded[SID]["tool_call_count"] == 1


async def test_a_resumed_session_keeps_its_agent(server: Server) -> None:
    first = await fire(server, hooks.session_start(SID))
    await fire(server, hooks.stop(SID))
    resumed = await fire(server, hooks.session_start(SID, source="resume"))

    assert "you are agent id1" in first["hookSpecificOutput"]["additionalContext"]
    assert "you are agent id1" in resumed["hookSpecificOutput"]["additionalContext"]
    recorded = await sessions(server)
    assert recorded[SID]["ended_at"] is None


async def test_twenty_sessions_at_once_lose_nothing(server: Server) -> None:
    ids = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(20)]

    async def one_session(session_id: str) -> None:
        await fire(server, hooks.session_start(session_id))
        await asyncio.gather(
            *(fire(server, hooks.bash(session_id, f"echo {n}", str(n), f"toolu_{n}")) for n in range(10))
        )
        await fire(server, hooks.session_end(session_id))

    await asyncio.gather(*(one_session(s) for s in ids))

    recorded = await sessions(server)
    assert sorted(recorded) == sorted(ids)
    assert all(s["tool_call_count"] == 10 for s in recorded.values())
    assert all(s["ended_at"] is not None for s in recorded.values())


async def test_file_reads_through_hooks_feed_the_token_savings_estimate(server: Server) -> None:
    await fire(server, hooks.session_start(SID))
    content = {"type": "text", "file": {"filePath": "src/login.py", "content": "x" * 4000}}
    await fire(server, hooks.post_tool(SID, "Read", {"file_path": "src/login.py"}, content, "toolu_r1"))
    await server.running.knowledge.catch_up()  # reads reach the knowledge index within a second

    status, knowledge = await server.request(
        "GET", "/atheneum/knowledge?target=src/login.py&project=envoy", token=server.operator_token
    )

    assert status == 200
    savings = knowledge["token_savings"]
    assert savings["recorded_reads"] == 1
    assert savings["estimated_file_tokens"] == (len(json.dumps(content).encode()) + 3) // 4
