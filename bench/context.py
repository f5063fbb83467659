"""What a custom scenario is given (connections, settings, the server) and what it hands back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bench import cpu
from bench.clients import Clients
from bench.load import LoadResult
from bench.server import ServerProcess
from bench.settings import Settings


@dataclass(frozen=True)
class CpuUsage:
    """CPU both processes used over a window, as a percentage of one core."""

    wall_s: float
    server_pct: float | None
    client_pct: float
    # The server's CPU by thread group (see cpu.thread_breakdown); empty where unavailable.
    server_threads: dict[str, float] = field(default_factory=dict)


def combine(usages: list[CpuUsage]) -> CpuUsage | None:
    """Several windows as one: percentages weighted by each window's length."""
    wall = sum(u.wall_s for u in usages)
    if not usages or wall <= 0:
        return None

    def weighted(values: list[tuple[float | None, float]]) -> float | None:
        if any(value is None for value, _ in values):
            return None
        return sum((value or 0.0) * w for value, w in values) / wall

    keys = set.intersection(*(set(u.server_threads) for u in usages))
    threads = {k: round(sum(u.server_threads[k] * u.wall_s for u in usages) / wall, 1) for k in sorted(keys)}
    return CpuUsage(
        wall,
        weighted([(u.server_pct, u.wall_s) for u in usages]),
        weighted([(u.client_pct, u.wall_s) for u in usages]) or 0.0,
        threads,
    )


class CpuWindow:
    """Started on creation; `usage()` reads the CPU the server and this process used since then."""

    def __init__(self, server: ServerProcess) -> None:
        self._server = server
        self._threads = cpu.thread_cpu_seconds(server.process.pid)
        self._server_cpu = server.cpu_seconds()
        self._client_cpu = time.process_time()
        self._started = time.perf_counter()

    def usage(self) -> CpuUsage:
        wall = time.perf_counter() - self._started
        server_cpu = self._server.cpu_seconds()
        server_used = (
            None if server_cpu is None or self._server_cpu is None else server_cpu - self._server_cpu
        )
        client_used = time.process_time() - self._client_cpu
        threads = cpu.thread_cpu_seconds(self._server.process.pid)
        pid, poller = self._server.process.pid, self._server.grpc_poller_tid
        by_thread = (
            {}
            if threads is None or self._threads is None
            else cpu.thread_breakdown(
                pid, self._threads, threads, wall, frozenset() if poller is None else frozenset({poller})
            )
        )
        return CpuUsage(
            wall,
            None if server_used is None or wall <= 0 else 100.0 * server_used / wall,
            100.0 * client_used / wall if wall > 0 else 0.0,
            by_thread,
        )


@dataclass(frozen=True)
class Context:
    """Shared connections, the run's settings and the server under test (for its RSS and CPU).

    `rates` holds the rate of each scenario measured earlier on this server without errors, by name,
    for scenarios stated relative to another (hook_ingest to http_health, hook_ingest_half at half
    of hook_ingest).
    """

    clients: Clients
    settings: Settings
    server: ServerProcess
    rates: dict[str, float] = field(default_factory=dict)


@dataclass
class Outcome:
    """A custom scenario's result.

    `load` fills the table's columns (its latency is whatever the scenario measures, e.g. delivery
    latency); `cpu` is the timed window's CPU (the runner measures the whole scenario otherwise);
    `figures` go to the JSON and `details` to the printed report.
    """

    load: LoadResult
    cpu: CpuUsage | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)
