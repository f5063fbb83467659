"""`python -m bench.mcp`: MCP tool round trips over stdio, as a coding agent's harness sees them.

Starts the server (bench/server.py), opens a Claude Code-style session with the command-form hook
(this process plays the harness), starts `envoy-grpc mcp` through the MCP SDK's stdio client, and
times each tool call from the client's request to its answer, one call at a time: whoami (no server
call), read_inbox, send_message, search_knowledge. Reports p50/p90/p99 per tool and overall. Prints a
table and writes bench/results/mcp-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from bench.graph import summary
from bench.server import running_server

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "mcp-latest.json"
SESSION = "bench-mcp-0001"


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVOY_")}
    return env | {"ENVOY_HOME": str(data_dir)} | extra


def open_session(http_base: str, data_dir: Path) -> str:
    """SessionStart through `envoy-grpc hook`; returns the session's agent ID."""
    payload = {
        "session_id": SESSION,
        "hook_event_name": "SessionStart",
        "cwd": str(REPO),
        "source": "startup",
    }
    result = subprocess.run(
        [sys.executable, "-m", "envoy_grpc", "hook"],
        input=json.dumps(payload).encode(),
        env=clean_env(data_dir, ENVOY_URL=http_base),
        capture_output=True,
        timeout=30,
        check=True,
    )
    context = json.loads(result.stdout)["hookSpecificOutput"]["additionalContext"]
    return str(context.split("you are agent ")[1].split(" ")[0])


def register_peer(http_base: str) -> str:
    request = urllib.request.Request(
        http_base + "/agents",
        data=json.dumps({"name": "bench-peer", "kind": "bench"}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["agent_id"])


async def measure(grpc_target: str, data_dir: Path, peer: str, calls: int) -> dict[str, Any]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "envoy_grpc", "mcp", "--grpc", grpc_target],
        env=clean_env(data_dir),
    )
    results: dict[str, Any] = {}
    everything: list[float] = []
    async with Client(params) as client:
        plan: list[tuple[str, dict[str, Any]]] = [
            ("whoami", {}),
            ("read_inbox", {"limit": 5}),
            ("send_message", {"to": peer, "text": "a note for the peer"}),
            ("search_knowledge", {"query": "peer", "limit": 5}),
        ]
        for tool, arguments in plan:
            samples = []
            for i in range(calls + 10):
                started = time.perf_counter()
                answer = await client.call_tool(tool, arguments)
                elapsed = time.perf_counter() - started
                if answer.is_error:
                    raise RuntimeError(f"{tool} failed: {answer.content}")
                if i >= 10:  # the first calls warm up both processes
                    samples.append(elapsed)
            everything += samples
            results[tool] = summary(samples)
    results["overall"] = summary(everything)
    return results


def table(results: dict[str, Any]) -> str:
    lines = [f"{'tool (stdio round trip)':<26}{'p50':>10}{'p90':>10}{'p99':>10}"]
    for name, row in results.items():
        lines.append(f"{name:<26}{row['p50_ms']:>8.2f}ms{row['p90_ms']:>8.2f}ms{row['p99_ms']:>8.2f}ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mcp", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="timed calls per tool (default 300)")
    args = parser.parse_args(argv)
    with running_server(REPO, "INFO", pin=False) as server:
        open_session(server.http_base, server.data_dir)
        peer = register_peer(server.http_base)
        results = asyncio.run(measure(server.grpc_target, server.data_dir, peer, args.calls))
    print(table(results))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "results": results,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
