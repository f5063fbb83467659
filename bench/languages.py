"""`python -m bench.languages`: every client's example runner receiving on one stream, side by side.

For each language (python, go, ts, rust) the orchestrator starts a fresh receiver agent's runner in
`bench` mode (the runner CLI shared by clients/<lang>/examples), waits for its "ready" line, sends
messages whose text is "t=<unix ns when sent>" with BatchSendMessages, and reads the runner's
{"event":"bench",...} line: messages/s between its first and last receipt, and the latency from send
to receipt. Two runs per language:
  burst  - --count messages in batches of 100, as fast as the server takes them: receive throughput
           (the runner acks every message, as a real agent would);
  paced  - --latency-count messages, one per send, at --rate per second: push latency at light load.
A language whose toolchain or built runner is missing is reported as skipped; `--build` builds the
TypeScript and Rust runners first (Go is always built, it takes seconds). The server is pinned to
core 0, the orchestrator and the runners to core 1. Results go to bench/results/languages-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import grpc

from bench import cpu
from bench.server import ServerProcess, running_server
from envoy_grpc.gen.envoy.v1 import agents_pb2, agents_pb2_grpc, common_pb2, messages_pb2, messages_pb2_grpc

REPO = Path(__file__).resolve().parent.parent
CLIENTS = REPO / "clients"
RESULTS = REPO / "bench" / "results"
LANGUAGES = ("python", "go", "ts", "rust")
BATCH = 100
READY_TIMEOUT = 60.0
READY_GRACE = 10.0


@dataclass
class Runner:
    """How to start one language's runner, or why it cannot be."""

    lang: str
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    skipped: str = ""


@dataclass
class Result:
    lang: str
    skipped: str = ""
    error: str = ""
    burst: dict[str, Any] = field(default_factory=dict)
    paced: dict[str, Any] = field(default_factory=dict)


def _build(command: list[str], cwd: Path) -> str:
    """Run a build step; returns "" on success, else the end of its output."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=1800)
    return "" if result.returncode == 0 else (result.stdout + result.stderr)[-1500:]


def resolve_python() -> Runner:
    env = {"PYTHONPATH": str(CLIENTS / "python")}
    return Runner("python", [sys.executable, "-m", "envoy_client.examples.runner"], env)


def resolve_go() -> Runner:
    if not shutil.which("go"):
        return Runner("go", skipped="the go toolchain is not on PATH")
    if failure := _build(["go", "build", "-o", "bin/runner", "./examples/runner"], CLIENTS / "go"):
        return Runner("go", skipped=f"go build failed: {failure}")
    return Runner("go", [str(CLIENTS / "go" / "bin" / "runner")])


def resolve_ts(build: bool) -> Runner:
    folder = CLIENTS / "ts"
    if not (folder / "package.json").exists():
        return Runner("ts", skipped="clients/ts does not exist yet")
    if not shutil.which("node"):
        return Runner("ts", skipped="node is not on PATH")
    script = folder / "dist" / "examples" / "runner.js"
    tsx = folder / "node_modules" / ".bin" / "tsx"
    if build and not script.exists():
        for step in (["npm", "ci", "--no-audit", "--no-fund"], ["npm", "run", "build"]):
            if failure := _build(step, folder):
                return Runner("ts", skipped=f"{' '.join(step)} failed: {failure}")
    if script.exists():
        return Runner("ts", ["node", str(script)])
    if tsx.exists() and (folder / "examples" / "runner.ts").exists():
        return Runner("ts", [str(tsx), str(folder / "examples" / "runner.ts")])
    return Runner("ts", skipped="clients/ts/dist/examples/runner.js is not built (run with --build)")


def resolve_rust(build: bool) -> Runner:
    folder = CLIENTS / "rust"
    if not (folder / "Cargo.toml").exists():
        return Runner("rust", skipped="clients/rust does not exist yet")
    if not shutil.which("cargo"):
        return Runner("rust", skipped="cargo is not on PATH")
    targets = [Path(os.environ["CARGO_TARGET_DIR"])] if os.environ.get("CARGO_TARGET_DIR") else []
    targets += [folder / "target", REPO / "target"]
    built = [
        t / "release" / "examples" / "runner"
        for t in targets
        if (t / "release" / "examples" / "runner").exists()
    ]
    if build and not built:
        if failure := _build(["cargo", "build", "--release", "--example", "runner"], folder):
            return Runner("rust", skipped=f"cargo build failed: {failure}")
        return resolve_rust(build=False)
    if not built:
        return Runner("rust", skipped="no release build of the runner example (run with --build)")
    return Runner("rust", [str(built[0])])


def resolve(lang: str, build: bool) -> Runner:
    if lang == "python":
        return resolve_python()
    if lang == "go":
        return resolve_go()
    return resolve_ts(build) if lang == "ts" else resolve_rust(build)


def stamped(sender: str, recipient: str) -> messages_pb2.SendMessageRequest:
    request = messages_pb2.SendMessageRequest(
        type=messages_pb2.MESSAGE_TYPE_DIRECT,
        to=recipient,
        parts=[common_pb2.Part(text=f"t={time.time_ns()}")],
    )
    setattr(request, "from", sender)  # `from` is a Python keyword
    return request


class Orchestrator:
    def __init__(self, server: ServerProcess, channel: grpc.aio.Channel) -> None:
        self.server = server
        self.agents = cast("agents_pb2_grpc.AgentServiceAsyncStub", agents_pb2_grpc.AgentServiceStub(channel))
        self.messages = cast(
            "messages_pb2_grpc.MessageServiceAsyncStub", messages_pb2_grpc.MessageServiceStub(channel)
        )
        self._serial = 0

    async def register(self, prefix: str) -> agents_pb2.RegisterAgentResponse:
        self._serial += 1
        request = agents_pb2.RegisterAgentRequest(name=f"{prefix}-{self._serial}", kind="bench")
        response: agents_pb2.RegisterAgentResponse = await self.agents.RegisterAgent(request)
        return response

    async def run(self, runner: Runner, count: int, rate: float | None) -> dict[str, Any]:
        """One bench-mode run: start the runner, send `count` messages (paced at `rate` if given)."""
        sender = await self.register(f"{runner.lang}-sender")
        receiver = await self.register(f"{runner.lang}-receiver")
        metadata = (("authorization", f"Bearer {sender.token}"),)
        process = await asyncio.create_subprocess_exec(
            *runner.command,
            "bench",
            "--target", self.server.grpc_target,
            "--agent-id", receiver.agent_id,
            "--token", receiver.token,
            "--count", str(count),
            "--timeout", str(READY_TIMEOUT + count / 50),
            cwd=REPO,
            env={**os.environ, **runner.env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        server_cpu = self.server.cpu_seconds()
        try:
            # The contract asks bench mode only for the final line; our runners also print "ready" once
            # subscribed. Without it, wait a moment: messages sent earlier are replayed, not lost.
            ready_line = None
            with contextlib.suppress(TimeoutError):
                ready_line = await self._line(process, timeout=READY_GRACE)
            if ready_line is not None and ready_line.get("event") != "ready":
                raise RuntimeError(f"expected a ready line, got {ready_line}")
            if rate is None:
                for start in range(0, count, BATCH):
                    batch = [
                        stamped(sender.agent_id, receiver.agent_id) for _ in range(min(BATCH, count - start))
                    ]
                    await self.messages.BatchSendMessages(
                        messages_pb2.BatchSendMessagesRequest(messages=batch), metadata=metadata
                    )
            else:
                began = time.monotonic()
                for index in range(count):
                    await asyncio.sleep(max(0.0, began + index / rate - time.monotonic()))
                    request = messages_pb2.BatchSendMessagesRequest(
                        messages=[stamped(sender.agent_id, receiver.agent_id)]
                    )
                    await self.messages.BatchSendMessages(request, metadata=metadata)
            result = await self._line(process, timeout=READY_TIMEOUT + count / 50)
            result["ready_line"] = ready_line is not None
            if result.get("event") != "bench":
                raise RuntimeError(f"expected the bench line, got {result}")
            # CPU seconds of the runner (start-up included) and of the server, for this whole run.
            runner_cpu, server_after = cpu.process_cpu_seconds(process.pid), self.server.cpu_seconds()
            result["runner_cpu_s"] = runner_cpu
            result["server_cpu_s"] = (
                None if server_cpu is None or server_after is None else server_after - server_cpu
            )
            await asyncio.wait_for(process.wait(), 30)
            return result
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

    async def _line(
        self, process: asyncio.subprocess.Process, timeout: float = READY_TIMEOUT
    ) -> dict[str, Any]:
        assert process.stdout is not None and process.stderr is not None
        raw = await asyncio.wait_for(process.stdout.readline(), timeout)
        if not raw:
            await process.wait()
            errors = (await process.stderr.read()).decode(errors="replace")[-1500:]
            raise RuntimeError(f"the runner exited with {process.returncode}: {errors}")
        line: dict[str, Any] = json.loads(raw)
        return line


async def measure(args: argparse.Namespace, server: ServerProcess, runners: list[Runner]) -> list[Result]:
    results: list[Result] = []
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        orchestrator = Orchestrator(server, channel)
        for runner in runners:
            result = Result(runner.lang, skipped=runner.skipped)
            if not runner.skipped:
                print(
                    f"  {runner.lang}: burst of {args.count}, then {args.latency_count} at {args.rate:g}/s",
                    flush=True,
                )
                try:
                    result.burst = await orchestrator.run(runner, args.count, None)
                    result.paced = await orchestrator.run(runner, args.latency_count, args.rate)
                except (RuntimeError, TimeoutError, grpc.aio.AioRpcError) as error:
                    result.error = str(error)[:2000]
            results.append(result)
    return results


def _number(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) else "-"


def table(results: list[Result], args: argparse.Namespace) -> str:
    header = (
        f"| client | received/s (burst of {args.count}, acking each) | burst latency p50 / p99 ms "
        f"| push latency at {args.rate:g} msg/s, p50 / p99 ms | runner / server CPU s (burst) |"
    )
    rows = [header, "|---|---|---|---|---|"]
    for r in results:
        if r.skipped or r.error:
            rows.append(
                f"| {r.lang} | {'skipped: ' + r.skipped if r.skipped else 'error: ' + r.error[:200]} | | | |"
            )
            continue
        b, p = r.burst, r.paced
        rows.append(
            f"| {r.lang} | {_number(b.get('msgs_per_s'), ',.0f')} "
            f"| {_number(b.get('p50_latency_ms'), '.1f')} / {_number(b.get('p99_latency_ms'), '.1f')} "
            f"| {_number(p.get('p50_latency_ms'), '.2f')} / {_number(p.get('p99_latency_ms'), '.2f')} "
            f"| {_number(b.get('runner_cpu_s'), '.2f')} / {_number(b.get('server_cpu_s'), '.2f')} |"
        )
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.languages", description=__doc__.split("\n")[0])
    parser.add_argument("--langs", default=",".join(LANGUAGES), help="comma-separated (default: all four)")
    parser.add_argument("--count", type=int, default=2000, help="messages in the burst run (default 2000)")
    parser.add_argument(
        "--latency-count", type=int, default=200, help="messages in the paced run (default 200)"
    )
    parser.add_argument("--rate", type=float, default=100.0, help="paced sends per second (default 100)")
    parser.add_argument(
        "--build", action="store_true", help="build the TypeScript and Rust runners if missing"
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin the server and the runners to cores"
    )
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/languages-*.json")
    args = parser.parse_args(argv)
    unknown = set(args.langs.split(",")) - set(LANGUAGES)
    if unknown:
        parser.error(f"unknown languages {sorted(unknown)}; choose from {', '.join(LANGUAGES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pin = not args.no_pin and cpu.can_pin()
    runners = [resolve(lang, args.build) for lang in args.langs.split(",")]
    with running_server(REPO, "INFO", pin) as server:
        if pin:
            cpu.pin_self_to_client_core()  # the runners inherit it
        print(f"server {server.grpc_target}; {server.pinning.describe()}", flush=True)
        results = asyncio.run(measure(args, server, runners))
    print(table(results, args))
    if not args.no_save:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"languages-{stamp}.json"
        content = {"settings": vars(args), "pinned": pin, "results": [asdict(r) for r in results]}
        path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
