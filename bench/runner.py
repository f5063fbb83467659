"""Run the selected scenarios one after another against one server and collect their figures.

Alongside each load result it records the CPU both processes used (to show which side was the
bottleneck), the number of agents the server held, and whether the server logged during the load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.clients import Clients, connected
from bench.load import LoadResult, run_closed_loop
from bench.scenarios import Scenario
from bench.server import ServerProcess


@dataclass(frozen=True)
class Settings:
    """The parameters of a run; all of them are written to the results."""

    duration_s: float
    warmup_s: float
    concurrency: int
    channels: int
    call_timeout_s: float


@dataclass(frozen=True)
class Measurement:
    """One scenario's load result with the context needed to read it."""

    scenario: Scenario
    load: LoadResult
    wall_s: float
    server_cpu_pct: float | None
    client_cpu_pct: float
    agents_before: int
    server_log_lines: int


def _percent(used: float | None, wall: float) -> float | None:
    return None if used is None or wall <= 0 else 100.0 * used / wall


async def _measure(
    server: ServerProcess, clients: Clients, scenario: Scenario, settings: Settings
) -> Measurement:
    agents_before = await clients.agents_registered()
    operations = await scenario.prepare(clients, settings.concurrency)
    server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
    log_lines, started = server.log.count, time.perf_counter()
    load = await run_closed_loop(operations, settings.duration_s, settings.warmup_s, settings.call_timeout_s)
    wall = time.perf_counter() - started
    server_cpu_after = server.cpu_seconds()
    server_used = None if server_cpu is None or server_cpu_after is None else server_cpu_after - server_cpu
    return Measurement(
        scenario=scenario,
        load=load,
        wall_s=wall,
        server_cpu_pct=_percent(server_used, wall),
        client_cpu_pct=_percent(time.process_time() - client_cpu, wall) or 0.0,
        agents_before=agents_before,
        server_log_lines=server.log.count - log_lines,
    )


async def run_scenarios(
    server: ServerProcess,
    scenarios: list[Scenario],
    settings: Settings,
    progress: Callable[[Measurement], None],
) -> list[Measurement]:
    """Measure each scenario in order over shared connections; stop at once if the server dies."""
    results: list[Measurement] = []
    async with connected(
        server.grpc_target, server.http_base, settings.channels, settings.concurrency, settings.call_timeout_s
    ) as clients:
        for scenario in scenarios:
            server.check_alive()
            measurement = await _measure(server, clients, scenario, settings)
            progress(measurement)
            results.append(measurement)
    server.check_alive()
    return results
