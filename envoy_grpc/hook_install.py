"""Writing envoy-grpc's Claude Code hooks into `.claude/settings.json`, and taking them out again.

The settings logic is pure functions on the parsed JSON (`install`, `uninstall`); a thin file layer
(`load_settings`, `save_settings`) reads, backs up and writes the file. Only our own handlers are ever
touched: a command handler that runs `envoy-grpc hook`, or an http handler whose URL ends in
`/hooks/claude` (`is_ours`). Everything else in the file keeps its value and its order.

Configuration shape (peers.md §4): `{"hooks": {"<Event>": [{"matcher": "...", "hooks": [<handler>]}]}}`.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from envoy_grpc.hook_client import HOOK_PATH

# Every event the server's /hooks/claude understands (proto/envoy/v1/hooks.proto).
EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "SessionEnd",
    "PreCompact",
    "Notification",
)
# Events whose hook output is never used, so a command hook may run in the background. Only command
# handlers know `async`. SessionEnd stays synchronous: Claude Code is exiting, and a background hook can be
# killed before the session's end is recorded.
ASYNC_EVENTS = frozenset({"PreCompact", "Notification"})
# Events that take no matcher; every other event gets "*" (all tools, sources, agent types...).
NO_MATCHER_EVENTS = frozenset({"UserPromptSubmit", "Stop"})
HANDLER_TIMEOUT = 5
TOKEN_VARIABLE = "ENVOY_HOOK_TOKEN"
SCRIPT_NAME = "envoy-grpc"

Settings = dict[str, Any]
_OUR_COMMAND = re.compile(r"""(?:^|[\s/\\'"])envoy[-_]grpc(?:\.exe)?['"]?\s+hook(?:\s|$)""")


class SettingsError(Exception):
    """The settings file cannot be changed safely (not JSON, or not the shape Claude Code reads)."""


# --- handlers ---------------------------------------------------------------------------------------


def command_handler(command: str, event: str) -> dict[str, Any]:
    handler: dict[str, Any] = {"type": "command", "command": command, "timeout": HANDLER_TIMEOUT}
    if event in ASYNC_EVENTS:
        handler["async"] = True
    return handler


def http_handler(base_url: str) -> dict[str, Any]:
    return {
        "type": "http",
        "url": base_url.rstrip("/") + HOOK_PATH,
        "timeout": HANDLER_TIMEOUT,
        "headers": {"Authorization": f"Bearer ${TOKEN_VARIABLE}"},
        "allowedEnvVars": [TOKEN_VARIABLE],
    }


def handlers_for(command: str | None = None, base_url: str | None = None) -> dict[str, dict[str, Any]]:
    """Our handler for each event: the command form with `command`, else the http form for `base_url`."""
    if command is not None:
        return {event: command_handler(command, event) for event in EVENTS}
    if base_url is None:
        raise ValueError("give a command or a base URL")
    return {event: http_handler(base_url) for event in EVENTS}


def matcher_group(event: str, handler: dict[str, Any], matchers: bool = True) -> dict[str, Any]:
    group: dict[str, Any] = {} if event in NO_MATCHER_EVENTS or not matchers else {"matcher": "*"}
    group["hooks"] = [handler]
    return group


def is_ours(handler: object) -> bool:
    """True for a handler envoy-grpc installed: a command running `envoy-grpc hook`, or an http hook
    posting to `.../hooks/claude`."""
    if not isinstance(handler, Mapping):
        return False
    if handler.get("type") == "command":
        command = handler.get("command")
        return isinstance(command, str) and _OUR_COMMAND.search(command) is not None
    if handler.get("type") == "http":
        url = handler.get("url")
        return isinstance(url, str) and url.rstrip("/").endswith(HOOK_PATH)
    return False


def default_command(env: Mapping[str, str] | None = None, argv0: str | None = None) -> str:
    """`<absolute path of the envoy-grpc script> hook`, so the hook works outside the virtualenv. An
    ENVOY_URL or ENVOY_HOME set now is written into the command, so the hook finds the same server."""
    env = os.environ if env is None else env
    prefix = "".join(
        f"{name}={shlex.quote(env[name])} " for name in ("ENVOY_URL", "ENVOY_HOME") if env.get(name)
    )
    return f"{prefix}{shlex.quote(find_script(sys.argv[0] if argv0 is None else argv0))} hook"


def find_script(argv0: str) -> str:
    """The installed console script: the one running now, the one beside this Python, or on PATH."""
    candidates = []
    if Path(argv0).name in (SCRIPT_NAME, SCRIPT_NAME + ".exe"):
        candidates.append(Path(argv0))
    candidates.append(Path(sys.executable).parent / SCRIPT_NAME)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate.absolute())
    return shutil.which(SCRIPT_NAME) or SCRIPT_NAME


# --- pure settings logic -------------------------------------------------------------------------------


def _hooks_table(settings: Settings) -> dict[str, Any]:
    hooks = settings.get("hooks", {})
    if not isinstance(hooks, dict):
        raise SettingsError(f'"hooks" must be a JSON object, not {type(hooks).__name__}')
    return hooks


def _groups(hooks: Mapping[str, Any], event: str) -> list[Any]:
    groups = hooks.get(event, [])
    if not isinstance(groups, list):
        raise SettingsError(f'"hooks.{event}" must be a JSON array of matcher groups')
    return groups


def _handlers(group: object) -> list[Any] | None:
    if isinstance(group, dict) and isinstance(group.get("hooks"), list):
        return group["hooks"]  # type: ignore[no-any-return]
    return None


def _ours_in(groups: list[Any]) -> list[tuple[int, Any]]:
    return [
        (index, handler)
        for index, group in enumerate(groups)
        for handler in _handlers(group) or []
        if is_ours(handler)
    ]


def _without_ours(groups: list[Any]) -> list[Any]:
    """The groups with our handlers taken out; a group that only held ours goes too."""
    kept = []
    for group in groups:
        handlers = _handlers(group)
        if handlers is None or not any(is_ours(handler) for handler in handlers):
            kept.append(group)
            continue
        remaining = [handler for handler in handlers if not is_ours(handler)]
        if remaining:
            kept.append({**group, "hooks": remaining})
    return kept


def install(
    settings: Settings, handlers: Mapping[str, dict[str, Any]], matchers: bool = True
) -> tuple[Settings, list[str]]:
    """Settings with one matcher group per event running our handler; returns (new settings, changes).

    An event that already has exactly our group is left alone; other handlers of ours (an older path,
    the other form) are replaced. Without `matchers` no group gets a "*" matcher (Codex reads it as a
    regular expression). The input is not modified.
    """
    if not isinstance(settings, dict):
        raise SettingsError("the settings file must hold a JSON object")
    result = copy.deepcopy(settings)
    hooks = _hooks_table(result)
    changes = []
    for event, handler in handlers.items():
        groups = _groups(hooks, event)
        wanted = matcher_group(event, handler, matchers)
        ours = _ours_in(groups)
        if len(ours) == 1 and groups[ours[0][0]] == wanted:
            continue
        hooks[event] = [*_without_ours(groups), wanted]
        changes.append(f"{'updated' if ours else 'added':<8} {event}")
    if changes:
        result["hooks"] = hooks
    return result, changes


def uninstall(settings: Settings) -> tuple[Settings, list[str]]:
    """Settings without any handler of ours, in any event; groups and events (and `hooks` itself) that
    only held ours are removed too. Returns (new settings, changes); the input is not modified."""
    if not isinstance(settings, dict):
        raise SettingsError("the settings file must hold a JSON object")
    result = copy.deepcopy(settings)
    if "hooks" not in result:
        return result, []
    hooks = _hooks_table(result)
    changes = []
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue  # not ours to judge; Claude Code will say what is wrong with it
        ours = _ours_in(groups)
        if not ours:
            continue
        remaining = _without_ours(groups)
        if remaining:
            hooks[event] = remaining
        else:
            del hooks[event]
        changes.append(f"removed  {event} ({len(ours)} handler{'s' if len(ours) > 1 else ''})")
    if changes and not hooks:
        del result["hooks"]
    return result, changes


# --- files -------------------------------------------------------------------------------------------


def settings_path(
    project: Path | None = None, user: bool = False, local: bool = False, home: Path | None = None
) -> Path:
    """`~/.claude/settings.json` for --user, else `<project>/.claude/settings[.local].json` (project
    defaults to the current directory)."""
    if user:
        return (home or Path.home()) / ".claude" / "settings.json"
    name = "settings.local.json" if local else "settings.json"
    return (project or Path.cwd()).absolute() / ".claude" / name


def load_settings(path: Path) -> Settings:
    """The parsed settings; {} when the file does not exist or is empty. Refuses anything but an object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"cannot read {path}: {error}") from None
    if not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except ValueError as error:
        raise SettingsError(
            f"{path} is not valid JSON ({error}); fix it or move it away, it was left unchanged"
        ) from None
    if not isinstance(settings, dict):
        raise SettingsError(f"{path} must hold a JSON object, not {type(settings).__name__}; left unchanged")
    return settings


def save_settings(path: Path, settings: Settings) -> Path | None:
    """Write settings (2-space JSON) atomically, keeping the file's mode. Before the first change to an
    existing file, copy it to `settings.json.bak`; returns that backup's path when it was made now."""
    path.parent.mkdir(parents=True, exist_ok=True)
    backup: Path | None = None
    mode = None
    if path.exists():
        mode = path.stat().st_mode & 0o7777
        candidate = path.with_name(path.name + ".bak")
        if not candidate.exists():
            shutil.copy2(path, candidate)
            backup = candidate
    text = json.dumps(settings, indent=2, ensure_ascii=False) + "\n"
    descriptor, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        if mode is not None:
            os.chmod(temporary, mode)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return backup


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
