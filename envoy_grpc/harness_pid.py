"""Which coding-harness process (Claude Code, Codex, Cursor) a helper process was started by.

`envoy-grpc hook` and `envoy-grpc mcp` are both children of the harness, sometimes through a shell.
Each walks up its parents, skipping shells and wrappers, and the first other process is the
harness: the same number for both, which is how the MCP server finds the session the hooks
opened. Standard library only (the hook client imports it). Without /proc (macOS) the parent is
taken as is.
"""

from __future__ import annotations

import os

WRAPPERS = frozenset(
    {"sh", "bash", "dash", "zsh", "fish", "ksh", "env", "timeout", "nice", "nohup", "uv", "uvx"}
)
_MAX_HOPS = 8


def _parent_and_name(pid: int) -> tuple[int, str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            raw = stat.read().decode(errors="replace")
    except OSError:
        return None
    # `pid (name) state ppid …`; the name may hold spaces and parentheses, so split at the last ')'.
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), name


def harness_pid() -> int:
    """The nearest ancestor of this process that is not a shell or a wrapper."""
    pid = os.getppid()
    for _ in range(_MAX_HOPS):
        found = _parent_and_name(pid)
        if found is None:
            return pid
        parent, name = found
        if name not in WRAPPERS or parent <= 1:
            return pid
        pid = parent
    return pid
