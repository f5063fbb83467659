"""Turn measurements into the printed table, the verdict on the target, and the JSON results file.

Rates are shown as ratios to the health Check of the same run (and its inverse, the cost), since
only within-run comparisons are meaningful on these machines.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from bench.cpu import Pinning
from bench.runner import Measurement, Settings
from bench.scenarios import BASELINE, TARGET_MAX_COST, TARGET_SCENARIO

CLIENT_BOUND_PCT = 90.0


@dataclass(frozen=True)
class Verdict:
    """Whether the target "authenticated GetAgent costs at most 1.5x a health Check" is met."""

    measured: bool
    cost: float | None
    met: bool

    def describe(self) -> str:
        goal = f"authenticated GetAgent costs at most {TARGET_MAX_COST}x a health Check"
        if not self.measured or self.cost is None:
            return f"Target ({goal}): not measured (run {TARGET_SCENARIO} without errors)."
        outcome = "MET" if self.met else "NOT MET"
        return f"Target ({goal}): {TARGET_SCENARIO} costs {self.cost:.2f}x health_check -> {outcome}."


def baseline_rate(measurements: list[Measurement]) -> float | None:
    for measurement in measurements:
        if measurement.scenario.name == BASELINE and measurement.load.ok:
            return measurement.load.rate
    return None


def verdict(measurements: list[Measurement]) -> Verdict:
    baseline = baseline_rate(measurements)
    for measurement in measurements:
        if measurement.scenario.name == TARGET_SCENARIO and baseline and measurement.load.ok:
            if measurement.load.errors:
                return Verdict(False, None, False)
            cost = baseline / measurement.load.rate
            return Verdict(True, cost, cost <= TARGET_MAX_COST)
    return Verdict(False, None, False)


def _ratio(rate: float, baseline: float | None) -> float | None:
    return rate / baseline if baseline and rate else None


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None or math.isnan(value) else f"{value:{spec}}{suffix}"


def table(measurements: list[Measurement]) -> str:
    baseline = baseline_rate(measurements)
    header = (
        f"{'scenario':<20} {'unit':<6} {'rate/s':>9} {'vs health':>9} {'cost':>7} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'srv CPU':>8} {'cli CPU':>8}"
    )
    lines = [header, "-" * len(header)]
    for m in measurements:
        ratio = _ratio(m.load.rate, baseline)
        cost = 1 / ratio if ratio else None
        lines.append(
            f"{m.scenario.name:<20} {m.scenario.unit:<6} {m.load.rate:>9,.0f} {_fmt(ratio, '.2f'):>9} "
            f"{_fmt(cost, '.2f', 'x'):>7} {_fmt(m.load.latency.p50_ms, '.2f'):>8} "
            f"{_fmt(m.load.latency.p99_ms, '.2f'):>8} {m.load.errors:>7} "
            f"{_fmt(m.server_cpu_pct, '.0f', '%'):>8} {_fmt(m.client_cpu_pct, '.0f', '%'):>8}"
        )
    return "\n".join(lines)


def notes(measurements: list[Measurement]) -> list[str]:
    """Everything a reader should know before trusting a row: errors, drift, client-bound rows."""
    found: list[str] = []
    start = baseline_rate(measurements)
    end = next(
        (m.load.rate for m in measurements if m.scenario.name == "health_check_end" and m.load.ok), None
    )
    if start and end:
        found.append(
            f"health_check drift over the run: {end:,.0f}/s at the end vs {start:,.0f}/s ({end / start - 1:+.0%})."
        )
    for m in measurements:
        name = m.scenario.name
        if m.load.errors:
            kinds = ", ".join(f"{kind} x{count}" for kind, count in sorted(m.load.error_kinds.items()))
            found.append(f"{name}: {m.load.errors} errors ({kinds}); e.g. {' | '.join(m.load.sample_errors)}")
        if m.load.stopped_early:
            found.append(f"{name}: {m.load.stopped_early}.")
        if m.client_cpu_pct >= CLIENT_BOUND_PCT:
            found.append(
                f"{name}: the load generator used {m.client_cpu_pct:.0f}% of its core; "
                "the rate may be client-bound (a lower bound for the server)."
            )
        if m.server_log_lines:
            found.append(f"{name}: the server wrote {m.server_log_lines} log lines during the load.")
    return found


def _machine(pinning: Pinning) -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), ""
            )
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "grpcio": grpc.__version__,
        "aiohttp": aiohttp.__version__,
        "pinning": asdict(pinning) | {"description": pinning.describe()},
    }


def _clean(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def _scenario_json(m: Measurement, baseline: float | None) -> dict[str, Any]:
    ratio = _ratio(m.load.rate, baseline)
    latency = asdict(m.load.latency)
    return {
        "name": m.scenario.name,
        "transport": m.scenario.transport,
        "unit": m.scenario.unit,
        "what": m.scenario.what,
        "rate_per_s": _clean(m.load.rate, 1),
        "ratio_to_health_check": _clean(ratio),
        "cost_vs_health_check": _clean(1 / ratio if ratio else None),
        "ok": m.load.ok,
        "errors": m.load.errors,
        "error_kinds": m.load.error_kinds,
        "sample_errors": m.load.sample_errors,
        "stopped_early": m.load.stopped_early,
        "measured_s": _clean(m.load.elapsed_s),
        "latency_ms": {key: value if key == "count" else _clean(value) for key, value in latency.items()},
        "server_cpu_pct": _clean(m.server_cpu_pct, 1),
        "client_cpu_pct": _clean(m.client_cpu_pct, 1),
        "agents_registered_before": m.agents_before,
        "server_log_lines_during_load": m.server_log_lines,
    }


def document(
    name: str,
    measurements: list[Measurement],
    settings: Settings,
    pinning: Pinning,
    server: dict[str, Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    baseline = baseline_rate(measurements)
    outcome = verdict(measurements)
    return {
        "name": name,
        "time_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(pinning),
        "parameters": asdict(settings) | extra,
        "baseline": {"scenario": BASELINE, "rate_per_s": _clean(baseline, 1)},
        "target": {
            "statement": f"authenticated GetAgent costs at most {TARGET_MAX_COST}x a health Check",
            "scenario": TARGET_SCENARIO,
            "max_cost": TARGET_MAX_COST,
            "cost": _clean(outcome.cost),
            "met": outcome.met if outcome.measured else None,
        },
        "server": server,
        "scenarios": [_scenario_json(m, baseline) for m in measurements],
        "notes": notes(measurements),
    }


def write(results_dir: Path, name: str, content: dict[str, Any]) -> Path:
    """Write <name>-<UTC timestamp>.json and latest.json; return the timestamped path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(content, indent=2, allow_nan=False) + "\n"
    path = results_dir / f"{name}-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (results_dir / "latest.json").write_text(text, encoding="utf-8")
    return path
