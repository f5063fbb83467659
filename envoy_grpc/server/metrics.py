"""Prometheus metrics: what the interceptor and the gateway count, and the server's state on scrape.

Counted as calls finish (cheap, on the hot path): gRPC calls by method and status code, HTTP requests
by route template, verb and status, and latency histograms of unary calls (a stream's lifetime is not
a latency, so streams are counted but not timed). Computed when `/metrics` is scraped (nothing on
the hot path): open streams, online agents, redeliveries, dead letters and expiries, the writer's
queue depth and commits, the size of envoy.db and its WAL, and unacknowledged deliveries per agent.
That last count runs on a reader thread through an index of unfinished deliveries, and only the top
`pending_agents` agents get their own series (the rest are summed) to bound the label cardinality.

Each server has its own `CollectorRegistry`, so several servers in one process (as in the tests)
never share counts. An HTTP request through the gateway is counted twice, once per layer: as its
route in `envoy_http_*` and as the gRPC method the gateway calls in `envoy_grpc_*`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
# Unary calls here take from ~0.2 ms (a read answered from memory) to tens of ms (a big write).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PENDING_AGENTS = 50

# The `*_created` series double every counter and histogram and nobody graphs them (process-wide).
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]


@dataclass
class ServerState:
    """Where the gauges read from; each is a cheap call on the loop, except `pending_by_agent`."""

    open_streams: Callable[[], int]
    agents_online: Callable[[], int]
    redeliveries: Callable[[], int]
    dead_letters: Callable[[], int]
    expired: Callable[[], int]
    writer_queue_depth: Callable[[], int]
    writer_transactions: Callable[[], int]
    writer_units: Callable[[], int]
    db_path: Path


class Metrics:
    """The registry of one server, with the recorders its interceptor and gateway call."""

    def __init__(self, state: ServerState | None = None, pending_agents: int = PENDING_AGENTS) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.grpc_requests = Counter(
            "envoy_grpc_requests",
            "gRPC calls finished, by full method name and status code.",
            ["method", "code"],
            registry=self.registry,
        )
        self.grpc_latency = Histogram(
            "envoy_grpc_request_duration_seconds",
            "Time to answer a unary gRPC call, by full method name.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.http_requests = Counter(
            "envoy_http_requests",
            "HTTP requests answered by the gateway, by route template, verb and status code.",
            ["route", "verb", "code"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "envoy_http_request_duration_seconds",
            "Time to answer an HTTP request (streams excluded), by route template and verb.",
            ["route", "verb"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Children looked up once per label set: the hot path does one dict lookup and one inc.
        self._grpc_children: dict[tuple[str, grpc.StatusCode], Any] = {}
        self._grpc_timers: dict[str, Any] = {}
        self._http_children: dict[tuple[str, str, int], Any] = {}
        self._http_timers: dict[tuple[str, str], Any] = {}
        self.state = StateCollector(state, pending_agents) if state is not None else None
        if self.state is not None:
            self.registry.register(self.state)

    def grpc_finished(self, method: str, code: grpc.StatusCode, seconds: float | None) -> None:
        child = self._grpc_children.get((method, code))
        if child is None:
            child = self._grpc_children[(method, code)] = self.grpc_requests.labels(method, code.name)
        child.inc()
        if seconds is not None:
            timer = self._grpc_timers.get(method)
            if timer is None:
                timer = self._grpc_timers[method] = self.grpc_latency.labels(method)
            timer.observe(seconds)

    def http_finished(self, route: str, verb: str, status: int, seconds: float | None) -> None:
        child = self._http_children.get((route, verb, status))
        if child is None:
            child = self._http_children[(route, verb, status)] = self.http_requests.labels(
                route, verb, str(status)
            )
        child.inc()
        if seconds is not None:
            timer = self._http_timers.get((route, verb))
            if timer is None:
                timer = self._http_timers[(route, verb)] = self.http_latency.labels(route, verb)
            timer.observe(seconds)

    def render(self, pending: Iterable[tuple[str, int]] = ()) -> bytes:
        """The text exposition of every metric, with `pending` as the per-agent delivery counts."""
        if self.state is not None:
            self.state.pending = list(pending)
        return prometheus_client.generate_latest(self.registry)


class StateCollector(Collector):
    """Reads the server's state when scraped; never touches the database itself."""

    def __init__(self, state: ServerState, pending_agents: int) -> None:
        self.source = state
        self.pending_agents = pending_agents
        self.pending: list[tuple[str, int]] = []

    def collect(self) -> Iterator[Any]:
        source = self.source
        yield _gauge(
            "envoy_open_streams",
            "Open message subscriptions (gRPC, SSE and WebSocket).",
            source.open_streams(),
        )
        yield _gauge("envoy_agents_online", "Agents counted as online.", source.agents_online())
        yield _counter(
            "envoy_redeliveries",
            "Deliveries pushed again after their ack wait ran out.",
            source.redeliveries(),
        )
        yield _counter(
            "envoy_dead_letters", "Deliveries dead-lettered after using every attempt.", source.dead_letters()
        )
        yield _counter("envoy_expired_deliveries", "Deliveries expired past their TTL.", source.expired())
        yield _gauge(
            "envoy_writer_queue_depth",
            "Units of work waiting for (or running on) the database writer thread.",
            source.writer_queue_depth(),
        )
        yield _counter(
            "envoy_writer_transactions",
            "Write transactions committed (group commits).",
            source.writer_transactions(),
        )
        yield _counter("envoy_writer_units", "Units of work committed by the writer.", source.writer_units())
        size = GaugeMetricFamily("envoy_db_size_bytes", "Size of the SQLite files on disk.", labels=["file"])
        for label, path in (
            ("db", source.db_path),
            ("wal", source.db_path.with_name(source.db_path.name + "-wal")),
        ):
            size.add_metric([label], float(_size(path)))
        yield size
        yield from self._pending()

    def _pending(self) -> Iterator[Any]:
        ranked = sorted(self.pending, key=lambda item: (-item[1], item[0]))
        top, rest = ranked[: self.pending_agents], ranked[self.pending_agents :]
        per_agent = GaugeMetricFamily(
            "envoy_deliveries_pending",
            f"Unacknowledged deliveries of the {self.pending_agents} agents with the most of them.",
            labels=["agent_id"],
        )
        for agent_id, count in top:
            per_agent.add_metric([agent_id], float(count))
        yield per_agent
        yield _gauge(
            "envoy_deliveries_pending_total",
            "Unacknowledged deliveries of every agent.",
            sum(count for _, count in ranked),
        )
        yield _gauge(
            "envoy_deliveries_pending_other",
            "Unacknowledged deliveries of the agents left out of envoy_deliveries_pending.",
            sum(count for _, count in rest),
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=float(value))


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
