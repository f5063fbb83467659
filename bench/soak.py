"""Soak: simulated agents under mixed load for a fixed time; memory and latency per window; zero errors.

    python -m bench.soak --minutes 20 --agents 200

Starts a server process on a fresh data directory and registers the agents. Every agent keeps a
gRPC Subscribe stream open and acks what arrives, and acts about every `--think` seconds: a direct
send, a Claude Code hook call (POST /hooks/claude), a knowledge search, a code search or a graph
query, a heartbeat. Each `--window` seconds it records the server's RSS and each operation's
latency; at the end it stops by itself and prints msgs/s, p50/p99 per operation per window, RSS
start/end/max and the error count. Exit status 0 when there were no errors and RSS stayed flat.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import grpc

from bench.fault_load import CHANNEL_OPTIONS, hook_payload
from bench.fault_server import CrashableServer
from envoy_grpc.gen.envoy.v1 import agents_pb2, agents_pb2_grpc, common_pb2, messages_pb2, messages_pb2_grpc

OPERATIONS = {"send": 4, "hook": 3, "search": 2, "code": 1, "graph": 1, "heartbeat": 1}
RSS_GROWTH_BUDGET_MB = 64.0  # after the first window (caches warm), the most RSS may grow


@dataclass
class Window:
    started: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    delivered: int = 0
    rss_kib: int = 0

    def p(self, op: str, quantile: float) -> float:
        values = sorted(self.latencies[op])
        return values[min(len(values) - 1, int(quantile * len(values)))] * 1000 if values else 0.0


@dataclass
class Soak:
    seconds: float
    window: float
    think: float
    windows: list[Window] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent: int = 0

    @property
    def current(self) -> Window:
        return self.windows[-1]

    def rss_mb(self) -> tuple[float, float, float]:
        """RSS after the first window (warm), at the end, and the most seen, in MB."""
        samples = [w.rss_kib / 1024 for w in self.windows if w.rss_kib]
        return samples[0], samples[-1], max(samples)

    def flat(self) -> bool:
        start, _end, peak = self.rss_mb()
        return not self.errors and peak - start < RSS_GROWTH_BUDGET_MB

    def summary(self) -> str:
        total_delivered = sum(w.delivered for w in self.windows)
        elapsed = len(self.windows) * self.window
        lines = [
            f"soak: {self.seconds:.0f} s, {len(self.windows)} windows of {self.window:.0f} s; "
            f"{self.sent} sends, {total_delivered} deliveries ({total_delivered / elapsed:.1f} msgs/s delivered)",
            "window  " + "  ".join(f"{op:>16}" for op in OPERATIONS) + "   rss MB",
        ]
        for n, w in enumerate(self.windows):
            cells = "  ".join(f"{w.p(op, 0.5):6.1f}/{w.p(op, 0.99):7.1f}ms" for op in OPERATIONS)
            lines.append(f"{n:>6}  {cells}   {w.rss_kib / 1024:6.1f}")
        start, end, peak = self.rss_mb()
        lines.append(f"(p50/p99 per window) RSS start {start:.1f} MB, end {end:.1f} MB, max {peak:.1f} MB")
        lines.append(f"errors: {len(self.errors)}" + (f", e.g. {self.errors[:3]}" if self.errors else ""))
        return "\n".join(lines)


async def run(
    data_dir: Path, seconds: float, agents: int, window: float, think: float, seed: int = 1
) -> Soak:
    server = CrashableServer(data_dir)
    await asyncio.to_thread(server.start)
    soak = Soak(seconds, window, think)
    channels = [grpc.aio.insecure_channel(server.grpc_target, options=CHANNEL_OPTIONS) for _ in range(4)]
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
            stub = agents_pb2_grpc.AgentServiceStub(channels[0])
            registered = [
                await stub.RegisterAgent(agents_pb2.RegisterAgentRequest(name=f"soak-{n}", kind="soak"))
                for n in range(agents)
            ]
            tokens = {a.agent_id: a.token for a in registered}
            soak.windows.append(Window(time.monotonic()))
            deadline = time.monotonic() + seconds
            readers = [
                asyncio.create_task(_read(soak, channels[n % len(channels)], a.agent_id, a.token))
                for n, a in enumerate(registered)
            ]
            actors = [
                asyncio.create_task(
                    _act(
                        soak,
                        channels[n % len(channels)],
                        http,
                        server,
                        tokens,
                        a.agent_id,
                        deadline,
                        seed + n,
                    )
                )
                for n, a in enumerate(registered)
            ]
            while time.monotonic() < deadline:
                await asyncio.sleep(min(window, max(0.0, deadline - time.monotonic())))
                soak.current.rss_kib = server.rss_kib()
                if time.monotonic() < deadline - 0.5:
                    soak.windows.append(Window(time.monotonic()))
            await asyncio.gather(*actors)
            settle = time.monotonic() + 10  # let the last sends arrive before the streams close
            while sum(w.delivered for w in soak.windows) < soak.sent and time.monotonic() < settle:
                await asyncio.sleep(0.05)
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
    finally:
        for channel in channels:
            await channel.close()
        if server.stop() != 0:
            soak.errors.append("the server did not stop cleanly")
    return soak


async def _read(soak: Soak, channel: grpc.aio.Channel, agent_id: str, token: str) -> None:
    stub = messages_pb2_grpc.MessageServiceStub(channel)
    metadata = (("authorization", f"Bearer {token}"),)
    try:
        async for message in stub.Subscribe(
            messages_pb2.SubscribeRequest(agent_id=agent_id), metadata=metadata
        ):
            soak.current.delivered += 1
            await stub.AckMessage(
                messages_pb2.AckMessageRequest(message_id=message.message_id), metadata=metadata
            )
    except grpc.aio.AioRpcError as error:
        soak.errors.append(f"stream of {agent_id}: {error.code()} {error.details()}")


async def _act(
    soak: Soak,
    channel: grpc.aio.Channel,
    http: aiohttp.ClientSession,
    server: CrashableServer,
    tokens: dict[str, str],
    agent_id: str,
    deadline: float,
    seed: int,
) -> None:
    rng = random.Random(seed)
    messages = messages_pb2_grpc.MessageServiceStub(channel)
    agents = agents_pb2_grpc.AgentServiceStub(channel)
    metadata = (("authorization", f"Bearer {tokens[agent_id]}"),)
    headers = {"authorization": f"Bearer {tokens[agent_id]}"}
    hook_headers = {"authorization": f"Bearer {server.token('hook.token')}"}
    peers = [peer for peer in tokens if peer != agent_id]
    count = 0
    while True:
        await asyncio.sleep(rng.expovariate(1 / soak.think))
        if time.monotonic() >= deadline:
            return
        op = rng.choices(list(OPERATIONS), weights=list(OPERATIONS.values()))[0]
        began = time.monotonic()
        try:
            if op == "send":
                request = messages_pb2.SendMessageRequest(
                    to=rng.choice(peers), parts=[common_pb2.Part(text=f"soak {agent_id} {count}")]
                )
                await messages.SendMessage(request, metadata=metadata, timeout=10)
                soak.sent += 1
            elif op == "heartbeat":
                await agents.Heartbeat(agents_pb2.HeartbeatRequest(), metadata=metadata, timeout=10)
            else:
                await _http_op(op, http, server.base_url, headers, hook_headers, agent_id, count, rng)
        except (grpc.aio.AioRpcError, aiohttp.ClientError, TimeoutError, AssertionError) as error:
            soak.errors.append(f"{op}: {error!r}"[:300])
        soak.current.latencies[op].append(time.monotonic() - began)
        count += 1


async def _http_op(
    op: str,
    http: aiohttp.ClientSession,
    base: str,
    headers: dict[str, str],
    hook_headers: dict[str, str],
    agent_id: str,
    count: int,
    rng: random.Random,
) -> None:
    word = rng.choice(["soak", "build", "router", "parser", "tests"])
    if op == "hook":
        payload = hook_payload(
            "PostToolUse",
            f"soak-{agent_id}-{count // 50}",
            tool_name="Read",
            tool_input={"file_path": f"/work/src/{word}.py"},
            tool_response={"type": "text"},
            tool_use_id=f"toolu_{agent_id}_{count}",
        )
        request = http.post(base + "/hooks/claude", json=payload, headers=hook_headers)
    elif op == "search":
        request = http.get(f"{base}/atheneum/search?q={word}&k=5", headers=headers)
    elif op == "code":
        request = http.get(f"{base}/atheneum/cross/search?q={word}&k=5", headers=headers)
    else:
        request = http.get(f"{base}/atheneum/graph/stats", headers=headers)
    async with request as response:
        body = await response.read()
        assert response.status < 300, f"{op} -> {response.status}: {body[:200]!r}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="how long to run (default 20)")
    parser.add_argument("--agents", type=int, default=200, help="simulated agents (default 200)")
    parser.add_argument("--window", type=float, default=60.0, help="seconds per sample window (default 60)")
    parser.add_argument(
        "--think", type=float, default=2.0, help="mean seconds between an agent's calls (default 2)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="envoy-soak-") as data_dir:
        soak = asyncio.run(run(Path(data_dir), args.minutes * 60, args.agents, args.window, args.think))
    print(soak.summary())
    return 0 if soak.flat() else 1


if __name__ == "__main__":
    sys.exit(main())
