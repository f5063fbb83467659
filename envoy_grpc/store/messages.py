"""Repository functions for messages: reading and sending them. Writers run on the writer thread in
a transaction. Acknowledging and redelivering are in deliveries.py, topic interest in
topic_subscriptions.py.

A message is one row; each recipient gets a delivery row with its own sequence number, taken from
`agent.last_sequence` inside the same transaction, so sequences are gap-free per recipient.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import peewee

from envoy_grpc import errors
from envoy_grpc.core import ids, topics
from envoy_grpc.store.models import Agent, Delivery, Message

OPEN_STATES = ("stored", "delivered", "surfaced")
# Literal SQL for the state tests of the hot queries: SQLite uses a partial index only when it can
# prove the index's WHERE clause from the query's, which it cannot do through bound parameters.
_IS_OPEN = peewee.SQL("state IN ('stored', 'delivered', 'surfaced')")
_IS_AWAITING_ACK = peewee.SQL("state IN ('delivered', 'surfaced')")
FINISHED_STATES = ("acked", "expired", "dead_lettered", "terminated")
DIRECT_TYPES = ("direct", "handoff", "heartbeat", "system")


# Not frozen: a frozen dataclass sets every field through object.__setattr__ (1.6 µs to build one
# against 0.2), and these are built several times for every message sent. Nothing mutates them.
@dataclass(slots=True)
class NewMessage:
    """A validated message, ready to store."""

    type: str
    sender: str
    to: str
    topic: str
    task_id: str | None
    context_id: str | None
    parts_json: str
    expires_at: float | None
    idempotency_key: str | None
    body_hash: str
    require_ack: bool
    urgent: bool


@dataclass(slots=True, unsafe_hash=True)
class StoredMessage:
    message_id: int
    type: str
    sender: str
    to: str
    topic: str
    task_id: str | None
    context_id: str | None
    parts_json: str
    created_at: float
    expires_at: float | None
    idempotency_key: str | None
    require_ack: bool
    urgent: bool
    recipients: tuple[str, ...]

    @property
    def parts(self) -> list[dict[str, Any]]:
        parsed: list[dict[str, Any]] = json.loads(self.parts_json)
        return parsed


@dataclass(slots=True)
class DeliveryView:
    """One recipient's delivery of a message, with the message."""

    message: StoredMessage
    agent_id: str
    sequence: int
    state: str
    delivery_count: int
    first_delivered_at: float | None = None
    last_delivered_at: float | None = None
    surfaced_at: float | None = None
    acked_at: float | None = None
    next_attempt_at: float | None = None
    # True when the redelivery loop sends it again (same sequence, a later attempt).
    redelivery: bool = False

    @property
    def key(self) -> tuple[int, str]:
        return self.message.message_id, self.agent_id


@dataclass(slots=True)
class SendResult:
    message: StoredMessage
    deliveries: list[DeliveryView]
    existing: bool


# -- reading rows ------------------------------------------------------------------------------

_MESSAGE_COLUMNS = (
    Message.id,
    Message.type,
    Message.sender,
    Message.to_agent,
    Message.topic,
    Message.task_id,
    Message.context_id,
    Message.parts_json,
    Message.created_at,
    Message.expires_at,
    Message.idempotency_key,
    Message.require_ack,
    Message.urgent,
    Message.recipients_json,
)
_DELIVERY_COLUMNS = (
    Delivery.agent_id,
    Delivery.sequence,
    Delivery.state,
    Delivery.delivery_count,
    Delivery.first_delivered_at,
    Delivery.last_delivered_at,
    Delivery.surfaced_at,
    Delivery.acked_at,
    Delivery.next_attempt_at,
)


def _message_from(row: Sequence[Any]) -> StoredMessage:
    return StoredMessage(
        message_id=row[0],
        type=row[1],
        sender=row[2],
        to=row[3],
        topic=row[4],
        task_id=row[5],
        context_id=row[6],
        parts_json=row[7],
        created_at=row[8],
        expires_at=row[9],
        idempotency_key=row[10],
        require_ack=bool(row[11]),
        urgent=bool(row[12]),
        recipients=tuple(json.loads(row[13])),
    )


def _delivery_from(row: Sequence[Any]) -> DeliveryView:
    width = len(_MESSAGE_COLUMNS)
    return DeliveryView(_message_from(row[:width]), *row[width:])


def _rows(query: Any) -> list[tuple[Any, ...]]:
    """A query's rows as plain tuples (no model instances: cheaper, and nothing lazy)."""
    return list(query.tuples())


def _first(query: Any) -> tuple[Any, ...] | None:
    rows = _rows(query.limit(1))
    return rows[0] if rows else None


def _deliveries_query() -> Any:
    return Delivery.select(*_MESSAGE_COLUMNS, *_DELIVERY_COLUMNS).join(
        Message, on=(Delivery.message == Message.id)
    )


def get_message(message_id: int) -> StoredMessage | None:
    row = _first(Message.select(*_MESSAGE_COLUMNS).where(Message.id == message_id))
    return _message_from(row) if row else None


def get_delivery(message_id: int, agent_id: str) -> DeliveryView | None:
    row = _first(
        _deliveries_query().where((Delivery.message == message_id) & (Delivery.agent_id == agent_id))
    )
    return _delivery_from(row) if row else None


def open_deliveries(agent_id: str, after_sequence: int, limit: int, now: float) -> list[DeliveryView]:
    """Unacknowledged, unexpired deliveries of an agent after a sequence, in sequence order."""
    query = (
        _deliveries_query()
        .where(
            (Delivery.agent_id == agent_id)
            & _IS_OPEN
            & (Delivery.sequence > after_sequence)
            & (Delivery.expires_at.is_null() | (Delivery.expires_at > now))
        )
        .order_by(Delivery.sequence)
        .limit(limit)
    )
    return [_delivery_from(row) for row in _rows(query)]


def deliveries_after(
    agent_id: str, after_sequence: int, limit: int, include_acked: bool, now: float
) -> list[DeliveryView]:
    """The original envoy's poll: open deliveries (and acknowledged ones if asked) after a sequence."""
    states = (*OPEN_STATES, "acked") if include_acked else OPEN_STATES
    query = (
        _deliveries_query()
        .where(
            (Delivery.agent_id == agent_id)
            & Delivery.state.in_(states)
            & (Delivery.sequence > after_sequence)
            & ((Delivery.state == "acked") | Delivery.expires_at.is_null() | (Delivery.expires_at > now))
        )
        .order_by(Delivery.sequence)
        .limit(limit)
    )
    return [_delivery_from(row) for row in _rows(query)]


def deliveries_of(message_id: int) -> list[DeliveryView]:
    rows = _rows(_deliveries_query().where(Delivery.message == message_id))
    return sorted((_delivery_from(row) for row in rows), key=lambda d: ids.sort_key(d.agent_id))


_ACKED_BY = "SELECT agent_id FROM delivery WHERE message_id = ? AND state = 'acked'"


def acked_by(message_id: int) -> list[str]:
    rows = _cursor().execute(_ACKED_BY, (message_id,)).fetchall()
    return sorted((row[0] for row in rows), key=ids.sort_key)


def messages_total() -> int:
    return int(Message.select(peewee.fn.MAX(Message.id)).scalar() or 0)


# -- sending -----------------------------------------------------------------------------------


# The send path is the hottest write: plain SQL on the transaction's cursor, no query building.
_LIFECYCLE = "SELECT lifecycle FROM agent WHERE agent_id = ?"
_NEXT_SEQUENCE = (
    "UPDATE agent SET last_sequence = last_sequence + 1 WHERE agent_id = ? RETURNING last_sequence"
)
_INSERT_MESSAGE = (
    "INSERT INTO message (type, sender, to_agent, topic, task_id, context_id, parts_json, created_at, "
    "expires_at, idempotency_key, body_hash, require_ack, urgent, recipients_json) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_TOPIC_SUBSCRIBERS = (
    "SELECT ts.agent_id, ts.pattern FROM topic_subscription AS ts CROSS JOIN agent AS a "
    "ON a.agent_id = ts.agent_id WHERE a.lifecycle = 'active'"
)
_INSERT_DELIVERY = (
    "INSERT INTO delivery (message_id, agent_id, sequence, state, expires_at) VALUES (?, ?, ?, 'stored', ?)"
)


def _cursor() -> Any:
    return Message._meta.database.cursor()


def _active_agent(agent_id: str, field_path: str) -> None:
    row = _cursor().execute(_LIFECYCLE, (agent_id,)).fetchone()
    if row is None:
        raise errors.agent_not_found(agent_id, field_path)
    if row[0] != "active":
        raise errors.failed_precondition(
            "AGENT_OFFLINE", f"agent {agent_id!r} ({field_path}) is retired", agentId=agent_id
        )


def _recipients(new: NewMessage) -> list[str]:
    if new.type in DIRECT_TYPES:
        _active_agent(new.to, "to")
        return [new.to]
    if new.type == "broadcast":
        query = Agent.select(Agent.agent_id).where(
            (Agent.lifecycle == "active") & (Agent.agent_id != new.sender)
        )
        if new.to:
            _active_agent(new.to, "to")
            query = query.where((Agent.agent_id == new.to) | Agent.agent_id.startswith(new.to + "."))
        return sorted((row[0] for row in _rows(query)), key=ids.sort_key)
    # CROSS JOIN keeps the subscriptions as the outer loop: SQLite would otherwise walk every agent.
    subscribers = _cursor().execute(_TOPIC_SUBSCRIBERS).fetchall()
    matched = {agent for agent, pattern in subscribers if topics.matches(pattern, new.topic)}
    return sorted(matched, key=ids.sort_key)


def _existing(new: NewMessage) -> SendResult | None:
    if new.idempotency_key is None:
        return None
    row = _first(
        Message.select(*_MESSAGE_COLUMNS, Message.body_hash).where(
            (Message.sender == new.sender) & (Message.idempotency_key == new.idempotency_key)
        )
    )
    if row is None:
        return None
    if row[-1] != new.body_hash:
        raise errors.EnvoyError(
            grpc.StatusCode.ALREADY_EXISTS,
            "IDEMPOTENCY_KEY_REUSED",
            f"idempotency_key {new.idempotency_key!r} was already used by {new.sender} for a different message "
            f"({row[0]}); use a new key for a new message",
            metadata={"messageId": str(row[0])},
        )
    return SendResult(_message_from(row[:-1]), [], existing=True)


_LIFECYCLES = "SELECT agent_id, lifecycle FROM agent WHERE agent_id IN (?, ?)"


def _active_pair(sender: str, to: str) -> None:
    """`_active_agent` for the sender and the recipient of a direct message, in one statement."""
    found = dict(_cursor().execute(_LIFECYCLES, (sender, to)).fetchall())
    for agent_id, field_path in ((sender, "from"), (to, "to")):
        lifecycle = found.get(agent_id)
        if lifecycle != "active":
            _active_agent(agent_id, field_path)  # raises the error that names what is wrong


def insert_message(new: NewMessage, now: float) -> SendResult:
    """Store a message and one delivery per recipient; return what to publish after COMMIT."""
    direct = new.type in DIRECT_TYPES
    if direct:
        _active_pair(new.sender, new.to)
    else:
        _active_agent(new.sender, "from")
    existing = _existing(new)
    if existing is not None:
        return existing
    recipients = [new.to] if direct else _recipients(new)
    cursor = _cursor()
    cursor.execute(
        _INSERT_MESSAGE,
        (
            new.type,
            new.sender,
            new.to,
            new.topic,
            new.task_id,
            new.context_id,
            new.parts_json,
            now,
            new.expires_at,
            new.idempotency_key,
            new.body_hash,
            new.require_ack,
            new.urgent,
            json.dumps(recipients),
        ),
    )
    message_id = int(cursor.lastrowid)
    stored = StoredMessage(
        message_id=message_id,
        type=new.type,
        sender=new.sender,
        to=new.to,
        topic=new.topic,
        task_id=new.task_id,
        context_id=new.context_id,
        parts_json=new.parts_json,
        created_at=now,
        expires_at=new.expires_at,
        idempotency_key=new.idempotency_key,
        require_ack=new.require_ack,
        urgent=new.urgent,
        recipients=tuple(recipients),
    )
    deliveries = [
        DeliveryView(
            stored, agent_id, int(cursor.execute(_NEXT_SEQUENCE, (agent_id,)).fetchone()[0]), "stored", 0
        )
        for agent_id in recipients
    ]
    if len(deliveries) == 1:
        cursor.execute(_INSERT_DELIVERY, (message_id, recipients[0], deliveries[0].sequence, new.expires_at))
    else:
        cursor.executemany(
            _INSERT_DELIVERY, [(message_id, d.agent_id, d.sequence, new.expires_at) for d in deliveries]
        )
    return SendResult(stored, deliveries, existing=False)


_LAST_MESSAGE_ID = "SELECT seq FROM sqlite_sequence WHERE name = 'message'"
_RESERVE_SEQUENCES = (
    "UPDATE agent SET last_sequence = last_sequence + ? WHERE agent_id = ? RETURNING last_sequence"
)
_INSERT_NUMBERED_MESSAGE = _INSERT_MESSAGE.replace("(type,", "(id, type,").replace(
    "VALUES (?", "VALUES (?, ?"
)


def insert_messages(batch: Sequence[NewMessage], now: float) -> list[SendResult]:
    """Store several messages in the caller's transaction: all or none.

    The batch path checks each agent once, reserves each recipient's sequence numbers in one
    statement, numbers the messages itself (we are the only writer, inside BEGIN IMMEDIATE) and
    inserts with executemany: a fraction of the per-message cost.
    """
    if any(new.idempotency_key is not None for new in batch):
        return [insert_message(new, now) for new in batch]
    for sender in {new.sender for new in batch}:
        _active_agent(sender, "from")
    # Messages with the same addressing share one recipient list and its JSON.
    checked: dict[tuple[str, str, str], tuple[list[str], str]] = {}
    recipient_lists = []
    for new in batch:
        key = (new.type, new.to, new.topic)
        if key not in checked:
            recipients = _recipients(new)
            checked[key] = recipients, json.dumps(recipients)
        recipient_lists.append(checked[key])
    cursor = _cursor()
    row = cursor.execute(_LAST_MESSAGE_ID).fetchone()
    first_id = (int(row[0]) if row else 0) + 1
    wanted: dict[str, int] = {}
    for recipients, _ in recipient_lists:
        for agent_id in recipients:
            wanted[agent_id] = wanted.get(agent_id, 0) + 1
    next_sequence = {
        agent_id: int(cursor.execute(_RESERVE_SEQUENCES, (count, agent_id)).fetchone()[0]) - count + 1
        for agent_id, count in wanted.items()
    }
    results: list[SendResult] = []
    message_rows, delivery_rows = [], []
    for offset, (new, (recipients, recipients_json)) in enumerate(zip(batch, recipient_lists, strict=True)):
        message_id = first_id + offset
        message_rows.append(
            (
                message_id,
                new.type,
                new.sender,
                new.to,
                new.topic,
                new.task_id,
                new.context_id,
                new.parts_json,
                now,
                new.expires_at,
                None,
                new.body_hash,
                new.require_ack,
                new.urgent,
                recipients_json,
            )
        )
        stored = StoredMessage(
            message_id,
            new.type,
            new.sender,
            new.to,
            new.topic,
            new.task_id,
            new.context_id,
            new.parts_json,
            now,
            new.expires_at,
            None,
            new.require_ack,
            new.urgent,
            tuple(recipients),
        )
        deliveries = []
        for agent_id in recipients:
            sequence = next_sequence[agent_id]
            next_sequence[agent_id] = sequence + 1
            deliveries.append(DeliveryView(stored, agent_id, sequence, "stored", 0))
            delivery_rows.append((message_id, agent_id, sequence, new.expires_at))
        results.append(SendResult(stored, deliveries, existing=False))
    cursor.executemany(_INSERT_NUMBERED_MESSAGE, message_rows)
    cursor.executemany(_INSERT_DELIVERY, delivery_rows)
    return results
