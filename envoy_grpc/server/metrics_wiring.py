"""Connect the metrics to the server's parts: the gauges' sources and who may scrape `/metrics`."""

from __future__ import annotations

from collections.abc import Iterable

from envoy_grpc.config import Config
from envoy_grpc.core.agents import AgentRegistry
from envoy_grpc.core.auth import Authenticator
from envoy_grpc.core.messaging import Messaging
from envoy_grpc.server.metrics import Metrics, ServerState
from envoy_grpc.store import metrics_queries
from envoy_grpc.store.db import Database
from gateway.metrics import MetricsEndpoint


def server_metrics(db: Database, registry: AgentRegistry, messaging: Messaging) -> Metrics:
    return Metrics(
        ServerState(
            open_streams=messaging.bus.stream_count,
            agents_online=registry.online_count,
            redeliveries=lambda: messaging.redelivered,
            dead_letters=lambda: messaging.dead_lettered,
            expired=lambda: messaging.expired,
            writer_queue_depth=lambda: db.queue_depth,
            writer_transactions=lambda: db.groups_committed,
            writer_units=lambda: db.units_committed,
            db_path=db.path,
        )
    )


def metrics_endpoint(
    config: Config, metrics: Metrics, db: Database, authenticator: Authenticator
) -> MetricsEndpoint:
    async def pending() -> Iterable[tuple[str, int]]:
        return await db.read(metrics_queries.pending_by_agent)

    def authorize(headers: list[tuple[str, str]]) -> None:
        if config.metrics_mode == "operator":
            authenticator.resolve(headers, "operator")

    return MetricsEndpoint(metrics, pending, authorize)
