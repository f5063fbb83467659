"""Crash-safety fault harness: kill -9 the server at random moments under mixed load, then check invariants.

    python -m bench.faults --kills 30 --seed 7

Starts `python -m envoy_grpc serve` on a fresh data directory, runs senders (gRPC, idempotency
keys), receivers (gRPC streams that ack), Claude Code hook ingest (POST /hooks/claude) and graph
writes (sessions, discoveries); SIGKILLs the server after a random stretch of load, checks the
file's integrity, restarts it on the same data directory and ports, and goes on. At the end it
drains every receiver, waits for the projectors and checks the invariants in `bench.fault_checks`.
Exit status 0 when every invariant held.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import grpc

from bench import fault_checks
from bench.fault_checks import Findings
from bench.fault_load import CHANNEL_OPTIONS, Agent, Endpoints, Ledger, Load, register
from bench.fault_server import CrashableServer
from envoy_grpc.gen.envoy.v1 import messages_pb2, messages_pb2_grpc

PROJECTION_TIMEOUT = 30.0


@dataclass
class FaultReport:
    kills: int
    seed: int
    seconds: float
    ledger: Ledger
    findings: Findings
    per_kill_integrity_checks: int
    final_replayed: int

    @property
    def invariants(self) -> int:
        return len(self.findings.problems)

    def text(self) -> str:
        ledger = self.ledger
        return (
            f"fault harness: {self.kills} kills x {self.invariants} invariants "
            f"(+ integrity_check after each kill: {self.per_kill_integrity_checks}), seed {self.seed}, "
            f"{self.seconds:.1f} s\n"
            f"  confirmed: {len(ledger.sends)} sends, {len(ledger.acks)} acks, {len(ledger.tool_calls)} hook "
            f"tool calls, {len(ledger.sessions)} sessions, {len(ledger.discoveries)} discoveries; "
            f"{ledger.failed_attempts} failed attempts (server down or in doubt) retried\n"
            f"  deliveries seen: {len(ledger.deliveries)} live + {self.final_replayed} replayed at the end; "
            f"raw duplicates (at-least-once) {self.findings.raw_duplicates}\n" + self.findings.summary()
        )

    def as_json(self) -> dict[str, object]:
        return {
            "kills": self.kills,
            "seed": self.seed,
            "seconds": round(self.seconds, 1),
            "invariants": self.invariants,
            "sends": len(self.ledger.sends),
            "acks": len(self.ledger.acks),
            "tool_calls": len(self.ledger.tool_calls),
            "raw_duplicates": self.findings.raw_duplicates,
            "problems": self.findings.problems,
        }


async def run(
    data_dir: Path, kills: int, seed: int, min_gap: float = 0.3, max_gap: float = 1.5, senders: int = 3
) -> FaultReport:
    """Run the whole scenario; never raises for a broken invariant (see the report's findings)."""
    rng = random.Random(seed)
    began = time.monotonic()
    server = CrashableServer(data_dir)
    await asyncio.to_thread(server.start)
    findings = Findings()
    try:
        async with (
            aiohttp.ClientSession() as http,
            grpc.aio.insecure_channel(server.grpc_target, options=CHANNEL_OPTIONS) as channel,
        ):
            scratch = Ledger()
            agents = [
                await register(http, server.base_url, f"fault-{n}", scratch) for n in range(senders * 2)
            ]
            load = Load(
                Endpoints(server.grpc_target, server.base_url, server.token("hook.token")),
                senders=agents[:senders],
                receivers=agents[senders:],
                seed=seed,
            )
            load.start(channel, http)
            for _ in range(kills):
                await _progress(load, server)
                await asyncio.sleep(rng.uniform(min_gap, max_gap))
                load.check_writers()
                await asyncio.to_thread(server.kill)
                findings.add("integrity_check after every kill", fault_checks.integrity(server.db_path))
                await asyncio.to_thread(server.start)
            await _progress(load, server)
            await load.stop()
            replay = await _drain(channel, load.receivers)
            lagging = await asyncio.to_thread(
                fault_checks.wait_for_projections, server.db_path, PROJECTION_TIMEOUT, server.alive
            )
            findings.add("projections caught up, cursors consistent", lagging)
            findings.add("graceful stop after the run", [] if server.stop() == 0 else ["exit code not 0"])
            findings.add("integrity_check at the end", fault_checks.integrity(server.db_path))
            fault_checks.check_store(server.db_path, load.ledger, replay, findings)
    finally:
        server.kill()
    return FaultReport(kills, seed, time.monotonic() - began, load.ledger, findings, kills, len(replay))


async def _progress(load: Load, server: CrashableServer, timeout: float = 30.0) -> None:
    """Wait until the restarted server has confirmed new writes, so each kill lands under load."""
    before = load.ledger.confirmed()
    deadline = time.monotonic() + timeout
    while load.ledger.confirmed() < before + 20:
        load.check_writers()
        if time.monotonic() > deadline or not server.alive():
            raise RuntimeError(f"no progress after a restart; server log:\n{server.log.text()}")
        await asyncio.sleep(0.02)


async def _drain(channel: grpc.aio.Channel, receivers: list[Agent]) -> list[tuple[str, str]]:
    """Each receiver subscribes from sequence 0 and acks everything still unacknowledged."""
    stub = messages_pb2_grpc.MessageServiceStub(channel)
    replayed: list[tuple[str, str]] = []
    for agent in receivers:
        metadata = (("authorization", f"Bearer {agent.token}"),)
        call = stub.Subscribe(messages_pb2.SubscribeRequest(agent_id=agent.agent_id), metadata=metadata)
        try:
            while True:
                message = await asyncio.wait_for(call.read(), 1.0)
                if message is grpc.aio.EOF:
                    break
                replayed.append((agent.agent_id, message.message_id))
                await stub.AckMessage(
                    messages_pb2.AckMessageRequest(message_id=message.message_id),
                    metadata=metadata,
                    timeout=5,
                )
        except TimeoutError:
            pass  # quiet for a second: everything unacknowledged has been replayed
        finally:
            call.cancel()
    return replayed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=30, help="SIGKILLs under load (default 30)")
    parser.add_argument("--seed", type=int, default=7, help="seeds the kill moments and the ack choices")
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="envoy-faults-") as data_dir:
        report = asyncio.run(run(Path(data_dir), args.kills, args.seed))
    print(report.text())
    if args.json:
        args.json.write_text(json.dumps(report.as_json(), indent=2))
    return 0 if report.findings.ok else 1


if __name__ == "__main__":
    sys.exit(main())
