"""Limits: per-agent rate limits, open streams per agent, max-ack-pending flow control, the server's
default deadline, and the refusals of unsafe listening settings. Each is reported with its limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from support import Server, auth, make_config, wait_for

from envoy_grpc.config import Config, from_environment
from envoy_grpc.core.auth import ANONYMOUS
from envoy_grpc.gen.envoy.v1 import agents_pb2, messages_pb2

Factory = Callable[..., Awaitable[Server]]


def details_of(error: grpc.aio.AioRpcError) -> tuple[error_details_pb2.ErrorInfo, float | None]:
    """The ErrorInfo and the RetryInfo delay (seconds) a refused call carries."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    info, delay = error_details_pb2.ErrorInfo(), None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            delay = retry.retry_delay.ToNanoseconds() / 1e9
    return info, delay


# -- rate limits ------------------------------------------------------------------------------


async def test_http_caller_over_its_rate_gets_429_with_retry_after_then_recovers(
    server_factory: Factory,
) -> None:
    server = await server_factory(rate_limit=0.5, rate_burst=3)
    agent = await server.register("busy")
    statuses: list[int] = []
    body: Any = None
    for _ in range(10):  # the burst is 3; at most a token or two refills meanwhile
        status, body = await server.request("GET", "/agents/id1", token=agent["token"])
        statuses.append(status)
        if status == 429:
            break

    assert statuses[-1] == 429, statuses
    assert body["error"]["code"] == "RATE_LIMITED"
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert "0.5 calls per second" in body["error"]["message"]
    info = next(d for d in body["error"]["details"] if d["@type"].endswith("ErrorInfo"))
    assert info["metadata"]["limit"] == "0.5/s"
    async with server.http.get(
        server.base_url + "/agents/id1", headers={"authorization": f"Bearer {agent['token']}"}
    ) as refused:
        assert refused.status == 429
        retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 2

    await asyncio.sleep(retry_after)
    status, _ = await server.request("GET", "/agents/id1", token=agent["token"])
    assert status == 200


async def test_grpc_caller_over_its_rate_gets_resource_exhausted_with_retry_info(
    server_factory: Factory,
) -> None:
    server = await server_factory(rate_limit=0.5, rate_burst=2)
    agent = await server.register("busy")
    request = agents_pb2.GetAgentRequest(agent_id="id1")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        for _ in range(10):
            await server.agents.GetAgent(request, metadata=auth(agent["token"]))

    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    info, delay = details_of(refused.value)
    assert info.reason == "RATE_LIMITED"
    assert info.metadata["limit"] == "0.5/s" and info.metadata["burst"] == "2"
    assert delay is not None and 0 < delay <= 2.0
    await asyncio.sleep(delay)
    answer = await server.agents.GetAgent(request, metadata=auth(agent["token"]))
    assert answer.agent_id == "id1"


async def test_one_agent_over_its_rate_does_not_slow_another_nor_the_operator(
    server_factory: Factory,
) -> None:
    server = await server_factory(rate_limit=0.5, rate_burst=2)
    noisy, quiet = await server.register("noisy"), await server.register("quiet")
    statuses = [(await server.request("GET", "/agents/id1", token=noisy["token"]))[0] for _ in range(6)]

    assert 429 in statuses
    assert (await server.request("GET", "/agents/id2", token=quiet["token"]))[0] == 200
    for _ in range(10):  # the operator is exempt
        assert (await server.request("GET", "/agents/id1", token=server.operator_token))[0] == 200


# -- open streams per agent -------------------------------------------------------------------


async def test_streams_per_agent_are_limited_over_grpc_and_sse(server_factory: Factory) -> None:
    server = await server_factory(max_streams_per_agent=2)
    agent = await server.register("listener")
    request = messages_pb2.SubscribeRequest(agent_id="id1")
    calls = [server.messages.Subscribe(request, metadata=auth(agent["token"])) for _ in range(2)]
    for call in calls:
        await call.initial_metadata()

    third = server.messages.Subscribe(request, metadata=auth(agent["token"]))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await third.read()
    status, body = await server.request("GET", "/agents/id1/messages/stream", token=agent["token"])

    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details_of(refused.value)[0].reason == "TOO_MANY_STREAMS"
    assert "--max-streams-per-agent" in (refused.value.details() or "")
    assert status == 429 and body["error"]["code"] == "TOO_MANY_STREAMS"
    assert "already has 2 open message streams" in body["error"]["message"]

    calls[0].cancel()
    await wait_for(lambda: server.running.messaging.bus.streams_of("id1") == 1)
    again = server.messages.Subscribe(request, metadata=auth(agent["token"]))
    await again.initial_metadata()
    assert server.running.messaging.bus.streams_of("id1") == 2
    again.cancel()
    calls[1].cancel()


# -- max-ack-pending flow control ----------------------------------------------------------------


async def test_max_ack_pending_holds_pushes_back_and_delivers_everything_in_order_after_acks(
    server_factory: Factory,
) -> None:
    server = await server_factory(max_ack_pending=3)
    sender, receiver = await server.register("sender"), await server.register("receiver")
    received: list[messages_pb2.Message] = []
    call = server.messages.Subscribe(
        messages_pb2.SubscribeRequest(agent_id="id2"), metadata=auth(receiver["token"])
    )

    async def read() -> None:
        async for message in call:
            received.append(message)

    reader = asyncio.create_task(read())
    for n in range(10):
        status, _ = await server.request(
            "POST", "/messages", {"to": "id2", "parts": [{"text": f"m{n}"}]}, token=sender["token"]
        )
        assert status == 201
    await wait_for(lambda: len(received) == 3)
    await asyncio.sleep(0.3)  # room for a wrong fourth push to show up
    assert len(received) == 3

    for acked in range(10):
        await wait_for(lambda count=acked: len(received) > count)
        status, _ = await server.request(
            "POST", f"/messages/{received[acked].message_id}/ack", {}, token=receiver["token"]
        )
        assert status == 200
        assert len(received) <= acked + 1 + 3  # never more than 3 unacknowledged on the stream

    assert [m.sequence_id for m in received] == list(range(1, 11))
    assert [m.parts[0].text for m in received] == [f"m{n}" for n in range(10)]
    call.cancel()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader


async def test_held_stream_notices_deliveries_settled_without_an_ack(server_factory: Factory) -> None:
    """Terminating a held message frees its slot too (term, like ack, settles it)."""
    server = await server_factory(max_ack_pending=1)
    sender, receiver = await server.register("sender"), await server.register("receiver")
    for n in range(2):
        await server.request(
            "POST", "/messages", {"to": "id2", "parts": [{"text": f"m{n}"}]}, token=sender["token"]
        )
    call = server.messages.Subscribe(
        messages_pb2.SubscribeRequest(agent_id="id2"), metadata=auth(receiver["token"])
    )
    first = await call.read()
    status, _ = await server.request(
        "POST", f"/messages/{first.message_id}/term", {}, token=receiver["token"]
    )
    second = await asyncio.wait_for(call.read(), 10)

    assert status == 200
    assert (first.parts[0].text, second.parts[0].text) == ("m0", "m1")
    call.cancel()


# -- deadlines -----------------------------------------------------------------------------------


async def test_unary_calls_past_the_server_deadline_are_deadline_exceeded_naming_it(
    server_factory: Factory,
) -> None:
    # A deadline shorter than any database round trip: every call that reads the store runs out.
    server = await server_factory(request_deadline=1e-9)
    registration = await server.running.registry.register(ANONYMOUS, "a", "claude", None)
    assert registration.token is not None

    with pytest.raises(grpc.aio.AioRpcError) as expired:
        await server.messages.ListPendingMessages(
            messages_pb2.ListPendingMessagesRequest(agent_id="id1"), metadata=auth(registration.token)
        )
    status, body = await server.request("GET", "/agents/id1/messages/pending", token=registration.token)

    assert expired.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    info, _ = details_of(expired.value)
    assert info.reason == "DEADLINE_EXCEEDED"
    assert info.metadata["limit"] == "1e-09s"
    assert "--request-deadline" in (expired.value.details() or "")
    assert status == 504 and body["error"]["code"] == "DEADLINE_EXCEEDED"


# -- unsafe listening settings -------------------------------------------------------------------


def test_non_loopback_without_tls_is_refused_unless_explicitly_insecure(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"--tls-cert and --tls-key.*--insecure-non-loopback"):
        Config(host="0.0.0.0", data_dir=tmp_path).check()
    Config(host="0.0.0.0", data_dir=tmp_path, insecure_non_loopback=True).check()
    with pytest.raises(ValueError, match="--auth=trust"):
        Config(host="0.0.0.0", data_dir=tmp_path, auth="trust", insecure_non_loopback=True).check()


def test_limits_come_from_the_environment_and_bad_values_are_named() -> None:
    config = from_environment(
        {"ENVOY_RATE_LIMIT": "5", "ENVOY_RATE_BURST": "7", "ENVOY_MAX_ACK_PENDING": "9",
         "ENVOY_MAX_STREAMS_PER_AGENT": "4", "ENVOY_REQUEST_DEADLINE": "2.5"}
    )  # fmt: skip

    assert (config.rate_limit, config.rate_burst, config.max_ack_pending) == (5.0, 7, 9)
    assert (config.max_streams_per_agent, config.request_deadline) == (4, 2.5)
    with pytest.raises(ValueError, match="ENVOY_RATE_BURST must be a whole number"):
        from_environment({"ENVOY_RATE_BURST": "lots"})
    with pytest.raises(ValueError, match="--rate-limit"):
        make_config(Path("/tmp"), rate_limit=-1).check()


def test_serve_refuses_a_non_loopback_host_without_tls_and_says_what_to_do(spawn_server: Any) -> None:
    process = spawn_server("--host", "0.0.0.0", wait=False)

    code = process.process.wait(20)
    wait_until = time.monotonic() + 5
    while (
        not any("--insecure-non-loopback" in line for line in process.log) and time.monotonic() < wait_until
    ):
        time.sleep(0.05)

    assert code == 1
    assert any("--tls-cert and --tls-key" in line and "clear text" in line for line in process.log)
