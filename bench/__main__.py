"""`python -m bench` (`make bench`): start a server, run the scenarios, print the table, save JSON.

Exit status 0 when every scenario ran without errors and the server shut down cleanly, 1 otherwise,
2 for bad arguments. Missing the performance target is reported but is not a failure of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from bench import cpu, report
from bench.runner import Measurement, Settings, run_plan
from bench.scenarios import SCENARIOS, SUITES, Scenario, select
from bench.server import ServerProcess

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
DEFAULTS: dict[str, Any] = {
    "duration": 5.0,
    "concurrency": 50,
    "warmup": 1.0,
    "poll_duration": 10.0,
    "broadcast_rounds": 5,
}
QUICK: dict[str, Any] = {
    "duration": 1.0,
    "concurrency": 10,
    "warmup": 0.2,
    "poll_duration": 3.0,
    "broadcast_rounds": 3,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark envoy-grpc against its grpc.health.v1 Check baseline, on a server it starts itself.",
    )
    parser.add_argument("--duration", type=float, help="seconds measured per scenario (default 5; --quick 1)")
    parser.add_argument("--concurrency", type=int, help="concurrent callers (default 50; --quick 10)")
    parser.add_argument(
        "--warmup", type=float, help="unmeasured seconds before each scenario (default 1; --quick 0.2)"
    )
    parser.add_argument(
        "--channels", type=int, default=4, help="gRPC connections the callers share (default 4)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s per scenario, concurrency 10")
    parser.add_argument(
        "--suite",
        choices=SUITES,
        default="all",
        help="agents, messages, hooks or all (default all); isolated scenarios run last, each on a fresh "
        "server",
    )
    parser.add_argument(
        "--only",
        metavar="NAME[,NAME]",
        help="run only these scenarios of the suite (health_check always runs)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--name", help="results file prefix (default: the suite's name)")
    messages = parser.add_argument_group("messaging scenarios")
    messages.add_argument(
        "--push-rate", type=float, default=500.0, help="push_latency_500 sends per second (default 500)"
    )
    messages.add_argument(
        "--no-ack", action="store_true", help="push_latency_500: the subscriber does not ack what it gets"
    )
    messages.add_argument(
        "--batch-size", type=int, default=500, help="grpc_batch_send messages per call (1-1000, default 500)"
    )
    messages.add_argument(
        "--batch-callers", type=int, default=4, help="grpc_batch_send concurrent callers (default 4)"
    )
    messages.add_argument(
        "--poll-duration", type=float, help="poll_1s seconds of sending (default 10; --quick 3)"
    )
    messages.add_argument(
        "--broadcast-subscribers", type=int, default=1000, help="broadcast_1000 subscribers (default 1000)"
    )
    messages.add_argument(
        "--broadcast-rounds", type=int, help="broadcast_1000 broadcasts (default 5; --quick 3)"
    )
    messages.add_argument(
        "--idle-streams", type=int, default=10_000, help="idle_10000 streams (default 10000)"
    )
    messages.add_argument("--idle-channels", type=int, default=16, help="idle_10000 connections (default 16)")
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS, help="where the JSON goes (default bench/results)"
    )
    parser.add_argument("--call-timeout", type=float, default=10.0, help="deadline of each call in seconds")
    parser.add_argument(
        "--server-log-level",
        default="INFO",
        type=str.upper,
        choices=["INFO", "DEBUG"],
        help="server --log-level (default INFO): the server logs its ports at INFO and nothing per call, "
        "so WARNING would hide the ports the bench reads",
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin server and load generator to cores 0/1"
    )
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else DEFAULTS
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if (
        args.duration <= 0
        or args.concurrency < 1
        or args.channels < 1
        or args.warmup < 0
        or args.call_timeout <= 0
    ):
        parser.error(
            "--duration, --concurrency, --channels and --call-timeout must be positive, --warmup >= 0"
        )
    if (
        args.push_rate <= 0
        or not 1 <= args.batch_size <= 1000
        or args.batch_callers < 1
        or args.poll_duration <= 0
        or args.broadcast_subscribers < 1
        or args.broadcast_rounds < 1
        or args.idle_streams < 1
        or args.idle_channels < 1
    ):
        parser.error("the messaging sizes must be positive, and --batch-size at most 1000")
    if args.name is None:
        args.name = args.suite
    try:
        args.scenarios = select(args.only, args.suite)
    except ValueError as error:
        parser.error(str(error))
    return args


def settings_of(args: argparse.Namespace) -> Settings:
    return Settings(
        duration_s=args.duration,
        warmup_s=args.warmup,
        concurrency=args.concurrency,
        channels=args.channels,
        call_timeout_s=args.call_timeout,
        push_rate=args.push_rate,
        push_ack=not args.no_ack,
        batch_size=args.batch_size,
        batch_callers=args.batch_callers,
        poll_duration_s=args.poll_duration,
        broadcast_subscribers=args.broadcast_subscribers,
        broadcast_rounds=args.broadcast_rounds,
        idle_streams=args.idle_streams,
        idle_channels=args.idle_channels,
    )


def _stop_on_sigterm(signum: int, unused_frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit so the try/finally blocks stop the server."""
    raise SystemExit(128 + signum)


def _progress(measurement: Measurement) -> None:
    load = measurement.load
    rate = measurement.rate
    shown = f"{rate:,.0f} {measurement.scenario.unit}/s" if rate is not None else "-"
    latency = (
        f"p50 {load.latency.p50_ms:.2f} ms  p99 {load.latency.p99_ms:.2f} ms"
        if load.latency.count
        else f"{'':>27}"
    )
    print(f"  {measurement.scenario.name:<20} {shown:>16}  {latency}  errors {load.errors}", flush=True)


def _started(index: int, server: ServerProcess, group: list[Scenario]) -> None:
    role = "shared" if index == 1 and not group[0].isolated else "fresh, for " + group[0].name
    print(
        f"server {index} ({role}) pid {server.process.pid}: gRPC {server.grpc_target}, "
        f"HTTP {server.http_base}; {server.pinning.describe()}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for scenario in SCENARIOS:
            where = "fresh server" if scenario.isolated else ""
            print(
                f"{scenario.name:<20} {scenario.transport:<5} {'+'.join(scenario.suites):<21} "
                f"{where:<13} {scenario.what}"
            )
        return 0
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    settings = settings_of(args)
    pin = not args.no_pin and cpu.can_pin()
    if pin:
        cpu.pin_self_to_client_core()
    print(
        f"envoy-grpc bench, suite {args.suite}: {len(args.scenarios)} scenarios; closed-loop ones "
        f"{settings.duration_s:g} s each after {settings.warmup_s:g} s warm-up, {settings.concurrency} callers "
        f"over {settings.channels} channels",
        flush=True,
    )
    run = asyncio.run(
        run_plan(REPO, args.server_log_level, pin, args.scenarios, settings, _progress, _started)
    )
    measurements = run.measurements
    if run.error is not None:
        print(f"bench: {run.error}", file=sys.stderr)
    if not run.servers:
        return 1
    extra = {
        "quick": args.quick,
        "suite": args.suite,
        "only": args.only,
        "scenarios": [s.name for s in args.scenarios],
    }
    content = report.document(
        args.name,
        measurements,
        settings,
        run.servers[0].pinning,
        run.servers,
        args.server_log_level,
        extra,
    )
    path = report.write(args.results_dir, args.name, content)
    print()
    print(report.table(measurements))
    baseline = report.baseline_rate(measurements)
    print(f"Baseline: health_check {baseline or 0:,.0f} calls/s. cost = health_check rate / scenario rate.")
    for block in (
        report.details(measurements),
        report.threads(measurements),
        report.push_vs_poll(measurements),
    ):
        if block:
            print()
            print(block)
    print()
    for verdict in report.targets(measurements):
        print(verdict.describe())
    for note in content["notes"]:
        print(f"Note: {note}")
    for server in run.servers:
        if server.exit_code != 0:
            print(
                f"Note: server {server.index} exited with code {server.exit_code} on SIGTERM:\n{server.log_tail}"
            )
    print(f"Results: {path} (and {args.results_dir / 'latest.json'})")
    failed = (
        run.error is not None
        or any(server.exit_code != 0 for server in run.servers)
        or any(m.load.errors or m.load.stopped_early for m in measurements)
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
