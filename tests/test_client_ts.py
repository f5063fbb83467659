"""The TypeScript client (clients/ts): its example runner against a live server, and its generated code.

The runner is compiled once per session with the client's own pinned toolchain (scripts/clients/ts.sh
build: npm ci from clients/ts/package-lock.json, then tsc) and run as `node dist/examples/runner.js`.
"""

from __future__ import annotations

import signal
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

# The first test pays for `npm ci` and `tsc`; a runner that hangs still ends at its own --timeout.
pytestmark = pytest.mark.timeout(300)

LANG = "ts"
CLIENT = ROOT / "clients" / "ts"


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
    run([str(ROOT / "scripts" / "clients" / "ts.sh"), "generate", str(tmp_path)])
    fresh = tmp_path / "clients" / "ts" / "src" / "gen"

    assert differences(CLIENT / "src" / "gen", fresh) == [], "stale: run `make clients-ts` and commit"
