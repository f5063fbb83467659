"""Repository functions for file leases.

Writers run on the writer thread inside the caller's transaction. Creating a lease checks for
conflicts against the project's active leases read in that same transaction: the single writer makes
the check and the insert one step, whatever the in-memory index says.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from envoy_grpc import errors
from envoy_grpc.core import lease_rules
from envoy_grpc.core.lease_paths import PathPattern
from envoy_grpc.store.coordination_types import LeaseFilter, LeaseRow, NewLease
from envoy_grpc.store.models import database_proxy

COLUMNS = "id, project, path, agent_id, mode, reason, created_at, expires_at, renewed_at, ended_at, end_state"


def cursor() -> Any:
    return database_proxy.cursor()


def _row(values: Sequence[Any]) -> LeaseRow:
    return LeaseRow(*values)


def lease_not_found(lease_id: int | str) -> errors.EnvoyError:
    return errors.not_found(
        "LEASE_NOT_FOUND",
        f"no lease with ID {str(lease_id)!r} (lease_id); list leases with GET /leases?project=",
        leaseId=str(lease_id),
    )


def get(lease_id: int) -> LeaseRow | None:
    found = cursor().execute(f"SELECT {COLUMNS} FROM lease WHERE id = ?", (lease_id,)).fetchone()
    return _row(found) if found is not None else None


def _existing(lease_id: int) -> LeaseRow:
    lease = get(lease_id)
    if lease is None:
        raise lease_not_found(lease_id)
    return lease


def load_active(now: float) -> list[LeaseRow]:
    """Every lease that has not ended and has not expired: what the in-memory index starts from."""
    sql = f"SELECT {COLUMNS} FROM lease WHERE ended_at IS NULL AND expires_at > ?"
    return [_row(r) for r in cursor().execute(sql, (now,)).fetchall()]


def _active_in(project: str, now: float) -> list[LeaseRow]:
    """The project's leases that count: not ended, not expired, held by an agent not retired (its
    leases are released right after the retirement commits; this keeps the gap closed)."""
    columns = ", ".join(f"l.{c.strip()}" for c in COLUMNS.split(","))
    sql = (
        f"SELECT {columns} FROM lease AS l JOIN agent AS a ON a.agent_id = l.agent_id "
        "WHERE l.project = ? AND l.ended_at IS NULL AND l.expires_at > ? AND a.lifecycle = 'active' ORDER BY l.id"
    )
    return [_row(r) for r in cursor().execute(sql, (project, now)).fetchall()]


def create(new: NewLease, now: float) -> tuple[LeaseRow, bool]:
    """Take a lease, or update the holder's own active lease on exactly this path; (lease, is_new).

    Raises LEASE_CONFLICT when an active lease of another agent overlaps with a clashing mode.
    """
    pattern = PathPattern.of(new.path)
    active = _active_in(new.project, now)
    clashing = [
        lease
        for lease in active
        if lease.agent_id != new.agent_id
        and lease_rules.modes_clash(new.mode, lease.mode)
        and pattern.overlaps(PathPattern.of(lease.path))
    ]
    if clashing:
        raise lease_rules.conflict_error(new.path, lease_rules.ordered(clashing))
    expires_at = now + new.ttl
    own = next((lease for lease in active if lease.agent_id == new.agent_id and lease.path == new.path), None)
    cur = cursor()
    if own is not None:
        cur.execute(
            "UPDATE lease SET mode = ?, reason = ?, expires_at = ?, renewed_at = ? WHERE id = ?",
            (new.mode, new.reason, expires_at, now, own.lease_id),
        )
        return _existing(own.lease_id), False
    found = cur.execute(
        "INSERT INTO lease (project, path, agent_id, mode, reason, created_at, expires_at) "
        f"VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}",
        (new.project, new.path, new.agent_id, new.mode, new.reason, now, expires_at),
    ).fetchone()
    return _row(found), True


def _ended(lease: LeaseRow, now: float) -> errors.EnvoyError:
    state = lease.state(now)
    return errors.failed_precondition(
        "LEASE_ENDED",
        f"lease {lease.lease_id} on {lease.path!r} is {state}; take a new lease with POST /leases",
        leaseId=str(lease.lease_id),
        state=state,
    )


def renew(lease_id: int, ttl: float, now: float) -> LeaseRow:
    lease = _existing(lease_id)
    if not lease.active(now):
        raise _ended(lease, now)
    cursor().execute(
        "UPDATE lease SET expires_at = ?, renewed_at = ? WHERE id = ?", (now + ttl, now, lease_id)
    )
    return _existing(lease_id)


def _end(lease_ids: Sequence[int], state: str, now: float) -> None:
    cursor().executemany(
        "UPDATE lease SET ended_at = ?, end_state = ? WHERE id = ? AND ended_at IS NULL",
        [(now, state, lease_id) for lease_id in lease_ids],
    )


def release(lease_id: int, now: float) -> tuple[LeaseRow, bool]:
    """End a lease as released; (lease, whether this call ended it). An ended lease is left as it is."""
    lease = _existing(lease_id)
    if lease.end_state is not None:
        return lease, False
    # A lease past its expiry that the sweep has not reached yet ends as what it is: expired.
    _end([lease_id], "released" if lease.expires_at > now else "expired", now)
    return _existing(lease_id), True


def release_held_by(agent_ids: Sequence[str], now: float) -> list[int]:
    """Release every active lease of these agents (they were retired); return the lease IDs."""
    marks = ", ".join("?" for _ in agent_ids)
    sql = f"SELECT id FROM lease WHERE ended_at IS NULL AND agent_id IN ({marks})"
    lease_ids = [int(r[0]) for r in cursor().execute(sql, tuple(agent_ids)).fetchall()]
    _end(lease_ids, "released", now)
    return lease_ids


def expire_due(now: float) -> list[int]:
    """Record every lease whose time ran out as expired; return their IDs."""
    sql = "SELECT id FROM lease WHERE ended_at IS NULL AND expires_at <= ?"
    lease_ids = [int(r[0]) for r in cursor().execute(sql, (now,)).fetchall()]
    _end(lease_ids, "expired", now)
    return lease_ids


def list_leases(where: LeaseFilter, after_id: int, limit: int, now: float) -> list[LeaseRow]:
    """Leases with IDs above `after_id`, oldest first; active ones only unless `include_ended`."""
    clauses: list[str] = ["id > ?"]
    params: list[Any] = [after_id]
    for column, value in (("project", where.project), ("agent_id", where.agent_id)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if not where.include_ended:
        clauses.append("ended_at IS NULL AND expires_at > ?")
        params.append(now)
    sql = f"SELECT {COLUMNS} FROM lease WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?"
    return [_row(r) for r in cursor().execute(sql, (*params, limit)).fetchall()]


def newest_in_project(project: str, limit: int) -> list[LeaseRow]:
    """The project's most recent leases in any state, newest first."""
    sql = f"SELECT {COLUMNS} FROM lease WHERE project = ? ORDER BY id DESC LIMIT ?"
    return [_row(r) for r in cursor().execute(sql, (project, limit)).fetchall()]
