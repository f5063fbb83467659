"""Turn measurements into the printed table, the scenario details, the verdicts on the targets, and the
JSON results file.

Rates are shown as ratios to the health Check of the same run (and its inverse, the cost), since
only within-run comparisons are meaningful on these machines. Rows measured on a fresh server (the
isolated scenarios) show its number in the `srv` column; they have no rate, only latencies and RSS.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from bench.cpu import Pinning
from bench.load import LatencyStats
from bench.runner import Measurement, ServerRun, Settings
from bench.scenarios import BASELINE
from bench.targets import TargetResult, baseline_rate, evaluate_all

CLIENT_BOUND_PCT = 90.0
PUSH_VS_POLL = ("push_latency_500", "poll_1s")

__all__ = [
    "baseline_rate",
    "details",
    "document",
    "notes",
    "push_vs_poll",
    "table",
    "targets",
    "threads",
    "write",
]


def targets(measurements: list[Measurement]) -> list[TargetResult]:
    return evaluate_all(measurements)


def _ratio(rate: float | None, baseline: float | None) -> float | None:
    return rate / baseline if baseline and rate else None


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None or math.isnan(value) else f"{value:{spec}}{suffix}"


def table(measurements: list[Measurement]) -> str:
    baseline = baseline_rate(measurements)
    header = (
        f"{'scenario':<20} {'unit':<7} {'rate/s':>9} {'vs health':>9} {'cost':>7} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'srv CPU':>8} {'cli CPU':>8} {'srv':>3} {'RSS MB':>7}"
    )
    lines = [header, "-" * len(header)]
    for m in measurements:
        rate = m.rate
        ratio = _ratio(rate, baseline) if m.scenario.compare else None
        cost = 1 / ratio if ratio else None
        lines.append(
            f"{m.scenario.name:<20} {m.scenario.unit:<7} {_fmt(rate, ',.0f'):>9} {_fmt(ratio, '.2f'):>9} "
            f"{_fmt(cost, '.2f', 'x'):>7} {_fmt(m.load.latency.p50_ms, '.2f'):>8} "
            f"{_fmt(m.load.latency.p99_ms, '.2f'):>8} {m.load.errors:>7} "
            f"{_fmt(m.server_cpu_pct, '.0f', '%'):>8} {_fmt(m.client_cpu_pct, '.0f', '%'):>8} "
            f"{m.server:>3} {_fmt(m.server_rss_mb, ',.0f'):>7}"
        )
    return "\n".join(lines)


def details(measurements: list[Measurement]) -> str:
    """What each custom row's numbers are, one block per scenario that has details."""
    blocks = []
    for m in measurements:
        if m.details:
            blocks.append("\n".join([f"{m.scenario.name}:", *(f"  {line}" for line in m.details)]))
    return "\n".join(blocks)


def _row(label: str, stats: LatencyStats) -> str:
    cells = [stats.p50_ms, stats.p90_ms, stats.p99_ms, stats.max_ms, stats.mean_ms]
    return f"  {label:<30}" + "".join(f" {_fmt(c, ',.1f'):>8}" for c in cells) + f" {stats.count:>7,}"


def threads(measurements: list[Measurement]) -> str:
    """Where the server's CPU went, by thread, for each row: the answer to "what is it busy with"."""
    rows = [m for m in measurements if m.server_threads]
    if not rows:
        return ""
    keys = ("event_loop", "grpc_threads", "other_python", "busiest_other_python")
    heads = ("event loop", "gRPC thr.", "store thr.", "busiest")
    lines = [
        "Server CPU by thread, % of one core over the measured window (event loop = the main thread: "
        "handlers, interceptor, gateway; gRPC threads = gRPC core's own and grpc.aio's poller; store "
        "threads = the SQLite writer and readers; busiest = the largest single store thread, the "
        "writer under write load)",
        f"  {'scenario':<20} {'total':>7}" + "".join(f" {h:>11}" for h in heads),
    ]
    for m in rows:
        cells = "".join(f" {_fmt(m.server_threads.get(k), '.0f', '%'):>11}" for k in keys)
        lines.append(f"  {m.scenario.name:<20} {_fmt(m.server_cpu_pct, '.0f', '%'):>7}{cells}")
    return "\n".join(lines)


def _g(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else "?"


def push_vs_poll(measurements: list[Measurement]) -> str:
    """Delivery latency of push (a Subscribe stream) and of the original's 1 s poll, side by side."""
    found = {m.scenario.name: m for m in measurements if m.scenario.name in PUSH_VS_POLL}
    if not found:
        return ""
    lines = [
        "Push vs poll: delivery latency, send returned -> the recipient has the message (ms)",
        f"  {'':<30}" + "".join(f" {h:>8}" for h in ("p50", "p90", "p99", "max", "mean")) + f" {'n':>7}",
    ]
    push = found.get("push_latency_500")
    if push is not None:
        rate = _g(push.figures.get("rate_per_s"))
        lines.append(_row(f"push, Subscribe ({rate}/s)", push.load.latency))
    poll = found.get("poll_1s")
    if poll is not None:
        interval, rate = _g(poll.figures.get("interval_s")), _g(poll.figures.get("rate_per_s"))
        lines.append(_row(f"poll every {interval} s ({rate}/s)", poll.load.latency))
    if push is not None and poll is not None and push.load.latency.count and poll.load.latency.count:
        factor = poll.load.latency.p50_ms / max(push.load.latency.p50_ms, 1e-6)
        lines.append(f"  the median message waits {factor:,.0f}x longer when polled than when pushed")
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
        if m.server != 1:
            found.append(f"{name}: measured on a fresh server of its own (server {m.server}).")
        settled = m.figures.get("settled_before_s") or 0.0
        if settled >= 1.0:
            found.append(
                f"{name}: started after {settled:.1f} s, when the server had finished the background work "
                "(graph projection, search indexing) left by the scenarios before it."
            )
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
    ratio = _ratio(m.rate, baseline) if m.scenario.compare else None
    latency = asdict(m.load.latency)
    return {
        "name": m.scenario.name,
        "transport": m.scenario.transport,
        "unit": m.scenario.unit,
        "what": m.scenario.what,
        "server": m.server,
        "rate_per_s": _clean(m.rate, 1),
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
        "server_rss_mb_after": m.server_rss_mb,
        "server_cpu_by_thread_pct": m.server_threads,
        "figures": m.figures,
    }


def _server_json(run: ServerRun, log_level: str) -> dict[str, Any]:
    found: dict[str, Any] = {
        "index": run.index,
        "pid": run.pid,
        "scenarios": run.scenarios,
        "exit_code": run.exit_code,
        "rss_mb_at_end": run.rss_mb_at_end,
        "log_level": log_level,
    }
    if run.log_tail is not None:
        found["log_tail"] = run.log_tail
    return found


def document(
    name: str,
    measurements: list[Measurement],
    settings: Settings,
    pinning: Pinning,
    servers: list[ServerRun],
    log_level: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    baseline = baseline_rate(measurements)
    verdicts = targets(measurements)
    get_agent = next((v for v in verdicts if v.target.key == "get_agent_cost"), None)
    server_json = [_server_json(run, log_level) for run in servers]
    content: dict[str, Any] = {
        "name": name,
        "time_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(pinning),
        "parameters": asdict(settings) | extra,
        "baseline": {"scenario": BASELINE, "rate_per_s": _clean(baseline, 1)},
        "targets": [v.as_json() for v in verdicts],
        # The first server, where the baseline and every shared scenario ran; `servers` lists them all.
        "server": server_json[0] if server_json else None,
        "servers": server_json,
        "scenarios": [_scenario_json(m, baseline) for m in measurements],
        "notes": notes(measurements),
    }
    if get_agent is not None:  # the agents suite's single target, in the shape earlier results used
        content["target"] = {
            "statement": get_agent.target.statement,
            "scenario": get_agent.target.scenario,
            "max_cost": get_agent.target.limit,
            "cost": _clean(get_agent.value),
            "met": get_agent.met,
        }
    return content


def write(results_dir: Path, name: str, content: dict[str, Any]) -> Path:
    """Write <name>-<UTC timestamp>.json and latest.json; return the timestamped path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(content, indent=2, allow_nan=False) + "\n"
    path = results_dir / f"{name}-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (results_dir / "latest.json").write_text(text, encoding="utf-8")
    return path
