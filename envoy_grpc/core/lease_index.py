"""The active leases in memory, by project, so CheckPath never runs SQL.

Loaded at start-up and changed only after the store has committed, like the agent directory: the
index is a view for fast answers, the store is the authority (it re-checks conflicts itself). Exact
paths sit in a dict per project; globs in a list, each with its compiled pattern and literal prefix,
so a check costs one dict lookup plus one cheap test per glob of the project.
"""

from __future__ import annotations

from collections.abc import Iterable

from envoy_grpc.core import lease_rules
from envoy_grpc.core.lease_paths import PathPattern
from envoy_grpc.store.coordination_types import LeaseRow


class _Project:
    def __init__(self) -> None:
        self.by_path: dict[str, dict[int, LeaseRow]] = {}
        self.globs: dict[int, tuple[LeaseRow, PathPattern]] = {}

    def __bool__(self) -> bool:
        return bool(self.globs or self.by_path)


class LeaseIndex:
    def __init__(self) -> None:
        self._projects: dict[str, _Project] = {}
        self._where: dict[int, tuple[str, str]] = {}  # lease ID -> (project, path)

    def __len__(self) -> int:
        return len(self._where)

    def put(self, lease: LeaseRow) -> None:
        """Add or replace a lease; an ended one is removed instead."""
        self.drop(lease.lease_id)
        if lease.end_state is not None:
            return
        project = self._projects.setdefault(lease.project, _Project())
        pattern = PathPattern.of(lease.path)
        if pattern.glob:
            project.globs[lease.lease_id] = (lease, pattern)
        else:
            project.by_path.setdefault(lease.path, {})[lease.lease_id] = lease
        self._where[lease.lease_id] = (lease.project, lease.path)

    def drop(self, lease_id: int) -> None:
        where = self._where.pop(lease_id, None)
        if where is None:
            return
        name, path = where
        project = self._projects[name]
        if project.globs.pop(lease_id, None) is None:
            leases = project.by_path[path]
            del leases[lease_id]
            if not leases:
                del project.by_path[path]
        if not project:
            del self._projects[name]

    def drop_all(self, lease_ids: Iterable[int]) -> None:
        for lease_id in lease_ids:
            self.drop(lease_id)

    def held_by(self, agent_ids: Iterable[str]) -> list[int]:
        wanted = set(agent_ids)
        found = []
        for project in self._projects.values():
            found += [lease.lease_id for lease, _ in project.globs.values() if lease.agent_id in wanted]
            for leases in project.by_path.values():
                found += [lease.lease_id for lease in leases.values() if lease.agent_id in wanted]
        return found

    def overlapping(
        self, project: str, pattern: PathPattern, agent_id: str | None, now: float
    ) -> list[LeaseRow]:
        """Active leases of other agents in `project` that overlap `pattern`, exclusive ones first."""
        leases = self._projects.get(project)
        if leases is None:
            return []
        if pattern.glob:  # rare (a glob being checked): compare with everything
            candidates = [
                (lease, PathPattern.of(lease.path)) for ls in leases.by_path.values() for lease in ls.values()
            ]
            return lease_rules.overlapping(pattern, [*candidates, *leases.globs.values()], agent_id, now)
        found = [
            lease
            for lease in leases.by_path.get(pattern.path, {}).values()
            if lease.agent_id != agent_id and lease.active(now)
        ]
        path = pattern.path
        found += [
            lease
            for lease, glob in leases.globs.values()
            if path.startswith(glob.prefix)
            and lease.agent_id != agent_id
            and lease.active(now)
            and glob.match(path)
        ]
        return lease_rules.ordered(found)
