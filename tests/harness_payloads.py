"""Codex and Cursor hook payloads shaped like the ones real sessions send (proto/envoy/v1/hooks.proto)."""

from __future__ import annotations

from typing import Any

CODEX_CWD = "/home/dev/projects/shop"
CURSOR_ROOT = "/home/dev/projects/storefront"

# --- Codex: lifecycle hooks (stdin JSON, Claude Code's shape plus turn_id) -----------------------------


def codex(event: str, session_id: str, turn_id: str = "", **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "session_id": session_id,
        "transcript_path": f"/home/dev/.codex/sessions/2026/05/20/rollout-{session_id}.jsonl",
        "cwd": CODEX_CWD,
        "hook_event_name": event,
        "model": "gpt-5.1-codex",
        "permission_mode": "default",
        **fields,
    }
    if turn_id:
        payload["turn_id"] = turn_id
    return payload


def codex_tool(
    event: str, session_id: str, turn_id: str, tool: str, tool_input: Any, call_id: str, response: Any = None
) -> dict[str, Any]:
    fields: dict[str, Any] = {"tool_name": tool, "tool_input": tool_input, "tool_use_id": call_id}
    if event == "PostToolUse":
        fields["tool_response"] = response
    return codex(event, session_id, turn_id, **fields)


PATCH = """*** Begin Patch
*** Add File: src/cart/discount.py
+def apply(total, percent):
+    return total * (100 - percent) / 100
*** Update File: src/cart/checkout.py
@@ def checkout(cart):
-    total = cart.total
+    total = discount.apply(cart.total, cart.percent)
*** Delete File: src/cart/legacy_discount.py
*** End Patch
"""


def codex_notify(thread_id: str, turn_id: str, prompts: list[str], answer: str) -> dict[str, Any]:
    """The JSON Codex appends as the last argument of the `notify` program."""
    return {
        "type": "agent-turn-complete",
        "thread-id": thread_id,
        "turn-id": turn_id,
        "cwd": CODEX_CWD,
        "client": "codex-tui",
        "input-messages": prompts,
        "last-assistant-message": answer,
    }


def codex_session(sid: str) -> list[dict[str, Any]]:
    """A Codex session: start, a prompt, a test run through the shell, a patch over three files, a stop,
    and the notify of that turn (its prompt is already recorded), then a second turn seen only by notify."""
    shell = {"command": ["bash", "-lc", "pytest -q tests/test_cart.py"], "workdir": CODEX_CWD}
    patch = {"input": PATCH}
    return [
        codex("SessionStart", sid, source="startup"),
        codex(
            "UserPromptSubmit", sid, "turn-1", prompt="Add a discount to checkout and keep the tests green"
        ),
        codex_tool("PreToolUse", sid, "turn-1", "Bash", shell, "call_a1"),
        codex_tool(
            "PostToolUse",
            sid,
            "turn-1",
            "Bash",
            shell,
            "call_a1",
            {"output": "7 passed in 0.31s", "exit_code": 0},
        ),
        codex_tool("PreToolUse", sid, "turn-1", "apply_patch", patch, "call_a2"),
        codex("PermissionRequest", sid, "turn-1", tool_name="apply_patch", tool_input=patch),
        codex_tool("PostToolUse", sid, "turn-1", "apply_patch", patch, "call_a2", {"output": "Success."}),
        codex(
            "Stop",
            sid,
            "turn-1",
            stop_hook_active=False,
            last_assistant_message="Discount added; 7 tests pass.",
        ),
        codex_notify(
            sid, "turn-1", ["Add a discount to checkout and keep the tests green"], "Discount added."
        ),
        codex_notify(sid, "turn-2", ["Add a discount to checkout", "Now document it"], "Documented."),
    ]


# --- Cursor: .cursor/hooks.json events (stdin JSON, camelCase event names) -----------------------------


def cursor(event: str, conversation_id: str, generation_id: str = "gen-1", **fields: Any) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "generation_id": generation_id,
        "model": "claude-4.5-sonnet",
        "hook_event_name": event,
        "cursor_version": "2.0.77",
        "workspace_roots": [CURSOR_ROOT],
        "user_email": "dev@example.com",
        **fields,
    }


def cursor_session(cid: str) -> list[dict[str, Any]]:
    """A Cursor agent turn: a prompt, a shell test run, a file edit, an MCP call, a read, and a stop."""
    path = f"{CURSOR_ROOT}/src/pricing.ts"
    return [
        cursor("beforeSubmitPrompt", cid, prompt="Round prices to cents in pricing.ts", attachments=[]),
        cursor("beforeReadFile", cid, file_path=path, content="export const price = (p) => p;\n" * 20),
        cursor("beforeShellExecution", cid, command="npx vitest run", cwd=CURSOR_ROOT),
        cursor(
            "afterShellExecution", cid, command="npx vitest run", output="Tests  9 passed (9)", duration=1450
        ),
        cursor(
            "afterFileEdit",
            cid,
            file_path=path,
            edits=[{"old_string": "(p) => p", "new_string": "(p) => Math.round(p * 100) / 100"}],
        ),
        cursor("beforeShellExecution", cid, command="pytest -q", cwd=CURSOR_ROOT),
        cursor("afterShellExecution", cid, command="pytest -q", output="3 passed in 0.2s", duration=900),
        cursor("beforeMCPExecution", cid, tool_name="search_issues", tool_input='{"query": "rounding"}'),
        cursor(
            "afterMCPExecution",
            cid,
            tool_name="search_issues",
            tool_input='{"query": "rounding"}',
            result_json='{"issues": [42]}',
            duration=120,
        ),
        cursor("afterAgentResponse", cid, text="Prices are rounded to cents now."),
        cursor("stop", cid, status="completed", loop_count=0),
    ]
