"""In-memory fan-out to live subscriptions, fed only after the store has committed.

Each subscription has a bounded queue. A subscriber that falls behind is never allowed to grow
memory: when its queue is full it is marked `missed`, its queue is emptied, and its stream goes back
to the store to replay what it missed before going live again. Nobody else waits for it.

Each subscription also keeps the message IDs it pushed that are not settled yet (acked, nak'd or
terminated), so its stream can stop pushing at `max_ack_pending` and resume as acks arrive
(JetStream's max_ack_pending); `Bus.settle` is how an ack reaches it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from envoy_grpc.store.messages import DeliveryView

QUEUE_CAPACITY = 256


class Signal:
    """A marker put on a subscription's queue instead of a delivery."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


# The server is shutting down.
CLOSED = Signal("closed")
# The subscription missed deliveries (queue full, or pushes paused): it must replay from the store.
MISSED = Signal("missed")


@dataclass(eq=False)
class Subscription:
    agent_id: str
    # One slot more than the capacity, so a MISSED or CLOSED marker always fits.
    queue: asyncio.Queue[DeliveryView | Signal] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_CAPACITY + 1)
    )
    # Something was not queued (queue full, or pushes paused by the circuit breaker): replay from the store.
    missed: bool = False
    closed: bool = False
    # Message IDs pushed on this stream and not settled yet (flow control, see Messaging).
    unacked: set[int] = field(default_factory=set)
    # Set when something in `unacked` is settled, or the subscription closes.
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, delivery: DeliveryView) -> None:
        if self.missed or self.closed:
            return
        if self.queue.qsize() >= QUEUE_CAPACITY:
            self.mark_missed()
        else:
            self.queue.put_nowait(delivery)

    def mark_missed(self) -> None:
        """Drop what is queued (the store has every item) and wake the stream to replay."""
        if self.missed or self.closed:
            return
        self.missed = True
        self._empty()
        self.queue.put_nowait(MISSED)

    def close(self) -> None:
        self.closed = True
        self._empty()
        self.queue.put_nowait(CLOSED)
        self.settled.set()

    def settle(self, message_ids: Iterable[int]) -> None:
        before = len(self.unacked)
        self.unacked.difference_update(message_ids)
        if len(self.unacked) < before:
            self.settled.set()

    def _empty(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()


class Bus:
    """Live subscriptions by agent."""

    def __init__(self, allows: Callable[[str], bool] = lambda agent_id: True) -> None:
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._allows = allows
        self.closed = False
        # Agents known to have no open delivery (see Messaging.surface); any publish clears the mark.
        self.nothing_open: set[str] = set()

    def subscribe(self, agent_id: str) -> Subscription:
        subscription = Subscription(agent_id)
        if self.closed:
            subscription.close()
        self._subscriptions.setdefault(agent_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscriptions = self._subscriptions.get(subscription.agent_id)
        if subscriptions is not None:
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._subscriptions[subscription.agent_id]

    def publish(self, deliveries: Iterable[DeliveryView]) -> None:
        """Offer committed deliveries to their recipients' live subscriptions."""
        for delivery in deliveries:
            self.nothing_open.discard(delivery.agent_id)
            subscriptions = self._subscriptions.get(delivery.agent_id)
            if not subscriptions:
                continue
            paused = not self._allows(delivery.agent_id)
            for subscription in subscriptions:
                if paused:
                    subscription.mark_missed()  # replayed once the circuit lets pushes through again
                else:
                    subscription.offer(delivery)

    def settle(self, agent_id: str, message_ids: Iterable[int]) -> None:
        """`agent_id` acked (or nak'd, or terminated) these messages: free their flow-control slots."""
        for subscription in self._subscriptions.get(agent_id, ()):
            subscription.settle(message_ids)

    def streams_of(self, agent_id: str) -> int:
        return len(self._subscriptions.get(agent_id, ()))

    def live_agents(self) -> set[str]:
        return {agent for agent in self._subscriptions if self._allows(agent)}

    def stream_count(self) -> int:
        return sum(len(s) for s in self._subscriptions.values())

    def close_all(self) -> None:
        self.closed = True
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                subscription.close()
