"""`envoy-grpc hooks install|uninstall --codex|--cursor`: our hooks go into Codex's and Cursor's hooks.json
and come out again; every other hook keeps its place, and installing twice changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from envoy_grpc import harness_install
from envoy_grpc.cli import cli

COMMAND = "/opt/envoy/bin/envoy-grpc hook"
CURSOR_THEIRS: dict[str, Any] = {
    "version": 1,
    "hooks": {
        "afterFileEdit": [{"command": "./hooks/format.sh"}],
        "beforeShellExecution": [{"command": "./hooks/guard.sh", "matcher": "rm -rf"}],
        "afterAgentThought": [{"command": "./hooks/log.sh"}],
    },
}
CODEX_THEIRS: dict[str, Any] = {
    "description": "team hooks",
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.py"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "./lint.sh", "timeout": 60}]}],
    },
}


def write(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=4) + "\n")


def read(path: Path) -> Any:
    return json.loads(path.read_text())


def invoke(*args: str, home: Path) -> Any:
    env = {"ENVOY_URL": None, "ENVOY_HOME": None, "CODEX_HOME": None, "HOME": str(home)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def our_commands(hooks: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for event, entries in hooks.items():
        for entry in entries:
            for handler in entry.get("hooks", [entry]):
                if "envoy-grpc" in handler.get("command", ""):
                    found.setdefault(event, []).append(handler["command"])
    return found


# --- Cursor --------------------------------------------------------------------------------------------


def test_cursor_install_adds_one_handler_per_event_after_theirs() -> None:
    updated, changes = harness_install.cursor_install(CURSOR_THEIRS, COMMAND + " --cursor")

    assert len(changes) == len(harness_install.CURSOR_EVENTS)
    assert updated["version"] == 1
    assert updated["hooks"]["afterFileEdit"] == [
        {"command": "./hooks/format.sh"},
        {"command": COMMAND + " --cursor"},
    ]
    assert updated["hooks"]["afterAgentThought"] == CURSOR_THEIRS["hooks"]["afterAgentThought"]
    assert set(our_commands(updated["hooks"])) == set(harness_install.CURSOR_EVENTS)
    assert CURSOR_THEIRS["hooks"]["afterFileEdit"] == [{"command": "./hooks/format.sh"}]  # input untouched


def test_cursor_install_is_idempotent_and_replaces_an_older_path_of_ours() -> None:
    once, _ = harness_install.cursor_install(CURSOR_THEIRS, "/old/bin/envoy-grpc hook --cursor")
    moved, moved_changes = harness_install.cursor_install(once, COMMAND + " --cursor")
    again, again_changes = harness_install.cursor_install(moved, COMMAND + " --cursor")

    assert all(change.startswith("updated") for change in moved_changes)
    assert again_changes == [] and again == moved
    assert all(commands == [COMMAND + " --cursor"] for commands in our_commands(moved["hooks"]).values())


def test_cursor_uninstall_removes_only_ours() -> None:
    installed, _ = harness_install.cursor_install(CURSOR_THEIRS, COMMAND + " --cursor")

    removed, changes = harness_install.cursor_uninstall(installed)

    assert removed == CURSOR_THEIRS
    assert len(changes) == len(harness_install.CURSOR_EVENTS)
    assert harness_install.cursor_uninstall(removed) == (removed, [])


def test_cursor_install_refuses_a_file_it_cannot_read_safely() -> None:
    with pytest.raises(harness_install.SettingsError, match=r"hooks\.stop"):
        harness_install.cursor_install({"version": 1, "hooks": {"stop": {"command": "x"}}}, COMMAND)


def test_cursor_cli_on_a_project_and_for_the_user(tmp_path: Path) -> None:
    project, home = tmp_path / "app", tmp_path / "home"
    write(project / ".cursor" / "hooks.json", CURSOR_THEIRS)

    first = invoke("hooks", "install", "--cursor", "--project", str(project), home=home)
    second = invoke("hooks", "install", "--cursor", "--project", str(project), home=home)
    user = invoke("hooks", "install", "--cursor", "--user", home=home)
    removed = invoke("hooks", "uninstall", "--cursor", "--project", str(project), home=home)

    assert first.exit_code == second.exit_code == user.exit_code == removed.exit_code == 0
    assert "added    stop" in first.output and "nothing changed" in second.output
    assert read(project / ".cursor" / "hooks.json") == CURSOR_THEIRS
    assert read(project / ".cursor" / "hooks.json.bak") == CURSOR_THEIRS
    user_hooks = read(home / ".cursor" / "hooks.json")
    assert user_hooks["version"] == 1
    assert all(c[0].endswith("hook --cursor") for c in our_commands(user_hooks["hooks"]).values())


# --- Codex ---------------------------------------------------------------------------------------------


def test_codex_install_writes_matcherless_command_groups_beside_theirs() -> None:
    updated, changes = harness_install.codex_install(CODEX_THEIRS, COMMAND + " --codex")

    assert len(changes) == len(harness_install.CODEX_EVENTS)
    assert updated["description"] == "team hooks"
    assert updated["hooks"]["PreToolUse"][0] == CODEX_THEIRS["hooks"]["PreToolUse"][0]
    ours = updated["hooks"]["PreToolUse"][1]
    assert ours == {"hooks": [{"type": "command", "command": COMMAND + " --codex", "timeout": 5}]}
    assert harness_install.codex_install(updated, COMMAND + " --codex") == (updated, [])
    removed, removals = harness_install.codex_uninstall(updated)
    assert removed == CODEX_THEIRS and len(removals) == len(harness_install.CODEX_EVENTS)


def test_codex_cli_writes_hooks_json_and_prints_the_notify_line(tmp_path: Path) -> None:
    project, home = tmp_path / "repo", tmp_path / "home"
    write(project / ".codex" / "hooks.json", CODEX_THEIRS)
    (home / ".codex").mkdir(parents=True)
    (home / ".codex" / "config.toml").write_text('model = "gpt-5.1-codex"\nnotify = ["say"]\n')

    installed = invoke("hooks", "install", "--codex", "--project", str(project), home=home)
    again = invoke("hooks", "install", "--codex", "--project", str(project), home=home)
    removed = invoke("hooks", "uninstall", "--codex", "--project", str(project), home=home)

    assert installed.exit_code == again.exit_code == removed.exit_code == 0
    assert "added    Stop" in installed.output and "nothing changed" in again.output
    assert 'notify = ["' in installed.output and '"hook", "--codex-notify"]' in installed.output
    assert "already sets notify" in installed.output
    assert (home / ".codex" / "config.toml").read_text().endswith('notify = ["say"]\n')  # never edited
    assert read(project / ".codex" / "hooks.json") == CODEX_THEIRS


def test_codex_user_scope_follows_codex_home(tmp_path: Path) -> None:
    env = {"CODEX_HOME": str(tmp_path / "codex-home"), "HOME": str(tmp_path / "home")}

    assert harness_install.codex_settings_path(None, True, env) == tmp_path / "codex-home" / "hooks.json"
    assert harness_install.codex_settings_path(None, True, {"HOME": "/h"}) == Path("/h/.codex/hooks.json")


def test_the_notify_program_carries_the_server_address_through_env() -> None:
    argv = harness_install.notify_argv({"ENVOY_URL": "http://10.0.0.5:9876"}, "/opt/envoy/bin/envoy-grpc")

    assert argv[:2] == ["env", "ENVOY_URL=http://10.0.0.5:9876"]
    assert argv[-2:] == ["hook", "--codex-notify"]
    assert harness_install.notify_line(['a "b"', "c"]) == 'notify = ["a \\"b\\"", "c"]'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--codex", "--http"), "command hooks only"),
        (("--cursor", "--local"), "--local is for Claude Code"),
        (("--cursor", "--user", "--project", "."), "cannot go with --project"),
    ],
)
def test_options_that_do_not_apply_are_refused(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = invoke("hooks", "install", *args, home=tmp_path)

    assert result.exit_code == 2
    assert message in result.output
