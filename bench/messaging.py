"""The messaging scenarios of issue 3's performance section.

Closed loop (the rate against health Check): `grpc_send` and `grpc_batch_send`, durable direct sends
to recipients nobody is subscribed to, so only the write path is measured.

Custom (their own timing, each returns an Outcome):
- `push_latency_500`: one Subscribe stream; an open-loop sender at a fixed rate; latency is from
  SendMessage returning OK to the stream yielding that message (matched by message_id). The
  subscriber acknowledges what it receives in the background, in batches, as a real client would.
- `poll_1s`: the original envoy's model: GET /agents/{id}/messages/pending every second, then ack;
  latency is from SendMessage returning OK to the poll that returned the message.
- `broadcast_1000`: 1,000 open streams, then broadcasts one at a time; time from the send returning
  to the last subscriber receiving it.
- `idle_10000`: 10,000 open, idle streams; the server's RSS (and its CPU while nothing happens).

All times are `time.perf_counter()` in this process, taken when the client's event loop sees the
event, so they include the load generator's own scheduling delay (its CPU is reported alongside).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from bench import cpu
from bench.clients import Agent, Clients, UnexpectedResponse, message_stub, open_channel
from bench.context import Context, CpuUsage, CpuWindow, Outcome, combine
from bench.load import ErrorTally, LatencyStats, LoadResult, Operation, gather_or_cancel
from bench.settings import Settings
from envoy_grpc.gen.envoy.v1 import common_pb2, messages_pb2

SENDERS = 10
RECIPIENTS = 10
DELIVERY_GRACE = 5.0  # how long to wait for the last pushes after the last send returned
MAX_IN_FLIGHT = 2_000  # open-loop sends outstanding at once before the run is declared overloaded
ACK_INTERVAL = 0.02  # the subscriber acks what arrived in the last 20 ms, in one concurrent batch
ACK_BATCH = 200
BROADCAST_CHANNELS = 8
BROADCAST_GAP = 0.3  # seconds between a round's acks and the next broadcast
ROUND_TIMEOUT = 10.0
ACK_CONCURRENCY = 100
OPEN_TIMEOUT = 60.0  # to open one wave of streams
IDLE_WAVE = 1_000
IDLE_SETTLE = 1.0
IDLE_HOLD = 3.0
CLEANUP_SETTLE = 2.0
READY_TIMEOUT = 10.0


def text_request(to: str, text: str) -> messages_pb2.SendMessageRequest:
    return messages_pb2.SendMessageRequest(
        type=messages_pb2.MESSAGE_TYPE_DIRECT, to=to, parts=[common_pb2.Part(text=text)]
    )


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _mb(size: int | None) -> float | None:
    return None if size is None else size / 2**20


def _fmt_mb(size: float | None) -> str:
    return "?" if size is None else f"{size:,.0f} MB"


def latency_json(stats: LatencyStats) -> dict[str, Any]:
    def clean(value: float) -> float | None:
        return None if math.isnan(value) else round(value, 3)

    return {
        "count": stats.count,
        "mean_ms": clean(stats.mean_ms),
        "p50_ms": clean(stats.p50_ms),
        "p90_ms": clean(stats.p90_ms),
        "p99_ms": clean(stats.p99_ms),
        "max_ms": clean(stats.max_ms),
    }


def describe_latency(stats: LatencyStats) -> str:
    if not stats.count:
        return "no samples"
    return (
        f"p50 {stats.p50_ms:.2f} ms, p90 {stats.p90_ms:.2f} ms, p99 {stats.p99_ms:.2f} ms, "
        f"max {stats.max_ms:.2f} ms (n={stats.count:,})"
    )


def _result(
    tally: ErrorTally,
    ok: int,
    elapsed: float,
    samples: Sequence[float],
    stopped_early: str | None = None,
) -> LoadResult:
    return LoadResult(
        ok=ok,
        errors=tally.errors,
        elapsed_s=elapsed,
        latency=LatencyStats.of(samples),
        error_kinds=dict(tally.kinds),
        sample_errors=tally.samples,
        stopped_early=stopped_early,
    )


async def _wait_until(done: Callable[[], bool], timeout: float, step: float = 0.005) -> bool:
    deadline = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() >= deadline:
            return False
        await asyncio.sleep(step)
    return True


# -- building blocks ------------------------------------------------------------------------------


@dataclass
class OpenLoop:
    """Starts `send(i)` at start + i / rate for i < count, never waiting for earlier sends (open loop).

    `lateness` is how far behind schedule each send started: if the load generator cannot keep up,
    it shows here rather than as a silently lower rate.
    """

    rate: float
    count: int
    lateness: list[float] = field(default_factory=list)
    stopped_early: str | None = None
    started_at: float = 0.0
    finished_at: float = 0.0

    async def run(self, send: Callable[[int], Coroutine[Any, Any, None]], drain_timeout: float) -> None:
        tasks: set[asyncio.Task[None]] = set()
        clock = time.perf_counter
        self.started_at = start = clock() + 0.01
        try:
            for index in range(self.count):
                due = start + index / self.rate
                delay = due - clock()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.lateness.append(max(0.0, clock() - due))
                if len(tasks) >= MAX_IN_FLIGHT:
                    self.stopped_early = f"stopped after {index} sends: {MAX_IN_FLIGHT} still in flight"
                    break
                task = asyncio.create_task(send(index))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.wait(set(tasks), timeout=drain_timeout)
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(set(tasks), timeout=5.0)
            self.finished_at = clock()

    def lateness_ms(self) -> dict[str, float]:
        stats = LatencyStats.of(self.lateness)
        return {"p99": round(stats.p99_ms, 3), "max": round(stats.max_ms, 3)} if stats.count else {}


class Acker:
    """Acknowledges received messages in the background: every ACK_INTERVAL, one concurrent batch."""

    def __init__(
        self, stub: Any, agent: Agent, timeout: float, tally: ErrorTally, interval: float = ACK_INTERVAL
    ) -> None:
        self._stub = stub
        self._agent = agent
        self._timeout = timeout
        self._tally = tally
        self._interval = interval
        self._pending: list[str] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.acked = 0
        self.batches = 0
        self.latencies: list[float] = []

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bench-acker")

    def add(self, message_id: str) -> None:
        self._pending.append(message_id)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._stopping:
                await asyncio.sleep(self._interval)
            self._wake.clear()
            await self._flush()
            if self._stopping and not self._pending:
                return

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:ACK_BATCH], self._pending[ACK_BATCH:]
            results = await asyncio.gather(*(self._ack(m) for m in batch), return_exceptions=True)
            self.batches += 1
            for result in results:
                if isinstance(result, asyncio.CancelledError):
                    raise result
                if isinstance(result, Exception):
                    self._tally.add(result, "ack ")
                else:
                    self.acked += 1

    async def _ack(self, message_id: str) -> None:
        request = messages_pb2.AckMessageRequest(message_id=message_id)
        started = time.perf_counter()
        await self._stub.AckMessage(request, metadata=self._agent.metadata, timeout=self._timeout)
        self.latencies.append(time.perf_counter() - started)

    async def close(self, timeout: float) -> None:
        """Ack what is left (within `timeout`), then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._task, timeout)
        except TimeoutError:
            self._tally.add_kind("ack TIMEOUT", f"acks still pending after {timeout:.0f} s")


async def _read_stream(
    call: Any, received: dict[str, float], tally: ErrorTally, on_message: Callable[[str], None] | None
) -> None:
    """Timestamp each message's first arrival; a redelivery of the same message_id is ignored."""
    try:
        async for message in call:
            now = time.perf_counter()
            message_id = message.message_id
            if message_id not in received:
                received[message_id] = now
                if on_message is not None:
                    on_message(message_id)
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.CANCELLED:
            tally.add(error, "stream ")


async def _close_calls(calls: Sequence[Any], tasks: Sequence[asyncio.Task[None]]) -> None:
    for call in calls:
        call.cancel()
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=5.0)


async def _close_channels(channels: Sequence[grpc.aio.Channel]) -> None:
    await asyncio.gather(*(channel.close() for channel in channels), return_exceptions=True)


async def _ready(channels: Sequence[grpc.aio.Channel]) -> None:
    await asyncio.wait_for(asyncio.gather(*(c.channel_ready() for c in channels)), READY_TIMEOUT)


# -- closed loop: the write path --------------------------------------------------------------------


async def grpc_send(clients: Clients, settings: Settings) -> list[Operation]:
    """Each worker sends as one of SENDERS agents to one of RECIPIENTS agents; nobody is subscribed."""
    senders = await clients.register_roots("bench-sender", SENDERS)
    recipients = await clients.register_roots("bench-recipient", RECIPIENTS)

    def operation(worker: int) -> Operation:
        stub = clients.messages(worker)
        sender = senders[worker % SENDERS]
        recipient = recipients[(worker + worker // SENDERS) % RECIPIENTS]
        request = text_request(recipient.agent_id, f"bench message from worker {worker}")

        async def call() -> None:
            response: messages_pb2.Message = await stub.SendMessage(
                request, metadata=sender.metadata, timeout=clients.timeout
            )
            if not response.message_id or response.to != recipient.agent_id:
                raise UnexpectedResponse(f"send to {recipient.agent_id!r} returned {response.to!r}")

        return call

    return [operation(worker) for worker in range(settings.concurrency)]


async def grpc_batch_send(clients: Clients, settings: Settings) -> list[Operation]:
    """A few callers, each sending batches of `batch_size` messages spread over RECIPIENTS agents."""
    senders = await clients.register_roots("bench-batcher", settings.batch_callers)
    recipients = await clients.register_roots("bench-batch-recipient", RECIPIENTS)
    size = settings.batch_size

    def operation(worker: int) -> Operation:
        stub = clients.messages(worker)
        sender = senders[worker]
        request = messages_pb2.BatchSendMessagesRequest(
            messages=[
                text_request(recipients[n % RECIPIENTS].agent_id, f"bench batch message {n}")
                for n in range(size)
            ]
        )

        async def call() -> None:
            response: messages_pb2.BatchSendMessagesResponse = await stub.BatchSendMessages(
                request, metadata=sender.metadata, timeout=clients.timeout
            )
            if len(response.messages) != size:
                raise UnexpectedResponse(f"sent {size} messages, {len(response.messages)} came back")

        return call

    return [operation(worker) for worker in range(settings.batch_callers)]


# -- push latency -----------------------------------------------------------------------------------


async def push_latency(ctx: Context) -> Outcome:
    clients, settings = ctx.clients, ctx.settings
    sender, recipient = await clients.register_roots("bench-push", 2)
    tally = ErrorTally()
    # The subscriber is another client: its own connection, which also carries its acks.
    channel = open_channel(clients.grpc_target)
    calls: list[Any] = []
    tasks: list[asyncio.Task[None]] = []
    acker: Acker | None = None
    try:
        await _ready([channel])
        stub = message_stub(channel)
        call = stub.Subscribe(
            messages_pb2.SubscribeRequest(agent_id=recipient.agent_id), metadata=recipient.metadata
        )
        calls.append(call)
        await asyncio.wait_for(call.initial_metadata(), settings.call_timeout_s)
        if settings.push_ack:
            acker = Acker(stub, recipient, settings.call_timeout_s, tally)
            acker.start()
        received: dict[str, float] = {}
        tasks.append(asyncio.create_task(_read_stream(call, received, tally, acker.add if acker else None)))

        warm = round(settings.push_rate * settings.warmup_s)
        total = warm + max(1, round(settings.push_rate * settings.duration_s))
        send_stub = clients.messages(0)
        request = text_request(recipient.agent_id, "push latency probe")
        returned: dict[str, float] = {}
        began: dict[str, float] = {}
        measured: list[str] = []
        send_rpc: list[float] = []

        async def send(index: int) -> None:
            started = time.perf_counter()
            try:
                response: messages_pb2.Message = await send_stub.SendMessage(
                    request, metadata=sender.metadata, timeout=settings.call_timeout_s
                )
            except grpc.aio.AioRpcError as error:
                if index >= warm:
                    tally.add(error, "send ")
                return
            done = time.perf_counter()
            returned[response.message_id] = done
            began[response.message_id] = started
            if index >= warm:
                measured.append(response.message_id)
                send_rpc.append(done - started)

        loop = OpenLoop(settings.push_rate, total)
        window = CpuWindow(ctx.server)
        await loop.run(send, settings.call_timeout_s)
        await _wait_until(lambda: all(m in received for m in measured), DELIVERY_GRACE)
        usage = window.usage()
    finally:
        await _close_calls(calls, tasks)
        if acker is not None:
            await acker.close(settings.call_timeout_s)
        await channel.close()

    latencies: list[float] = []
    end_to_end: list[float] = []
    early = 0
    for message_id in measured:
        if message_id in received:
            latency = received[message_id] - returned[message_id]
            early += latency < 0
            latencies.append(max(0.0, latency))
            end_to_end.append(received[message_id] - began[message_id])
    missing = len(measured) - len(latencies)
    tally.add_kind(
        "not delivered", f"{missing} sent messages not received within {DELIVERY_GRACE:.0f} s", missing
    )
    measured_window = max(1e-9, settings.duration_s)
    load = _result(tally, len(latencies), measured_window, latencies, loop.stopped_early)
    rpc = LatencyStats.of(send_rpc)
    whole = LatencyStats.of(end_to_end)
    acks = LatencyStats.of(acker.latencies if acker else [])
    ack_text = (
        f"acked {acker.acked:,} in {acker.batches:,} background batches (every {ACK_INTERVAL * 1000:.0f} ms); "
        f"AckMessage round trip {describe_latency(acks)}"
        if acker
        else "did not ack (--no-ack)"
    )
    details = [
        f"sent {total:,} at {settings.push_rate:g}/s open loop ({warm:,} warm-up); measured {len(measured):,}, "
        f"received {len(latencies):,}; schedule lateness p99 {loop.lateness_ms().get('p99', 0):.2f} ms",
        f"delivery latency (SendMessage returned -> stream yielded): {describe_latency(load.latency)}",
        f"SendMessage round trip: {describe_latency(rpc)}; {early:,} pushes arrived before their send "
        "returned (counted as 0 ms)",
        f"end to end (SendMessage called -> stream yielded): {describe_latency(whole)}",
        f"the subscriber {ack_text}",
    ]
    figures: dict[str, Any] = {
        "rate_per_s": settings.push_rate,
        "sent": total,
        "warmup_sends": warm,
        "measured": len(measured),
        "delivered": len(latencies),
        "delivery_latency_ms": latency_json(load.latency),
        "send_rpc_latency_ms": latency_json(rpc),
        "send_called_to_received_ms": latency_json(whole),
        "received_before_send_returned": early,
        "schedule_lateness_ms": loop.lateness_ms(),
        "subscriber_acks": {
            "enabled": acker is not None,
            "acked": acker.acked if acker else 0,
            "batches": acker.batches if acker else 0,
            "interval_ms": ACK_INTERVAL * 1000,
            "ack_rpc_latency_ms": latency_json(acks),
        },
    }
    return Outcome(load, usage, figures, details)


# -- polling, as the original envoy does it --------------------------------------------------------


async def poll_1s(ctx: Context) -> Outcome:
    clients, settings = ctx.clients, ctx.settings
    sender, recipient = await clients.register_roots("bench-poll", 2)
    tally = ErrorTally()
    returned: dict[str, float] = {}
    seen: dict[str, float] = {}
    measured: list[str] = []
    poll_rpc: list[float] = []
    stop = asyncio.Event()
    path = f"/agents/{recipient.agent_id}/messages/pending?limit=1000"
    interval = settings.poll_interval_s
    total = max(1, round(settings.poll_rate * settings.poll_duration_s))
    max_polls = math.ceil(settings.poll_duration_s / interval) + math.ceil(DELIVERY_GRACE / interval) + 5

    async def ack(message_id: str) -> None:
        try:
            await clients.http_call("POST", f"/messages/{message_id}/ack", 200, recipient.headers, {})
        except Exception as error:
            tally.add(error, "ack ")

    async def poller() -> None:
        start = time.perf_counter()
        for tick in range(max_polls):
            delay = start + tick * interval - time.perf_counter()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return
            began = time.perf_counter()
            try:
                body = await clients.http_call("GET", path, 200, headers=recipient.headers)
            except Exception as error:
                tally.add(error, "poll ")
                continue
            done = time.perf_counter()
            poll_rpc.append(done - began)
            ids = [str(m["message_id"]) for m in json.loads(body).get("messages", [])]
            for message_id in ids:
                seen.setdefault(message_id, done)
            # Ack everything the poll returned (a repeat ack is harmless), before the next poll.
            await asyncio.gather(*(ack(m) for m in ids))

    send_stub = clients.messages(0)
    request = text_request(recipient.agent_id, "poll latency probe")

    async def send(index: int) -> None:
        try:
            response: messages_pb2.Message = await send_stub.SendMessage(
                request, metadata=sender.metadata, timeout=settings.call_timeout_s
            )
        except grpc.aio.AioRpcError as error:
            tally.add(error, "send ")
            return
        returned[response.message_id] = time.perf_counter()
        measured.append(response.message_id)

    window = CpuWindow(ctx.server)
    polling = asyncio.create_task(poller())
    loop = OpenLoop(settings.poll_rate, total)
    try:
        await loop.run(send, settings.call_timeout_s)
        await _wait_until(
            lambda: all(m in seen for m in measured) or polling.done(), DELIVERY_GRACE + interval, 0.02
        )
    finally:
        stop.set()
        await asyncio.wait_for(polling, settings.call_timeout_s + interval)
    usage = window.usage()

    latencies = [max(0.0, seen[m] - returned[m]) for m in measured if m in seen]
    missing = len(measured) - len(latencies)
    tally.add_kind("not delivered", f"{missing} sent messages not returned by a poll in time", missing)
    load = _result(tally, len(latencies), settings.poll_duration_s, latencies, loop.stopped_early)
    polls = LatencyStats.of(poll_rpc)
    details = [
        f"sent {total:,} at {settings.poll_rate:g}/s over gRPC; the recipient polled GET pending every "
        f"{interval:g} s over HTTP ({polls.count} polls, each {polls.p50_ms:.1f} ms p50) and acked what it got",
        f"delivery latency (SendMessage returned -> the poll returning it): {describe_latency(load.latency)}",
    ]
    figures: dict[str, Any] = {
        "interval_s": interval,
        "rate_per_s": settings.poll_rate,
        "sent": total,
        "delivered": len(latencies),
        "polls": polls.count,
        "poll_rpc_latency_ms": latency_json(polls),
        "delivery_latency_ms": latency_json(load.latency),
    }
    return Outcome(load, usage, figures, details)


# -- broadcast fan-out ------------------------------------------------------------------------------


@dataclass
class _Round:
    message_id: str
    send_rpc_s: float
    first_s: float
    median_s: float
    last_s: float
    received: int
    server_cpu_ms: float | None
    client_cpu_ms: float

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "send_rpc_ms": round(_ms(self.send_rpc_s), 3),
            "first_receipt_ms": round(_ms(self.first_s), 3),
            "median_receipt_ms": round(_ms(self.median_s), 3),
            "last_receipt_ms": round(_ms(self.last_s), 3),
            "received": self.received,
            "server_cpu_ms": None if self.server_cpu_ms is None else round(self.server_cpu_ms, 1),
            "client_cpu_ms": round(self.client_cpu_ms, 1),
        }


async def _ack_all(
    subscribers: Sequence[Agent], stubs: Sequence[Any], message_id: str, timeout: float, tally: ErrorTally
) -> None:
    slots = asyncio.Semaphore(ACK_CONCURRENCY)
    request = messages_pb2.AckMessageRequest(message_id=message_id)

    async def one(index: int) -> None:
        async with slots:
            try:
                await stubs[index % len(stubs)].AckMessage(
                    request, metadata=subscribers[index].metadata, timeout=timeout
                )
            except grpc.aio.AioRpcError as error:
                tally.add(error, "ack ")

    await asyncio.gather(*(one(index) for index in range(len(subscribers))))


async def broadcast(ctx: Context) -> Outcome:
    clients, settings, server = ctx.clients, ctx.settings, ctx.server
    count = settings.broadcast_subscribers
    tally = ErrorTally()
    began = time.perf_counter()
    subscribers = await clients.register_roots("bench-subscriber", count)
    sender = await clients.register_root("bench-broadcaster")
    register_s = time.perf_counter() - began
    channels = [open_channel(clients.grpc_target) for _ in range(BROADCAST_CHANNELS)]
    stubs = [message_stub(channel) for channel in channels]
    # arrivals[message_id][subscriber] = first arrival; complete[message_id] is set when all have it.
    arrivals: dict[str, dict[int, float]] = {}
    complete: dict[str, asyncio.Event] = {}
    calls: list[Any] = []
    readers: list[asyncio.Task[None]] = []

    def event(message_id: str) -> asyncio.Event:
        return complete.setdefault(message_id, asyncio.Event())

    async def read(call: Any, index: int) -> None:
        try:
            async for message in call:
                now = time.perf_counter()
                seen = arrivals.setdefault(message.message_id, {})
                seen.setdefault(index, now)
                if len(seen) == count:
                    event(message.message_id).set()
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                tally.add(error, "stream ")

    rounds: list[_Round] = []
    usages: list[CpuUsage] = []
    open_s = 0.0
    rss_open: int | None = None
    rss_end: int | None = None
    stopped: str | None = None
    try:
        await _ready(channels)
        began = time.perf_counter()
        for index, agent in enumerate(subscribers):
            calls.append(
                stubs[index % BROADCAST_CHANNELS].Subscribe(
                    messages_pb2.SubscribeRequest(agent_id=agent.agent_id), metadata=agent.metadata
                )
            )
        await asyncio.wait_for(gather_or_cancel(c.initial_metadata() for c in calls), OPEN_TIMEOUT)
        readers = [asyncio.create_task(read(call, index)) for index, call in enumerate(calls)]
        open_s = time.perf_counter() - began
        rss_open = server.rss_bytes()
        request = messages_pb2.SendMessageRequest(
            type=messages_pb2.MESSAGE_TYPE_BROADCAST, parts=[common_pb2.Part(text="broadcast probe")]
        )
        send_stub = clients.messages(0)
        for _ in range(settings.broadcast_rounds):
            await asyncio.sleep(BROADCAST_GAP)
            window = CpuWindow(server)
            started = time.perf_counter()
            response: messages_pb2.Message = await send_stub.SendMessage(
                request, metadata=sender.metadata, timeout=settings.call_timeout_s
            )
            returned = time.perf_counter()
            message_id = response.message_id
            if len(response.recipients) < count:
                raise UnexpectedResponse(
                    f"the broadcast reached {len(response.recipients)} agents, not the {count} subscribers"
                )
            try:
                await asyncio.wait_for(event(message_id).wait(), ROUND_TIMEOUT)
            except TimeoutError:
                got = len(arrivals.get(message_id, {}))
                tally.add_kind(
                    "not delivered",
                    f"broadcast {message_id}: {got} of {count} subscribers had it after {ROUND_TIMEOUT:.0f} s",
                    count - got,
                )
                stopped = f"stopped: a broadcast did not reach every subscriber within {ROUND_TIMEOUT:.0f} s"
                break
            usage = window.usage()
            usages.append(usage)
            times = sorted(t - returned for t in arrivals[message_id].values())
            rounds.append(
                _Round(
                    message_id,
                    returned - started,
                    times[0],
                    statistics.median(times),
                    times[-1],
                    len(times),
                    None if usage.server_pct is None else usage.server_pct * usage.wall_s * 10,
                    usage.client_pct * usage.wall_s * 10,
                )
            )
            # A subscriber acks what it got, as a client would (outside the timed part).
            await _ack_all(subscribers, stubs, message_id, settings.call_timeout_s, tally)
        rss_end = server.rss_bytes()
    finally:
        await _close_calls(calls, readers)
        await _close_channels(channels)

    lasts = [max(0.0, r.last_s) for r in rounds]
    load = _result(tally, len(rounds), sum(lasts) or 1e-9, lasts, stopped)
    median_last = statistics.median(lasts) if lasts else None
    per_round = ", ".join(f"{_ms(x):.0f}" for x in lasts)
    details = [
        f"{count:,} subscribers over {BROADCAST_CHANNELS} channels (registered in {register_s:.1f} s, "
        f"streams open in {open_s:.1f} s); server RSS {_fmt_mb(_mb(rss_open))} with the streams open, "
        f"{_fmt_mb(_mb(rss_end))} after the broadcasts",
        f"last receipt after the send returned, per round: {per_round} ms -> median "
        + ("-" if median_last is None else f"{_ms(median_last):.0f} ms")
        + f"; between rounds (untimed) every subscriber acked, {BROADCAST_GAP:g} s apart",
    ]
    if rounds:
        details.append(
            "per round (median): send RPC "
            f"{_ms(statistics.median(r.send_rpc_s for r in rounds)):.1f} ms, first receipt "
            f"{_ms(statistics.median(r.first_s for r in rounds)):.1f} ms, median receipt "
            f"{_ms(statistics.median(r.median_s for r in rounds)):.1f} ms; CPU from send to last receipt: "
            f"server {statistics.median((r.server_cpu_ms or 0) for r in rounds):.0f} ms, "
            f"load generator {statistics.median(r.client_cpu_ms for r in rounds):.0f} ms"
        )
    figures: dict[str, Any] = {
        "subscribers": count,
        "channels": BROADCAST_CHANNELS,
        "register_s": round(register_s, 2),
        "open_streams_s": round(open_s, 2),
        "rounds": [r.as_json() for r in rounds],
        "last_receipt_ms": [round(_ms(x), 3) for x in lasts],
        "last_receipt_ms_median": None if median_last is None else round(_ms(median_last), 3),
        "server_rss_mb_streams_open": _round_mb(rss_open),
        "server_rss_mb": _round_mb(rss_end),
    }
    return Outcome(load, combine(usages), figures, details)


def _threads_text(usage: CpuUsage | None) -> str:
    if usage is None or not usage.server_threads:
        return "no per-thread figures"
    t = usage.server_threads
    return (
        f"event loop {t.get('event_loop', 0):.0f}%, gRPC core threads {t.get('grpc_threads', 0):.0f}%, "
        f"store threads {t.get('other_python', 0):.0f}%"
    )


def _round_mb(size: int | None) -> float | None:
    value = _mb(size)
    return None if value is None else round(value, 1)


# -- idle streams -----------------------------------------------------------------------------------


async def idle_streams(ctx: Context) -> Outcome:
    clients, settings, server = ctx.clients, ctx.settings, ctx.server
    count, channel_count = settings.idle_streams, settings.idle_channels
    tally = ErrorTally()
    began = time.perf_counter()
    agents = await clients.register_roots("bench-idle", count)
    register_s = time.perf_counter() - began
    rss_before = server.rss_bytes()
    channels = [open_channel(clients.grpc_target) for _ in range(channel_count)]
    stubs = [message_stub(channel) for channel in channels]
    calls: list[Any] = []
    open_s = 0.0
    idle = opening = None
    rss_open: int | None = None
    ended = 0
    try:
        await _ready(channels)
        began = time.perf_counter()
        window = CpuWindow(server)
        for wave in range(0, count, IDLE_WAVE):
            opened = [
                stubs[index % channel_count].Subscribe(
                    messages_pb2.SubscribeRequest(agent_id=agents[index].agent_id),
                    metadata=agents[index].metadata,
                )
                for index in range(wave, min(count, wave + IDLE_WAVE))
            ]
            calls.extend(opened)
            await asyncio.wait_for(gather_or_cancel(c.initial_metadata() for c in opened), OPEN_TIMEOUT)
        open_s = time.perf_counter() - began
        opening = window.usage()
        await asyncio.sleep(IDLE_SETTLE)
        window = CpuWindow(server)
        await asyncio.sleep(IDLE_HOLD)
        idle = window.usage()
        rss_open = server.rss_bytes()
        ended = sum(1 for call in calls if call.done())
        if ended:
            tally.add_kind("stream ended", f"{ended} of {count} streams ended while idle", ended)
    finally:
        for call in calls:
            call.cancel()
        await _close_channels(channels)
    await asyncio.sleep(CLEANUP_SETTLE)
    # With every stream gone the server should be back to ~0% CPU: shows the streams were cleaned up.
    window = CpuWindow(server)
    await asyncio.sleep(CLEANUP_SETTLE)
    after_cancel = window.usage()
    rss_after = server.rss_bytes()

    established = len(calls) - ended
    per_stream_kb = (
        None
        if rss_open is None or rss_before is None or not established
        else (rss_open - rss_before) / established / 1024
    )
    client_rss = cpu.process_rss_bytes(os.getpid())
    details = [
        f"{established:,} streams held open over {channel_count} channels (agents registered in "
        f"{register_s:.1f} s, streams open in {open_s:.1f} s, in waves of {IDLE_WAVE:,})",
        f"server RSS {_fmt_mb(_mb(rss_before))} before the streams, {_fmt_mb(_mb(rss_open))} with them open"
        + ("" if per_stream_kb is None else f" ({per_stream_kb:.1f} KB per stream)")
        + f", {_fmt_mb(_mb(rss_after))} after they were cancelled",
        "server CPU while every stream sat idle: "
        + ("?" if idle is None or idle.server_pct is None else f"{idle.server_pct:.0f}%")
        + f" of its core over {IDLE_HOLD:g} s ("
        + _threads_text(idle)
        + f"); {CLEANUP_SETTLE:g}-{2 * CLEANUP_SETTLE:g} s after the cancel: "
        + ("?" if after_cancel.server_pct is None else f"{after_cancel.server_pct:.0f}%"),
        f"streams opened at {established / open_s if open_s else 0:,.0f}/s, with the server at "
        + ("?" if opening is None or opening.server_pct is None else f"{opening.server_pct:.0f}%")
        + f" CPU ({_threads_text(opening)}) and the load generator at "
        + ("?" if opening is None else f"{opening.client_pct:.0f}%")
        + f"; load generator RSS {_fmt_mb(_mb(client_rss))}",
    ]
    figures: dict[str, Any] = {
        "streams": count,
        "streams_open": established,
        "channels": channel_count,
        "register_s": round(register_s, 2),
        "open_streams_s": round(open_s, 2),
        "server_rss_mb_before": _round_mb(rss_before),
        "server_rss_mb": _round_mb(rss_open),
        "server_rss_mb_after_cancel": _round_mb(rss_after),
        "rss_kb_per_stream": None if per_stream_kb is None else round(per_stream_kb, 2),
        "idle_server_cpu_pct": None if idle is None or idle.server_pct is None else round(idle.server_pct, 1),
        "server_cpu_pct_after_cancel": None
        if after_cancel.server_pct is None
        else round(after_cancel.server_pct, 1),
        "client_rss_mb": _round_mb(client_rss),
        "opening_server_cpu_pct": None
        if opening is None or opening.server_pct is None
        else round(opening.server_pct, 1),
        "opening_client_cpu_pct": None if opening is None else round(opening.client_pct, 1),
        "idle_server_cpu_by_thread_pct": {} if idle is None else idle.server_threads,
    }
    load = _result(tally, established, open_s or 1e-9, [])
    return Outcome(load, idle, figures, details)
