"""Repository functions for discoveries and handoffs.

Writers run on the writer thread inside the caller's transaction, and each one indexes its record
for search (and links it into the knowledge graph) in that same transaction, so a record is
searchable the moment its write returns. Plain SQL on the transaction's cursor, as the session
store does. Lists are newest first by ID (IDs grow with time) and page with keyset tokens.
"""

from __future__ import annotations

import hashlib
from typing import Any

from envoy_grpc import errors
from envoy_grpc.store import knowledge_graph as graph
from envoy_grpc.store import knowledge_index as search_index
from envoy_grpc.store.knowledge_types import (
    DiscoveryCreated,
    DiscoveryFilter,
    DiscoveryRow,
    HandoffRow,
    NewDiscovery,
    NewHandoff,
    dumps,
)
from envoy_grpc.store.models import database_proxy
from envoy_grpc.store.sessions import session_not_found


def cursor() -> Any:
    return database_proxy.cursor()


def session_exists(session_id: str) -> bool:
    return (
        cursor().execute("SELECT 1 FROM session WHERE session_id = ?", (session_id,)).fetchone() is not None
    )


# -- discoveries -------------------------------------------------------------------------------

DISCOVERY_COLUMNS = (
    "id, name, agent, discovery_type, target, project, session_id, session_linked, metadata_json, created_at"
)
_INSERT_DISCOVERY = (
    "INSERT INTO discovery (id, name, agent, discovery_type, target, project, session_id, session_linked, "
    "metadata_json, data_bytes, content_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def discovery_from(row: tuple[Any, ...]) -> DiscoveryRow:
    values = list(row)
    values[7] = bool(values[7])
    return DiscoveryRow(*values)


def content_hash(new: NewDiscovery, metadata_json: str) -> str:
    """What makes two discoveries identical: agent, type, target, project and metadata."""
    canonical = dumps([new.agent, new.discovery_type, new.target, new.project, metadata_json])
    return hashlib.sha256(canonical.encode()).hexdigest()


def _session_link(new: NewDiscovery) -> tuple[str | None, bool]:
    """The session a discovery names (explicit, else `metadata.session_id`) and whether it is recorded."""
    if new.session_id is not None:
        if not session_exists(new.session_id):
            raise session_not_found(new.session_id)
        return new.session_id, True
    named = new.metadata.get("session_id")
    if isinstance(named, str) and named:
        return named, session_exists(named)
    return None, False


def create_discovery(new: NewDiscovery, now: float) -> DiscoveryCreated:
    """Store a discovery, or return the identical one already stored."""
    session_id, linked = _session_link(new)
    cur = cursor()
    metadata_json = dumps(new.metadata)
    digest = content_hash(new, metadata_json)
    found = cur.execute(
        f"SELECT {DISCOVERY_COLUMNS} FROM discovery WHERE content_hash = ?", (digest,)
    ).fetchone()
    if found is not None:
        return DiscoveryCreated(discovery_from(tuple(found)), False)
    project = new.project or None
    fields = (new.agent, new.discovery_type, new.target, project, session_id, linked, metadata_json, now)
    data = DiscoveryRow(0, "", *fields).data
    taken = cur.execute(
        "SELECT COUNT(*) FROM discovery WHERE target = ? AND agent = ? AND project IS ?",
        (new.target, new.agent, project),
    ).fetchone()[0]
    base = f"{new.agent}: {new.target}"
    entity_id, name = graph.new_entity("Discovery", base, new.project, data, now, int(taken))
    discovery = DiscoveryRow(entity_id, name, *fields)
    cur.execute(
        _INSERT_DISCOVERY,
        (entity_id, name, *fields[:-1], len(dumps(data).encode()), digest, now),
    )
    search_index.index("Discovery", entity_id, project, now, search_index.discovery_text(discovery))
    graph.link_discovery(discovery, now)
    return DiscoveryCreated(discovery, True)


def _discovery_where(where: DiscoveryFilter) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for column, value in (
        ("target", where.target),
        ("project", where.project),
        ("discovery_type", where.discovery_type),
        ("agent", where.agent),
    ):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(clauses), params


def list_discoveries(
    where: DiscoveryFilter, before_id: int | None, limit: int
) -> tuple[list[DiscoveryRow], int]:
    """A page of discoveries (newest first, IDs below `before_id`) and how many match in all."""
    condition, params = _discovery_where(where)
    total_sql = "SELECT COUNT(*) FROM discovery" + (f" WHERE {condition}" if condition else "")
    total = int(cursor().execute(total_sql, params).fetchone()[0])
    if before_id is not None:
        condition = f"{condition} AND id < ?" if condition else "id < ?"
        params = [*params, before_id]
    sql = f"SELECT {DISCOVERY_COLUMNS} FROM discovery"
    sql += f" WHERE {condition}" if condition else ""
    rows = cursor().execute(f"{sql} ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
    return [discovery_from(tuple(r)) for r in rows], total


def discoveries_by_id(ids: list[int]) -> dict[int, DiscoveryRow]:
    cur = cursor()
    sql = f"SELECT {DISCOVERY_COLUMNS} FROM discovery WHERE id = ?"
    found = (cur.execute(sql, (i,)).fetchone() for i in ids)
    return {int(r[0]): discovery_from(tuple(r)) for r in found if r is not None}


# -- handoffs ----------------------------------------------------------------------------------

HANDOFF_COLUMNS = "id, name, from_agent, to_agent, manifest_json, project, session_id, created_at, claimed_at"
MAX_MENTION = 1000  # longer strings are never targets (targets are at most 1,000 characters)


def handoff_from(row: tuple[Any, ...]) -> HandoffRow:
    return HandoffRow(*row)


def string_values(value: Any) -> set[str]:
    """Every string in a JSON value, at any depth (keys excepted)."""
    if isinstance(value, str):
        return {value} if 0 < len(value) <= MAX_MENTION else set()
    if isinstance(value, dict):
        return set().union(*(string_values(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(string_values(v) for v in value))
    return set()


def create_handoff(new: NewHandoff, now: float) -> HandoffRow:
    project = new.project or None
    fields = (new.from_agent, new.to_agent, dumps(new.manifest), project, new.session_id, now, None)
    data = HandoffRow(0, "", *fields).data
    base = f"handoff:{new.from_agent}:{new.to_agent}"
    cur = cursor()
    taken = cur.execute(
        "SELECT COUNT(*) FROM handoff WHERE from_agent = ? AND to_agent = ? AND project IS ?",
        (new.from_agent, new.to_agent, project),
    ).fetchone()[0]
    entity_id, name = graph.new_entity("Handoff", base, new.project, data, now, int(taken))
    handoff = HandoffRow(entity_id, name, *fields)
    cur.execute(
        "INSERT INTO handoff (id, name, from_agent, to_agent, manifest_json, project, session_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (entity_id, name, *fields[:-1]),
    )
    cur.executemany(
        "INSERT INTO handoff_mention (value, handoff_id) VALUES (?, ?)",
        [(value, entity_id) for value in sorted(string_values(new.manifest))],
    )
    search_index.index("Handoff", entity_id, project, now, search_index.handoff_text(handoff))
    graph.link_handoff(handoff, now)
    return handoff


def handoff_not_found(handoff_id: int) -> errors.EnvoyError:
    return errors.not_found(
        "HANDOFF_NOT_FOUND",
        f"no handoff with ID {handoff_id} (handoff_id); list them with GET /atheneum/handoffs/recent",
        handoffId=str(handoff_id),
    )


def claim_handoff(handoff_id: int, now: float) -> HandoffRow:
    """Mark a handoff claimed; a repeat keeps the first `claimed_at`."""
    row = (
        cursor()
        .execute(
            f"UPDATE handoff SET claimed_at = COALESCE(claimed_at, ?) WHERE id = ? RETURNING {HANDOFF_COLUMNS}",
            (now, handoff_id),
        )
        .fetchone()
    )
    if row is None:
        raise handoff_not_found(handoff_id)
    handoff = handoff_from(tuple(row))
    if handoff.claimed_at == now:  # the first claim: the entity shows it too
        graph.update_handoff(handoff, now)
    return handoff


def pending_handoff(to_agent: str, project: str) -> HandoffRow | None:
    """The oldest unclaimed handoff to an agent (of one project, when given)."""
    sql = f"SELECT {HANDOFF_COLUMNS} FROM handoff WHERE to_agent = ? AND claimed_at IS NULL"
    params: list[Any] = [to_agent]
    if project:
        sql += " AND project = ?"
        params.append(project)
    row = cursor().execute(sql + " ORDER BY id LIMIT 1", params).fetchone()
    return handoff_from(tuple(row)) if row else None


def recent_handoffs(project: str, agent: str, limit: int) -> list[HandoffRow]:
    """Newest first, of one project and from or to one agent, when given."""
    base = f"SELECT {HANDOFF_COLUMNS} FROM handoff WHERE "
    extra, params = (" AND project = ?", [project]) if project else ("", [])
    if agent:
        # Two indexed halves rather than an OR, so each side walks its own (agent, id) index.
        sql = (
            f"SELECT * FROM ({base}from_agent = ?{extra} ORDER BY id DESC LIMIT ?) UNION "
            f"SELECT * FROM ({base}to_agent = ?{extra} ORDER BY id DESC LIMIT ?) ORDER BY id DESC LIMIT ?"
        )
        args = [agent, *params, limit, agent, *params, limit, limit]
    elif project:
        sql, args = f"{base}project = ? ORDER BY id DESC LIMIT ?", [project, limit]
    else:
        sql, args = f"SELECT {HANDOFF_COLUMNS} FROM handoff ORDER BY id DESC LIMIT ?", [limit]
    return [handoff_from(tuple(r)) for r in cursor().execute(sql, args).fetchall()]


def handoffs_by_id(ids: list[int]) -> dict[int, HandoffRow]:
    cur = cursor()
    sql = f"SELECT {HANDOFF_COLUMNS} FROM handoff WHERE id = ?"
    found = (cur.execute(sql, (i,)).fetchone() for i in ids)
    return {int(r[0]): handoff_from(tuple(r)) for r in found if r is not None}
