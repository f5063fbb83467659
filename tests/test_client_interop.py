"""Runners of different languages talk to each other through the server (issue 8: Go <-> TypeScript).

An initiator of one language pings a responder of another, which replies; each side acks what it
received (the same check as each language's own exchange test, see tests/runner_checks.py).
"""

from __future__ import annotations

import pytest
from runner_checks import SpawnServer, build_runner, check_exchange

# The TypeScript runner may need `npm ci` and `tsc` first.
pytestmark = pytest.mark.timeout(600)


def test_go_initiator_and_typescript_responder_exchange_a_message(spawn_server: SpawnServer) -> None:
    check_exchange(spawn_server(), build_runner("ts"), "ts", peer=(build_runner("go"), "go"))


def test_a_go_initiator_and_a_python_responder_talk_to_each_other(spawn_server: SpawnServer) -> None:
    check_exchange(spawn_server(), build_runner("python"), "python", peer=(build_runner("go"), "go"))
