"""`envoy-grpc hooks install/uninstall`: our hooks go into Claude Code's settings and come out again,
and nothing else in the file changes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from envoy_grpc import hook_install
from envoy_grpc.cli import cli

THEIRS: dict[str, Any] = {
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "permissions": {"allow": ["Bash(npm run lint)", "Read(~/.zshrc)"], "deny": ["Read(./.env)"]},
    "env": {"FOO": "bar"},
    "hooks": {
        "PostToolUse": [
            {
                "matcher": "Edit|Write",
                "hooks": [{"type": "command", "command": "npx prettier --write", "timeout": 30}],
            }
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "say done", "async": True}]}],
        "PermissionRequest": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./approve.sh"}]}],
    },
    "model": "opus",
    "statusLine": {"type": "command", "command": "~/.claude/statusline.sh"},
}
COMMAND = "/opt/envoy/bin/envoy-grpc hook"


def write(path: Path, settings: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=4) + "\n")


def read(path: Path) -> Any:
    return json.loads(path.read_text())


def ours(settings: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Our handlers per event."""
    found: dict[str, list[dict[str, Any]]] = {}
    for event, groups in settings.get("hooks", {}).items():
        for group in groups:
            for handler in group.get("hooks", []):
                if hook_install.is_ours(handler):
                    found.setdefault(event, []).append(handler)
    return found


def invoke(*args: str, home: Path | None = None, env: dict[str, str] | None = None) -> Any:
    environment = {"ENVOY_URL": None, "ENVOY_HOME": None, **(env or {})}
    if home is not None:
        environment["HOME"] = str(home)
    return CliRunner().invoke(cli, list(args), env=environment, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "app"
    write(directory / ".claude" / "settings.json", THEIRS)
    return directory


# --- the pure functions -------------------------------------------------------------------------------


def test_install_adds_one_group_per_event_and_keeps_theirs() -> None:
    updated, changes = hook_install.install(THEIRS, hook_install.handlers_for(command=COMMAND))

    assert len(changes) == len(hook_install.EVENTS)
    assert set(ours(updated)) == set(hook_install.EVENTS)
    assert all(len(handlers) == 1 for handlers in ours(updated).values())
    # Their groups come first, unchanged; ours is appended.
    assert updated["hooks"]["PostToolUse"][0] == THEIRS["hooks"]["PostToolUse"][0]
    assert updated["hooks"]["Stop"][0] == THEIRS["hooks"]["Stop"][0]
    assert updated["hooks"]["PermissionRequest"] == THEIRS["hooks"]["PermissionRequest"]
    assert {key: value for key, value in updated.items() if key != "hooks"} == {
        key: value for key, value in THEIRS.items() if key != "hooks"
    }
    assert list(updated) == list(THEIRS)  # key order kept
    assert THEIRS["hooks"]["PostToolUse"][0]["matcher"] == "Edit|Write"  # input untouched
    assert "SessionStart" not in THEIRS["hooks"]


def test_the_command_handlers_shape() -> None:
    updated, _ = hook_install.install({}, hook_install.handlers_for(command=COMMAND))
    hooks = updated["hooks"]

    assert hooks["PostToolUse"] == [
        {"matcher": "*", "hooks": [{"type": "command", "command": COMMAND, "timeout": 5}]}
    ]
    assert hooks["UserPromptSubmit"] == [{"hooks": [{"type": "command", "command": COMMAND, "timeout": 5}]}]
    assert "matcher" not in hooks["Stop"][0]
    # Only events whose output is never used run in the background; PostToolUse delivers messages.
    asynchronous = {event for event, groups in hooks.items() if groups[0]["hooks"][0].get("async")}
    assert asynchronous == {"Notification", "PreCompact"}


def test_the_http_handlers_shape() -> None:
    updated, _ = hook_install.install({}, hook_install.handlers_for(base_url="http://127.0.0.1:9876/"))

    for event in hook_install.EVENTS:
        [group] = updated["hooks"][event]
        assert group["hooks"] == [
            {
                "type": "http",
                "url": "http://127.0.0.1:9876/hooks/claude",
                "timeout": 5,
                "headers": {"Authorization": "Bearer $ENVOY_HOOK_TOKEN"},
                "allowedEnvVars": ["ENVOY_HOOK_TOKEN"],
            }
        ]


def test_install_twice_is_install_once() -> None:
    handlers = hook_install.handlers_for(command=COMMAND)
    once, _ = hook_install.install(THEIRS, handlers)
    twice, changes = hook_install.install(once, handlers)

    assert changes == []
    assert twice == once


def test_install_replaces_ours_when_the_form_or_path_changes() -> None:
    command_form, _ = hook_install.install(THEIRS, hook_install.handlers_for(command=COMMAND))
    http_form, changes = hook_install.install(command_form, hook_install.handlers_for(base_url="http://h:1"))

    assert all(change.startswith("updated") for change in changes)
    assert all(handlers[0]["type"] == "http" and len(handlers) == 1 for handlers in ours(http_form).values())
    moved, _ = hook_install.install(http_form, hook_install.handlers_for(command="envoy-grpc hook"))
    assert all(
        handlers == [hook_install.command_handler("envoy-grpc hook", event)]
        for event, handlers in ours(moved).items()
    )


def test_our_handler_inside_their_group_is_taken_out_and_theirs_kept() -> None:
    mixed = {"hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [
        {"type": "command", "command": "./guard.sh"},
        {"type": "command", "command": "envoy-grpc hook --timeout 1"},
    ]}]}}  # fmt: skip

    updated, _ = hook_install.install(mixed, hook_install.handlers_for(command=COMMAND))
    assert updated["hooks"]["PreToolUse"][0] == {
        "matcher": "Bash",
        "hooks": [{"type": "command", "command": "./guard.sh"}],
    }
    removed, _ = hook_install.uninstall(mixed)
    assert removed["hooks"]["PreToolUse"] == updated["hooks"]["PreToolUse"][:1]


def test_uninstall_restores_the_original_exactly() -> None:
    for handlers in (
        hook_install.handlers_for(command=COMMAND),
        hook_install.handlers_for(base_url="http://x"),
    ):
        installed, _ = hook_install.install(THEIRS, handlers)
        restored, changes = hook_install.uninstall(installed)
        assert restored == THEIRS
        assert len(changes) == len(hook_install.EVENTS)
    bare, _ = hook_install.install({"model": "opus"}, hook_install.handlers_for(command=COMMAND))
    assert hook_install.uninstall(bare)[0] == {"model": "opus"}  # the hooks key it added is gone too


def test_uninstall_without_ours_changes_nothing() -> None:
    assert hook_install.uninstall(THEIRS) == (THEIRS, [])
    assert hook_install.uninstall({}) == ({}, [])


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        ({"type": "command", "command": "envoy-grpc hook"}, True),
        ({"type": "command", "command": "/home/me/.venv/bin/envoy-grpc hook --timeout 3"}, True),
        ({"type": "command", "command": "ENVOY_URL='http://h:1' '/a b/envoy-grpc' hook"}, True),
        ({"type": "command", "command": "python -m envoy_grpc hook"}, True),
        ({"type": "command", "command": "envoy-grpc hooks install"}, False),
        ({"type": "command", "command": "my-envoy-grpc-hook.sh"}, False),
        ({"type": "command", "command": "notify hook"}, False),
        ({"type": "http", "url": "http://127.0.0.1:9876/hooks/claude"}, True),
        ({"type": "http", "url": "http://127.0.0.1:9876/hooks/claude/"}, True),
        ({"type": "http", "url": "http://example.com/hooks/other"}, False),
        ({"type": "prompt", "prompt": "envoy-grpc hook"}, False),
        ("envoy-grpc hook", False),
    ],
)
def test_is_ours(handler: Any, expected: bool) -> None:
    assert hook_install.is_ours(handler) is expected


@pytest.mark.parametrize(
    "settings",
    [[1, 2], {"hooks": []}, {"hooks": {"PreToolUse": {"matcher": "*"}}}],
    ids=["array", "hooks", "event"],
)
def test_install_refuses_shapes_it_cannot_merge_into(settings: Any) -> None:
    with pytest.raises(hook_install.SettingsError):
        hook_install.install(settings, hook_install.handlers_for(command=COMMAND))


def test_default_command_is_the_absolute_script_path(tmp_path: Path) -> None:
    script = tmp_path / "bin" / "envoy-grpc"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)

    assert hook_install.default_command({}, str(script)) == f"{script} hook"
    assert hook_install.default_command({"ENVOY_URL": "http://h:1"}, str(script)) == (
        f"ENVOY_URL=http://h:1 {script} hook"
    )
    fallback = hook_install.default_command({}, "/somewhere/pytest")
    assert fallback.endswith("envoy-grpc hook")
    assert hook_install.is_ours({"type": "command", "command": fallback})


# --- the command, on real files -------------------------------------------------------------------------


def test_cli_install_into_a_project_keeps_everything_else(project: Path, tmp_path: Path) -> None:
    path = project / ".claude" / "settings.json"
    original = path.read_text()

    result = invoke("hooks", "install", "--project", str(project), home=tmp_path / "home")

    assert result.exit_code == 0, result.output
    assert str(path) in result.output
    assert "added    SessionStart" in result.output
    settings = read(path)
    assert set(ours(settings)) == set(hook_install.EVENTS)
    command = ours(settings)["PostToolUse"][0]["command"]
    assert command.endswith("envoy-grpc hook") and os.path.isabs(command.split()[0])
    assert hook_install.uninstall(settings)[0] == THEIRS
    backup = path.with_name("settings.json.bak")
    assert backup.read_text() == original
    assert "settings.json.bak" in result.output


def test_cli_install_twice_then_uninstall(project: Path, tmp_path: Path) -> None:
    path = project / ".claude" / "settings.json"
    invoke("hooks", "install", "--project", str(project))
    first = path.read_text()

    again = invoke("hooks", "install", "--project", str(project))
    assert again.exit_code == 0
    assert "nothing changed" in again.output
    assert path.read_text() == first

    removed = invoke("hooks", "uninstall", "--project", str(project))
    assert removed.exit_code == 0, removed.output
    assert "removed  PostToolUse (1 handler)" in removed.output
    assert read(path) == THEIRS
    # The backup still holds the file as it was before the first change.
    assert read(path.with_name("settings.json.bak")) == THEIRS

    nothing = invoke("hooks", "uninstall", "--project", str(project))
    assert "no envoy-grpc hooks found" in nothing.output


def test_cli_http_form_says_how_to_set_the_token(project: Path, tmp_path: Path) -> None:
    env = {"ENVOY_URL": "http://127.0.0.1:7000", "ENVOY_HOME": str(tmp_path / "data")}
    result = invoke("hooks", "install", "--project", str(project), "--http", env=env)

    assert result.exit_code == 0, result.output
    assert "export ENVOY_HOOK_TOKEN=" in result.output
    assert str(tmp_path / "data" / "hook.token") in result.output
    handlers = ours(read(project / ".claude" / "settings.json"))
    assert {handler["url"] for found in handlers.values() for handler in found} == {
        "http://127.0.0.1:7000/hooks/claude"
    }


def test_cli_creates_the_file_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = invoke("hooks", "install")

    assert result.exit_code == 0, result.output
    path = tmp_path / ".claude" / "settings.json"
    assert set(ours(read(path))) == set(hook_install.EVENTS)
    assert not path.with_name("settings.json.bak").exists()  # nothing to back up
    invoke("hooks", "uninstall")
    assert read(path) == {}


def test_cli_local_writes_settings_local_json(project: Path) -> None:
    result = invoke("hooks", "install", "--project", str(project), "--local")

    assert result.exit_code == 0, result.output
    assert set(ours(read(project / ".claude" / "settings.local.json"))) == set(hook_install.EVENTS)
    assert read(project / ".claude" / "settings.json") == THEIRS


def test_cli_refuses_invalid_json_and_leaves_it(project: Path) -> None:
    path = project / ".claude" / "settings.json"
    path.write_text('{"hooks": {,}  // a comment\n')

    for command in ("install", "uninstall"):
        result = invoke("hooks", command, "--project", str(project))
        assert result.exit_code == 1
        assert "not valid JSON" in result.output
        assert path.read_text() == '{"hooks": {,}  // a comment\n'
    assert not path.with_name("settings.json.bak").exists()


def test_cli_refuses_a_hooks_key_of_the_wrong_shape(project: Path) -> None:
    path = project / ".claude" / "settings.json"
    write(path, {"hooks": ["not", "an", "object"]})

    result = invoke("hooks", "install", "--project", str(project))

    assert result.exit_code == 1
    assert "left unchanged" in result.output
    assert read(path) == {"hooks": ["not", "an", "object"]}


def test_cli_user_writes_under_home(tmp_path: Path, project: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()

    result = invoke("hooks", "install", "--user", home=home)

    assert result.exit_code == 0, result.output
    path = home / ".claude" / "settings.json"
    assert set(ours(read(path))) == set(hook_install.EVENTS)
    assert read(project / ".claude" / "settings.json") == THEIRS
    invoke("hooks", "uninstall", "--user", home=home)
    assert read(path) == {}


def test_cli_user_and_project_together_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("hooks", "install", "--user", "--project", str(tmp_path))
    assert result.exit_code == 2
    assert "--user" in result.output


def test_the_file_mode_is_kept(project: Path) -> None:
    path = project / ".claude" / "settings.json"
    path.chmod(0o600)

    invoke("hooks", "install", "--project", str(project))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_the_installed_script_does_it_in_a_subprocess(tmp_path: Path) -> None:
    # The real console script with a temporary HOME: the path goes through entry.py and click.
    script = Path(sys.executable).parent / "envoy-grpc"
    if not script.exists():
        pytest.skip("envoy-grpc script not installed")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVOY_")} | {"HOME": str(home)}

    result = subprocess.run(
        [str(script), "hooks", "install", "--user"], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    settings = read(home / ".claude" / "settings.json")
    assert ours(settings)["SessionStart"][0]["command"] == f"{script} hook"
