"""The closed-loop load driver: N workers, each awaiting one operation after another, and latency stats.

Closed loop (a worker starts its next call only when the previous one returned) measures the rate
the server sustains at a given concurrency, which is what the ratios to health Check compare.
Every run is bounded in time (warm-up + duration + one call timeout), in operations and in errors.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import grpc

Operation = Callable[[], Awaitable[None]]
T = TypeVar("T")

MAX_OPERATIONS = 5_000_000
MAX_ERRORS = 1_000
SAMPLE_ERRORS = 3


class HttpStatusError(Exception):
    """An HTTP response whose status is not the expected one."""

    def __init__(self, status: int, expected: int, body: str) -> None:
        super().__init__(f"HTTP {status} (expected {expected}): {body[:200]}")
        self.status = status


@dataclass(frozen=True)
class LatencyStats:
    """Latency percentiles in milliseconds (nearest-rank), over successful operations only."""

    count: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> LatencyStats:
        if not seconds:
            nan = math.nan
            return cls(0, nan, nan, nan, nan, nan)
        ordered = sorted(seconds)

        def rank(q: float) -> float:
            return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

        return cls(
            len(ordered),
            sum(ordered) / len(ordered) * 1000,
            rank(0.5),
            rank(0.9),
            rank(0.99),
            ordered[-1] * 1000,
        )


@dataclass
class LoadResult:
    """What one scenario run produced: counts, rate and latency of the measured window."""

    ok: int
    errors: int
    elapsed_s: float
    latency: LatencyStats
    error_kinds: dict[str, int] = field(default_factory=dict)
    sample_errors: list[str] = field(default_factory=list)
    stopped_early: str | None = None
    # Items each successful operation carries (messages per batch call); the rate counts items.
    items_per_op: int = 1

    @property
    def rate(self) -> float:
        return self.ok * self.items_per_op / self.elapsed_s if self.elapsed_s > 0 else 0.0


def describe_error(error: BaseException) -> tuple[str, str]:
    """(kind, message): the gRPC status code or HTTP status is the kind, so errors group usefully."""
    if isinstance(error, grpc.aio.AioRpcError):
        return error.code().name, f"{error.code().name}: {error.details()}"
    if isinstance(error, HttpStatusError):
        return f"HTTP {error.status}", str(error)
    return type(error).__name__, f"{type(error).__name__}: {error}"


@dataclass
class ErrorTally:
    """Errors grouped by kind with a few sample messages; `full` once MAX_ERRORS is reached."""

    errors: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return self.errors >= MAX_ERRORS

    def add(self, error: BaseException, context: str = "") -> None:
        kind, message = describe_error(error)
        self.add_kind(f"{context}{kind}", f"{context}{message}")

    def add_kind(self, kind: str, message: str, count: int = 1) -> None:
        if count <= 0:
            return
        self.errors += count
        self.kinds[kind] += count
        if len(self.samples) < SAMPLE_ERRORS and message not in self.samples:
            self.samples.append(message)


@dataclass
class _Tally(ErrorTally):
    """Shared by the workers of one run (one event loop, so no locking needed)."""

    measure_from: float = 0.0
    measure_until: float = 0.0
    latencies: list[float] = field(default_factory=list)
    started: int = 0
    last_done: float = 0.0
    stop_reason: str | None = None

    def record_error(self, error: BaseException, started: float) -> None:
        if started < self.measure_from:
            return
        self.add(error)
        if self.full:
            self.stop_reason = f"stopped after {MAX_ERRORS} errors"


async def _worker(operation: Operation, tally: _Tally) -> None:
    clock = time.perf_counter
    while tally.stop_reason is None:
        started = clock()
        if started >= tally.measure_until:
            return
        tally.started += 1
        if tally.started > MAX_OPERATIONS:
            tally.stop_reason = f"stopped after {MAX_OPERATIONS} operations"
            return
        try:
            await operation()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            tally.record_error(error, started)
            continue
        done = clock()
        if started >= tally.measure_from:
            tally.latencies.append(done - started)
            tally.last_done = max(tally.last_done, done)


async def run_closed_loop(
    operations: Sequence[Operation],
    duration_s: float,
    warmup_s: float,
    call_timeout_s: float,
    items_per_op: int = 1,
) -> LoadResult:
    """Run one worker per operation; measure only calls that start after the warm-up.

    The rate is successful operations over the time from the end of the warm-up to the last measured
    completion, so calls still in flight when the window closes are neither lost nor stretched.
    """
    start = time.perf_counter()
    tally = _Tally(measure_from=start + warmup_s, measure_until=start + warmup_s + duration_s)
    workers = [asyncio.create_task(_worker(operation, tally)) for operation in operations]
    budget = warmup_s + duration_s + call_timeout_s + 5.0
    done, pending = await asyncio.wait(workers, timeout=budget)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5.0)
        tally.stop_reason = tally.stop_reason or f"{len(pending)} workers overran the {budget:.0f} s budget"
    for task in done:
        bug = None if task.cancelled() else task.exception()
        if bug is not None:
            raise bug  # a fault in the driver itself; failed calls never get here
    end = tally.last_done if tally.latencies else time.perf_counter()
    if tally.stop_reason is None:
        end = max(end, tally.measure_until)
    return LoadResult(
        ok=len(tally.latencies),
        errors=tally.errors,
        elapsed_s=end - tally.measure_from,
        latency=LatencyStats.of(tally.latencies),
        error_kinds=dict(tally.kinds),
        sample_errors=tally.samples,
        stopped_early=tally.stop_reason,
        items_per_op=items_per_op,
    )


async def gather_or_cancel(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """`asyncio.gather`, except that when one fails the others are cancelled rather than left running."""
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
