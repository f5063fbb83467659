"""`python -m bench.interleaved`: the send rate as a ratio to health Check, measured in alternating slices.

`make bench` measures health Check for 5 s and then each scenario for 5 s. On these shared machines
the speed of a core drifts by ±10% over seconds, so a ratio of two windows taken a few seconds
apart moves by as much (0.55 to 0.68 for the same code, in consecutive runs). Here both are measured
on one server in alternating short slices (health, sends, health, sends, ...), each after a short
warm-up, and the ratio is taken over the sums: drift affects both sides alike. It measures the
same calls as `make bench`'s `health_check` and `grpc_send` (or `grpc_batch_send`) scenarios, with the
same concurrency and pinning.

    python -m bench.interleaved                        # 10 rounds of 1 s + 1 s, SendMessage
    python -m bench.interleaved --scenario grpc_batch_send --rounds 6

With `grpc_batch_send` the background graph projection and search indexing of the batches spill into
the health slices, which lowers the baseline; its messages per second are the figure to read.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bench import cpu, messaging, scenarios
from bench.clients import connected
from bench.load import run_closed_loop
from bench.server import running_server
from bench.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = {"grpc_send": messaging.grpc_send, "grpc_batch_send": messaging.grpc_batch_send}


async def measure(scenario: str, rounds: int, slice_s: float, warmup_s: float, pin: bool) -> None:
    settings = Settings(
        duration_s=slice_s, warmup_s=warmup_s, concurrency=50, channels=4, call_timeout_s=10.0
    )
    with running_server(REPO, "INFO", pin) as server:
        async with connected(server.grpc_target, server.http_base, 4, 50, 10.0) as clients:
            health = await scenarios.health_check(clients, settings)
            measured = await SCENARIOS[scenario](clients, settings)
            items = settings.batch_size if scenario == "grpc_batch_send" else 1
            totals = {"health": [0, 0.0], scenario: [0, 0.0]}
            for operations in (health, measured):
                await run_closed_loop(operations, 1.0, 0.2, 10.0)  # warm both paths up
            for _ in range(rounds):
                for name, operations in (("health", health), (scenario, measured)):
                    result = await run_closed_loop(operations, slice_s, warmup_s, 10.0)
                    if result.errors:
                        raise SystemExit(f"{name}: {result.errors} errors, e.g. {result.sample_errors}")
                    totals[name][0] += result.ok * (items if name == scenario else 1)
                    totals[name][1] += result.elapsed_s
    health_rate = totals["health"][0] / totals["health"][1]
    rate = totals[scenario][0] / totals[scenario][1]
    unit = "msgs" if items > 1 else "calls"
    print(
        f"health_check {health_rate:,.0f} calls/s, {scenario} {rate:,.0f} {unit}/s: "
        f"{rate / health_rate:.3f} of health ({rounds} rounds of {slice_s:g} s each, interleaved)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.interleaved", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="grpc_send")
    parser.add_argument("--rounds", type=int, default=10, help="health/scenario slice pairs (default 10)")
    parser.add_argument("--slice", type=float, default=1.0, help="seconds measured per slice (default 1)")
    parser.add_argument(
        "--warmup", type=float, default=0.1, help="unmeasured seconds per slice (default 0.1)"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and load generator")
    args = parser.parse_args()
    pin = not args.no_pin and cpu.can_pin()
    if pin:
        cpu.pin_self_to_client_core()
    asyncio.run(measure(args.scenario, args.rounds, args.slice, args.warmup, pin))


if __name__ == "__main__":
    main()
