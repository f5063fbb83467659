"""Repository functions for agents' topic subscriptions (NATS-style patterns)."""

from __future__ import annotations

from envoy_grpc.store.messages import _active_agent, _rows
from envoy_grpc.store.models import TopicSubscription


def subscribe_topic(agent_id: str, pattern: str, now: float) -> float:
    """Add a pattern (idempotent); returns when it was first added."""
    _active_agent(agent_id, "agent_id")
    TopicSubscription.insert(
        agent_id=agent_id, pattern=pattern, created_at=now
    ).on_conflict_ignore().execute()
    created = (
        TopicSubscription.select(TopicSubscription.created_at)
        .where((TopicSubscription.agent_id == agent_id) & (TopicSubscription.pattern == pattern))
        .scalar()
    )
    return float(created)


def topic_subscriptions(agent_id: str) -> list[tuple[str, float]]:
    query = (
        TopicSubscription.select(TopicSubscription.pattern, TopicSubscription.created_at)
        .where(TopicSubscription.agent_id == agent_id)
        .order_by(TopicSubscription.id)
    )
    return [(row[0], row[1]) for row in _rows(query)]


def unsubscribe_topic(agent_id: str, pattern: str) -> bool:
    deleted = (
        TopicSubscription.delete()
        .where((TopicSubscription.agent_id == agent_id) & (TopicSubscription.pattern == pattern))
        .execute()
    )
    return bool(deleted)
