"""CPU pinning and per-process CPU accounting, so server and load generator do not share a core."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

SERVER_CORE = 0
CLIENT_CORE = 1


@dataclass(frozen=True)
class Pinning:
    """How the server and the load generator were placed; recorded with the results."""

    enabled: bool
    server: str
    client: str

    def describe(self) -> str:
        if not self.enabled:
            return "not pinned (server and load generator share the cores)"
        return f"server on core {SERVER_CORE} ({self.server}), load generator on core {CLIENT_CORE} ({self.client})"


def can_pin() -> bool:
    """Pinning needs sched_setaffinity and both cores available to this process."""
    if not hasattr(os, "sched_getaffinity"):
        return False
    return {SERVER_CORE, CLIENT_CORE} <= os.sched_getaffinity(0)


def server_command_prefix(pin: bool) -> list[str]:
    """`taskset -c 0` when it exists; otherwise the caller pins the child with `pin_child_to_server_core`."""
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(SERVER_CORE)] if pin and taskset else []


def pin_child_to_server_core() -> None:
    """Fallback when taskset is missing: run in the child between fork and exec."""
    os.sched_setaffinity(0, {SERVER_CORE})


def pin_self_to_client_core() -> None:
    """Pin this process before grpc starts its threads, which then inherit the mask."""
    os.sched_setaffinity(0, {CLIENT_CORE})


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of another process (all its threads), from /proc; None where unavailable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def process_rss_bytes(pid: int) -> int | None:
    """Resident set size of another process, from /proc; None where unavailable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def thread_cpu_seconds(pid: int) -> dict[int, tuple[str, float]] | None:
    """CPU time (user + system) of each thread of another process, with its name, from /proc.

    Python threads carry the process's name ("python"); gRPC's core threads name themselves
    (event_engine, grpc_global_tim, ...). None where /proc is unavailable.
    """
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[str, float]] = {}
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii", errors="replace") as stat:
                text = stat.read()
        except OSError:
            continue  # the thread ended meanwhile
        head, _, rest = text.rpartition(")")
        name = head.split("(", 1)[1] if "(" in head else "?"
        fields = rest.split()
        try:
            found[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / ticks)
        except (IndexError, ValueError):
            continue
    return found


def thread_breakdown(
    pid: int,
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    wall: float,
    grpc_python_threads: frozenset[int] = frozenset(),
) -> dict[str, float]:
    """Percent of one core used between two `thread_cpu_seconds` snapshots, grouped.

    event_loop: the main thread (asyncio: gRPC handlers, interceptors, the gateway); grpc_threads:
    gRPC core's own threads plus `grpc_python_threads` (grpc.aio's completion-queue poller, a Python
    thread: see `busiest_python_thread`); other_python: the rest (the store's writer and reader
    threads); and busiest_other_python, the largest of those alone (the writer, under write load).
    """
    if wall <= 0:
        return {}
    main_name = after.get(pid, before.get(pid, ("python", 0.0)))[0]
    groups = {"event_loop": 0.0, "grpc_threads": 0.0, "other_python": 0.0, "busiest_other_python": 0.0}
    for tid, (name, seconds) in after.items():
        used = seconds - before.get(tid, (name, 0.0))[1]
        if tid == pid:
            groups["event_loop"] += used
        elif name == main_name and tid not in grpc_python_threads:
            groups["other_python"] += used
            groups["busiest_other_python"] = max(groups["busiest_other_python"], used)
        else:
            groups["grpc_threads"] += used
    return {key: round(100.0 * value / wall, 1) for key, value in groups.items()}


def busiest_python_thread(
    pid: int, before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> int | None:
    """The Python thread (other than the main one) that used the most CPU between two snapshots.

    Run over a burst of health Checks, which touch no storage, this is grpc.aio's poller thread.
    """
    main_name = after.get(pid, ("python", 0.0))[0]
    used = {
        tid: seconds - before.get(tid, (name, 0.0))[1]
        for tid, (name, seconds) in after.items()
        if tid != pid and name == main_name
    }
    best = max(used, key=lambda tid: used[tid], default=None)
    return best if best is not None and used[best] > 0 else None
