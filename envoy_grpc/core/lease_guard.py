"""File leases enforced at edit time: the PreToolUse check of the hook adapter.

An Edit/Write/MultiEdit/NotebookEdit (or Codex apply_patch) of a file that another agent leased
exclusively is denied, with a reason naming the holder, the lease and its reason; the holder gets a
system message saying who tried (at most one per lease, agent and file a minute, so a retrying agent
does not flood it). Paths are taken relative to the session's working directory, the project root
the lease paths are relative to; a file outside it is not checked. The agent's own leases and those
of its ancestors and subagents never block it: a subagent works for its parent.
"""

from __future__ import annotations

import os
import time

from envoy_grpc import errors
from envoy_grpc.core import hook_payloads as hp
from envoy_grpc.core import lease_rules
from envoy_grpc.core.leases import Leases
from envoy_grpc.core.messaging import Messaging
from envoy_grpc.store import notices
from envoy_grpc.store.coordination_types import LeaseRow

NOTICE_INTERVAL = 60.0  # seconds between two notices to a holder about the same agent and file


def relative_path(path: str, root: str) -> str | None:
    """`path` relative to `root`, or None when it lies outside it (or there is no root to go by)."""
    if not os.path.isabs(path):
        return os.path.normpath(path)
    if not root:
        return None
    relative = os.path.relpath(os.path.normpath(path), os.path.normpath(root))
    return None if relative == ".." or relative.startswith("../") else relative


def same_family(agent_id: str, holder: str) -> bool:
    """An agent, its ancestors and its descendants (`id3`, `id3.1`, `id3.1.2`)."""
    return holder == agent_id or agent_id.startswith(holder + ".") or holder.startswith(agent_id + ".")


class LeaseGuard:
    def __init__(self, leases: Leases, messaging: Messaging) -> None:
        self.leases = leases
        self.messaging = messaging
        self._noticed: dict[tuple[int, str, str], float] = {}

    def blocking(self, event: hp.HookEvent, agent_id: str) -> tuple[str, LeaseRow] | None:
        """The first (file, lease) that forbids this tool call to `agent_id`, if any. Memory only."""
        tool_input = event.mapping("tool_input")
        for path, _ in hp.file_writes(event.text("tool_name"), tool_input):
            relative = relative_path(path, event.cwd)
            if relative is None:
                continue
            try:
                found = self.leases.check(event.project, relative, agent_id)
            except errors.EnvoyError:
                continue  # a path no lease can name (absolute, leaving the project) is no one's
            for lease in found:
                if lease.mode == "exclusive" and not same_family(agent_id, lease.agent_id):
                    return relative, lease
        return None

    async def check(self, event: hp.HookEvent, agent_id: str) -> str | None:
        """The reason to deny the call, after telling the holder; None lets it run."""
        blocked = self.blocking(event, agent_id)
        if blocked is None:
            return None
        path, lease = blocked
        await self._tell_holder(lease, path, agent_id, event.text("tool_name") or "an edit")
        return (
            f"envoy-grpc: {lease_rules.describe(lease, path)}. {lease.agent_id} has been told you tried. "
            f"Ask it to release the file (message {lease.agent_id}), or work on something else until the "
            "lease ends."
        )

    async def _tell_holder(self, lease: LeaseRow, path: str, agent_id: str, tool: str) -> None:
        key, now = (lease.lease_id, agent_id, path), time.monotonic()
        if now - self._noticed.get(key, -NOTICE_INTERVAL) < NOTICE_INTERVAL:
            return
        self._noticed[key] = now
        if len(self._noticed) > 10_000:  # forget the oldest half; only recent attempts matter
            for old in sorted(self._noticed, key=self._noticed.__getitem__)[:5_000]:
                del self._noticed[old]
        parts = notices.notice_parts(
            f"{agent_id} tried to change {path!r} in project {lease.project!r} ({tool}) and was stopped by "
            f"your lease {lease.lease_id}. Release it when you are done: DELETE /leases/{lease.lease_id}",
            "lease_conflict",
            lease_id=str(lease.lease_id),
            path=path,
            project=lease.project,
            agent_id=agent_id,
            tool=tool,
        )
        wall = time.time()
        deliveries = await self.messaging.db.write(lambda: notices.send(lease.agent_id, parts, wall))
        self.messaging.bus.publish(deliveries)
