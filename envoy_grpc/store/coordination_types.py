"""Rows of the coordination tables (leases, tasks, task events, dependencies) as plain dataclasses.

Times are float seconds since the epoch; IDs are the tables' integer keys (the API prints them as
decimal strings).
"""

from __future__ import annotations

from dataclasses import dataclass

LEASE_MODES = ("exclusive", "shared")
TASK_STATES = ("proposed", "claimed", "in_progress", "waiting_review", "done")
HELD_STATES = ("claimed", "in_progress")


@dataclass(frozen=True)
class LeaseRow:
    lease_id: int
    project: str
    path: str
    agent_id: str
    mode: str
    reason: str
    created_at: float
    expires_at: float
    renewed_at: float | None
    ended_at: float | None
    end_state: str | None

    def state(self, now: float) -> str:
        """`active`, `released` or `expired`; a lease past its expiry is expired before the sweep sees it."""
        if self.end_state is not None:
            return self.end_state
        return "active" if self.expires_at > now else "expired"

    def active(self, now: float) -> bool:
        return self.end_state is None and self.expires_at > now


@dataclass(frozen=True)
class NewLease:
    project: str
    path: str
    agent_id: str
    mode: str
    reason: str
    ttl: float


@dataclass(frozen=True)
class LeaseFilter:
    project: str = ""
    agent_id: str = ""
    include_ended: bool = False


@dataclass(frozen=True)
class TaskRow:
    task_id: int
    project: str
    title: str
    description: str
    state: str
    claimed_by: str | None
    claimed_at: float | None
    checkpoint: str | None
    proposed_by: str
    created_at: float
    updated_at: float
    blocked_by: tuple[int, ...] = ()


@dataclass(frozen=True)
class TaskEventRow:
    event_id: int
    task_id: int
    event: str
    from_state: str | None
    to_state: str
    agent_id: str
    checkpoint: str | None
    created_at: float


@dataclass(frozen=True)
class DependencyRow:
    dependency_id: int
    dependent_agent: str
    blocker_agent: str
    reason: str
    created_at: float
    resolved_at: float | None

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None
