"""The Go client (clients/go): its example runner against a live server, its package, and its generated code.

The runner is built once per session (go build ./examples/runner into clients/go/bin, gitignored; modules
come from go.mod/go.sum through the Go proxy) and run as the built binary.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from runner_checks import (
    ROOT,
    SpawnServer,
    build_runner,
    check_bad_request,
    check_bench_smoke,
    check_exchange,
    check_listen_across_restart,
    differences,
    run,
)

# The first test pays for `go build` (seconds with a warm module cache); `go test` compiles the package.
pytestmark = pytest.mark.timeout(300)

LANG = "go"
CLIENT = ROOT / "clients" / "go"


@pytest.fixture(scope="session")
def runner() -> list[str]:
    return build_runner(LANG)


def test_responder_and_initiator_exchange_a_message_and_ack_it(
    runner: list[str], spawn_server: SpawnServer
) -> None:
    check_exchange(spawn_server(), runner, LANG)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "killed"])
def test_listen_receives_every_message_once_across_a_server_restart(
    runner: list[str], spawn_server: SpawnServer, stop_signal: signal.Signals
) -> None:
    check_listen_across_restart(spawn_server, runner, stop_signal)


def test_bad_request_prints_invalid_argument_naming_the_field(
    runner: list[str], spawn_server: SpawnServer
) -> None:
    check_bad_request(spawn_server(), runner)


def test_bench_mode_reports_rate_and_latency(runner: list[str], spawn_server: SpawnServer) -> None:
    check_bench_smoke(spawn_server(), runner, LANG)


def test_committed_generated_code_matches_the_proto(runner: list[str], tmp_path: Path) -> None:
    run(["bash", str(ROOT / "scripts" / "clients" / "go.sh"), str(tmp_path)])
    fresh = tmp_path / "envoy" / "v1"

    assert differences(CLIENT / "envoy" / "v1", fresh) == [], "stale: run `make clients-go` and commit"


def test_go_package_is_formatted_vetted_and_its_unit_tests_pass(runner: list[str]) -> None:
    unformatted = subprocess.run(["gofmt", "-l", "."], cwd=CLIENT, capture_output=True, text=True).stdout
    assert not unformatted.strip(), f"gofmt would change: {unformatted}"
    run(["go", "vet", "./..."], cwd=CLIENT)
    run(["go", "test", "./..."], cwd=CLIENT)
