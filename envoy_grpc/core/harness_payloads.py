"""Codex and Cursor hook payloads translated to the Claude Code shape the adapter reads: pure functions.

Codex's lifecycle hooks already speak Claude Code's JSON (`session_id`, `hook_event_name`, `tool_name`,
`tool_input`, `tool_response`, `tool_use_id`, plus `turn_id`), so only its shell tool is renamed to
`Bash` and its notify program's JSON (`{"type": "agent-turn-complete", "thread-id", "turn-id", ...}`)
becomes an event of its own. Cursor's camelCase events (`.cursor/hooks.json`) carry `conversation_id`
and `workspace_roots` instead of `session_id` and `cwd`; each becomes the Claude Code event it means,
and the adapter's answer is rendered back in Cursor's keys (`permission`, `continue`,
`followup_message`, `additional_context`).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from envoy_grpc import errors
from envoy_grpc.core import hook_payloads as hp

Payload = dict[str, Any]

CODEX_NOTIFY_TYPE = hp.TURN_COMPLETE
# Names Codex builds have used for the shell tool; recorded as `Bash` so test runs are recognised.
CODEX_SHELL_TOOLS = frozenset({"shell", "local_shell", "exec_command", "container.exec", "unified_exec"})
# Cursor's tool names (preToolUse/postToolUse) for the tools Claude Code calls otherwise.
CURSOR_TOOLS = {"Shell": "Bash", "StrReplace": "Edit", "Delete": "Delete"}
# Tools whose postToolUse the specific events already record (afterShellExecution, afterFileEdit,
# afterMCPExecution, beforeReadFile): postToolUse then only surfaces messages, so nothing counts twice.
CURSOR_COVERED_TOOLS = frozenset(
    {"Shell", "Bash", "Read", "Write", "Edit", "StrReplace", "MultiEdit", "Delete"}
)
# The events whose answer Cursor shows the agent (`additional_context`); only these surface messages.
CURSOR_CONTEXT_EVENTS = frozenset({"sessionStart", "postToolUse"})
CURSOR_PERMISSION_EVENTS = frozenset(
    {"beforeShellExecution", "beforeMCPExecution", "beforeReadFile", "preToolUse", "subagentStart"}
)


def _text(payload: Payload, key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


def _require(payload: Payload, *keys: str) -> None:
    missing = [f"payload.{key}" for key in keys if not _text(payload, key)]
    if missing:
        raise errors.missing_fields(missing)


# --- Codex ---------------------------------------------------------------------------------------------


def shell_command(command: Any) -> str:
    """A shell tool's command as one line: Codex sends a string or an argv such as ["bash", "-lc", "..."]."""
    if isinstance(command, list):
        words = [str(word) for word in command]
        if (
            len(words) == 3
            and words[0].rsplit("/", 1)[-1] in ("bash", "sh", "zsh")
            and words[1] in ("-lc", "-c")
        ):
            return words[2]
        return shlex.join(words)
    return command if isinstance(command, str) else ""


def codex_event(payload: Payload) -> Payload:
    """A Codex hook payload or notify JSON as the Claude Code payload the adapter reads."""
    if payload.get("type") == CODEX_NOTIFY_TYPE and "hook_event_name" not in payload:
        return codex_notify_event(payload)
    tool_name = _text(payload, "tool_name")
    if tool_name in CODEX_SHELL_TOOLS or tool_name == "Bash":
        tool_input = payload.get("tool_input")
        tool_input = dict(tool_input) if isinstance(tool_input, dict) else {}
        tool_input["command"] = shell_command(tool_input.get("command", tool_input.get("cmd")))
        return {**payload, "tool_name": "Bash", "tool_input": tool_input}
    return payload


def codex_notify_event(payload: Payload) -> Payload:
    """Codex's notify JSON (a finished turn) as an `agent-turn-complete` event: the last input message
    is the prompt, the thread is the session."""
    _require(payload, "thread-id")
    messages = payload.get("input-messages")
    last = messages[-1] if isinstance(messages, list) and messages else ""
    return {
        "hook_event_name": CODEX_NOTIFY_TYPE,
        "session_id": _text(payload, "thread-id"),
        "turn_id": _text(payload, "turn-id"),
        "cwd": _text(payload, "cwd"),
        "prompt": last if isinstance(last, str) else json.dumps(last, default=str),
        "last_assistant_message": _text(payload, "last-assistant-message"),
        "client": _text(payload, "client"),
    }


# --- Cursor --------------------------------------------------------------------------------------------


def _cursor_tool_input(value: Any) -> dict[str, Any]:
    """Cursor sends MCP tool input as an object or as a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"input": value}
    return value if isinstance(value, dict) else {}


def _tool_use_id(payload: Payload, *parts: Any) -> str:
    """Cursor's older events carry no tool call ID: one derived from the generation and the call itself
    makes a repeated payload idempotent (two identical calls in one generation count once)."""
    given = _text(payload, "tool_use_id")
    if given:
        return given
    return "cursor-" + hp.digest([_text(payload, "generation_id"), *parts])


def _cursor_tool(payload: Payload, name: str, tool_input: dict[str, Any], response: Any = None) -> Payload:
    return {
        "tool_name": name,
        "tool_input": tool_input,
        "tool_response": response,
        "tool_use_id": _tool_use_id(payload, name, tool_input, response),
    }


def _cursor_shell(payload: Payload) -> Payload:
    tool_input = {"command": _text(payload, "command")}
    response: dict[str, Any] = {"stdout": _text(payload, "output")}
    for key in ("exit_code", "exitCode"):
        if isinstance(payload.get(key), int):
            response["exit_code"] = payload[key]
    return _cursor_tool(payload, "Bash", tool_input, response)


def _cursor_mcp(payload: Payload) -> Payload:
    name = "MCP:" + (_text(payload, "tool_name") or "unknown")
    tool_input = _cursor_tool_input(payload.get("tool_input"))
    return _cursor_tool(payload, name, tool_input, payload.get("result_json"))


def _cursor_generic_tool(payload: Payload) -> Payload:
    name = _text(payload, "tool_name") or "unknown"
    tool_input = _cursor_tool_input(payload.get("tool_input"))
    if "path" in tool_input and "file_path" not in tool_input:
        tool_input = {**tool_input, "file_path": tool_input["path"]}
    response = payload.get("tool_output", payload.get("tool_response"))
    return _cursor_tool(payload, CURSOR_TOOLS.get(name, name), tool_input, response)


def _cursor_fields(event: str, payload: Payload) -> tuple[str, Payload] | None:
    """(Claude Code event name, its fields) for a Cursor event, or None for one the adapter ignores."""
    if event == "sessionStart":
        return "SessionStart", {"source": "startup"}
    if event == "sessionEnd":
        return "SessionEnd", {"reason": _text(payload, "reason") or "other"}
    if event == "beforeSubmitPrompt":
        return "UserPromptSubmit", {"prompt": _text(payload, "prompt")}
    if event == "beforeShellExecution":
        return "PreToolUse", _cursor_shell(payload)
    if event == "afterShellExecution":
        return "PostToolUse", _cursor_shell(payload)
    if event == "beforeMCPExecution":
        return "PreToolUse", _cursor_mcp(payload)
    if event == "afterMCPExecution":
        return "PostToolUse", _cursor_mcp(payload)
    if event == "beforeReadFile":
        # The only signal of a read Cursor gives, with the content: recorded as the read itself.
        path = _text(payload, "file_path")
        return "PostToolUse", _cursor_tool(payload, "Read", {"file_path": path}, _text(payload, "content"))
    if event == "afterFileEdit":
        tool_input = {"file_path": _text(payload, "file_path"), "edits": payload.get("edits") or []}
        return "PostToolUse", _cursor_tool(payload, "Edit", tool_input, {"filePath": tool_input["file_path"]})
    if event == "stop":
        # loop_count counts the follow-ups already sent: after one, never block again.
        loops = payload.get("loop_count")
        return "Stop", {
            "stop_hook_active": isinstance(loops, int) and loops > 0,
            "status": _text(payload, "status"),
        }
    if event == "preToolUse":
        return "PreToolUse", _cursor_generic_tool(payload)
    if event == "postToolUse":
        if _text(payload, "tool_name") in CURSOR_COVERED_TOOLS:
            return hp.SURFACE_ONLY, {}
        return "PostToolUse", _cursor_generic_tool(payload)
    return None


def cursor_event(payload: Payload) -> Payload:
    """A Cursor hook payload as the Claude Code payload the adapter reads. The session is the
    conversation (`conversation_id`), the working directory the first workspace root. An event the
    adapter does not use keeps a name no Claude Code event has (`cursor.<event>`), so it records nothing.
    """
    _require(payload, "conversation_id", "hook_event_name")
    event = _text(payload, "hook_event_name")
    name, fields = _cursor_fields(event, payload) or (f"cursor.{event}", {})
    if event not in CURSOR_CONTEXT_EVENTS:
        fields[hp.UNSEEN] = True
    roots = payload.get("workspace_roots")
    root = roots[0] if isinstance(roots, list) and roots and isinstance(roots[0], str) else ""
    return {
        "session_id": _text(payload, "conversation_id"),
        "hook_event_name": name,
        "cwd": root or _text(payload, "cwd"),
        "model": _text(payload, "model"),
        "generation_id": _text(payload, "generation_id"),
        **fields,
    }


def _context(output: Payload) -> str:
    specific = output.get("hookSpecificOutput")
    if isinstance(specific, dict) and isinstance(specific.get("additionalContext"), str):
        return str(specific["additionalContext"])
    return ""


def cursor_output(event: str, output: Payload) -> Payload:
    """The adapter's (Claude Code shaped) answer in the keys Cursor reads for `event`."""
    if event in CURSOR_PERMISSION_EVENTS:
        specific = output.get("hookSpecificOutput")
        if isinstance(specific, dict) and specific.get("permissionDecision") == "deny":
            reason = str(specific.get("permissionDecisionReason") or "denied by envoy-grpc")
            return {"permission": "deny", "user_message": reason, "agent_message": reason}
        return {"permission": "allow"}
    if event == "beforeSubmitPrompt":
        return {"continue": True}
    if event == "stop":
        if output.get("decision") == "block":
            return {"followup_message": str(output.get("reason", ""))}
        return {}
    context = _context(output)
    if context and event in ("sessionStart", "postToolUse"):
        return {"additional_context": context}
    return {}
