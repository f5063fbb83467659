"""Codex and Cursor sessions replayed through POST /hooks/codex and /hooks/cursor, read back through the
SessionService HTTP API: the same records a Claude Code session leaves, under codex-/cursor- agents."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import harness_payloads as hp
from support import Server

CODEX_SID = "019a3c1e-7b2d-7c11-9f00-5d2e8a4b6c70"
CURSOR_CID = "b7e4c2a1-3d5f-4e6a-8b9c-0d1e2f3a4b5c"


def hook_token(server: Server) -> str:
    return (server.running.config.data_dir / "hook.token").read_text().strip()


async def fire(server: Server, harness: str, payload: dict[str, Any]) -> dict[str, Any]:
    status, output = await server.request("POST", f"/hooks/{harness}", payload, token=hook_token(server))
    assert status == 200, output
    return dict(output)


async def session(server: Server, project: str, session_id: str) -> dict[str, Any]:
    status, found = await server.request(
        "GET", f"/atheneum/sessions?project={project}&last=50", token=server.operator_token
    )
    assert status == 200, found
    return {s["session_id"]: s for s in found}[session_id]  # type: ignore[no-any-return]


async def history(server: Server, path: str, project: str) -> list[dict[str, Any]]:
    status, found = await server.request(
        "GET", f"/atheneum/files/history?path={path}&project={project}", token=server.operator_token
    )
    assert status == 200, found
    return list(found["changes"])


async def send(server: Server, to: str, text: str, urgent: bool = False) -> None:
    sender = await server.register("lead")
    status, body = await server.request(
        "POST", "/messages", {"to": to, "parts": [{"text": text}], "urgent": urgent}, token=sender["token"]
    )
    assert status in (200, 201), body


# --- Codex ---------------------------------------------------------------------------------------------


async def test_a_codex_session_records_prompts_tool_calls_patch_writes_and_test_runs(server: Server) -> None:
    outputs = [await fire(server, "codex", payload) for payload in hp.codex_session(CODEX_SID)]

    recorded = await session(server, "shop", CODEX_SID)
    assert (recorded["tool"], recorded["agent"], recorded["agent_id"]) == ("codex", "codex", "id1")
    assert recorded["model"] == "gpt-5.1-codex"
    # turn-1's prompt once (UserPromptSubmit; its notify does not repeat it), turn-2's from its notify.
    assert recorded["prompt_count"] == 2
    assert (recorded["tool_call_count"], recorded["file_write_count"], recorded["test_run_count"]) == (
        2,
        3,
        1,
    )
    assert recorded["ended_at"] is not None and recorded["exit_status"] == "stop"
    _, agent = await server.request("GET", "/agents/id1", token=server.operator_token)
    assert (agent["name"], agent["kind"]) == ("codex-019a3c1e", "codex")

    assert "you are agent id1" in outputs[0]["hookSpecificOutput"]["additionalContext"]
    assert outputs[2] == outputs[4] == outputs[5] == {}  # PreToolUse and PermissionRequest leave it to Codex


async def test_who_changed_a_file_names_the_codex_patch_and_its_prompt(server: Server) -> None:
    for payload in hp.codex_session(CODEX_SID):
        await fire(server, "codex", payload)

    checkout = await history(server, "src/cart/checkout.py", "shop")
    added = await history(server, "src/cart/discount.py", "shop")
    deleted = await history(server, "src/cart/legacy_discount.py", "shop")

    (change,) = checkout
    assert change["agent_id"] == "id1"
    assert change["write"]["write_type"] == "edit"
    assert change["tool_call"]["tool_use_id"] == "call_a2"
    assert change["tool_call"]["tool_name"] == "apply_patch"
    assert change["prompt"]["input_summary"] == "Add a discount to checkout and keep the tests green"
    assert [c["write"]["write_type"] for c in added + deleted] == ["create", "delete"]


async def test_the_codex_shell_tool_is_recorded_as_bash_with_its_command_line(server: Server) -> None:
    for payload in hp.codex_session(CODEX_SID)[:4]:
        await fire(server, "codex", payload)

    _, detail = await server.request("GET", f"/atheneum/sessions/{CODEX_SID}", token=server.operator_token)
    (call,) = detail["tool_calls"]
    assert call["payload"]["tool_name"] == "Bash"
    assert call["payload"]["input_summary"] == "pytest -q tests/test_cart.py"


async def test_codex_notify_alone_records_the_turn_and_ends_it(server: Server) -> None:
    notify = hp.codex_notify(CODEX_SID, "turn-9", ["first", "Summarise the open PRs"], "Three PRs are open.")

    output = await fire(server, "codex", notify)

    assert output == {}
    recorded = await session(server, "shop", CODEX_SID)
    assert recorded["prompt_count"] == 1 and recorded["exit_status"] == "stop"
    _, detail = await server.request("GET", f"/atheneum/sessions/{CODEX_SID}", token=server.operator_token)
    prompts = [e for e in detail["events"] if e["event_type"] == "prompt"]
    assert prompts and prompts[0]["payload"]["input_summary"] == "Summarise the open PRs"


async def test_an_urgent_message_keeps_a_codex_stop_from_ending_the_turn(server: Server) -> None:
    await fire(server, "codex", hp.codex("SessionStart", CODEX_SID, source="startup"))
    await send(server, "id1", "STOP: the release branch is frozen", urgent=True)

    blocked = await fire(server, "codex", hp.codex("Stop", CODEX_SID, "t1", stop_hook_active=False))
    again = await fire(server, "codex", hp.codex("Stop", CODEX_SID, "t1", stop_hook_active=True))

    assert blocked["decision"] == "block" and "release branch is frozen" in blocked["reason"]
    assert again == {}


# --- Cursor --------------------------------------------------------------------------------------------


async def test_a_cursor_turn_records_the_prompt_shell_runs_edits_reads_and_mcp_calls(server: Server) -> None:
    outputs = [await fire(server, "cursor", payload) for payload in hp.cursor_session(CURSOR_CID)]

    recorded = await session(server, "storefront", CURSOR_CID)
    assert (recorded["tool"], recorded["agent_id"], recorded["model"]) == (
        "cursor",
        "id1",
        "claude-4.5-sonnet",
    )
    assert recorded["prompt_count"] == 1
    # Read, Bash (vitest), Edit, Bash (pytest), MCP:search_issues; only pytest is a known test command.
    assert (recorded["tool_call_count"], recorded["file_write_count"], recorded["test_run_count"]) == (
        5,
        1,
        1,
    )
    assert recorded["ended_at"] is not None and recorded["last_tool"] == "MCP:search_issues"
    _, agent = await server.request("GET", "/agents/id1", token=server.operator_token)
    assert (agent["name"], agent["kind"]) == ("cursor-b7e4c2a1", "cursor")

    events = [p["hook_event_name"] for p in hp.cursor_session(CURSOR_CID)]
    answers = dict(zip(events, outputs, strict=True))
    assert answers["beforeSubmitPrompt"] == {"continue": True}
    assert answers["beforeShellExecution"] == answers["beforeMCPExecution"] == {"permission": "allow"}
    assert answers["beforeReadFile"] == {"permission": "allow"}
    assert answers["afterShellExecution"] == answers["afterFileEdit"] == answers["afterAgentResponse"] == {}
    assert answers["stop"] == {}


async def test_who_changed_a_file_names_the_cursor_edit_and_its_prompt(server: Server) -> None:
    for payload in hp.cursor_session(CURSOR_CID):
        await fire(server, "cursor", payload)

    (change,) = await history(server, "src/pricing.ts", "storefront")

    assert change["agent_id"] == "id1"
    assert change["write"]["write_type"] == "edit"
    assert change["tool_call"]["tool_name"] == "Edit"
    assert change["prompt"]["input_summary"] == "Round prices to cents in pricing.ts"


async def test_a_repeated_cursor_payload_is_recorded_once(server: Server) -> None:
    edit = hp.cursor_session(CURSOR_CID)[4]

    await fire(server, "cursor", edit)
    await fire(server, "cursor", edit)

    recorded = await session(server, "storefront", CURSOR_CID)
    assert (recorded["tool_call_count"], recorded["file_write_count"]) == (1, 1)


async def test_an_urgent_message_becomes_cursors_followup_message_once(server: Server) -> None:
    await fire(server, "cursor", hp.cursor("beforeSubmitPrompt", CURSOR_CID, prompt="go"))
    await send(server, "id1", "STOP: prod is down, roll back pricing", urgent=True)

    first = await fire(server, "cursor", hp.cursor("stop", CURSOR_CID, status="completed", loop_count=0))
    after_followup = await fire(
        server, "cursor", hp.cursor("stop", CURSOR_CID, status="completed", loop_count=1)
    )

    assert "prod is down" in first["followup_message"]
    assert after_followup == {}
    assert (await session(server, "storefront", CURSOR_CID))["exit_status"] == "stop"


async def test_cursor_shows_messages_only_where_the_agent_can_read_them(server: Server) -> None:
    start = await fire(server, "cursor", hp.cursor("sessionStart", CURSOR_CID))
    await send(server, "id1", "please rebase on main")

    prompt = await fire(server, "cursor", hp.cursor("beforeSubmitPrompt", CURSOR_CID, prompt="go"))
    shell = await fire(
        server, "cursor", hp.cursor("afterShellExecution", CURSOR_CID, command="ls", output="a")
    )
    grep = await fire(
        server,
        "cursor",
        hp.cursor(
            "postToolUse", CURSOR_CID, tool_name="Grep", tool_input={"pattern": "price"}, tool_output="3"
        ),
    )
    covered = await fire(
        server,
        "cursor",
        hp.cursor(
            "postToolUse", CURSOR_CID, tool_name="Shell", tool_input={"command": "ls"}, tool_output="a"
        ),
    )

    assert "you are agent id1" in start["additional_context"]
    assert prompt == {"continue": True} and shell == {}  # Cursor would not show these to the agent
    assert "please rebase on main" in grep["additional_context"]
    assert covered == {}  # surfaced once, and the Shell call is not counted again
    recorded = await session(server, "storefront", CURSOR_CID)
    assert recorded["tool_call_count"] == 2  # ls (afterShellExecution) and Grep (postToolUse)


# --- both ----------------------------------------------------------------------------------------------


async def test_bad_payloads_name_the_harnesss_own_field(server: Server) -> None:
    token = hook_token(server)
    cursor_payload = {**hp.cursor("stop", CURSOR_CID), "conversation_id": None}
    notify = {**hp.codex_notify(CODEX_SID, "t", ["x"], "y")}
    del notify["thread-id"]

    cursor_status, cursor_body = await server.request("POST", "/hooks/cursor", cursor_payload, token=token)
    notify_status, notify_body = await server.request("POST", "/hooks/codex", notify, token=token)
    hook_status, hook_body = await server.request(
        "POST", "/hooks/codex", {"hook_event_name": "Stop"}, token=token
    )

    assert (cursor_status, notify_status, hook_status) == (422, 422, 422)
    assert "payload.conversation_id" in cursor_body["error"]["message"]
    assert "payload.thread-id" in notify_body["error"]["message"]
    assert "payload.session_id" in hook_body["error"]["message"]


async def test_codex_and_cursor_hooks_need_the_hook_token(server: Server) -> None:
    agent = await server.register("sneaky")

    for path, payload in (("/hooks/codex", hp.codex_notify(CODEX_SID, "t", [], "")), ("/hooks/cursor", {})):
        no_token, _ = await server.request("POST", path, payload)
        agent_token, body = await server.request("POST", path, payload, token=agent["token"])
        assert (no_token, agent_token) == (401, 403)
        assert body["error"]["code"] == "HOOK_TOKEN_REQUIRED"


async def test_unknown_events_record_nothing_and_answer_empty(server: Server) -> None:
    cursor_unknown = await fire(server, "cursor", hp.cursor("afterTabFileEdit", CURSOR_CID, file_path="x"))
    codex_unknown = await fire(server, "codex", hp.codex("PostCompact", CODEX_SID, "t"))

    assert cursor_unknown == codex_unknown == {}
    _, found = await server.request("GET", "/atheneum/sessions?last=50", token=server.operator_token)
    assert found == []


# --- the command forms, as real processes --------------------------------------------------------------


def run_hook(server: Server, stdin: str, *args: str) -> str:
    env = {**os.environ, "ENVOY_URL": server.base_url, "ENVOY_HOME": str(server.running.config.data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "envoy_grpc", "hook", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=True,
    )
    assert done.stderr == ""
    return done.stdout


async def test_a_codex_session_through_the_command_hook_and_notify(server: Server) -> None:
    outputs = []
    for payload in hp.codex_session(CODEX_SID):
        if payload.get("type") == "agent-turn-complete":  # notify: the JSON is the last argument
            outputs.append(
                await asyncio.to_thread(run_hook, server, "", "--codex-notify", json.dumps(payload))
            )
        else:
            outputs.append(await asyncio.to_thread(run_hook, server, json.dumps(payload), "--codex"))

    recorded = await session(server, "shop", CODEX_SID)
    assert (recorded["prompt_count"], recorded["tool_call_count"], recorded["file_write_count"]) == (2, 2, 3)
    assert "you are agent id1" in json.loads(outputs[0])["hookSpecificOutput"]["additionalContext"]
    assert outputs[-1] == outputs[-2] == ""  # notify prints nothing


async def test_a_cursor_turn_through_the_command_hook(server: Server) -> None:
    outputs = [
        await asyncio.to_thread(run_hook, server, json.dumps(payload), "--cursor")
        for payload in hp.cursor_session(CURSOR_CID)
    ]

    recorded = await session(server, "storefront", CURSOR_CID)
    assert (recorded["tool_call_count"], recorded["file_write_count"], recorded["test_run_count"]) == (
        5,
        1,
        1,
    )
    assert json.loads(outputs[0]) == {"continue": True}
    assert json.loads(outputs[2]) == {"permission": "allow"}


def test_the_notify_form_fails_open_without_its_json_or_a_server(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ENVOY_URL": "http://127.0.0.1:9",
        "ENVOY_HOME": str(tmp_path),
        "ENVOY_HOOK_DEBUG": "1",
    }
    notify = json.dumps(hp.codex_notify(CODEX_SID, "t", ["x"], "y"))

    for args in (["--codex-notify"], ["--codex-notify", notify], ["--cursor"]):
        done = subprocess.run(
            [sys.executable, "-m", "envoy_grpc", "hook", *args],
            input="{}",
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert (done.returncode, done.stdout) == (0, "")
        assert done.stderr.startswith("envoy-grpc hook: ")
