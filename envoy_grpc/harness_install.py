"""Writing envoy-grpc's Codex and Cursor hooks into their configuration files, and taking them out again.

Codex reads `~/.codex/hooks.json` (or `$CODEX_HOME/hooks.json`) and `<repo>/.codex/hooks.json`, in
Claude Code's `{"hooks": {"<Event>": [{"matcher"?, "hooks": [<handler>]}]}}` shape, so hook_install's
pure functions do the merging; Codex runs command handlers only, and the matcher is left out (Codex
reads it as a regular expression, and UserPromptSubmit and Stop take none). Codex's `notify` program is
a line in `~/.codex/config.toml`, which is not edited here: the line to add is printed.

Cursor reads `.cursor/hooks.json` (project) or `~/.cursor/hooks.json` (user): `{"version": 1, "hooks":
{"<camelCaseEvent>": [{"command": "..."}]}}`, a flat list of handlers per event. Only our handlers (a
command running `envoy-grpc hook`) are ever added or removed; everything else keeps its value and order.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envoy_grpc import hook_install
from envoy_grpc.hook_install import Settings, SettingsError, is_ours

CODEX_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop")
CURSOR_EVENTS = (
    "sessionStart",
    "sessionEnd",
    "beforeSubmitPrompt",
    "beforeShellExecution",
    "afterShellExecution",
    "beforeMCPExecution",
    "afterMCPExecution",
    "beforeReadFile",
    "afterFileEdit",
    "postToolUse",
    "stop",
)
CURSOR_VERSION = 1
_NOTIFY_LINE = re.compile(r"^\s*notify\s*=", re.MULTILINE)


def command(harness: str, env: Mapping[str, str] | None = None, argv0: str | None = None) -> str:
    """`<envoy-grpc script> hook --codex` (or `--cursor`), with ENVOY_URL/ENVOY_HOME as set now."""
    return f"{hook_install.default_command(env, argv0)} --{harness}"


def notify_argv(env: Mapping[str, str] | None = None, argv0: str | None = None) -> list[str]:
    """The `notify` program for Codex's config.toml: Codex appends the turn's JSON as the last argument.
    Codex runs it without a shell, so ENVOY_URL/ENVOY_HOME set now are passed through env(1)."""
    env = os.environ if env is None else env
    assignments = [f"{name}={env[name]}" for name in ("ENVOY_URL", "ENVOY_HOME") if env.get(name)]
    script = hook_install.find_script(sys.argv[0] if argv0 is None else argv0)
    return (["env", *assignments] if assignments else []) + [script, "hook", "--codex-notify"]


def notify_line(argv: list[str]) -> str:
    """`notify = [...]` as TOML (JSON's string escapes are valid in TOML basic strings)."""
    return "notify = [" + ", ".join(json.dumps(word) for word in argv) + "]"


# --- Codex: Claude Code's shape, command handlers, no matchers -----------------------------------------


def codex_install(settings: Settings, command_line: str) -> tuple[Settings, list[str]]:
    """hooks.json with our command handler on each Codex event (see hook_install.install)."""
    handler = {"type": "command", "command": command_line, "timeout": hook_install.HANDLER_TIMEOUT}
    return hook_install.install(settings, dict.fromkeys(CODEX_EVENTS, handler), matchers=False)


codex_uninstall = hook_install.uninstall


def codex_settings_path(project: Path | None, user: bool, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if user:
        home = env.get("CODEX_HOME")
        return (Path(home) if home else Path(env.get("HOME") or Path.home()) / ".codex") / "hooks.json"
    return (project or Path.cwd()).absolute() / ".codex" / "hooks.json"


def codex_notify_configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether ~/.codex/config.toml already sets a `notify` program (Codex runs only one)."""
    config = codex_settings_path(None, True, env).with_name("config.toml")
    try:
        return _NOTIFY_LINE.search(config.read_text(encoding="utf-8")) is not None
    except (OSError, UnicodeDecodeError):
        return False


# --- Cursor: {"version": 1, "hooks": {"<event>": [{"command": ...}]}} ----------------------------------


def _cursor_hooks(config: Settings) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise SettingsError("the hooks file must hold a JSON object")
    hooks = config.get("hooks", {})
    if not isinstance(hooks, dict):
        raise SettingsError(f'"hooks" must be a JSON object, not {type(hooks).__name__}')
    for event, handlers in hooks.items():
        if not isinstance(handlers, list):
            raise SettingsError(f'"hooks.{event}" must be a JSON array of hooks')
    return hooks


def _is_ours(handler: object) -> bool:
    # Cursor's handlers are plain {"command": ...}: judge them as command handlers.
    return isinstance(handler, Mapping) and is_ours({"type": "command", **handler})


def cursor_install(config: Settings, command_line: str) -> tuple[Settings, list[str]]:
    """The hooks file with exactly one handler of ours per Cursor event, every other handler kept.
    Returns (new config, changes); the input is not modified."""
    result = copy.deepcopy(config)
    hooks = _cursor_hooks(result)
    wanted = {"command": command_line}
    changes = []
    for event in CURSOR_EVENTS:
        handlers = hooks.get(event, [])
        ours = [handler for handler in handlers if _is_ours(handler)]
        if ours == [wanted]:
            continue
        hooks[event] = [handler for handler in handlers if not _is_ours(handler)] + [wanted]
        changes.append(f"{'updated' if ours else 'added':<8} {event}")
    if not changes:
        return config, []
    result.setdefault("version", CURSOR_VERSION)
    result["hooks"] = hooks
    return result, changes


def cursor_uninstall(config: Settings) -> tuple[Settings, list[str]]:
    """The hooks file without any handler of ours; an event left empty goes too. The input is kept."""
    result = copy.deepcopy(config)
    hooks = _cursor_hooks(result)
    changes = []
    for event in list(hooks):
        ours = [handler for handler in hooks[event] if _is_ours(handler)]
        if not ours:
            continue
        remaining = [handler for handler in hooks[event] if not _is_ours(handler)]
        if remaining:
            hooks[event] = remaining
        else:
            del hooks[event]
        changes.append(f"removed  {event} ({len(ours)} handler{'s' if len(ours) > 1 else ''})")
    return (result, changes) if changes else (config, [])


def cursor_settings_path(project: Path | None, user: bool, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if user:
        return Path(env.get("HOME") or Path.home()) / ".cursor" / "hooks.json"
    return (project or Path.cwd()).absolute() / ".cursor" / "hooks.json"
