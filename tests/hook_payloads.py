"""Claude Code hook payloads shaped like the ones real sessions send (peers.md §4)."""

from __future__ import annotations

from typing import Any

CWD = "/home/dev/projects/envoy"


def base(event: str, session_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "transcript_path": f"/home/dev/.claude/projects/envoy/{session_id}.jsonl",
        "cwd": CWD,
        "permission_mode": "default",
        "hook_event_name": event,
        **fields,
    }


def session_start(session_id: str, source: str = "startup") -> dict[str, Any]:
    return base("SessionStart", session_id, source=source, model="claude-opus-4")


def prompt(session_id: str, text: str) -> dict[str, Any]:
    return base("UserPromptSubmit", session_id, prompt=text)


def subagent(payload: dict[str, Any], agent_id: str, agent_type: str = "general-purpose") -> dict[str, Any]:
    """The same payload as fired inside a subagent: it carries agent_id and agent_type."""
    return {**payload, "agent_id": agent_id, "agent_type": agent_type}


def post_tool(
    session_id: str, tool: str, tool_input: dict[str, Any], response: Any, tool_use_id: str
) -> dict[str, Any]:
    return base(
        "PostToolUse",
        session_id,
        tool_name=tool,
        tool_input=tool_input,
        tool_response=response,
        tool_use_id=tool_use_id,
    )


def write(session_id: str, path: str, tool_use_id: str) -> dict[str, Any]:
    return post_tool(
        session_id,
        "Write",
        {"file_path": path, "content": "print('hi')\n"},
        {"type": "create", "filePath": path},
        tool_use_id,
    )


def edit(session_id: str, path: str, tool_use_id: str) -> dict[str, Any]:
    return post_tool(
        session_id,
        "Edit",
        {"file_path": path, "old_string": "a", "new_string": "b"},
        {"filePath": path, "oldString": "a", "newString": "b"},
        tool_use_id,
    )


def bash(session_id: str, command: str, stdout: str, tool_use_id: str) -> dict[str, Any]:
    return post_tool(
        session_id,
        "Bash",
        {"command": command, "description": "run"},
        {"stdout": stdout, "stderr": "", "interrupted": False, "isImage": False},
        tool_use_id,
    )


def bash_failure(session_id: str, command: str, error: str, tool_use_id: str) -> dict[str, Any]:
    return base(
        "PostToolUseFailure",
        session_id,
        tool_name="Bash",
        tool_input={"command": command},
        tool_use_id=tool_use_id,
        error=error,
        is_interrupt=False,
    )


def subagent_start(session_id: str, agent_id: str, agent_type: str = "general-purpose") -> dict[str, Any]:
    return base("SubagentStart", session_id, agent_id=agent_id, agent_type=agent_type)


def subagent_stop(session_id: str, agent_id: str, message: str) -> dict[str, Any]:
    return base(
        "SubagentStop",
        session_id,
        agent_id=agent_id,
        agent_type="general-purpose",
        stop_hook_active=False,
        agent_transcript_path=f"/home/dev/.claude/projects/envoy/{session_id}/subagents/agent-{agent_id}.jsonl",
        last_assistant_message=message,
    )


def stop(session_id: str, active: bool = False) -> dict[str, Any]:
    return base("Stop", session_id, stop_hook_active=active, last_assistant_message="Done.")


def session_end(session_id: str, reason: str = "prompt_input_exit") -> dict[str, Any]:
    return base("SessionEnd", session_id, reason=reason)


def whole_session(session_id: str) -> list[dict[str, Any]]:
    """A session with two subagents: prompts, writes, edits, test runs, handovers, stop, end."""
    a, b = "a1b2c3d4", "e5f6a7b8"
    return [
        session_start(session_id),
        prompt(session_id, "Fix the failing login test and add a helper"),
        post_tool(session_id, "Read", {"file_path": "src/login.py"}, {"type": "text"}, "toolu_01"),
        edit(session_id, "src/login.py", "toolu_02"),
        bash(session_id, "pytest tests/test_login.py", "1 passed in 0.12s", "toolu_03"),
        subagent_start(session_id, a),
        subagent(write(session_id, "src/helpers.py", "toolu_11"), a),
        subagent(bash(session_id, "pytest -q", "12 passed in 1.02s", "toolu_12"), a),
        subagent_stop(session_id, a, "Added src/helpers.py with slugify(); all 12 tests pass."),
        subagent_start(session_id, b),
        subagent(edit(session_id, "src/login.py", "toolu_21"), b),
        subagent(bash_failure(session_id, "pytest tests/test_login.py", "1 failed", "toolu_22"), b),
        subagent_stop(session_id, b, "Tried to simplify login(); the test now fails."),
        prompt(session_id, "Revert the second change"),
        edit(session_id, "src/login.py", "toolu_04"),
        stop(session_id),
        session_end(session_id),
    ]


def pre_edit(session_id: str, path: str, tool_use_id: str, tool: str = "Edit") -> dict[str, Any]:
    """PreToolUse of an Edit (or Write/MultiEdit) of `path`, before it runs."""
    return base(
        "PreToolUse",
        session_id,
        tool_name=tool,
        tool_input={"file_path": path, "old_string": "a", "new_string": "b"},
        tool_use_id=tool_use_id,
    )
