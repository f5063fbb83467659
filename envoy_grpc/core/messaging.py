"""Messaging: sending, at-least-once push delivery over streams, polling, acks and redelivery.

Semantics follow NATS JetStream (see DESIGN.md): one delivery per (message, recipient) with a
per-recipient sequence; a stream replays every open delivery after the client's last sequence, then
goes live; unacknowledged deliveries are pushed again after the ack wait, up to `max_deliver` times,
then dead-lettered; a message past its TTL is never delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import grpc

from envoy_grpc import errors
from envoy_grpc.core import topics
from envoy_grpc.core.agents import AgentRegistry
from envoy_grpc.core.auth import Caller
from envoy_grpc.core.bus import CLOSED, MISSED, Bus, Subscription
from envoy_grpc.store import deliveries, topic_subscriptions
from envoy_grpc.store import messages as store
from envoy_grpc.store.db import Database, DatabaseClosedError
from envoy_grpc.store.messages import DeliveryView, NewMessage, SendResult, StoredMessage

log = logging.getLogger(__name__)

MAX_PARTS = 20
MAX_PART_BYTES = 1024 * 1024
MAX_URL = 2048
MAX_KEY = 200
MAX_BATCH = 1000
REPLAY_PAGE = 256
LIVE_CHECK = 1.0
# A stream held at max_ack_pending re-reads its unacked deliveries this often, to notice the ones
# settled without an ack reaching the bus (surfaced into a session, expired, dead-lettered).
ACK_PENDING_RECHECK = 2.0
# One encoder for every message: `json.dumps` with options builds a new JSONEncoder each time.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
TYPES = ("direct", "handoff", "heartbeat", "system", "broadcast", "topic")


@dataclass(frozen=True)
class DeliverySettings:
    ack_wait: float = 30.0
    max_deliver: int = 5
    retention: float = 7 * 24 * 3600.0
    redelivery_interval: float = 1.0
    push_record_interval: float = 0.02
    # Open streams per agent, and pushed-but-unacked deliveries per stream (0 = no limit).
    max_streams_per_agent: int = 32
    max_ack_pending: int = 1000


# Not frozen: a frozen dataclass sets every field through object.__setattr__ (1.6 µs to build one
# against 0.2), and these are built several times for every message sent. Nothing mutates them.
@dataclass(slots=True)
class Outgoing:
    """What a client asked to send, before validation."""

    type: str
    sender: str
    to: str
    topic: str
    task_id: str | None
    context_id: str | None
    parts: list[dict[str, Any]]
    idempotency_key: str
    ttl_seconds: int
    require_ack: bool
    urgent: bool


class StreamClosed(Exception):
    """The server is shutting down; the client should resume from its last sequence."""


class DeliveryStream:
    """An open subscription: iterate it for deliveries; `aclose()` releases it (even if never iterated)."""

    def __init__(self, deliveries: AsyncGenerator[DeliveryView, None], release: Callable[[], None]) -> None:
        self._deliveries = deliveries
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> AsyncGenerator[DeliveryView, None]:
        return self._deliveries

    async def aclose(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None
        await self._deliveries.aclose()


def _body_hash(out: Outgoing) -> str:
    canonical = json.dumps(
        [
            out.type,
            out.to,
            out.topic,
            out.task_id,
            out.context_id,
            out.parts,
            out.ttl_seconds,
            out.require_ack,
            out.urgent,
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_parts(parts: Sequence[dict[str, Any]], prefix: str) -> str:
    """Validate the parts and return them as stored JSON."""
    if len(parts) > MAX_PARTS:
        raise errors.invalid_argument(
            f"{prefix}parts",
            f"at most {MAX_PARTS} parts are allowed, got {len(parts)}",
            reason="TOO_MANY_PARTS",
        )
    for index, part in enumerate(parts):
        path = f"{prefix}parts[{index}]"
        if len(part) != 1:
            raise errors.invalid_argument(
                path, "must have exactly one of text, data or url", reason="INVALID_MESSAGE"
            )
        ((kind, value),) = part.items()
        size = len(value.encode()) if kind in ("text", "url") else len(json.dumps(value))
        if kind == "url":
            if size > MAX_URL or not value.startswith(("http://", "https://", "file://")):
                raise errors.invalid_argument(
                    f"{path}.url",
                    f"must be an http, https or file URL of at most {MAX_URL} bytes",
                    reason="INVALID_MESSAGE",
                )
        elif size > MAX_PART_BYTES:
            raise errors.invalid_argument(
                f"{path}.{kind}",
                f"is {size} bytes; the limit is {MAX_PART_BYTES}",
                reason="MESSAGE_TOO_LARGE",
            )
    return _COMPACT.encode(parts)


class PushRecorder:
    """Writes 'pushed on a stream' to the store in batches, off the push path."""

    def __init__(self, db: Database, settings: DeliverySettings) -> None:
        self.db = db
        self.settings = settings
        self._pending: list[tuple[int, str, float]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="envoy-push-recorder")

    def add(self, delivery: DeliveryView, at: float) -> None:
        self._pending.append((delivery.message.message_id, delivery.agent_id, at))
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self.settings.push_record_interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            ack_wait = self.settings.ack_wait
            try:
                await self.db.write(lambda: deliveries.record_pushes(batch, ack_wait))
            except DatabaseClosedError:
                log.warning("%d pushes not recorded: the database closed first", len(batch))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


class Messaging:
    def __init__(
        self,
        db: Database,
        registry: AgentRegistry,
        bus: Bus,
        settings: DeliverySettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.registry = registry
        self.bus = bus
        self.settings = settings
        self.recorder = PushRecorder(db, settings)
        self._clock = clock
        self._wake_housekeeping = asyncio.Event()
        self._housekeeping: asyncio.Task[None] | None = None
        self.redelivered = 0
        self.dead_lettered = 0
        self.expired = 0

    def start(self) -> None:
        self.recorder.start()
        self._housekeeping = asyncio.create_task(self._housekeeping_loop(), name="envoy-redelivery")

    async def close(self) -> None:
        """End every stream (they finish with UNAVAILABLE), then record the last pushes."""
        self.bus.close_all()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await self.recorder.close()

    # -- sending -------------------------------------------------------------------------------

    def _sender(self, caller: Caller, requested: str, prefix: str) -> str:
        if caller.agent_id is not None:
            if requested and requested != caller.agent_id:
                raise errors.permission_denied(
                    f"{prefix}from is {requested!r} but the caller is {caller.agent_id!r}; an agent sends as itself",
                    reason="NOT_THE_SENDER",
                )
            return caller.agent_id
        if caller.is_operator and requested:
            return requested
        raise errors.missing_fields([f"{prefix}from"])

    def prepare(self, caller: Caller, out: Outgoing, prefix: str = "") -> NewMessage:
        """Validate a send request against everything that does not need the store."""
        sender = self._sender(caller, out.sender, prefix)
        kind = out.type or "direct"
        if kind in store.DIRECT_TYPES:
            if not out.to:
                raise errors.missing_fields([f"{prefix}to"])
            if out.to == sender:
                raise errors.invalid_argument(
                    f"{prefix}to", "an agent cannot send a message to itself", reason="INVALID_MESSAGE"
                )
        elif kind == "topic":
            if not out.topic:
                raise errors.missing_fields([f"{prefix}topic"])
            problem = topics.subject_problem(out.topic)
            if problem:
                raise errors.invalid_argument(f"{prefix}topic", problem)
        if len(out.idempotency_key) > MAX_KEY:
            raise errors.invalid_argument(f"{prefix}idempotency_key", f"must be at most {MAX_KEY} characters")
        if out.ttl_seconds < 0:
            raise errors.invalid_argument(f"{prefix}ttl_seconds", "must be 0 (never expires) or positive")
        parts_json = _check_parts(out.parts, prefix)
        expires_at = self._clock() + out.ttl_seconds if out.ttl_seconds else None
        return NewMessage(
            type=kind,
            sender=sender,
            to=out.to if kind != "topic" else "",
            topic=out.topic if kind == "topic" else "",
            task_id=out.task_id,
            context_id=out.context_id,
            parts_json=parts_json,
            expires_at=expires_at,
            idempotency_key=out.idempotency_key or None,
            # Only a repeated idempotency key ever compares bodies.
            body_hash=_body_hash(replace(out, type=kind, sender=sender)) if out.idempotency_key else "",
            require_ack=out.require_ack,
            urgent=out.urgent,
        )

    async def send(self, caller: Caller, out: Outgoing) -> SendResult:
        new = self.prepare(caller, out)
        now = self._clock()
        result = await self.db.write(lambda: store.insert_message(new, now))
        self.bus.publish(result.deliveries)
        return result

    async def send_batch(self, caller: Caller, batch: Sequence[Outgoing]) -> list[SendResult]:
        if len(batch) > MAX_BATCH:
            raise errors.invalid_argument(
                "messages", f"at most {MAX_BATCH} messages per batch, got {len(batch)}"
            )
        prepared = [self.prepare(caller, out, f"messages[{i}].") for i, out in enumerate(batch)]
        now = self._clock()
        results = await self.db.write(lambda: store.insert_messages(prepared, now))
        for result in results:
            self.bus.publish(result.deliveries)
        return results

    # -- reading -------------------------------------------------------------------------------

    def _check_self(self, caller: Caller, agent_id: str, field_path: str, action: str) -> None:
        self.registry.get(agent_id, field_path)
        if not (caller.is_operator or caller.agent_id == agent_id):
            raise errors.permission_denied(
                f"only {agent_id!r} itself or the operator may {action}; the caller is {caller.describe()!r}",
                agentId=agent_id,
            )

    async def get(self, caller: Caller, message_id: str) -> tuple[StoredMessage, DeliveryView | None]:
        number = _message_number(message_id)
        message = await self.db.read(lambda: store.get_message(number))
        if message is None or not (
            caller.is_operator or caller.agent_id == message.sender or caller.agent_id in message.recipients
        ):
            raise _message_not_found(message_id)
        delivery = None
        if caller.agent_id is not None and caller.agent_id in message.recipients:
            delivery = await self.db.read(lambda: store.get_delivery(number, caller.agent_id or ""))
        return message, delivery

    async def poll(self, caller: Caller, to: str, since: int, limit: int, include: str) -> list[DeliveryView]:
        self._check_self(caller, to, "to", "read its messages")
        if include not in ("", "acked"):
            raise errors.invalid_argument("include", f"must be 'acked' or empty, got {include!r}")
        size = _limit("limit", limit, default=50, maximum=100)
        now = self._clock()
        found = await self.db.read(lambda: store.deliveries_after(to, since, size, include == "acked", now))
        await self._record_polls(found, now)
        return found

    async def pending(self, caller: Caller, agent_id: str, limit: int) -> list[DeliveryView]:
        self._check_self(caller, agent_id, "agent_id", "read its messages")
        size = _limit("limit", limit, default=100, maximum=1000)
        now = self._clock()
        found = await self.db.read(lambda: store.open_deliveries(agent_id, 0, size, now))
        await self._record_polls(found, now)
        return found

    async def _record_polls(self, found: list[DeliveryView], now: float) -> None:
        fresh = [d.key for d in found if d.state == "stored"]
        if fresh:
            await self.db.write(lambda: deliveries.record_polls(fresh, now))

    async def deliveries(self, caller: Caller, message_id: str) -> list[DeliveryView]:
        number = _message_number(message_id)
        message = await self.db.read(lambda: store.get_message(number))
        if message is None or not (caller.is_operator or caller.agent_id == message.sender):
            if message is not None and caller.agent_id in message.recipients:
                raise errors.permission_denied(
                    "only the sender or the operator may list a message's deliveries"
                )
            raise _message_not_found(message_id)
        return await self.db.read(lambda: store.deliveries_of(number))

    # -- acknowledging -------------------------------------------------------------------------

    def _recipient(self, caller: Caller, requested: str) -> str:
        if caller.agent_id is not None:
            if requested and requested != caller.agent_id:
                raise errors.permission_denied(
                    f"agent_id is {requested!r} but the caller is {caller.agent_id!r}; "
                    "a recipient acts on its own deliveries",
                    reason="NOT_THE_RECIPIENT",
                )
            return caller.agent_id
        if caller.is_operator and requested:
            return requested
        raise errors.missing_fields(["agent_id"])

    async def ack(self, caller: Caller, message_id: str, agent_id: str) -> list[str]:
        number, recipient = _message_number(message_id), self._recipient(caller, agent_id)
        now = self._clock()
        acked = await self.db.write(lambda: deliveries.ack(number, recipient, now))
        self.bus.settle(recipient, (number,))
        return acked

    async def nak(self, caller: Caller, message_id: str, agent_id: str, delay: int) -> DeliveryView:
        if delay < 0:
            raise errors.invalid_argument("delay_seconds", "must be 0 (now) or positive")
        number, recipient = _message_number(message_id), self._recipient(caller, agent_id)
        now = self._clock()
        result = await self.db.write(lambda: deliveries.nak(number, recipient, float(delay), now))
        self.bus.settle(recipient, (number,))
        self._wake_housekeeping.set()
        return result

    async def in_progress(self, caller: Caller, message_id: str, agent_id: str) -> DeliveryView:
        number, recipient = _message_number(message_id), self._recipient(caller, agent_id)
        now, ack_wait = self._clock(), self.settings.ack_wait
        return await self.db.write(lambda: deliveries.extend(number, recipient, ack_wait, now))

    async def term(self, caller: Caller, message_id: str, agent_id: str) -> DeliveryView:
        number, recipient = _message_number(message_id), self._recipient(caller, agent_id)
        result = await self.db.write(lambda: deliveries.term(number, recipient))
        self.bus.settle(recipient, (number,))
        return result

    # -- streaming -----------------------------------------------------------------------------

    def stream(self, caller: Caller, agent_id: str, after_sequence: int) -> DeliveryStream:
        """Check the caller may open the stream (raising before anything is sent), then open it."""
        self._check_self(caller, agent_id, "agent_id", "open its stream")
        if after_sequence < 0:
            raise errors.invalid_argument("after_sequence", "must be 0 (everything) or positive")
        if not self.registry.is_active(agent_id):
            raise errors.failed_precondition("AGENT_OFFLINE", f"agent {agent_id!r} is retired")
        limit = self.settings.max_streams_per_agent
        # Counted and subscribed in one step (no await), so concurrent opens cannot overshoot.
        if limit and self.bus.streams_of(agent_id) >= limit:
            raise _too_many_streams(agent_id, limit)
        subscription = self.bus.subscribe(agent_id)
        self.registry.stream_opened(agent_id)

        def release() -> None:
            self.bus.unsubscribe(subscription)
            self.registry.stream_closed(agent_id)

        return DeliveryStream(self._stream(subscription, after_sequence), release)

    async def _stream(
        self, subscription: Subscription, after_sequence: int
    ) -> AsyncGenerator[DeliveryView, None]:
        """Replay open deliveries after `after_sequence`, then push new ones as they commit."""
        agent_id = subscription.agent_id
        last = after_sequence
        while True:
            subscription.missed = False
            async for delivery in self._replay(agent_id, last):
                await self._hold_for_acks(subscription, delivery)
                yield delivery
                last = delivery.sequence
            while True:
                item = await subscription.queue.get()
                if item is CLOSED:
                    raise StreamClosed()
                if item is MISSED:
                    break
                assert isinstance(item, DeliveryView)
                if item.sequence <= last and not item.redelivery:
                    continue
                await self._hold_for_acks(subscription, item)
                yield item
                last = max(last, item.sequence)
            while not self.registry.circuits.allows(agent_id) and not subscription.closed:
                await asyncio.sleep(LIVE_CHECK)

    async def _hold_for_acks(self, subscription: Subscription, delivery: DeliveryView) -> None:
        """Flow control: wait while the stream holds `max_ack_pending` unacked pushes.

        A redelivery of a message already counted passes. Nothing is dropped while waiting: new
        deliveries stay stored, and the stream replays them in sequence order once acks arrive.
        """
        limit = self.settings.max_ack_pending
        message_id = delivery.message.message_id
        while limit and message_id not in subscription.unacked and len(subscription.unacked) >= limit:
            if subscription.closed:
                raise StreamClosed()
            subscription.settled.clear()
            try:
                await asyncio.wait_for(subscription.settled.wait(), ACK_PENDING_RECHECK)
            except TimeoutError:
                pending = list(subscription.unacked)
                read = functools.partial(deliveries.still_open, subscription.agent_id, pending)
                subscription.settle(set(pending) - await self.db.read(read))
        if limit:
            subscription.unacked.add(message_id)

    async def _replay(self, agent_id: str, after: int) -> AsyncGenerator[DeliveryView, None]:
        while True:
            now = self._clock()
            page = await self.db.read(
                functools.partial(store.open_deliveries, agent_id, after, REPLAY_PAGE, now)
            )
            for delivery in page:
                yield delivery
                after = delivery.sequence
            if len(page) < REPLAY_PAGE:
                return

    def pushed(self, delivery: DeliveryView) -> None:
        """A delivery reached a stream: count the attempt and start its ack-wait clock."""
        self.recorder.add(delivery, self._clock())

    async def read_inbox(
        self, caller: Caller, agent_id: str, limit: int, urgent_only: bool = False
    ) -> list[DeliveryView]:
        """The caller's unread messages, marked surfaced (SurfaceMessages)."""
        self._check_self(caller, agent_id, "agent_id", "read its inbox")
        return await self.surface(agent_id, _limit("limit", limit, default=20, maximum=100), urgent_only)

    async def surface(self, agent_id: str, limit: int = 20, urgent_only: bool = False) -> list[DeliveryView]:
        """Deliveries a hook shows a coding agent now, marked surfaced (see deliveries.surface).

        Hooks fire on every tool call, so an agent known to have nothing open costs no write: the
        bus forgets that the moment a new delivery for it is published.
        """
        if agent_id in self.bus.nothing_open:
            return []
        now, ack_wait = self._clock(), self.settings.ack_wait
        found, has_open = await self.db.write(
            functools.partial(deliveries.surface, agent_id, now, ack_wait, limit, urgent_only)
        )
        if not has_open:
            self.bus.nothing_open.add(agent_id)
        return found

    # -- topics --------------------------------------------------------------------------------

    async def subscribe_topic(self, caller: Caller, agent_id: str, pattern: str) -> float:
        self._check_self(caller, agent_id, "agent_id", "change its subscriptions")
        problem = topics.pattern_problem(pattern)
        if problem:
            raise errors.invalid_argument("pattern", problem)
        now = self._clock()
        return await self.db.write(lambda: topic_subscriptions.subscribe_topic(agent_id, pattern, now))

    async def topic_subscriptions(self, caller: Caller, agent_id: str) -> list[tuple[str, float]]:
        self._check_self(caller, agent_id, "agent_id", "list its subscriptions")
        return await self.db.read(lambda: topic_subscriptions.topic_subscriptions(agent_id))

    async def unsubscribe_topic(self, caller: Caller, agent_id: str, pattern: str) -> None:
        self._check_self(caller, agent_id, "agent_id", "change its subscriptions")
        if not await self.db.write(lambda: topic_subscriptions.unsubscribe_topic(agent_id, pattern)):
            raise errors.not_found(
                "SUBSCRIPTION_NOT_FOUND",
                f"agent {agent_id!r} is not subscribed to {pattern!r}",
                pattern=pattern,
            )

    def project_topic(self, project: str) -> str:
        topic = topics.project_topic(project)
        if topics.subject_problem(topic):
            raise errors.invalid_argument("project", "must be letters, digits, '-', '_' and '.'")
        return topic

    # -- housekeeping --------------------------------------------------------------------------

    async def _housekeeping_loop(self) -> None:
        last_purge = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_housekeeping.wait(), self.settings.redelivery_interval)
            self._wake_housekeeping.clear()
            try:
                await self.redeliver_due()
                # Purge finished messages about once a minute (sooner when the loop runs faster, as in tests).
                if self._clock() - last_purge > 60 * self.settings.redelivery_interval:
                    last_purge = self._clock()
                    before = last_purge - self.settings.retention
                    await self.db.write(functools.partial(deliveries.purge_finished, before, 1000))
            except DatabaseClosedError:
                return
            except Exception:
                log.exception("housekeeping failed; retrying in %.1f s", self.settings.redelivery_interval)

    async def redeliver_due(self) -> None:
        now, live = self._clock(), self.bus.live_agents()
        settings = self.settings
        result = await self.db.write(
            lambda: deliveries.process_due(now, settings.ack_wait, settings.max_deliver, live, 1000)
        )
        self.redelivered += len(result.redeliver)
        self.dead_lettered += result.dead_lettered
        self.expired += result.expired
        self.bus.publish(result.redeliver)

    async def messages_total(self) -> int:
        return await self.db.read(store.messages_total)


def _message_number(message_id: str) -> int:
    if not (message_id.isascii() and message_id.isdigit()) or len(message_id) > 18:
        raise _message_not_found(message_id)
    return int(message_id)


def _too_many_streams(agent_id: str, limit: int) -> errors.EnvoyError:
    return errors.EnvoyError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "TOO_MANY_STREAMS",
        f"agent {agent_id!r} already has {limit} open message streams, the limit "
        "(--max-streams-per-agent); close one (every stream of an agent receives every message)",
        metadata={"agentId": agent_id, "limit": str(limit)},
    )


def _message_not_found(message_id: str) -> errors.EnvoyError:
    return errors.not_found("MESSAGE_NOT_FOUND", f"no message with ID {message_id!r}", messageId=message_id)


def _limit(field_path: str, value: int, default: int, maximum: int) -> int:
    if value < 0:
        raise errors.invalid_argument(field_path, f"must be 0 (the default, {default}) or positive")
    return min(value or default, maximum)
