"""Which leases clash, and how a clash is told to the agent that ran into it.

Pure functions: the store applies them inside the write transaction (the authority), the in-memory
index applies them to answer CheckPath without SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import grpc

from envoy_grpc import errors
from envoy_grpc.core.lease_paths import PathPattern
from envoy_grpc.store.coordination_types import LeaseRow


def modes_clash(wanted: str, held: str) -> bool:
    """Shared leases coexist; anything involving an exclusive lease does not."""
    return wanted == "exclusive" or held == "exclusive"


def ordered(conflicts: Iterable[LeaseRow]) -> list[LeaseRow]:
    """Exclusive leases first (they are the ones that refuse an edit), then oldest first."""
    return sorted(conflicts, key=lambda lease: (lease.mode != "exclusive", lease.lease_id))


def overlapping(
    pattern: PathPattern, leases: Iterable[tuple[LeaseRow, PathPattern]], agent_id: str | None, now: float
) -> list[LeaseRow]:
    """The active leases of agents other than `agent_id` that overlap `pattern`."""
    return ordered(
        lease
        for lease, other in leases
        if lease.agent_id != agent_id and lease.active(now) and pattern.overlaps(other)
    )


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def describe(lease: LeaseRow, path: str) -> str:
    """One sentence naming who holds what, why, and until when."""
    covered = "" if lease.path == path else f" (lease {lease.path!r})"
    because = f": {lease.reason}" if lease.reason else " (no reason given)"
    return (
        f"{path!r} in project {lease.project!r} is leased {lease.mode} by {lease.agent_id}{covered}, "
        f"lease {lease.lease_id}, until {rfc3339(lease.expires_at)}{because}"
    )


def conflict_error(path: str, conflicts: list[LeaseRow]) -> errors.EnvoyError:
    """ALREADY_EXISTS (HTTP 409): the path is already leased by someone else, and who it is."""
    first = conflicts[0]
    more = f"; {len(conflicts) - 1} more conflicting lease(s)" if len(conflicts) > 1 else ""
    return errors.EnvoyError(
        grpc.StatusCode.ALREADY_EXISTS,
        "LEASE_CONFLICT",
        f"{describe(first, path)}{more}. Ask {first.agent_id} to release it, or wait until it expires",
        metadata={
            "holder": first.agent_id,
            "leaseId": str(first.lease_id),
            "path": first.path,
            "mode": first.mode,
            "leaseReason": first.reason,
            "expiresAt": rfc3339(first.expires_at),
            "project": first.project,
            "conflicts": str(len(conflicts)),
        },
    )
