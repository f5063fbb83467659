"""Delivery under failure: a kill -9 mid-stream of sends, a reconnect herd, and a reader that never reads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import urllib.request
from pathlib import Path
from typing import Any

import grpc
from support import ServerProcess, auth

from envoy_grpc.gen.envoy.v1 import agents_pb2, agents_pb2_grpc, common_pb2, messages_pb2, messages_pb2_grpc

TIMEOUT = 10.0


def register(base_url: str, name: str) -> str:
    request = urllib.request.Request(
        base_url + "/agents", data=json.dumps({"name": name, "kind": "test"}).encode()
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(json.loads(response.read())["token"])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def drain(
    stub: messages_pb2_grpc.MessageServiceStub, token: str, agent_id: str
) -> list[messages_pb2.Message]:
    """Everything the agent's stream replays, until it has been quiet for a second."""
    call = stub.Subscribe(messages_pb2.SubscribeRequest(agent_id=agent_id), metadata=auth(token))
    received: list[messages_pb2.Message] = []
    with contextlib.suppress(TimeoutError):
        while True:
            message = await asyncio.wait_for(call.read(), 1.0)
            assert message is not grpc.aio.EOF
            received.append(message)
    call.cancel()
    return received


async def test_kill_9_mid_sends_loses_no_acknowledged_message_and_duplicates_none(spawn_server: Any) -> None:
    server: ServerProcess = spawn_server()
    sender, receiver = register(server.base_url, "sender"), register(server.base_url, "receiver")
    confirmed: list[str] = []
    attempted = 0

    async def send_forever() -> None:
        nonlocal attempted
        async with grpc.aio.insecure_channel(server.grpc_target) as channel:
            stub = messages_pb2_grpc.MessageServiceStub(channel)
            while True:
                body = f"m{attempted}"
                attempted += 1
                request = messages_pb2.SendMessageRequest(to="id2", parts=[common_pb2.Part(text=body)])
                try:
                    await stub.SendMessage(request, metadata=auth(sender), timeout=2)
                except grpc.aio.AioRpcError:
                    return  # the server is gone: this send is in doubt
                confirmed.append(body)

    sending = asyncio.create_task(send_forever())
    while len(confirmed) < 300:
        await asyncio.sleep(0.01)
        assert not sending.done(), "the sender stopped before the kill"
    server.process.send_signal(signal.SIGKILL)
    await asyncio.wait_for(sending, TIMEOUT)
    server.process.wait(TIMEOUT)

    restarted: ServerProcess = spawn_server(data_dir=server.data_dir)
    async with grpc.aio.insecure_channel(restarted.grpc_target) as channel:
        received = await drain(messages_pb2_grpc.MessageServiceStub(channel), receiver, "id2")

    bodies = [m.parts[0].text for m in received]
    assert len({m.message_id for m in received}) == len(received), "a message was delivered twice"
    assert len(set(bodies)) == len(bodies), "a send was stored twice"
    assert set(confirmed) <= set(bodies), f"lost: {sorted(set(confirmed) - set(bodies))[:5]}"
    assert len(bodies) - len(confirmed) <= 1, "more than the one in-doubt send appeared"
    assert [m.sequence_id for m in received] == list(range(1, len(received) + 1)), "sequence gap"
    assert bodies == sorted(bodies, key=lambda b: int(b[1:])), "out of order"


async def test_a_thousand_subscribers_reconnecting_at_once_all_become_active(spawn_server: Any) -> None:
    server: ServerProcess = spawn_server()
    count = 1000
    channels = [
        grpc.aio.insecure_channel(server.grpc_target, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(4)
    ]
    try:
        agents_stub = agents_pb2_grpc.AgentServiceStub(channels[0])
        registered = await asyncio.gather(
            *(
                agents_stub.RegisterAgent(agents_pb2.RegisterAgentRequest(name=f"a{n}", kind="herd"))
                for n in range(count)
            )
        )
        announcer = registered[0]
        calls = [
            messages_pb2_grpc.MessageServiceStub(channels[n % len(channels)]).Subscribe(
                messages_pb2.SubscribeRequest(agent_id=agent.agent_id), metadata=auth(agent.token)
            )
            for n, agent in enumerate(registered[1:])
        ]
        await asyncio.wait_for(asyncio.gather(*(call.initial_metadata() for call in calls)), 30)

        sender = messages_pb2_grpc.MessageServiceStub(channels[0])
        sent = await sender.SendMessage(
            messages_pb2.SendMessageRequest(
                type=messages_pb2.MESSAGE_TYPE_BROADCAST, parts=[common_pb2.Part(text="hi")]
            ),
            metadata=auth(announcer.token),
        )
        received = await asyncio.wait_for(asyncio.gather(*(call.read() for call in calls)), 30)

        assert len(sent.recipients) == count - 1
        assert all(m is not grpc.aio.EOF and m.message_id == sent.message_id for m in received)
        assert not [call for call in calls if call.done()], "a stream ended (CANCELLED?)"
        for call in calls:
            call.cancel()
    finally:
        for channel in channels:
            await channel.close()


async def test_a_reader_that_never_reads_does_not_grow_server_memory(spawn_server: Any) -> None:
    server: ServerProcess = spawn_server()
    sender = register(server.base_url, "sender")
    stuck = register(server.base_url, "stuck")
    healthy = register(server.base_url, "healthy")
    body = "x" * 50_000
    messages = 1500  # 75 MB to the stuck reader
    async with (
        grpc.aio.insecure_channel(server.grpc_target) as stuck_channel,
        grpc.aio.insecure_channel(server.grpc_target) as channel,
    ):
        stub = messages_pb2_grpc.MessageServiceStub(channel)
        never_read = messages_pb2_grpc.MessageServiceStub(stuck_channel).Subscribe(
            messages_pb2.SubscribeRequest(agent_id="id2"), metadata=auth(stuck)
        )
        await never_read.initial_metadata()
        reader = stub.Subscribe(messages_pb2.SubscribeRequest(agent_id="id3"), metadata=auth(healthy))
        await reader.initial_metadata()
        baseline = rss_kib(server.process.pid)
        peak = baseline
        for n in range(messages):
            await stub.SendMessage(
                messages_pb2.SendMessageRequest(to="id2", parts=[common_pb2.Part(text=body)]),
                metadata=auth(sender),
            )
            if n % 10 == 0:
                await stub.SendMessage(
                    messages_pb2.SendMessageRequest(to="id3", parts=[common_pb2.Part(text=f"h{n}")]),
                    metadata=auth(sender),
                )
                peak = max(peak, rss_kib(server.process.pid))
        healthy_received = [await asyncio.wait_for(reader.read(), TIMEOUT) for _ in range(messages // 10)]
        never_read.cancel()
        reader.cancel()

    assert [m.parts[0].text for m in healthy_received] == [f"h{n}" for n in range(0, messages, 10)]
    growth_mb = (peak - baseline) / 1024
    # The budget: the writer's SQLite page cache (16 MB) + the stuck stream's queue (256 x 50 KB).
    assert growth_mb < 48, f"server RSS grew {growth_mb:.0f} MB while 75 MB went to a reader that never reads"
