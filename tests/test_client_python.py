"""The Python client (clients/python) against a live server: its example runner, and fresh stubs."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from client_runners import ROOT, check_bad_request, check_exchange, check_listen_across_restart
from support import ServerProcess

CLIENT = ROOT / "clients" / "python"
RUNNER = [sys.executable, "-m", "envoy_client.examples.runner"]


@pytest.fixture(autouse=True)
def client_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner imports envoy_client from the source tree, as `pip install clients/python` would."""
    monkeypatch.setenv("PYTHONPATH", str(CLIENT))


def test_generated_stubs_match_the_proto(tmp_path: Path) -> None:
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "clients" / "python.sh"), str(tmp_path)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    committed = CLIENT / "envoy_client" / "gen"
    stale = _differences(filecmp.dircmp(committed, tmp_path, ignore=["__pycache__"]))
    assert not stale, f"clients/python is stale (run make clients-python): {stale}"


def _differences(comparison: filecmp.dircmp[str]) -> list[str]:
    found = [*comparison.diff_files, *comparison.left_only, *comparison.right_only]
    for sub in comparison.subdirs.values():
        found += _differences(sub)
    return found


def test_python_runners_exchange_a_ping_and_a_pong(spawn_server: Any) -> None:
    server: ServerProcess = spawn_server()
    check_exchange(server, (RUNNER, "python"))


def test_python_listener_gets_every_message_once_across_a_server_restart(spawn_server: Any) -> None:
    check_listen_across_restart(RUNNER, spawn_server)


def test_python_runner_reports_a_bad_request_with_its_field(spawn_server: Any) -> None:
    check_bad_request(RUNNER, spawn_server())
