"""Repository functions for dependencies between agents. Writers run on the writer thread."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import grpc

from envoy_grpc import errors
from envoy_grpc.store.coordination_types import DependencyRow
from envoy_grpc.store.models import database_proxy

COLUMNS = "id, dependent_agent, blocker_agent, reason, created_at, resolved_at"


def cursor() -> Any:
    return database_proxy.cursor()


def dependency_not_found(dependency_id: int | str) -> errors.EnvoyError:
    return errors.not_found(
        "DEPENDENCY_NOT_FOUND",
        f"no dependency with ID {str(dependency_id)!r} (dependency_id)",
        dependencyId=str(dependency_id),
    )


def get(dependency_id: int) -> DependencyRow | None:
    found = cursor().execute(f"SELECT {COLUMNS} FROM dependency WHERE id = ?", (dependency_id,)).fetchone()
    return DependencyRow(*found) if found is not None else None


def create(dependent: str, blocker: str, reason: str, now: float) -> DependencyRow:
    """Record a dependency; ALREADY_EXISTS (DUPLICATE_DEPENDENCY) if the pair has an unresolved one."""
    cur = cursor()
    open_one = cur.execute(
        "SELECT id FROM dependency WHERE dependent_agent = ? AND blocker_agent = ? AND resolved_at IS NULL",
        (dependent, blocker),
    ).fetchone()
    if open_one is not None:
        raise errors.EnvoyError(
            grpc.StatusCode.ALREADY_EXISTS,
            "DUPLICATE_DEPENDENCY",
            f"{dependent} already waits for {blocker} (dependency {open_one[0]}); resolve it before "
            "recording another",
            metadata={"dependencyId": str(open_one[0]), "dependentAgent": dependent, "blockerAgent": blocker},
        )
    found = cur.execute(
        f"INSERT INTO dependency (dependent_agent, blocker_agent, reason, created_at) VALUES (?, ?, ?, ?) "
        f"RETURNING {COLUMNS}",
        (dependent, blocker, reason, now),
    ).fetchone()
    return DependencyRow(*found)


def resolve(dependency_id: int, now: float) -> tuple[DependencyRow, bool]:
    """Mark resolved; (dependency, whether this call resolved it)."""
    dependency = get(dependency_id)
    if dependency is None:
        raise dependency_not_found(dependency_id)
    if dependency.resolved:
        return dependency, False
    cursor().execute("UPDATE dependency SET resolved_at = ? WHERE id = ?", (now, dependency_id))
    return replace(dependency, resolved_at=now), True


def unresolved(column: str, agent_id: str) -> list[DependencyRow]:
    """Unresolved dependencies whose `column` (`blocker_agent` or `dependent_agent`) is the agent."""
    assert column in ("blocker_agent", "dependent_agent")
    sql = f"SELECT {COLUMNS} FROM dependency WHERE {column} = ? AND resolved_at IS NULL ORDER BY id"
    return [DependencyRow(*r) for r in cursor().execute(sql, (agent_id,)).fetchall()]
