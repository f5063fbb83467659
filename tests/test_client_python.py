"""The Python client (clients/python) against a live server: its example runner, and fresh stubs."""

from __future__ import annotations

import asyncio
import filecmp
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from client_runners import (
    ROOT,
    check_bad_request,
    check_exchange,
    check_listen_across_restart,
    register,
    send,
)
from support import ServerProcess

from envoy_grpc.gen.envoy.v1 import agents_pb2

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


async def test_unary_calls_and_the_subscription_ride_out_a_server_restart(
    spawn_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process: a call made while the server is down succeeds once it is back (retries with
    backoff), and the subscription resumes after the last sequence without repeating a message."""
    monkeypatch.syspath_prepend(str(CLIENT))  # the client is not installed in the venv
    from envoy_client import EnvoyClient

    server: ServerProcess = spawn_server()
    sender, sender_token = register(server.base_url, "retry-sender")
    async with EnvoyClient(server.grpc_target) as client:
        me = await client.register("retry-receiver")
        subscription = client.subscribe(me.agent_id)
        stream = aiter(subscription)
        send(server.base_url, sender_token, sender, me.agent_id, "one")
        first = await asyncio.wait_for(anext(stream), 10)
        await client.ack(me.agent_id, first.message_id)

        assert server.stop() == 0
        ports = ("--grpc-port", str(server.grpc_port), "--http-port", str(server.http_port))
        # Ask while nothing listens; the server comes back during the retries.
        request = agents_pb2.GetAgentRequest(agent_id=me.agent_id)
        asked = asyncio.ensure_future(client.agents.GetAgent(request))
        await asyncio.sleep(0.3)
        assert not asked.done()
        restarted: ServerProcess = spawn_server(*ports, data_dir=server.data_dir)
        assert (await asyncio.wait_for(asked, 20)).agent_id == me.agent_id

        send(restarted.base_url, sender_token, sender, me.agent_id, "two")
        second = await asyncio.wait_for(anext(stream), 20)
        assert [first.parts[0].text, second.parts[0].text] == ["one", "two"]
        assert (first.sequence_id, second.sequence_id) == (1, 2)
        assert subscription.reconnects >= 1
