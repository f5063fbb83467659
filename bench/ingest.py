"""The hook-ingest scenarios of issue 4's performance section: Claude Code hooks POSTing raw PostToolUse
payloads to the gateway's `POST /hooks/claude` with the hook token (`hook.token` of the data directory).

- `hook_ingest` (closed loop, the rate): one worker per hook client, each its own session (opened by
  a SessionStart before the measured window), POSTing PostToolUse (Bash) payloads one after another,
  each with a unique tool_use_id (a repeated one is idempotent and would not be a write). Reported as
  a ratio to `http_health`, GET /health through the gateway measured earlier on the same server with
  the same callers. Target: >= 0.50.
- `hook_ingest_half` (open loop, the latency): POSTs started on a fixed schedule at half the rate
  hook_ingest reached in this run, spread over sessions of its own, for the run's duration after a
  warm-up at the same rate; the latency of each POST is request started -> response read. Target:
  p99 <= 25 ms.

After each, the sessions' tool-call counts are read back (GET /atheneum/sessions with the operator
token, counted by the server from what it recorded) and compared with the POSTs it answered 200:
an answered POST that was not recorded is an error. Each scenario's sessions have a project (the
last part of their cwd) of their own, so the read-back counts only its own tool calls.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bench.clients import Clients, UnexpectedResponse
from bench.context import Context, CpuWindow, Outcome
from bench.load import MAX_OPERATIONS, ErrorTally, LatencyStats, LoadResult, Operation, run_closed_loop
from bench.messaging import OpenLoop, describe_latency, latency_json
from bench.server import ServerProcess

HOOK_PATH = "/hooks/claude"
PROJECTS = "/home/dev/projects"
MARK = "@@tool_use_id@@"
START_CONCURRENCY = 32  # SessionStart POSTs in flight at once while opening the sessions
MAX_LISTED = 1000  # GET /atheneum/sessions returns at most this many: more sessions are not read back
RECORD_GRACE = 5.0  # how long the read-back waits for the counts to catch up with the POSTs
P99_LIMIT_MS = 25.0  # hook_ingest_half's target; slower POSTs are grouped into stalls in its details
MAX_STALLS = 10  # stalls listed in the figures
STDOUT = (
    "total 48\n"
    "drwxr-xr-x  9 dev dev 4096 Mar  3 10:12 .\n"
    "-rw-r--r--  1 dev dev 2211 Mar  3 10:12 README.md\n"
    "drwxr-xr-x  6 dev dev 4096 Mar  3 10:12 envoy_grpc\n"
    "-rw-r--r--  1 dev dev 1874 Mar  3 10:12 pyproject.toml\n"
    "drwxr-xr-x  3 dev dev 4096 Mar  3 10:12 tests\n"
)


def _base(event: str, session_id: str, cwd: str, **fields: Any) -> dict[str, Any]:
    """The fields every Claude Code hook payload carries (tests/hook_payloads.py `base`)."""
    return {
        "session_id": session_id,
        "transcript_path": f"/home/dev/.claude/projects{cwd.replace('/', '-')}/{session_id}.jsonl",
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": event,
        **fields,
    }


def session_start(session_id: str, cwd: str) -> dict[str, Any]:
    return _base("SessionStart", session_id, cwd, source="startup", model="claude-opus-4")


def post_tool_use(session_id: str, cwd: str, tool_use_id: str) -> dict[str, Any]:
    """A PostToolUse of Bash, as tests/hook_payloads.py `bash` builds it."""
    return _base(
        "PostToolUse",
        session_id,
        cwd,
        tool_name="Bash",
        tool_input={"command": "ls -la", "description": "List the project files"},
        tool_response={"stdout": STDOUT, "stderr": "", "interrupted": False, "isImage": False},
        tool_use_id=tool_use_id,
    )


@dataclass(frozen=True)
class Template:
    """One session's PostToolUse body, encoded once around the tool_use_id that makes each unique."""

    head: bytes
    tail: bytes

    @classmethod
    def of(cls, session_id: str, cwd: str) -> Template:
        head, tail = json.dumps(post_tool_use(session_id, cwd, MARK)).encode().split(MARK.encode())
        return cls(head, tail)

    def body(self, tool_use_id: str) -> bytes:
        return self.head + tool_use_id.encode() + self.tail


class HookSessions:
    """`count` Claude Code sessions of one project, each posting through the gateway's hook adapter."""

    def __init__(self, clients: Clients, server: ServerProcess, project: str, count: int) -> None:
        self.clients = clients
        self.server = server
        self.project = project
        self.cwd = f"{PROJECTS}/{project}"
        self.ids = [str(uuid.uuid4()) for _ in range(count)]
        self.templates = [Template.of(session_id, self.cwd) for session_id in self.ids]
        self.headers = {
            "Authorization": f"Bearer {server.token('hook.token')}",
            "Content-Type": "application/json",
        }
        self.posted = 0  # PostToolUse POSTs answered 200, warm-up included

    @property
    def payload_bytes(self) -> int:
        return len(self.templates[0].body(f"toolu_{0:024d}"))

    async def _post(self, data: bytes) -> None:
        answer = await self.clients.http_call("POST", HOOK_PATH, 200, headers=self.headers, data=data)
        if not answer.startswith(b"{"):
            raise UnexpectedResponse(f"the hook answered {answer[:120]!r}, not a JSON object")

    async def start(self) -> None:
        """One SessionStart per session (outside any measured window), a few at a time."""
        slots = asyncio.Semaphore(START_CONCURRENCY)

        async def one(session_id: str) -> None:
            async with slots:
                await self._post(json.dumps(session_start(session_id, self.cwd)).encode())

        await asyncio.gather(*(one(session_id) for session_id in self.ids))

    async def post_tool_use(self, session: int, tool_use_id: str) -> None:
        await self._post(self.templates[session].body(tool_use_id))
        self.posted += 1

    def operation(self, worker: int) -> Operation:
        """A closed-loop worker's call: the next tool call of session `worker`."""
        serial = iter(range(1, MAX_OPERATIONS + 1))
        prefix = f"toolu_bench{worker:05d}"

        async def call() -> None:
            await self.post_tool_use(worker, f"{prefix}{next(serial):012d}")

        return call

    async def _recorded(self) -> tuple[int, int]:
        """(sessions listed, tool calls they record), as the server counts them."""
        path = f"/atheneum/sessions?project={self.project}&last={len(self.ids)}"
        headers = {"Authorization": f"Bearer {self.server.token('operator.token')}"}
        found: list[dict[str, Any]] = json.loads(await self.clients.http_call("GET", path, 200, headers))
        return len(found), sum(int(s.get("tool_call_count") or 0) for s in found)

    async def check_recorded(self, load: LoadResult) -> int | None:
        """The tool calls the server recorded for these sessions (None when there are too many sessions
        to list); every POST answered 200 must be among them, or the shortfall is counted as errors."""
        if len(self.ids) > MAX_LISTED:
            return None
        deadline = time.perf_counter() + RECORD_GRACE
        sessions, recorded = await self._recorded()
        while recorded < self.posted and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
            sessions, recorded = await self._recorded()
        tally = ErrorTally()
        if sessions != len(self.ids):
            tally.add_kind("sessions missing", f"{len(self.ids)} sessions started, {sessions} listed")
        missing = self.posted - recorded
        tally.add_kind(
            "not recorded", f"{missing} of {self.posted} tool calls answered 200 were not recorded", missing
        )
        _merge(load, tally)
        return recorded


def _merge(load: LoadResult, tally: ErrorTally) -> None:
    """Add errors found after the load (the read-back) to its result."""
    load.errors += tally.errors
    for kind, count in tally.kinds.items():
        load.error_kinds[kind] = load.error_kinds.get(kind, 0) + count
    load.sample_errors.extend(s for s in tally.samples if s not in load.sample_errors)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class Stall:
    """POSTs slower than P99_LIMIT_MS whose spans overlap: one stall of the server (or the machine)."""

    start: float
    end: float
    posts: int = 1

    def as_json(self, origin: float) -> dict[str, Any]:
        return {
            "at_s": round(self.start - origin, 3),
            "span_ms": round((self.end - self.start) * 1000, 1),
            "posts": self.posts,
        }


def stalls(spans: list[tuple[float, float]], limit_ms: float = P99_LIMIT_MS) -> list[Stall]:
    """The (started, done) spans longer than `limit_ms`, merged where they overlap, in time order.

    Many slow POSTs in a few short stalls point at pauses (a checkpoint, a collection, another process
    on the server's core); slow POSTs spread over the whole window point at a server that is too slow.
    """
    found: list[Stall] = []
    for started, done in sorted(s for s in spans if (s[1] - s[0]) * 1000 > limit_ms):
        if found and started <= found[-1].end:
            found[-1].end = max(found[-1].end, done)
            found[-1].posts += 1
        else:
            found.append(Stall(started, done))
    return found


# -- closed loop: the rate ---------------------------------------------------------------------------


async def hook_ingest(ctx: Context) -> Outcome:
    clients, settings, server = ctx.clients, ctx.settings, ctx.server
    sessions = HookSessions(clients, server, "bench-hook-ingest", settings.concurrency)
    await sessions.start()
    operations = [sessions.operation(worker) for worker in range(settings.concurrency)]
    window = CpuWindow(server)
    load = await run_closed_loop(operations, settings.duration_s, settings.warmup_s, settings.call_timeout_s)
    usage = window.usage()
    recorded = await sessions.check_recorded(load)

    health = ctx.rates.get("http_health")
    ratio = _round(load.rate / health) if health and load.ok else None  # as the target reads it
    details = [
        f"{settings.concurrency} hook clients, each its own session (one SessionStart each before the "
        f"window), POSTing PostToolUse (Bash) payloads of {sessions.payload_bytes:,} bytes with unique "
        f"tool_use_ids to {HOOK_PATH} with the hook token, closed loop",
        (
            f"{load.rate:,.0f} tool calls/s = {ratio:.2f} of http_health ({health:,.0f} GET /health/s "
            f"through the gateway, same server, same {settings.concurrency} callers)"
            if ratio is not None and health
            else "no ratio: http_health did not run without errors before it on this server"
        ),
        f"POST latency: {describe_latency(load.latency)}",
        (
            f"read back: the server recorded {recorded:,} tool calls for the {sessions.posted:,} POSTs "
            "it answered 200 (warm-up included)"
            if recorded is not None
            else f"not read back: more than {MAX_LISTED} sessions"
        ),
    ]
    figures: dict[str, Any] = {
        "sessions": settings.concurrency,
        "payload_bytes": sessions.payload_bytes,
        "posted": sessions.posted,
        "recorded_tool_calls": recorded,
        "http_health_rate_per_s": _round(health, 1),
        "ratio_to_http_health": ratio,
    }
    return Outcome(load, usage, figures, details)


# -- open loop at half that rate: the latency ----------------------------------------------------------


async def hook_ingest_half(ctx: Context) -> Outcome:
    clients, settings, server = ctx.clients, ctx.settings, ctx.server
    full = ctx.rates.get("hook_ingest")
    if not full:
        raise UnexpectedResponse("hook_ingest has no rate in this run (it must run first, without errors)")
    rate = full / 2
    warm = round(rate * settings.warmup_s)
    total = warm + max(1, round(rate * settings.duration_s))
    if total > MAX_OPERATIONS:
        raise UnexpectedResponse(
            f"{total:,} POSTs at {rate:,.0f}/s is more than the {MAX_OPERATIONS:,} allowed"
        )
    sessions = HookSessions(clients, server, "bench-hook-ingest-half", settings.concurrency)
    await sessions.start()
    tally = ErrorTally()
    latencies: list[float] = []
    from_schedule: list[float] = []
    spans: list[tuple[float, float]] = []
    loop = OpenLoop(rate, total)

    async def send(index: int) -> None:
        started = time.perf_counter()
        try:
            await sessions.post_tool_use(index % len(sessions.ids), f"toolu_benchhalf{index:012d}")
        except Exception as error:
            if index >= warm:
                tally.add(error)
            return
        done = time.perf_counter()
        if index >= warm:
            latencies.append(done - started)
            from_schedule.append(done - (loop.started_at + index / rate))
            spans.append((started, done))

    window = CpuWindow(server)
    await loop.run(send, settings.call_timeout_s)
    usage = window.usage()
    load = LoadResult(
        ok=len(latencies),
        errors=tally.errors,
        elapsed_s=max(1e-9, settings.duration_s),
        latency=LatencyStats.of(latencies),
        error_kinds=dict(tally.kinds),
        sample_errors=tally.samples,
        stopped_early=loop.stopped_early,
    )
    recorded = await sessions.check_recorded(load)
    scheduled = LatencyStats.of(from_schedule)
    lateness = loop.lateness_ms()
    slow = stalls(spans)
    slow_posts = sum(stall.posts for stall in slow)
    measured_from = loop.started_at + warm / rate
    slow_text = (
        f"{slow_posts:,} POSTs ({slow_posts / max(1, load.ok):.1%}) took over {P99_LIMIT_MS:g} ms, in "
        f"{len(slow)} stall{'s' if len(slow) != 1 else ''}: "
        + ", ".join(
            f"{s.posts} at {s.start - measured_from:.2f} s over {(s.end - s.start) * 1000:.0f} ms"
            for s in slow[:MAX_STALLS]
        )
        + (" ..." if len(slow) > MAX_STALLS else "")
        if slow
        else f"no POST took over {P99_LIMIT_MS:g} ms"
    )
    details = [
        f"{total:,} PostToolUse POSTs started on schedule at {rate:,.0f}/s, half of hook_ingest's "
        f"{full:,.0f}/s ({warm:,} of them warm-up), over {len(sessions.ids)} sessions; schedule lateness "
        f"p99 {lateness.get('p99', 0):.2f} ms",
        f"POST latency (request started -> response read): {describe_latency(load.latency)}",
        f"from the scheduled start -> response read: {describe_latency(scheduled)}",
        slow_text,
        (
            f"read back: the server recorded {recorded:,} tool calls for the {sessions.posted:,} POSTs "
            "it answered 200 (warm-up included)"
            if recorded is not None
            else f"not read back: more than {MAX_LISTED} sessions"
        ),
    ]
    figures: dict[str, Any] = {
        "rate_per_s": round(rate, 1),
        "hook_ingest_rate_per_s": round(full, 1),
        "sessions": len(sessions.ids),
        "sent": total,
        "warmup_sends": warm,
        "posted": sessions.posted,
        "recorded_tool_calls": recorded,
        "post_latency_ms": latency_json(load.latency),
        "scheduled_to_answered_ms": latency_json(scheduled),
        "schedule_lateness_ms": lateness,
        "slow_posts": slow_posts,
        "slow_limit_ms": P99_LIMIT_MS,
        "stalls": [stall.as_json(measured_from) for stall in slow[:MAX_STALLS]],
        "stall_count": len(slow),
    }
    return Outcome(load, usage, figures, details)
