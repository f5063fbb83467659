"""Repository functions for delivery state: pushes and polls recorded, acks, naks, in-progress and
term, surfacing into coding sessions, redelivery, expiry, dead letters and retention."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from envoy_grpc import errors
from envoy_grpc.store.messages import (
    _IS_AWAITING_ACK,
    _IS_OPEN,
    OPEN_STATES,
    DeliveryView,
    _cursor,
    _deliveries_query,
    _delivery_from,
    _rows,
    acked_by,
    get_delivery,
    get_message,
)
from envoy_grpc.store.models import Delivery, Message

# Pushes are recorded in batches after they happen, so the agent may have acked one already: it still
# counts as an attempt and sets the first delivery time, but an acked delivery keeps its state and
# gets no new ack-wait clock.
_RECORD_PUSH = (
    "UPDATE delivery SET delivery_count = delivery_count + 1, "
    "state = CASE WHEN state = 'stored' THEN 'delivered' ELSE state END, "
    "first_delivered_at = COALESCE(first_delivered_at, ?), "
    "last_delivered_at = CASE WHEN state = 'acked' THEN COALESCE(last_delivered_at, ?1) ELSE ?1 END, "
    "next_attempt_at = CASE WHEN state = 'acked' THEN next_attempt_at ELSE ? END "
    "WHERE message_id = ? AND agent_id = ? AND state IN ('stored', 'delivered', 'surfaced', 'acked')"
)
_RECORD_POLL = (
    "UPDATE delivery SET state = CASE WHEN state = 'stored' THEN 'delivered' ELSE state END, "
    "first_delivered_at = COALESCE(first_delivered_at, ?), last_delivered_at = ? "
    "WHERE message_id = ? AND agent_id = ? AND state IN ('stored', 'delivered', 'surfaced')"
)


def record_pushes(pushes: Iterable[tuple[int, str, float]], ack_wait: float) -> None:
    """Count pushes on live streams: (message_id, agent_id, pushed_at). Starts each ack-wait clock."""
    params = [(at, at + ack_wait, message_id, agent_id) for message_id, agent_id, at in pushes]
    if params:
        Delivery._meta.database.cursor().executemany(_RECORD_PUSH, params)


def record_polls(polled: Iterable[tuple[int, str]], now: float) -> None:
    """Mark deliveries returned by a poll as delivered (a poll is a view: it does not count an attempt)."""
    params = [(now, now, message_id, agent_id) for message_id, agent_id in polled]
    if params:
        Delivery._meta.database.cursor().executemany(_RECORD_POLL, params)


def _delivery_or_error(message_id: int, agent_id: str) -> DeliveryView:
    delivery = get_delivery(message_id, agent_id)
    if delivery is not None:
        return delivery
    if get_message(message_id) is None:
        raise errors.not_found(
            "MESSAGE_NOT_FOUND", f"no message with ID {str(message_id)!r}", messageId=str(message_id)
        )
    raise errors.permission_denied(
        f"agent {agent_id!r} is not a recipient of message {str(message_id)!r}; only a recipient can act on its delivery",
        reason="NOT_A_RECIPIENT",
        messageId=str(message_id),
    )


def _set(message_id: int, agent_id: str, **values: Any) -> None:
    Delivery.update(**values).where(
        (Delivery.message == message_id) & (Delivery.agent_id == agent_id)
    ).execute()


# Acks are as frequent as sends: plain SQL too.
_ACK = (
    "UPDATE delivery SET state = 'acked', acked_at = ?, next_attempt_at = NULL "
    "WHERE message_id = ? AND agent_id = ? AND state != 'acked'"
)
_IS_RECIPIENT = "SELECT 1 FROM delivery WHERE message_id = ? AND agent_id = ?"


def ack(message_id: int, agent_id: str, now: float) -> list[str]:
    """Acknowledge a recipient's delivery (idempotent); return every recipient that has acked."""
    cursor = _cursor()
    changed = cursor.execute(_ACK, (now, message_id, agent_id)).rowcount
    if not changed and cursor.execute(_IS_RECIPIENT, (message_id, agent_id)).fetchone() is None:
        _delivery_or_error(message_id, agent_id)  # raises the right error
    return acked_by(message_id)


def _require_open(delivery: DeliveryView, action: str) -> None:
    if delivery.state not in OPEN_STATES:
        raise errors.failed_precondition(
            "DELIVERY_NOT_PENDING",
            f"cannot {action} message {str(delivery.message.message_id)!r}: its delivery to {delivery.agent_id} "
            f"is already {delivery.state}",
        )


def nak(message_id: int, agent_id: str, delay: float, now: float) -> DeliveryView:
    delivery = _delivery_or_error(message_id, agent_id)
    _require_open(delivery, "nak")
    state = "delivered" if delivery.state == "stored" else delivery.state
    _set(message_id, agent_id, state=state, next_attempt_at=now + delay)
    return replace(delivery, state=state, next_attempt_at=now + delay)


def extend(message_id: int, agent_id: str, ack_wait: float, now: float) -> DeliveryView:
    delivery = _delivery_or_error(message_id, agent_id)
    _require_open(delivery, "mark in progress")
    _set(message_id, agent_id, next_attempt_at=now + ack_wait)
    return replace(delivery, next_attempt_at=now + ack_wait)


def term(message_id: int, agent_id: str) -> DeliveryView:
    delivery = _delivery_or_error(message_id, agent_id)
    if delivery.state == "terminated":
        return delivery
    _require_open(delivery, "terminate")
    _set(message_id, agent_id, state="terminated", next_attempt_at=None)
    return replace(delivery, state="terminated", next_attempt_at=None)


_HAS_OPEN = (
    "SELECT 1 FROM delivery WHERE agent_id = ? AND state IN ('stored', 'delivered', 'surfaced') LIMIT 1"
)


def surface(
    agent_id: str, now: float, ack_wait: float, limit: int, urgent_only: bool = False
) -> tuple[list[DeliveryView], bool]:
    """Mark what a hook is about to show a coding agent as surfaced; return it, and whether the
    agent still has any open delivery afterwards.

    A surfaced message counts as acknowledged, unless it was sent with require_ack: then it stays
    pending and is surfaced again at most once per ack wait until the agent acks it.
    """
    query = (
        _deliveries_query()
        .where(
            (Delivery.agent_id == agent_id)
            & _IS_OPEN
            & (Delivery.expires_at.is_null() | (Delivery.expires_at > now))
            & ((Delivery.state != "surfaced") | (Delivery.surfaced_at <= now - ack_wait))
        )
        .order_by(Delivery.sequence)
        .limit(limit)
    )
    if urgent_only:
        query = query.where(Message.urgent == True)  # noqa: E712 (peewee builds SQL from ==)
    found = [_delivery_from(row) for row in _rows(query)]
    for delivery in found:
        key = (delivery.message.message_id, delivery.agent_id)
        if delivery.message.require_ack:
            _set(*key, state="surfaced", surfaced_at=now, next_attempt_at=now + ack_wait)
        else:
            _set(*key, state="acked", surfaced_at=now, acked_at=now, next_attempt_at=None)
    return found, _cursor().execute(_HAS_OPEN, (agent_id,)).fetchone() is not None


@dataclass(frozen=True)
class Housekeeping:
    redeliver: list[DeliveryView]
    dead_lettered: int
    expired: int


def process_due(
    now: float, ack_wait: float, max_deliver: int, live_agents: set[str], limit: int
) -> Housekeeping:
    """Expire what is past its TTL, dead-letter what used every attempt, and pick redeliveries."""
    expired = (
        Delivery.update(state="expired", next_attempt_at=None)
        .where(
            Delivery.state.in_(OPEN_STATES)
            & Delivery.expires_at.is_null(False)
            & (Delivery.expires_at <= now)
        )
        .execute()
    )
    due = [
        _delivery_from(row)
        for row in _rows(
            _deliveries_query()
            .where(_IS_AWAITING_ACK & (Delivery.next_attempt_at <= now))
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        )
    ]
    redeliver: list[DeliveryView] = []
    dead = 0
    for delivery in due:
        if delivery.delivery_count >= max_deliver:
            _set(delivery.message.message_id, delivery.agent_id, state="dead_lettered", next_attempt_at=None)
            dead += 1
            continue
        _set(delivery.message.message_id, delivery.agent_id, next_attempt_at=now + ack_wait)
        if delivery.agent_id in live_agents:
            redeliver.append(replace(delivery, redelivery=True))
    return Housekeeping(redeliver, dead, int(expired))


def purge_finished(before: float, limit: int) -> int:
    """Delete messages older than `before` whose every delivery is finished. Returns how many."""
    open_ids = Delivery.select(Delivery.message).where(Delivery.state.in_(OPEN_STATES))
    victims = [
        row[0]
        for row in _rows(
            Message.select(Message.id)
            .where((Message.created_at < before) & Message.id.not_in(open_ids))
            .limit(limit)
        )
    ]
    if not victims:
        return 0
    Delivery.delete().where(Delivery.message.in_(victims)).execute()
    return int(Message.delete().where(Message.id.in_(victims)).execute())


def still_open(agent_id: str, message_ids: Iterable[int]) -> set[int]:
    """Which of these messages still wait for `agent_id` (not acked, expired, dead or terminated)."""
    wanted = list(message_ids)
    if not wanted:
        return set()
    query = Delivery.select(Delivery.message).where(
        (Delivery.agent_id == agent_id) & Delivery.message.in_(wanted) & Delivery.state.in_(OPEN_STATES)
    )
    return {int(row[0]) for row in _rows(query)}
