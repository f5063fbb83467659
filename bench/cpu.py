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
