"""Runners of different languages talk to each other through the server (issue 8: Go <-> TypeScript).

A Go initiator pings a TypeScript responder, which replies; each side acks what it received. The Go
client lives in clients/go (its own helper's branch); until it is in this tree the test is skipped.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

import pytest
from runner_checks import ROOT, check_exchange
from support import ServerProcess

pytestmark = pytest.mark.timeout(600)

GO_CLIENT = ROOT / "clients" / "go"
TS_CLIENT = ROOT / "clients" / "ts"


@pytest.fixture(scope="module")
def go_runner() -> list[str]:
    if not (GO_CLIENT / "examples" / "runner").is_dir():
        pytest.skip("clients/go is not in this tree yet")
    if shutil.which("go") is None:
        pytest.skip("the go toolchain is needed for clients/go")
    subprocess.run(["go", "build", "-o", "bin/runner", "./examples/runner"], cwd=GO_CLIENT, check=True)
    return [str(GO_CLIENT / "bin" / "runner")]


@pytest.fixture(scope="module")
def ts_runner() -> list[str]:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the TypeScript client")
    subprocess.run([str(ROOT / "scripts" / "clients" / "ts.sh"), "build"], cwd=ROOT, check=True)
    return ["node", str(TS_CLIENT / "dist" / "examples" / "runner.js")]


def test_go_initiator_and_typescript_responder_exchange_a_message(
    go_runner: list[str], ts_runner: list[str], spawn_server: Callable[..., ServerProcess]
) -> None:
    check_exchange(spawn_server(), ts_runner, "ts", peer=(go_runner, "go"))
