"""The Go client (clients/go) against a live server: its example runner, its package, fresh code."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from client_runners import ROOT, check_bad_request, check_exchange, check_listen_across_restart
from support import ServerProcess

CLIENT = ROOT / "clients" / "go"


def go(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the go command in clients/go; modules come from go.mod/go.sum through the Go proxy."""
    assert shutil.which("go"), (
        "the go toolchain is needed for clients/go (go 1.26 on this project's machines)"
    )
    result = subprocess.run(["go", *args], cwd=CLIENT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"go {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def runner() -> list[str]:
    """The example runner, built once per test session into clients/go/bin (gitignored)."""
    go("build", "-o", "bin/runner", "./examples/runner")
    return [str(CLIENT / "bin" / "runner")]


def test_generated_code_matches_the_proto(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "clients" / "go.sh"), str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert result.returncode == 0, result.stderr
    comparison = filecmp.dircmp(CLIENT / "envoy" / "v1", tmp_path / "envoy" / "v1")
    stale = [*comparison.diff_files, *comparison.left_only, *comparison.right_only]
    assert not stale, f"clients/go is stale (run make clients-go): {stale}"


def test_go_package_is_formatted_vetted_and_its_unit_tests_pass(runner: list[str]) -> None:
    unformatted = subprocess.run(["gofmt", "-l", "."], cwd=CLIENT, capture_output=True, text=True).stdout
    assert not unformatted.strip(), f"gofmt would change: {unformatted}"
    go("vet", "./...")
    go("test", "./...")


def test_go_runners_exchange_a_ping_and_a_pong(spawn_server: Any, runner: list[str]) -> None:
    server: ServerProcess = spawn_server()
    check_exchange(server, (runner, "go"))


def test_a_go_initiator_and_a_python_responder_talk_to_each_other(
    spawn_server: Any, runner: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server: ServerProcess = spawn_server()
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "clients" / "python"))
    python = [sys.executable, "-m", "envoy_client.examples.runner"]
    check_exchange(server, (runner, "go"), (python, "python"))


def test_go_listener_gets_every_message_once_across_a_server_restart(
    spawn_server: Any, runner: list[str]
) -> None:
    check_listen_across_restart(runner, spawn_server)


def test_go_runner_reports_a_bad_request_with_its_field(spawn_server: Any, runner: list[str]) -> None:
    check_bad_request(runner, spawn_server())
