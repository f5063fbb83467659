"""Run the selected scenarios against one or more servers and collect their figures.

The scenarios that are not `isolated` run one after another on the first server, baseline first;
each isolated scenario then gets a fresh server of its own (the sizes of their agent tables and
streams would otherwise change everything measured after them). Alongside each load result it records
the CPU both processes used (to show which side was the bottleneck), the number of agents the server
held, the server's RSS, and whether the server logged during the load.
"""

from __future__ import annotations

import asyncio
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import cpu
from bench.clients import Clients, connected
from bench.context import Context, CpuUsage, CpuWindow, Outcome
from bench.cpu import Pinning
from bench.load import ErrorTally, LatencyStats, LoadResult, run_closed_loop
from bench.scenarios import Scenario, health_check
from bench.server import ServerError, ServerProcess, running_server
from bench.settings import Settings

__all__ = ["Measurement", "RunResult", "ServerRun", "Settings", "plan", "run_plan", "run_scenarios"]


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
    server: int = 1  # which server of the run measured it (1 = the first, shared one)
    server_rss_mb: float | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    details: tuple[str, ...] = ()
    server_threads: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        """Successful operations (items for a batch) per second; None where the scenario has no rate."""
        return self.load.rate if self.scenario.reports_rate else None


@dataclass(frozen=True)
class ServerRun:
    """One server process of the run and how it ended."""

    index: int
    pid: int
    scenarios: list[str]
    exit_code: int | None
    rss_mb_at_end: float | None
    log_tail: str | None
    pinning: Pinning


@dataclass
class RunResult:
    measurements: list[Measurement] = field(default_factory=list)
    servers: list[ServerRun] = field(default_factory=list)
    error: str | None = None


def plan(scenarios: list[Scenario]) -> list[list[Scenario]]:
    """The shared group first (in order), then each isolated scenario alone."""
    shared = [scenario for scenario in scenarios if not scenario.isolated]
    groups = [shared] if shared else []
    return groups + [[scenario] for scenario in scenarios if scenario.isolated]


def _mb(size: int | None) -> float | None:
    return None if size is None else round(size / 2**20, 1)


def _failed(error: Exception) -> LoadResult:
    """A scenario whose setup or driver failed: one error, no figures."""
    tally = ErrorTally()
    tally.add(error, "setup ")
    return LoadResult(
        ok=0,
        errors=tally.errors,
        elapsed_s=0.0,
        latency=LatencyStats.of([]),
        error_kinds=dict(tally.kinds),
        sample_errors=tally.samples,
        stopped_early=f"failed: {tally.samples[0] if tally.samples else type(error).__name__}",
    )


async def _closed_loop(
    scenario: Scenario, clients: Clients, settings: Settings, server: ServerProcess
) -> Outcome:
    assert scenario.prepare is not None
    operations = await scenario.prepare(clients, settings)
    window = CpuWindow(server)
    load = await run_closed_loop(
        operations,
        settings.duration_s,
        settings.warmup_s,
        settings.call_timeout_s,
        items_per_op=settings.batch_size if scenario.batched else 1,
    )
    figures = {"batch_size": settings.batch_size, "callers": len(operations)} if scenario.batched else {}
    return Outcome(load, window.usage(), figures)


def _rates(earlier: list[Measurement], index: int) -> dict[str, float]:
    """The rates measured on server `index` so far, of the scenarios that ran without errors."""
    return {
        m.scenario.name: m.rate
        for m in earlier
        if m.server == index and m.rate and not m.load.errors and not m.load.stopped_early
    }


async def _measure(
    server: ServerProcess,
    clients: Clients,
    scenario: Scenario,
    settings: Settings,
    index: int,
    earlier: list[Measurement],
) -> Measurement:
    agents_before = await clients.agents_registered()
    log_lines = server.log.count
    whole = CpuWindow(server)
    try:
        if scenario.run is not None:
            outcome = await scenario.run(Context(clients, settings, server, _rates(earlier, index)))
        else:
            outcome = await _closed_loop(scenario, clients, settings, server)
    except Exception as error:
        server.check_alive()
        print(f"bench: {scenario.name} failed:", file=sys.stderr)
        traceback.print_exc()
        outcome = Outcome(_failed(error))
    usage: CpuUsage = outcome.cpu or whole.usage()
    rss = server.rss_bytes()
    return Measurement(
        scenario=scenario,
        load=outcome.load,
        wall_s=usage.wall_s,
        server_cpu_pct=usage.server_pct,
        client_cpu_pct=usage.client_pct,
        agents_before=agents_before,
        server_log_lines=server.log.count - log_lines,
        server=index,
        server_rss_mb=_mb(rss),
        figures=outcome.figures,
        details=tuple(outcome.details),
        server_threads=usage.server_threads,
    )


CALIBRATION_S = 0.5
# Before each scenario the server must be idle: below SETTLED_PCT of a core over one SETTLE_STEP.
SETTLED_PCT = 10.0
SETTLE_STEP = 0.25
SETTLE_TIMEOUT = 60.0


async def _settle(server: ServerProcess) -> float:
    """Wait until the server is idle; return the seconds waited.

    Writes leave background work behind (the graph projection and search indexing of what was
    recorded, the WAL checkpoint); on a shared server it used to land in whichever scenario came
    next, so `grpc_send` measured the catch-up of `hook_ingest` (0.53 of health in a full run, 0.63
    to 0.70 alone). The wait itself is reported: it is how long that catch-up took.
    """
    started = time.perf_counter()
    while time.perf_counter() - started < SETTLE_TIMEOUT:
        before = server.cpu_seconds()
        await asyncio.sleep(SETTLE_STEP)
        after = server.cpu_seconds()
        if before is None or after is None or 100.0 * (after - before) / SETTLE_STEP < SETTLED_PCT:
            break
    return time.perf_counter() - started


async def _find_grpc_poller(server: ServerProcess, clients: Clients, settings: Settings) -> None:
    """Half a second of health Checks, which touch no storage: the busiest Python thread besides the
    event loop is then grpc.aio's poller, which the CPU breakdown counts with gRPC, not the store."""
    before = cpu.thread_cpu_seconds(server.process.pid)
    operations = await health_check(clients, settings)
    await run_closed_loop(operations, CALIBRATION_S, 0.0, settings.call_timeout_s)
    after = cpu.thread_cpu_seconds(server.process.pid)
    if before is not None and after is not None:
        server.grpc_poller_tid = cpu.busiest_python_thread(server.process.pid, before, after)


async def run_scenarios(
    server: ServerProcess,
    scenarios: list[Scenario],
    settings: Settings,
    progress: Callable[[Measurement], None],
    results: list[Measurement],
    index: int = 1,
) -> list[Measurement]:
    """Measure each scenario in order over shared connections, appending to `results` as they finish;
    stop at once if the server dies."""
    async with connected(
        server.grpc_target, server.http_base, settings.channels, settings.concurrency, settings.call_timeout_s
    ) as clients:
        await _find_grpc_poller(server, clients, settings)
        for scenario in scenarios:
            server.check_alive()
            settled_s = await _settle(server)
            measurement = await _measure(server, clients, scenario, settings, index, results)
            measurement.figures["settled_before_s"] = round(settled_s, 2)
            progress(measurement)
            results.append(measurement)
    server.check_alive()
    return results


async def run_plan(
    repo: Path,
    log_level: str,
    pin: bool,
    scenarios: list[Scenario],
    settings: Settings,
    progress: Callable[[Measurement], None],
    started: Callable[[int, ServerProcess, list[Scenario]], None],
) -> RunResult:
    """Start a server per group of the plan, run the group, stop the server; stop early on a server error.

    Starting and stopping a server blocks the event loop for a moment; nothing else runs then.
    """
    run = RunResult()
    for index, group in enumerate(plan(scenarios), start=1):
        server: ServerProcess | None = None
        rss: int | None = None
        try:
            with running_server(repo, log_level, pin) as server:
                started(index, server, group)
                try:
                    await run_scenarios(server, group, settings, progress, run.measurements, index)
                finally:
                    rss = server.rss_bytes()
        except ServerError as error:
            run.error = str(error)
        if server is not None:
            run.servers.append(
                ServerRun(
                    index=index,
                    pid=server.process.pid,
                    scenarios=[scenario.name for scenario in group],
                    exit_code=server.exit_code,
                    rss_mb_at_end=_mb(rss),
                    log_tail=server.log.text() if server.exit_code != 0 else None,
                    pinning=server.pinning,
                )
            )
        if run.error is not None:
            break
    return run
