"""`python -m bench.graph`: the knowledge graph at 200,000 entities and 1,000,000 edges, over gRPC.

1. Seeds a graph shaped like the projection of real sessions straight into a fresh database (after
   running the migrations): 20 projects, 2,000 agents, 18,000 sessions, 40,000 files and 139,980 tool
   calls; each session belongs to its project and was performed by an agent, some depend on an
   earlier one, each tool call is observed in its session and handled by it; the rest of the million
   edges are sessions that accessed or modified files of their project, tool calls that mention
   files, and files related to files. Projects are hubs (about 2,900 edges each).
2. Starts the server on that data directory (pinned to its own core when there are two, as
   `python -m bench` does) and measures, one call at a time: ListNeighbors (depth 0) of a random
   entity, GetSubgraph (depth 3, 500-node cap) of a random entity, and FindPath (max depth 6)
   between two random entities.
3. Write throughput: the same mix of session records (tool calls that read a file, edits with their
   file writes, prompts) sent by concurrent callers to a fresh server twice, once as it runs and
   once with the graph projector switched off; the first run counts until the graph has caught up.

Targets (issue 5): neighbours p50 <= 2 ms, subgraph p50 <= 30 ms, path p50 <= 50 ms, writes with the
graph >= 70% of the writes without it. Prints a table and writes bench/results/graph-latest.json.
Missing a target is reported, not an error. `--quick` is a smoke run on a graph a tenth the size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import platform
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc
import peewee

from bench import cpu
from envoy_grpc.gen.envoy.v1 import graph_pb2, graph_pb2_grpc, sessions_pb2, sessions_pb2_grpc
from envoy_grpc.store import migrations

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "graph-latest.json"
TARGETS = {"neighbors_p50_ms": 2.0, "subgraph_p50_ms": 30.0, "path_p50_ms": 50.0, "write_ratio": 0.70}
GRPC_LINE = re.compile(r"gRPC listening on \S+:(\d+)")


@dataclass(frozen=True)
class Shape:
    projects: int = 20
    agents: int = 2_000
    sessions: int = 18_000
    files: int = 40_000
    entities: int = 200_000
    edges: int = 1_000_000

    @property
    def tool_calls(self) -> int:
        return self.entities - self.projects - self.agents - self.sessions - self.files


QUICK = Shape(projects=10, agents=200, sessions=1_800, files=4_000, entities=20_000, edges=100_000)


# -- seeding -----------------------------------------------------------------------------------


def _entity_rows(shape: Shape, rng: random.Random) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """The entities in ID order, and where each kind's IDs start with the project of each."""
    projects = [f"project-{i:02d}" for i in range(shape.projects)]
    of_session = [rng.randrange(shape.projects) for _ in range(shape.sessions)]
    of_call = [rng.randrange(shape.sessions) for _ in range(shape.tool_calls)]
    rows: list[tuple[Any, ...]] = [("Project", name, name, None, "{}") for name in projects]
    rows += [
        ("Agent", f"id{i + 1}", "", None, json.dumps({"agent_id": f"id{i + 1}"})) for i in range(shape.agents)
    ]
    for i, project in enumerate(of_session):
        data = {
            "session_id": f"session-{i:06d}",
            "agent": "claude-code",
            "tool": "claude-code",
            "trigger": "cli",
        }
        rows.append(("Session", f"session-{i:06d}", projects[project], None, json.dumps(data)))
    for i in range(shape.files):
        path = f"src/pkg{i % 97:02d}/module_{i:05d}.py"
        rows.append(("File", path, projects[i % shape.projects], path, "{}"))
    for i, session in enumerate(of_call):
        data = {
            "tool_name": "Read",
            "exit_status": "success",
            "input_summary": f"read src/module_{i % 997}.py",
        }
        name = f"session-{session:06d}:Read:{i}"
        rows.append(("ToolCall", name, projects[of_session[session]], None, json.dumps(data)))
    starts = {"project": 1, "agent": 1 + shape.projects}
    starts["session"] = starts["agent"] + shape.agents
    starts["file"] = starts["session"] + shape.sessions
    starts["tool_call"] = starts["file"] + shape.files
    return rows, {"starts": starts, "of_session": of_session, "of_call": of_call}


def _edge_rows(shape: Shape, layout: dict[str, Any], rng: random.Random) -> list[tuple[int, int, str]]:
    start, of_session, of_call = layout["starts"], layout["of_session"], layout["of_call"]
    files: list[list[int]] = [[] for _ in range(shape.projects)]
    for i in range(shape.files):
        files[i % shape.projects].append(start["file"] + i)
    edges: set[tuple[int, int, str]] = set()
    for i, project in enumerate(of_session):
        session = start["session"] + i
        edges.add((session, start["project"] + project, "belongs_to_project"))
        edges.add((start["agent"] + rng.randrange(shape.agents), session, "performed_by"))
        if i and rng.random() < 0.1:
            edges.add((session, start["session"] + rng.randrange(i), "depends_on"))
    for i in range(shape.files):
        edges.add((start["file"] + i, start["project"] + i % shape.projects, "belongs_to_project"))
    for i, session in enumerate(of_call):
        call = start["tool_call"] + i
        edges.add((call, start["session"] + session, "observed_in"))
        edges.add((start["session"] + session, call, "handled_by_tool"))
    while len(edges) < shape.edges:
        i = rng.randrange(shape.sessions)
        own = files[of_session[i]]
        draw = rng.random()
        if draw < 0.45:
            edges.add((start["session"] + i, rng.choice(own), "accessed"))
        elif draw < 0.6:
            edges.add((start["session"] + i, rng.choice(own), "modified"))
        elif draw < 0.8:
            edges.add((start["tool_call"] + rng.randrange(shape.tool_calls), rng.choice(own), "mentions"))
        else:
            edges.add((rng.choice(own), rng.choice(own), "related_to"))
    return sorted(edges)


def seed(db_path: Path, shape: Shape, seed_value: int = 1) -> float:
    """Migrate a fresh database and fill it; returns the seconds it took."""
    started = time.perf_counter()
    db = peewee.SqliteDatabase(str(db_path))
    migrations.migrate(db)
    db.close()
    rng = random.Random(seed_value)
    entities, layout = _entity_rows(shape, rng)
    edges = _edge_rows(shape, layout, rng)
    connection = sqlite3.connect(db_path, isolation_level=None)
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -400000"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO graph_entity (kind, name, project, file_path, data_json, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, 1.7e9, 1.7e9)",
        entities,
    )
    connection.executemany(
        "INSERT INTO graph_edge (from_id, to_id, label, data_json, created_at) VALUES (?, ?, ?, '{}', 1.7e9)",
        edges,
    )
    connection.execute("COMMIT")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.close()
    return time.perf_counter() - started


# -- the server --------------------------------------------------------------------------------


@dataclass
class Running:
    process: subprocess.Popen[str]
    target: str
    data_dir: Path
    log: list[str]

    def token(self, name: str = "operator.token") -> str:
        return (self.data_dir / name).read_text(encoding="utf-8").strip()


@contextlib.contextmanager
def server(data_dir: Path, pin: bool, projection: bool = True) -> Iterator[Running]:
    """`envoy-grpc serve` on `data_dir` (without the graph projector if `projection` is False)."""
    entry = ["-m", "envoy_grpc"] if projection else ["-m", "bench.graph", "--serve-without-projection"]
    command = [*cpu.server_command_prefix(pin), sys.executable, *entry, "serve", "--grpc-port", "0"]
    command += ["--http-port", "0", "--data-dir", str(data_dir), "--shutdown-grace", "2"]
    process = subprocess.Popen(
        command, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    log: list[str] = []
    port = threading.Event()
    found: list[str] = []

    def follow() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            if not found and (match := GRPC_LINE.search(line)):
                found.append(match.group(1))
                port.set()
        port.set()

    threading.Thread(target=follow, daemon=True).start()
    try:
        if not port.wait(120) or not found:
            raise RuntimeError("the server did not start:\n" + "".join(log[-30:]))
        yield Running(process, f"127.0.0.1:{found[0]}", data_dir, log)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def _serve_without_projection(argv: list[str]) -> None:
    """The baseline server: everything as usual except that nothing is projected into the graph."""
    from envoy_grpc.core.graph_projector import GraphProjector
    from envoy_grpc.entry import main

    setattr(GraphProjector, "start", lambda self: None)  # noqa: B010 (a method, deliberately replaced)
    sys.argv = ["envoy-grpc", *argv]
    main()


# -- measurements ------------------------------------------------------------------------------


def summary(samples: list[float], target: float | None = None) -> dict[str, Any]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    result = {"calls": len(ordered), "p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99)}
    result["mean_ms"] = round(statistics.fmean(ordered) * 1000, 3)
    if target is not None:
        result |= {"target_ms": target, "met": result["p50_ms"] <= target}
    return result


async def timed(calls: int, make: Callable[[int], Awaitable[Any]], warmup: int = 20) -> list[float]:
    for i in range(warmup):
        await make(-1 - i)
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        await make(i)
        samples.append(time.perf_counter() - started)
    return samples


async def reads(running: Running, shape: Shape, calls: int, rng: random.Random) -> dict[str, Any]:
    metadata = (("authorization", f"Bearer {running.token()}"),)
    results: dict[str, Any] = {}
    async with grpc.aio.insecure_channel(
        running.target, options=[("grpc.max_receive_message_length", -1)]
    ) as channel:
        stub = graph_pb2_grpc.GraphServiceStub(channel)
        picks = [rng.randrange(1, shape.entities + 1) for _ in range(3 * calls + 100)]

        def entity(i: int) -> int:
            return picks[i % len(picks)]

        samples = await timed(
            calls * 3,
            lambda i: stub.ListNeighbors(
                graph_pb2.ListNeighborsRequest(entity_id=entity(i)), metadata=metadata
            ),
        )
        results["neighbors"] = summary(samples, TARGETS["neighbors_p50_ms"])
        sizes: list[int] = []

        async def walk(i: int) -> None:
            request = graph_pb2.GetSubgraphRequest(entity_id=entity(i + 7), depth=3, max_nodes=500)
            found = await stub.GetSubgraph(request, metadata=metadata)
            if i >= 0:
                sizes.append(len(found.entities))

        results["subgraph"] = summary(await timed(calls, walk), TARGETS["subgraph_p50_ms"])
        results["subgraph"]["mean_entities"] = round(statistics.fmean(sizes), 1)
        lengths: list[int | None] = []

        async def path(i: int) -> None:
            request = graph_pb2.FindPathRequest(from_id=entity(i + 11), to_id=entity(i + 13), max_depth=6)
            found = await stub.FindPath(request, metadata=metadata)
            if i >= 0:
                lengths.append(len(found.edges) if found.found else None)

        results["path"] = summary(await timed(calls, path), TARGETS["path_p50_ms"])
        results["path"]["lengths"] = {str(k): lengths.count(k) for k in sorted(set(lengths), key=str)}
    return results


async def write_load(running: Running, records: int, concurrency: int) -> tuple[int, float]:
    """Session records from `concurrency` callers: (records sent, seconds until the last answer)."""
    metadata = (("authorization", f"Bearer {running.token()}"),)
    per_caller = records // concurrency
    async with grpc.aio.insecure_channel(running.target) as channel:
        stub = sessions_pb2_grpc.SessionServiceStub(channel)

        async def caller(number: int) -> None:
            session = f"bench-{number:03d}"
            new = sessions_pb2.CreateSessionRequest(session_id=session, agent="bench", project="bench")
            await stub.CreateSession(new, metadata=metadata)
            for n in range(per_caller):
                path, key = f"src/pkg{number % 5}/file{(number * 7 + n) % 200:03d}.py", f"{number}-{n}"
                if n % 4 == 0:
                    read = sessions_pb2.RecordToolCallRequest(
                        session_id=session,
                        tool_name="Read",
                        exit_status="success",
                        tool_use_id=key,
                        file_paths=[path],
                    )
                    await stub.RecordToolCall(read, metadata=metadata)
                elif n % 4 == 1:
                    edit = sessions_pb2.RecordToolCallRequest(
                        session_id=session,
                        tool_name="Edit",
                        exit_status="success",
                        tool_use_id=key,
                        file_paths=[path],
                    )
                    await stub.RecordToolCall(edit, metadata=metadata)
                elif n % 4 == 2:
                    write = sessions_pb2.RecordFileWriteRequest(
                        session_id=session, file_path=path, tool_use_id=key
                    )
                    await stub.RecordFileWrite(write, metadata=metadata)
                else:
                    prompt = sessions_pb2.RecordPromptRequest(session_id=session, role="user", input_hash=key)
                    await stub.RecordPrompt(prompt, metadata=metadata)

        started = time.perf_counter()
        await asyncio.gather(*(caller(number) for number in range(concurrency)))
        return per_caller * concurrency, time.perf_counter() - started


async def graph_settled(running: Running, quiet: float = 0.8) -> tuple[float, int, int]:
    """Poll GetGraphStats until it stops changing: (when it last changed, entities, edges)."""
    metadata = (("authorization", f"Bearer {running.token()}"),)
    async with grpc.aio.insecure_channel(running.target) as channel:
        stub = graph_pb2_grpc.GraphServiceStub(channel)
        last: tuple[int, int] | None = None
        changed = time.perf_counter()
        while time.perf_counter() - changed < quiet:
            stats = await stub.GetGraphStats(graph_pb2.GetGraphStatsRequest(), metadata=metadata)
            now = (stats.total_entities, stats.total_edges)
            if now != last:
                last, changed = now, time.perf_counter()
            await asyncio.sleep(0.01)
        assert last is not None
        return changed, last[0], last[1]


async def writes(pin: bool, records: int, concurrency: int) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for projection in (False, True):
        with (
            tempfile.TemporaryDirectory(prefix="envoy-bench-graph-") as directory,
            server(Path(directory), pin, projection) as running,
        ):
            origin = time.perf_counter()
            sent, seconds = await write_load(running, records, concurrency)
            run: dict[str, Any] = {"records": sent, "write_seconds": round(seconds, 3)}
            if projection:
                settled, entities, edges = await graph_settled(running)
                seconds = max(seconds, settled - origin)
                run |= {
                    "graph_entities": entities,
                    "graph_edges": edges,
                    "projected_seconds": round(seconds, 3),
                }
            run["records_per_second"] = round(sent / seconds, 1)
            runs["with_graph" if projection else "without_graph"] = run
    ratio = runs["with_graph"]["records_per_second"] / runs["without_graph"]["records_per_second"]
    return runs | {
        "ratio": round(ratio, 3),
        "target": TARGETS["write_ratio"],
        "met": ratio >= TARGETS["write_ratio"],
    }


# -- the run -----------------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    lines = [f"{'measurement':<34}{'p50':>10}{'p90':>10}{'p99':>10}{'target':>10}  ok"]
    names = {
        "neighbors": "ListNeighbors depth 0",
        "subgraph": "GetSubgraph depth 3, cap 500",
        "path": "FindPath max depth 6",
    }
    for key, label in names.items():
        row = results["reads"][key]
        lines.append(
            f"{label:<34}{row['p50_ms']:>8.2f}ms{row['p90_ms']:>8.2f}ms{row['p99_ms']:>8.2f}ms"
            f"{row['target_ms']:>8.0f}ms  {'yes' if row['met'] else 'NO'}"
        )
    w = results["writes"]
    lines.append(
        f"{'writes with graph / without':<34}{w['with_graph']['records_per_second']:>8.0f}/s"
        f"{w['without_graph']['records_per_second']:>8.0f}/s{w['ratio']:>10.2f}{w['target']:>10.2f}  "
        f"{'yes' if w['met'] else 'NO'}"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.graph", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument(
        "--quick", action="store_true", help="a graph a tenth the size and fewer calls (smoke run)"
    )
    parser.add_argument("--calls", type=int, help="calls per read measurement (default 300; --quick 50)")
    parser.add_argument("--records", type=int, help="records per write run (default 8000; --quick 1600)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent writers (default 16)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the client to cores")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, pin: bool) -> dict[str, Any]:
    shape = QUICK if args.quick else Shape()
    calls = args.calls or (50 if args.quick else 300)
    with tempfile.TemporaryDirectory(prefix="envoy-bench-graph-") as directory:
        seconds = seed(Path(directory) / "envoy.db", shape)
        print(f"seeded {shape.entities:,} entities and {shape.edges:,} edges in {seconds:.1f} s", flush=True)
        with server(Path(directory), pin) as running:
            measured = await reads(running, shape, calls, random.Random(5))
    records = args.records or (1_600 if args.quick else 8_000)
    return {
        "name": "graph",
        "time_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "parameters": {
            "shape": asdict(shape),
            "calls": calls,
            "pinned": pin,
            "seed_seconds": round(seconds, 1),
        },
        "reads": measured,
        "writes": await writes(pin, records, args.concurrency),
    }


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["--serve-without-projection"]:
        _serve_without_projection(arguments[1:])
        return 0
    args = parse_args(arguments)
    pin = not args.no_pin and cpu.can_pin()
    if pin:
        cpu.pin_self_to_client_core()
    results = asyncio.run(run(args, pin))
    print(table(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
