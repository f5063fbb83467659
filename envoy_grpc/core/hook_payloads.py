"""Reading Claude Code hook payloads: pure functions, no I/O.

Field sets change between Claude Code versions, so every reader ignores unknown keys and treats a
missing key as empty (peers.md §4). What the original envoy-hook got wrong is done right here: the
Stop payload has no `stop_reason`, failures arrive as their own event (PostToolUseFailure), and a
subagent is recognised by the `agent_id` field its hooks carry.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

SUMMARY_LIMIT = 200
COMMAND_LIMIT = 140
FILE_WRITE_TOOLS = {"Write": "create", "Edit": "edit", "MultiEdit": "edit", "NotebookEdit": "edit"}
CATEGORIES = {
    "Bash": "shell",
    "Read": "file_read",
    "Glob": "file_read",
    "Grep": "file_read",
    "LS": "file_read",
    "Write": "file_write",
    "Edit": "file_write",
    "MultiEdit": "file_write",
    "NotebookEdit": "file_write",
    "Agent": "agent",
    "Task": "agent",
    "WebFetch": "network",
    "WebSearch": "network",
    "apply_patch": "file_write",
}
# Codex's apply_patch names each file it touches on a line of its own.
_PATCH_FILE = re.compile(r"^\*\*\* (Add|Update|Delete) File: (.+?)\s*$", re.MULTILINE)
_PATCH_MOVE = re.compile(r"^\*\*\* Move to: (.+?)\s*$", re.MULTILINE)
_PATCH_WRITE_TYPES = {"Add": "create", "Update": "edit", "Delete": "delete"}
_TEST_COMMANDS = (
    (re.compile(r"^(?:python3? -m )?pytest\b"), "pytest"),
    (re.compile(r"^cargo (?:test|nextest)\b"), "cargo"),
    (re.compile(r"^go test\b"), "go"),
    (re.compile(r"^(?:npm|pnpm|yarn|bun)(?: run)? test\b"), "js-test"),
    (re.compile(r"^make (?:test|check)\b"), "make"),
    (re.compile(r"^(?:uv run |poetry run )?(?:python3? -m )?(?:pytest|unittest)\b"), "pytest"),
)


@dataclass(frozen=True)
class Harness:
    """What differs between the coding tools whose hooks the adapter reads (Claude Code, Codex, Cursor)."""

    # The root agent of a session is named `<agent_prefix>-<first 8 characters of the session ID>`.
    agent_prefix: str
    kind: str
    subagent_kind: str
    # The session's `tool` field.
    tool: str


# Events of the adapter's own, named so that no harness's hook event can collide with them: Codex's
# notify (a finished turn), and a tool call another event already recorded (only surface messages).
TURN_COMPLETE = "agent-turn-complete"
SURFACE_ONLY = "envoy.surface"
# A translated payload whose answer the harness never shows the agent (Cursor's afterFileEdit...) carries
# this key as true: it records what it says but surfaces no messages, which would be lost.
UNSEEN = "envoy_unseen"
CLAUDE = Harness("claude", "claude", "claude-subagent", "claude-code")
CODEX = Harness("codex", "codex", "codex-subagent", "codex")
CURSOR = Harness("cursor", "cursor", "cursor-subagent", "cursor")


@dataclass(frozen=True)
class HookEvent:
    """The parts of a hook payload the adapter uses, with safe defaults."""

    name: str
    session_id: str
    cwd: str
    subagent_id: str
    subagent_type: str
    raw: dict[str, Any]
    harness: Harness = field(default=CLAUDE)

    def text(self, key: str) -> str:
        value = self.raw.get(key)
        return value if isinstance(value, str) else ""

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key)
        return value if isinstance(value, dict) else {}

    @property
    def project(self) -> str:
        """The project name: the last component of the working directory (the original used git's top)."""
        directory = self.cwd or os.environ.get("CLAUDE_PROJECT_DIR", "")
        return os.path.basename(directory.rstrip("/")) or "unknown"


def parse(payload: dict[str, Any], harness: Harness = CLAUDE) -> HookEvent:
    def text(key: str) -> str:
        value = payload.get(key)
        return value if isinstance(value, str) else ""

    return HookEvent(
        name=text("hook_event_name"),
        session_id=text("session_id"),
        cwd=text("cwd"),
        subagent_id=text("agent_id"),
        subagent_type=text("agent_type"),
        raw=payload,
        harness=harness,
    )


def short(text: str, limit: int = SUMMARY_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def digest(value: Any) -> str:
    """A 16-hex-digit fingerprint of any JSON value (the original used a 64-bit hash)."""
    encoded = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def category(tool_name: str) -> str:
    """The tool category of a tool name; MCP tools (`mcp__server__tool`, Cursor's `MCP:tool`) are `mcp`."""
    if tool_name.startswith(("mcp__", "MCP:")):
        return "mcp"
    return CATEGORIES.get(tool_name, "other")


def patch_text(tool_input: dict[str, Any]) -> str:
    """The apply_patch envelope in a tool input, whichever key carries it (`input`, `patch`, `command`)."""
    for value in tool_input.values():
        if isinstance(value, list):
            value = next((v for v in value if isinstance(v, str) and "*** Begin Patch" in v), "")
        if isinstance(value, str) and "*** Begin Patch" in value:
            return value
    return ""


def patch_files(patch: str) -> list[tuple[str, str]]:
    """(path, write type) for each file an apply_patch envelope touches: `create` for `*** Add File`,
    `edit` for `*** Update File` (and the target of a `*** Move to`), `delete` for `*** Delete File`."""
    found = {path: _PATCH_WRITE_TYPES[verb] for verb, path in _PATCH_FILE.findall(patch)}
    for target in _PATCH_MOVE.findall(patch):
        found.setdefault(target, "create")
    return sorted(found.items())


def file_writes(tool_name: str, tool_input: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, write type) for each file a file-writing tool call changed; [] for any other tool."""
    if tool_name == "apply_patch":
        return patch_files(patch_text(tool_input))
    write_type = FILE_WRITE_TOOLS.get(tool_name)
    return [(path, write_type) for path in file_paths(tool_input)] if write_type else []


def file_paths(tool_input: dict[str, Any]) -> list[str]:
    paths: list[str] = [path for path, _ in patch_files(patch_text(tool_input))]
    for key in ("file_path", "notebook_path", "path"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            paths.append(value)
    extra = tool_input.get("paths")
    if isinstance(extra, list):
        paths.extend(p for p in extra if isinstance(p, str) and p)
    return sorted(set(paths))


def input_summary(tool_name: str, tool_input: dict[str, Any]) -> str:
    if tool_name == "Bash":
        return short(str(tool_input.get("command", "")), COMMAND_LIMIT)
    paths = file_paths(tool_input)
    if tool_name in ("Read", "NotebookRead") and paths:
        return f"read {paths[0]}"
    if (tool_name in FILE_WRITE_TOOLS or tool_name == "apply_patch") and paths:
        return (
            f"write {', '.join(paths)}" if len(paths) <= 3 else f"write {paths[0]} and {len(paths) - 1} more"
        )
    if tool_name in ("Glob", "Grep"):
        return f"{tool_name.lower()} {tool_input.get('pattern', '')}".strip()
    return short(json.dumps(tool_input, sort_keys=True, default=str), COMMAND_LIMIT)


def output_summary(response: Any) -> str:
    """The first useful thing in a tool response: stdout (+ stderr), an error, an output, or the JSON."""
    if response is None:
        return ""
    if isinstance(response, str):
        return short(response)
    if isinstance(response, dict):
        stdout, stderr = str(response.get("stdout") or ""), str(response.get("stderr") or "")
        if stdout.strip():
            return short(stdout + (f" [stderr: {stderr}]" if stderr.strip() else ""))
        if stderr.strip():
            return short(f"stderr: {stderr}")
        for key in ("output", "error", "result", "content"):
            if response.get(key):
                return short(str(response[key]))
        if "stdout" in response:
            return "(no output)"
    return short(json.dumps(response, sort_keys=True, default=str))


def tokens_estimate(response: Any) -> int:
    """Roughly how many tokens a tool's answer put into the agent's context (4 bytes a token).

    The knowledge-by-target savings estimate needs what reading a file cost; the hook sees the
    answer Claude Code got, so it measures that.
    """
    if response is None:
        return 0
    text = response if isinstance(response, str) else json.dumps(response, default=str)
    return (len(text.encode()) + 3) // 4


def test_suite(command: str) -> str | None:
    """The kind of test run a shell command is (pytest, cargo, go, js-test, make), or None."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    # Skip leading environment assignments (FOO=1 pytest) and a `cd dir &&` prefix.
    while words and ("=" in words[0] and not words[0].startswith("-")):
        words = words[1:]
    text = " ".join(words)
    if "&&" in text:
        text = text.rsplit("&&", 1)[1].strip()
    for pattern, suite in _TEST_COMMANDS:
        if pattern.match(text):
            return suite
    return None


def failed(response: Any) -> bool:
    """Whether a tool response reports failure (an error, an interrupt, or a non-zero exit code)."""
    if not isinstance(response, dict):
        return False
    if response.get("interrupted") or response.get("is_error"):
        return True
    if str(response.get("type", "")) in ("error", "tool_error"):
        return True
    for key in ("exit_code", "exitCode", "returncode"):
        code = response.get(key)
        if isinstance(code, int) and code != 0:
            return True
    return False
