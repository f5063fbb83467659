"""The Python client (clients/python): its example runner against a live server, and its generated code.

The runner needs no build: it is `python -m envoy_client.examples.runner` with clients/python on
PYTHONPATH, as `pip install clients/python` would provide it.
"""

from __future__ import annotations

import asyncio
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
    register,
    run,
    send_texts,
    start_again,
)

from envoy_grpc.gen.envoy.v1 import agents_pb2

LANG = "python"
CLIENT = ROOT / "clients" / "python"


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


def test_committed_generated_code_matches_the_proto(tmp_path: Path) -> None:
    fresh = tmp_path / "gen"
    run(["bash", str(ROOT / "scripts" / "clients" / "python.sh"), str(fresh)])

    assert differences(CLIENT / "envoy_client" / "gen", fresh) == [], (
        "stale: run `make clients-python` and commit"
    )


async def test_unary_calls_and_the_subscription_ride_out_a_server_restart(
    spawn_server: SpawnServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process: a call made while the server is down succeeds once it is back (retries with
    backoff), and the subscription resumes after the last sequence without repeating a message."""
    monkeypatch.syspath_prepend(str(CLIENT))  # the client is not installed in the venv
    from envoy_client import EnvoyClient

    server = spawn_server()
    _, sender_token = register(server, "retry-sender")
    async with EnvoyClient(server.grpc_target) as client:
        me = await client.register("retry-receiver")
        subscription = client.subscribe(me.agent_id)
        stream = aiter(subscription)
        send_texts(server, sender_token, me.agent_id, ["one"])
        first = await asyncio.wait_for(anext(stream), 10)
        await client.ack(me.agent_id, first.message_id)

        assert server.stop() == 0
        # Ask while nothing listens; the server comes back during the retries.
        request = agents_pb2.GetAgentRequest(agent_id=me.agent_id)
        asked = asyncio.ensure_future(client.agents.GetAgent(request))
        await asyncio.sleep(0.3)
        assert not asked.done()
        restarted = start_again(spawn_server, server)
        assert (await asyncio.wait_for(asked, 20)).agent_id == me.agent_id

        send_texts(restarted, sender_token, me.agent_id, ["two"])
        second = await asyncio.wait_for(anext(stream), 20)
        assert [first.parts[0].text, second.parts[0].text] == ["one", "two"]
        assert (first.sequence_id, second.sequence_id) == (1, 2)
        assert subscription.reconnects >= 1
