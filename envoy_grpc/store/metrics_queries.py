"""The reads behind the gauges that `/metrics` computes on scrape."""

from __future__ import annotations

from typing import Any

from envoy_grpc.store.models import database_proxy

# Same condition as the partial index `delivery_open (agent_id, sequence)`, so the count walks that
# index (unfinished deliveries only, already grouped by agent) instead of every delivery ever kept.
PENDING_BY_AGENT = (
    "SELECT agent_id, count(*) FROM delivery "
    "WHERE state IN ('stored', 'delivered', 'surfaced') GROUP BY agent_id"
)


def cursor() -> Any:
    return database_proxy.cursor()


def pending_by_agent() -> list[tuple[str, int]]:
    """Unacknowledged deliveries (stored, delivered or surfaced) per recipient, for agents with any."""
    return [(str(agent), int(count)) for agent, count in cursor().execute(PENDING_BY_AGENT)]
