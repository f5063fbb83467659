"""Push delivery: Subscribe streams over gRPC and SSE, replay, resume, redelivery, dead letters, TTL."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from support import Server, auth, wait_for

from envoy_grpc.gen.envoy.v1 import common_pb2, messages_pb2
from envoy_grpc.store import deliveries

TIMEOUT = 5.0


def direct(to: str, body: str, **fields: Any) -> messages_pb2.SendMessageRequest:
    return messages_pb2.SendMessageRequest(
        type=messages_pb2.MESSAGE_TYPE_DIRECT, to=to, parts=[common_pb2.Part(text=body)], **fields
    )


async def agents(server: Server, count: int) -> list[str]:
    """Register `count` root agents id1..idN; return their tokens."""
    return [(await server.register(f"agent-{n}"))["token"] for n in range(count)]


def subscribe(server: Server, token: str, agent_id: str, after: int = 0) -> Any:
    return server.messages.Subscribe(
        messages_pb2.SubscribeRequest(agent_id=agent_id, after_sequence=after), metadata=auth(token)
    )


async def read(call: Any) -> messages_pb2.Message:
    message = await asyncio.wait_for(call.read(), TIMEOUT)
    assert message is not grpc.aio.EOF
    return message  # type: ignore[no-any-return]


def texts(messages: list[messages_pb2.Message]) -> list[str]:
    return [m.parts[0].text for m in messages]


async def test_a_stream_replays_pending_messages_then_pushes_new_ones(server: Server) -> None:
    sender, receiver = await agents(server, 2)
    for n in range(3):
        await server.messages.SendMessage(direct("id2", f"before-{n}"), metadata=auth(sender))
    await server.messages.AckMessage(messages_pb2.AckMessageRequest(message_id="2"), metadata=auth(receiver))

    call = subscribe(server, receiver, "id2")
    replayed = [await read(call), await read(call)]
    await server.messages.SendMessage(direct("id2", "live"), metadata=auth(sender))
    live = await read(call)
    call.cancel()

    assert texts(replayed) == ["before-0", "before-2"]
    assert [m.sequence_id for m in replayed] == [1, 3]
    assert (live.parts[0].text, live.sequence_id, live.delivery_attempt) == ("live", 4, 1)
    assert live.delivery_state == messages_pb2.DELIVERY_STATE_DELIVERED


async def test_reconnecting_with_after_sequence_misses_nothing_and_keeps_order(server: Server) -> None:
    sender, receiver = await agents(server, 2)
    call = subscribe(server, receiver, "id2")
    for n in range(5):
        await server.messages.SendMessage(direct("id2", f"m{n}"), metadata=auth(sender))
    first = [await read(call) for _ in range(2)]
    call.cancel()

    for n in range(5, 10):
        await server.messages.SendMessage(direct("id2", f"m{n}"), metadata=auth(sender))
    resumed = subscribe(server, receiver, "id2", after=first[-1].sequence_id)
    rest = [await read(resumed) for _ in range(8)]
    resumed.cancel()

    assert [m.sequence_id for m in first + rest] == list(range(1, 11))
    assert texts(first + rest) == [f"m{n}" for n in range(10)]


async def test_every_stream_of_an_agent_receives_every_message(server: Server) -> None:
    sender, receiver = await agents(server, 2)
    streams = [subscribe(server, receiver, "id2") for _ in range(3)]
    for stream in streams:
        await asyncio.wait_for(stream.initial_metadata(), TIMEOUT)

    await server.messages.SendMessage(direct("id2", "to all my streams"), metadata=auth(sender))
    received = [await read(stream) for stream in streams]
    for stream in streams:
        stream.cancel()

    assert texts(received) == ["to all my streams"] * 3


async def test_a_nak_redelivers_with_the_next_attempt_number(server: Server) -> None:
    sender, receiver = await agents(server, 2)
    call = subscribe(server, receiver, "id2")
    await server.messages.SendMessage(direct("id2", "retry me"), metadata=auth(sender))
    first = await read(call)

    await wait_for(lambda: _delivery_count(server, sender, "1", 1), TIMEOUT)
    await server.messages.NakMessage(messages_pb2.NakMessageRequest(message_id="1"), metadata=auth(receiver))
    again = await read(call)
    call.cancel()

    assert (first.delivery_attempt, again.delivery_attempt) == (1, 2)
    assert again.sequence_id == first.sequence_id


async def _delivery_count(server: Server, token: str, message_id: str, at_least: int) -> bool:
    deliveries = await server.messages.ListDeliveries(
        messages_pb2.ListDeliveriesRequest(message_id=message_id), metadata=auth(token)
    )
    return deliveries.deliveries[0].delivery_count >= at_least


async def test_unacked_messages_are_redelivered_after_the_ack_wait_then_dead_lettered(
    server_factory: Any,
) -> None:
    server: Server = await server_factory(ack_wait=0.3, max_deliver=2, redelivery_interval=0.05)
    sender, receiver = await agents(server, 2)
    call = subscribe(server, receiver, "id2")
    await server.messages.SendMessage(direct("id2", "ack me"), metadata=auth(sender))

    attempts = [(await read(call)).delivery_attempt, (await read(call)).delivery_attempt]

    async def dead_lettered() -> bool:
        found = await server.messages.ListDeliveries(
            messages_pb2.ListDeliveriesRequest(message_id="1"), metadata=auth(sender)
        )
        return found.deliveries[0].state == messages_pb2.DELIVERY_STATE_DEAD_LETTERED

    await wait_for(dead_lettered, TIMEOUT)
    pending = await server.messages.ListPendingMessages(
        messages_pb2.ListPendingMessagesRequest(agent_id="id2"), metadata=auth(receiver)
    )
    call.cancel()

    assert attempts == [1, 2]
    assert pending.count == 0


async def test_an_acked_message_is_not_redelivered(server_factory: Any) -> None:
    server: Server = await server_factory(ack_wait=0.2, redelivery_interval=0.05)
    sender, receiver = await agents(server, 2)
    call = subscribe(server, receiver, "id2")
    await server.messages.SendMessage(direct("id2", "got it"), metadata=auth(sender))
    await read(call)
    await server.messages.AckMessage(messages_pb2.AckMessageRequest(message_id="1"), metadata=auth(receiver))
    await server.messages.SendMessage(direct("id2", "next"), metadata=auth(sender))

    following = await read(call)
    await asyncio.sleep(0.5)  # several ack waits: a redelivery of message 1 would arrive now
    await server.messages.SendMessage(direct("id2", "last"), metadata=auth(sender))
    after = await read(call)
    call.cancel()

    assert following.parts[0].text == "next"
    assert after.parts[0].text in ("next", "last")
    assert after.message_id != "1"


async def test_an_expired_message_is_never_delivered_and_reported_expired(server_factory: Any) -> None:
    server: Server = await server_factory(redelivery_interval=0.05)
    sender, receiver = await agents(server, 2)
    await server.messages.SendMessage(direct("id2", "stale soon", ttl_seconds=1), metadata=auth(sender))
    await server.messages.SendMessage(direct("id2", "fresh"), metadata=auth(sender))

    async def expired() -> bool:
        found = await server.messages.ListDeliveries(
            messages_pb2.ListDeliveriesRequest(message_id="1"), metadata=auth(sender)
        )
        return found.deliveries[0].state == messages_pb2.DELIVERY_STATE_EXPIRED

    await wait_for(expired, TIMEOUT)
    call = subscribe(server, receiver, "id2")
    first = await read(call)
    call.cancel()

    assert first.parts[0].text == "fresh"


async def test_subscribing_to_another_agents_stream_is_refused(server: Server) -> None:
    _, receiver = await agents(server, 2)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await read(subscribe(server, receiver, "id1"))

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_shutdown_ends_streams_at_once_with_unavailable(server: Server) -> None:
    _, receiver = await agents(server, 2)
    call = subscribe(server, receiver, "id2")
    await asyncio.wait_for(call.initial_metadata(), TIMEOUT)

    stopping = asyncio.create_task(server.running.stop(10.0))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await read(call)
    await asyncio.wait_for(stopping, 3.0)  # far less than the 10 s grace: streams did not hold it up

    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "after_sequence" in (raised.value.details() or "")


async def test_sse_stream_with_event_ids_and_last_event_id_resume(server: Server) -> None:
    sender, receiver = await agents(server, 2)
    for n in range(3):
        await server.messages.SendMessage(direct("id2", f"m{n}"), metadata=auth(sender))
    headers = {"authorization": f"Bearer {receiver}", "Last-Event-ID": "1"}

    async with server.http.get(f"{server.base_url}/agents/id2/messages/stream", headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events: list[list[str]] = []
        lines: list[str] = []
        while len(events) < 2:
            line = (await asyncio.wait_for(response.content.readline(), TIMEOUT)).decode().rstrip("\n")
            if line:
                lines.append(line)
            elif lines:
                events.append(lines)
                lines = []

    assert events[0][:2] == ["event: message", "id: 2"]
    assert events[1][:2] == ["event: message", "id: 3"]
    assert '"parts":[{"text":"m1"}]' in events[0][2]


async def test_sse_accepts_after_sequence_in_the_query(server: Server) -> None:
    sender, receiver = await agents(server, 2)
    for n in range(3):
        await server.messages.SendMessage(direct("id2", f"m{n}"), metadata=auth(sender))

    url = f"{server.base_url}/agents/id2/messages/stream?after_sequence=2"
    async with server.http.get(url, headers={"authorization": f"Bearer {receiver}"}) as response:
        first = (await asyncio.wait_for(response.content.readline(), TIMEOUT)).decode()
        second = (await asyncio.wait_for(response.content.readline(), TIMEOUT)).decode()

    assert (first, second) == ("event: message\n", "id: 3\n")


async def test_an_open_circuit_pauses_pushes_but_not_polling_and_a_heartbeat_resumes_them(
    server: Server,
) -> None:
    sender, receiver = await agents(server, 2)
    call = subscribe(server, receiver, "id2")
    await asyncio.wait_for(call.initial_metadata(), TIMEOUT)
    received: asyncio.Queue[messages_pb2.Message] = asyncio.Queue()
    reading = asyncio.create_task(_forward(call, received))
    for _ in range(5):
        await server.request("POST", "/agents/id2/circuit/failure", token=receiver)

    await server.messages.SendMessage(direct("id2", "while open"), metadata=auth(sender))
    await asyncio.sleep(0.5)  # long enough for a push to arrive if one were made
    pushed_while_open = received.qsize()
    _, pending = await server.request("GET", "/agents/id2/messages/pending", token=receiver)
    await server.request("POST", "/heartbeat", {}, token=receiver)
    resumed = await asyncio.wait_for(received.get(), TIMEOUT)
    reading.cancel()
    call.cancel()

    assert pushed_while_open == 0
    assert [m["parts"][0]["text"] for m in pending["messages"]] == ["while open"]
    assert resumed.parts[0].text == "while open"


async def _forward(call: Any, into: asyncio.Queue[messages_pb2.Message]) -> None:
    """Read a stream in the background (cancelling a pending read would cancel the whole call)."""
    async for message in call:
        await into.put(message)


async def test_finished_messages_are_purged_after_the_retention(server_factory: Any) -> None:
    server: Server = await server_factory(retention=0.0, redelivery_interval=0.02)
    sender, receiver = await agents(server, 2)
    await server.messages.SendMessage(direct("id2", "done"), metadata=auth(sender))
    await server.messages.SendMessage(direct("id2", "still open"), metadata=auth(sender))
    await server.messages.AckMessage(messages_pb2.AckMessageRequest(message_id="1"), metadata=auth(receiver))

    async def purged() -> bool:
        status, _ = await server.request("GET", "/messages/1", token=sender)
        return status == 404

    await wait_for(purged, TIMEOUT)
    status, kept = await server.request("GET", "/messages/2", token=sender)

    assert status == 200
    assert kept["parts"] == [{"text": "still open"}]


async def test_sse_tells_its_client_why_the_stream_ends_on_shutdown(server: Server) -> None:
    _, receiver = await agents(server, 2)
    url = f"{server.base_url}/agents/id2/messages/stream"

    async with server.http.get(url, headers={"authorization": f"Bearer {receiver}"}) as response:
        assert response.status == 200
        stopping = asyncio.create_task(server.running.stop(5.0))
        body = (await asyncio.wait_for(response.content.read(), TIMEOUT)).decode()
    await stopping

    assert "event: error" in body
    assert '"code":"SHUTTING_DOWN"' in body


async def test_a_push_recorded_after_its_ack_still_counts_without_reopening_the_delivery(
    server: Server,
) -> None:
    # Pushes are recorded in batches, so an agent can ack a message before its push is written down.
    sender, receiver = await agents(server, 2)
    sent = await server.messages.SendMessage(direct("id2", "quick"), metadata=auth(sender))
    await server.messages.AckMessage(
        messages_pb2.AckMessageRequest(message_id=sent.message_id), metadata=auth(receiver)
    )
    pushed_at = 1_900_000_000.0
    await server.running.db.write(
        lambda: deliveries.record_pushes([(int(sent.message_id), "id2", pushed_at)], 30.0)
    )

    seen = await server.messages.ListDeliveries(
        messages_pb2.ListDeliveriesRequest(message_id=sent.message_id), metadata=auth(sender)
    )

    [delivery] = seen.deliveries
    assert delivery.state == messages_pb2.DELIVERY_STATE_ACKED
    assert delivery.delivery_count == 1 and delivery.first_delivered_at.seconds == int(pushed_at)
