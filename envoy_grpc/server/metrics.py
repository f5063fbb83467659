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

import bisect
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import prometheus_client
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
# Unary calls here take from ~0.2 ms (a read answered from memory) to tens of ms (a big write).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PENDING_AGENTS = 50
# `le` labels as Prometheus writes them ("0.0005", "10.0", "+Inf").
_BUCKET_LABELS = (*(repr(bound) for bound in LATENCY_BUCKETS), "+Inf")

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
        self.grpc = CallMetrics(
            ("envoy_grpc_requests", "gRPC calls finished, by full method name and status code."),
            ("envoy_grpc_request_duration_seconds", "Time to answer a unary gRPC call, by full method name."),
            ("method",),
        )
        self.http = CallMetrics(
            (
                "envoy_http_requests",
                "HTTP requests answered by the gateway, by route template, verb and status code.",
            ),
            (
                "envoy_http_request_duration_seconds",
                "Time to answer an HTTP request (streams excluded), by route template and verb.",
            ),
            ("route", "verb"),
        )
        self.registry.register(self.grpc)
        self.registry.register(self.http)
        self.state = StateCollector(state, pending_agents) if state is not None else None
        if self.state is not None:
            self.registry.register(self.state)

    def grpc_finished(self, method: str, code: grpc.StatusCode, seconds: float | None) -> None:
        self.grpc.finished((method,), code.name, seconds)

    def http_finished(self, route: str, verb: str, status: int, seconds: float | None) -> None:
        self.http.finished((route, verb), str(status), seconds)

    def render(self, pending: Iterable[tuple[str, int]] = ()) -> bytes:
        """The text exposition of every metric, with `pending` as the per-agent delivery counts."""
        if self.state is not None:
            self.state.pending = list(pending)
        return prometheus_client.generate_latest(self.registry)


class CallMetrics(Collector):
    """Calls by labels and status code, and latency histograms by labels, kept as plain numbers and
    turned into metric families when scraped. Updated on the event loop's thread only, so no lock:
    prometheus_client's Counter and Histogram take one per update, which was most of the 1.7 µs
    these recorders cost every call (now ~0.8)."""

    def __init__(self, counter: tuple[str, str], histogram: tuple[str, str], labels: tuple[str, ...]) -> None:
        self.counter, self.histogram, self.labels = counter, histogram, labels
        self.calls: dict[tuple[str, ...], int] = {}
        # Per label set: a count per bucket of LATENCY_BUCKETS (the last one is +Inf), then the sum.
        self.latency: dict[tuple[str, ...], list[float]] = {}

    def finished(self, labels: tuple[str, ...], code: str, seconds: float | None) -> None:
        key = (*labels, code)
        self.calls[key] = self.calls.get(key, 0) + 1
        if seconds is not None:
            counts = self.latency.get(labels)
            if counts is None:
                counts = self.latency[labels] = [0.0] * (len(LATENCY_BUCKETS) + 2)
            counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            counts[-1] += seconds

    def collect(self) -> Iterator[Any]:
        calls = CounterMetricFamily(*self.counter, labels=[*self.labels, "code"])
        for key, value in list(self.calls.items()):
            calls.add_metric(list(key), float(value))
        yield calls
        latency = HistogramMetricFamily(*self.histogram, labels=list(self.labels))
        for labels, counts in list(self.latency.items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip(_BUCKET_LABELS, counts, strict=False):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric(list(labels), buckets, counts[-1])
        yield latency


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
