"""File leases: take, renew, release, list, and check a path against the leases of other agents.

Writes go through the store (which re-checks conflicts inside the transaction); the in-memory
`LeaseIndex` is updated after each commit and answers `check` without SQL, for the edit hook. A lease
stops counting the moment its expiry passes (every read compares with the clock); a periodic sweep
records expired leases as such. Leases of an agent stop counting the moment it is retired (the
registry is asked) and are released by the registry's retire listener.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from envoy_grpc import errors
from envoy_grpc.core import coordination_checks as checks
from envoy_grpc.core import lease_paths, lease_rules
from envoy_grpc.core.agents import AgentRegistry
from envoy_grpc.core.auth import Caller
from envoy_grpc.core.lease_index import LeaseIndex
from envoy_grpc.core.lease_paths import PathPattern
from envoy_grpc.core.sweeper import Sweeper
from envoy_grpc.store import leases as store
from envoy_grpc.store.coordination_types import LEASE_MODES, LeaseFilter, LeaseRow, NewLease
from envoy_grpc.store.db import Database


@dataclass(frozen=True)
class LeaseSettings:
    default_ttl: float = 15 * 60.0
    max_ttl: float = 24 * 3600.0
    sweep_interval: float = 15.0


@dataclass(frozen=True)
class PathCheck:
    """The answer to "may `agent_id` edit `path`?"."""

    path: str
    allowed: bool
    conflicts: list[LeaseRow]
    message: str


@dataclass(frozen=True)
class LeasePage:
    leases: list[LeaseRow]
    next_page_token: str


class Leases:
    def __init__(
        self,
        db: Database,
        registry: AgentRegistry,
        settings: LeaseSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.registry = registry
        self.settings = settings
        self._now = clock
        self.index = LeaseIndex()
        self._sweeper = Sweeper("lease sweep", self.settings.sweep_interval, self.sweep)

    def now(self) -> float:
        """The clock leases are judged by (a lease is active while `now() < expires_at`)."""
        return self._now()

    async def load(self) -> None:
        now = self._now()
        for lease in await self.db.read(lambda: store.load_active(now)):
            self.index.put(lease)

    def start(self) -> None:
        self._sweeper.start()

    async def close(self) -> None:
        await self._sweeper.close()

    # -- checks (memory only) ------------------------------------------------------------------

    def check(self, project: str, path: str, agent_id: str | None) -> list[LeaseRow]:
        """The active leases of agents other than `agent_id` (and not retired) overlapping `path`.

        Memory only, no SQL: the edit hook calls this before every write. Raises INVALID_ARGUMENT for
        a path that is absolute or leaves the project.
        """
        pattern = PathPattern.of(lease_paths.normalize(path))
        found = self.index.overlapping(project, pattern, agent_id, self._now())
        return [lease for lease in found if self.registry.is_active(lease.agent_id)]

    async def covering(self, path: str, projects: Iterable[str], limit: int = 20) -> list[LeaseRow]:
        """Leases in any state in `projects` that cover `path`, newest first (for a file's history).

        A relative path is matched as it is; an absolute one by its trailing components, since lease
        paths are relative to a project root this server does not know.
        """
        parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
        tails = (
            ["/".join(parts[i:]) for i in range(len(parts))] if path.startswith("/") else ["/".join(parts)]
        )
        found: list[LeaseRow] = []
        for project in sorted(set(projects)):
            recent = await self.db.read(functools.partial(store.newest_in_project, project, 500))
            for lease in recent:
                pattern = PathPattern.of(lease.path)
                if any(pattern.match(tail) for tail in tails):
                    found.append(lease)
        return sorted(found, key=lambda lease: lease.lease_id, reverse=True)[:limit]

    def check_path(self, unused_caller: Caller, project: str, path: str, agent_id: str) -> PathCheck:
        project = checks.project(project)
        normalized = lease_paths.normalize(path)
        conflicts = self.check(project, normalized, agent_id or unused_caller.agent_id)
        exclusive = [lease for lease in conflicts if lease.mode == "exclusive"]
        message = lease_rules.describe(conflicts[0], normalized) if conflicts else ""
        return PathCheck(normalized, not exclusive, conflicts, message)

    # -- writes --------------------------------------------------------------------------------

    def _ttl(self, seconds: int) -> float:
        if seconds < 0 or seconds > self.settings.max_ttl:
            raise errors.invalid_argument(
                "ttl_seconds",
                f"must be between 1 and {self.settings.max_ttl:.0f} seconds (0 means the default, "
                f"{self.settings.default_ttl:.0f}), got {seconds}",
            )
        return float(seconds) if seconds else self.settings.default_ttl

    def _holder(self, caller: Caller, agent_id: str) -> str:
        holder = checks.acting_agent(caller, agent_id)
        if not self.registry.get(holder).active:
            raise errors.failed_precondition(
                "AGENT_OFFLINE",
                f"agent {holder!r} (agent_id) is retired and cannot hold leases",
                agentId=holder,
            )
        return holder

    async def create(
        self,
        caller: Caller,
        project: str,
        path: str,
        *,
        agent_id: str = "",
        mode: str = "exclusive",
        reason: str = "",
        ttl_seconds: int = 0,
    ) -> tuple[LeaseRow, bool]:
        """Take a lease (or update the holder's own lease on exactly this path); (lease, is_new)."""
        new = NewLease(
            project=checks.project(project),
            path=lease_paths.normalize(path),
            agent_id=self._holder(caller, agent_id),
            mode=mode or "exclusive",
            reason=checks.text("reason", reason, checks.MAX_REASON),
            ttl=self._ttl(ttl_seconds),
        )
        if new.mode not in LEASE_MODES:
            raise errors.invalid_argument("mode", f"must be one of {', '.join(LEASE_MODES)}, got {mode!r}")
        lease, is_new = await self.db.write(lambda: store.create(new, self._now()))
        self.index.put(lease)
        return lease, is_new

    async def _held(self, caller: Caller, lease_id: str, action: str) -> int:
        number = checks.number(lease_id, store.lease_not_found(lease_id))
        lease = await self.db.read(lambda: store.get(number))
        if lease is None:
            raise store.lease_not_found(lease_id)
        if not checks.may_act_for(caller, lease.agent_id):
            raise errors.permission_denied(
                f"only the holder {lease.agent_id}, one of its ancestors or the operator may {action} "
                f"lease {number}; the caller is {caller.describe()!r}",
                leaseId=str(number),
                holder=lease.agent_id,
            )
        return number

    async def renew(self, caller: Caller, lease_id: str, ttl_seconds: int = 0) -> LeaseRow:
        ttl = self._ttl(ttl_seconds)
        number = await self._held(caller, lease_id, "renew")
        lease = await self.db.write(lambda: store.renew(number, ttl, self._now()))
        self.index.put(lease)
        return lease

    async def release(self, caller: Caller, lease_id: str) -> LeaseRow:
        number = await self._held(caller, lease_id, "release")
        lease, _ = await self.db.write(lambda: store.release(number, self._now()))
        self.index.drop(lease.lease_id)
        return lease

    async def release_retired(self, agent_ids: list[str]) -> None:
        """The registry's retire listener: a retired agent holds nothing."""
        if not self.index.held_by(agent_ids):
            return
        released = await self.db.write(lambda: store.release_held_by(agent_ids, self._now()))
        self.index.drop_all(released)

    async def sweep(self) -> list[int]:
        """Record every lease whose time ran out as expired (they already stopped counting)."""
        expired = await self.db.write(lambda: store.expire_due(self._now()))
        self.index.drop_all(expired)
        return expired

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, unused_caller: Caller, lease_id: str) -> LeaseRow:
        number = checks.number(lease_id, store.lease_not_found(lease_id))
        lease = await self.db.read(lambda: store.get(number))
        if lease is None:
            raise store.lease_not_found(lease_id)
        return lease

    async def list_leases(
        self, unused_caller: Caller, where: LeaseFilter, path: str, page_size: int, page_token: str
    ) -> LeasePage:
        size = checks.page_size(page_size)
        after = checks.page_after(page_token, "lease")
        pattern = PathPattern.of(lease_paths.normalize(path)) if path else None
        now = self._now()
        page: list[LeaseRow] = []
        # With a path filter, fetch past non-overlapping leases until the page is full.
        while len(page) <= size:
            batch = await self.db.read(functools.partial(store.list_leases, where, after, size + 1, now))
            page += [
                lease for lease in batch if pattern is None or pattern.overlaps(PathPattern.of(lease.path))
            ]
            if len(batch) <= size:
                break
            after = batch[-1].lease_id
        more = len(page) > size
        page = page[:size]
        return LeasePage(page, checks.page_token("lease", page[-1].lease_id) if more else "")
