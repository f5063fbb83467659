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
from bench.runner import Measurement, Settings, run_scenarios
from bench.scenarios import SCENARIOS, select
from bench.server import ServerError, running_server

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
DEFAULTS = {"duration": 5.0, "concurrency": 50, "warmup": 1.0}
QUICK = {"duration": 1.0, "concurrency": 10, "warmup": 0.2}


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
        "--only", metavar="NAME[,NAME]", help="run only these scenarios (health_check always runs)"
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--name", default="agents", help="results file prefix (default agents)")
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
    try:
        args.scenarios = select(args.only)
    except ValueError as error:
        parser.error(str(error))
    return args


def _stop_on_sigterm(signum: int, unused_frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit so the try/finally blocks stop the server."""
    raise SystemExit(128 + signum)


def _progress(measurement: Measurement) -> None:
    load = measurement.load
    print(
        f"  {measurement.scenario.name:<20} {load.rate:>9,.0f} {measurement.scenario.unit}/s  "
        f"p50 {load.latency.p50_ms:.2f} ms  p99 {load.latency.p99_ms:.2f} ms  errors {load.errors}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for scenario in SCENARIOS:
            print(f"{scenario.name:<20} {scenario.transport:<5} {scenario.what}")
        return 0
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    settings = Settings(args.duration, args.warmup, args.concurrency, args.channels, args.call_timeout)
    pin = not args.no_pin and cpu.can_pin()
    if pin:
        cpu.pin_self_to_client_core()
    print(
        f"envoy-grpc bench: {len(args.scenarios)} scenarios, {settings.duration_s:g} s each after "
        f"{settings.warmup_s:g} s warm-up, {settings.concurrency} callers over {settings.channels} channels",
        flush=True,
    )
    try:
        with running_server(REPO, args.server_log_level, pin) as server:
            print(
                f"server pid {server.process.pid}: gRPC {server.grpc_target}, HTTP {server.http_base}; "
                f"{server.pinning.describe()}",
                flush=True,
            )
            measurements = asyncio.run(run_scenarios(server, args.scenarios, settings, _progress))
            rss = server.rss_bytes()
    except ServerError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    server_info: dict[str, Any] = {
        "exit_code": server.exit_code,
        "rss_mb_at_end": round(rss / 2**20, 1) if rss else None,
        "log_level": args.server_log_level,
    }
    if server.exit_code != 0:
        server_info["log_tail"] = server.log.text()
    extra = {"quick": args.quick, "only": args.only, "scenarios": [s.name for s in args.scenarios]}
    content = report.document(args.name, measurements, settings, server.pinning, server_info, extra)
    path = report.write(args.results_dir, args.name, content)
    print()
    print(report.table(measurements))
    print()
    baseline = report.baseline_rate(measurements)
    print(f"Baseline: health_check {baseline or 0:,.0f} calls/s. cost = health_check rate / scenario rate.")
    print(report.verdict(measurements).describe())
    for note in content["notes"]:
        print(f"Note: {note}")
    if server.exit_code != 0:
        print(f"Note: the server exited with code {server.exit_code} on SIGTERM:\n{server.log.text()}")
    print(f"Results: {path} (and {args.results_dir / 'latest.json'})")
    failed = server.exit_code != 0 or any(m.load.errors or m.load.stopped_early for m in measurements)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
