"""The performance targets (the agents issue's GetAgent cost, issue 3's messaging figures, issue 4's hook
ingest) and verdicts.

A target is judged only on a scenario that ran without errors, and only at the scale it is stated
for (the full-size broadcast and idle runs, 500 msg/s push); otherwise it is "not measured" and says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.ingest import P99_LIMIT_MS
from bench.runner import Measurement
from bench.scenarios import BASELINE, TARGET_MAX_COST, TARGET_SCENARIO

Value = Callable[[Measurement, float | None], float | None]
Scale = Callable[[Measurement], str | None]


@dataclass(frozen=True)
class Target:
    """`value` must be at most (or at least) `limit`; `scale` names why a run is too small to judge."""

    key: str
    statement: str
    scenario: str
    limit: float
    at_most: bool
    unit: str
    value: Value
    scale: Scale | None = None


@dataclass(frozen=True)
class TargetResult:
    target: Target
    value: float | None
    met: bool | None
    reason: str = ""

    def describe(self) -> str:
        t = self.target
        head = f"Target ({t.statement})"
        if self.met is None:
            shown = "" if self.value is None else f" ({t.scenario} {_show(self.value, t.unit)})"
            return f"{head}: not measured{shown}: {self.reason}."
        outcome = "MET" if self.met else "NOT MET"
        return f"{head}: {t.scenario} {_show(self.value, t.unit)} -> {outcome}."

    def as_json(self) -> dict[str, Any]:
        t = self.target
        return {
            "key": t.key,
            "statement": t.statement,
            "scenario": t.scenario,
            "limit": t.limit,
            "comparison": "at_most" if t.at_most else "at_least",
            "unit": t.unit,
            "value": None if self.value is None else round(self.value, 3),
            "met": self.met,
            "reason": self.reason or None,
        }


def _show(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x health_check"
    if unit == "ratio":
        return f"{value:.2f} of health_check"
    if unit.startswith("of "):  # a ratio to another scenario than health_check
        return f"{value:.2f} {unit}"
    if unit == "msgs/s":
        return f"{value:,.0f} msgs/s"
    return f"{value:,.1f} {unit}".rstrip()


def baseline_rate(measurements: list[Measurement]) -> float | None:
    for measurement in measurements:
        if measurement.scenario.name == BASELINE and measurement.load.ok:
            return measurement.load.rate
    return None


def _cost(m: Measurement, baseline: float | None) -> float | None:
    return baseline / m.rate if baseline and m.rate else None


def _ratio(m: Measurement, baseline: float | None) -> float | None:
    return m.rate / baseline if baseline and m.rate else None


def _rate(m: Measurement, unused_baseline: float | None) -> float | None:
    return m.rate


def _p50(m: Measurement, unused_baseline: float | None) -> float | None:
    return None if math.isnan(m.load.latency.p50_ms) else m.load.latency.p50_ms


def _p99(m: Measurement, unused_baseline: float | None) -> float | None:
    return None if math.isnan(m.load.latency.p99_ms) else m.load.latency.p99_ms


def _figure(name: str) -> Value:
    def value(m: Measurement, unused_baseline: float | None) -> float | None:
        found = m.figures.get(name)
        return float(found) if isinstance(found, int | float) else None

    return value


def _at_least(name: str, needed: float, what: str) -> Scale:
    def scale(m: Measurement) -> str | None:
        found = m.figures.get(name)
        if isinstance(found, int | float) and found >= needed:
            return None
        return f"run with {found} {what}; the target is stated for {needed:,.0f}"

    return scale


def _push_rate(m: Measurement) -> str | None:
    rate = m.figures.get("rate_per_s")
    return None if rate == 500 else f"sent at {rate}/s; the target is stated for 500 msg/s"


TARGETS: tuple[Target, ...] = (
    Target(
        "get_agent_cost",
        f"authenticated GetAgent costs at most {TARGET_MAX_COST}x a health Check",
        TARGET_SCENARIO,
        TARGET_MAX_COST,
        True,
        "x",
        _cost,
    ),
    Target(
        "push_p50",
        "push latency at 500 msg/s, send returned -> subscriber received: p50 <= 2 ms",
        "push_latency_500",
        2.0,
        True,
        "ms",
        _p50,
        _push_rate,
    ),
    Target(
        "push_p99",
        "push latency at 500 msg/s: p99 <= 10 ms",
        "push_latency_500",
        10.0,
        True,
        "ms",
        _p99,
        _push_rate,
    ),
    Target(
        "send_ratio",
        "durable direct sends over gRPC unary >= 0.60x the health Check rate",
        "grpc_send",
        0.60,
        False,
        "ratio",
        _ratio,
    ),
    Target(
        "batch_rate",
        "batch sends >= 20,000 messages/s",
        "grpc_batch_send",
        20_000.0,
        False,
        "msgs/s",
        _rate,
    ),
    Target(
        "broadcast_last",
        "broadcast to 1,000 live subscribers: the last receives <= 250 ms after the send returns (median of rounds)",
        "broadcast_1000",
        250.0,
        True,
        "ms",
        _figure("last_receipt_ms_median"),
        _at_least("subscribers", 1000, "subscribers"),
    ),
    Target(
        "idle_rss",
        "10,000 idle subscriptions held open: server RSS <= 600 MB",
        "idle_10000",
        600.0,
        True,
        "MB",
        _figure("server_rss_mb"),
        _at_least("streams_open", 10_000, "streams open"),
    ),
    Target(
        "hook_ingest_ratio",
        "tool-call ingest through the gateway (POST /hooks/claude, many concurrent hook clients) "
        ">= 0.50x the rate of GET /health through the gateway in the same run",
        "hook_ingest",
        0.50,
        False,
        "of http_health",
        _figure("ratio_to_http_health"),
    ),
    Target(
        "hook_ingest_p99",
        f"tool-call ingest at half the hook_ingest rate: p99 <= {P99_LIMIT_MS:g} ms per POST",
        "hook_ingest_half",
        P99_LIMIT_MS,
        True,
        "ms",
        _p99,
    ),
)


def evaluate(target: Target, measurements: list[Measurement]) -> TargetResult:
    baseline = baseline_rate(measurements)
    found = next((m for m in measurements if m.scenario.name == target.scenario), None)
    if found is None:
        return TargetResult(target, None, None, f"{target.scenario} did not run")
    value = target.value(found, baseline)
    if found.load.errors or found.load.stopped_early:
        return TargetResult(target, value, None, f"{target.scenario} had errors")
    if value is None:
        return TargetResult(target, None, None, "no figure (is the baseline missing?)")
    too_small = target.scale(found) if target.scale is not None else None
    if too_small:
        return TargetResult(target, value, None, too_small)
    met = value <= target.limit if target.at_most else value >= target.limit
    return TargetResult(target, value, met)


def evaluate_all(measurements: list[Measurement]) -> list[TargetResult]:
    """The targets of the scenarios that ran, in TARGETS order."""
    ran = {m.scenario.name for m in measurements}
    return [evaluate(target, measurements) for target in TARGETS if target.scenario in ran]
