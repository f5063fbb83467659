"""Repository functions for memories: notes kept under a key within a scope and its owner.

The upsert key is (scope, owner, key), with owner the project (project scope), the agent label
(agent scope) or "" (user scope). Replacing a memory keeps its ID and `created_at`; each write
re-indexes the memory for search and re-links it in the graph in the same transaction.
"""

from __future__ import annotations

from dataclasses import astuple, replace
from typing import Any

from envoy_grpc import errors
from envoy_grpc.store import knowledge_graph as graph
from envoy_grpc.store import knowledge_index as search_index
from envoy_grpc.store.knowledge_types import MemoryFilter, MemoryRow, MemoryUpserted, NewMemory
from envoy_grpc.store.models import database_proxy

MEMORY_COLUMNS = (
    "id, scope, owner, key, content, confidence, target, provenance_agent, provenance_session_id, "
    "provenance_tool_use_id, created_at, updated_at"
)

_UPSERT = (
    "INSERT INTO memory (id, scope, owner, key, content, confidence, target, provenance_agent, "
    "provenance_session_id, provenance_tool_use_id, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (scope, owner, key) DO UPDATE SET content = excluded.content, confidence = excluded.confidence, "
    "target = excluded.target, provenance_agent = excluded.provenance_agent, "
    "provenance_session_id = excluded.provenance_session_id, "
    "provenance_tool_use_id = excluded.provenance_tool_use_id, updated_at = excluded.updated_at "
)


def cursor() -> Any:
    return database_proxy.cursor()


def memory_from(row: tuple[Any, ...]) -> MemoryRow:
    return MemoryRow(*row)


def memory_not_found(description: str, **metadata: str) -> errors.EnvoyError:
    return errors.not_found(
        "MEMORY_NOT_FOUND",
        f"no memory {description}; list them with GET /atheneum/memories",
        **metadata,
    )


def upsert_memory(new: NewMemory, now: float) -> MemoryUpserted:
    """Create the memory, or replace the one with the same scope, owner and key (keeping its ID and
    `created_at`), with its entity, edges and search document."""
    existing = find_memory(new.scope, new.owner, new.key)
    created_at = existing.created_at if existing else now
    memory = MemoryRow(
        existing.memory_id if existing else 0,
        new.scope,
        new.owner,
        new.key,
        new.content,
        new.confidence,
        new.target,
        new.provenance_agent,
        new.provenance_session_id,
        new.provenance_tool_use_id,
        created_at,
        now,
    )
    memory = replace(memory, memory_id=graph.memory_entity(memory, now))
    cursor().execute(_UPSERT, astuple(memory))
    search_index.index("Memory", memory.memory_id, memory.project, now, search_index.memory_text(memory))
    graph.link_memory(memory, now)
    return MemoryUpserted(memory, existing is None)


def get_memory(memory_id: int) -> MemoryRow | None:
    row = cursor().execute(f"SELECT {MEMORY_COLUMNS} FROM memory WHERE id = ?", (memory_id,)).fetchone()
    return memory_from(tuple(row)) if row else None


def find_memory(scope: str, owner: str, key: str) -> MemoryRow | None:
    row = (
        cursor()
        .execute(
            f"SELECT {MEMORY_COLUMNS} FROM memory WHERE scope = ? AND owner = ? AND key = ?",
            (scope, owner, key),
        )
        .fetchone()
    )
    return memory_from(tuple(row)) if row else None


def delete_memories(memory_ids: list[int]) -> int:
    """Delete memories with their search documents and graph entities; returns how many existed."""
    cur = cursor()
    deleted = [m for m in memory_ids if cur.execute("DELETE FROM memory WHERE id = ?", (m,)).rowcount]
    search_index.forget("Memory", deleted)
    graph.unlink(deleted)
    return len(deleted)


def _memory_where(where: MemoryFilter) -> tuple[list[str], list[Any]]:
    clauses, params = [], []
    if where.scope:
        clauses.append("scope = ?")
        params.append(where.scope)
    owner = where.owner_project or where.owner_agent
    if where.owner_project and where.owner_agent:
        clauses.append("0")  # a memory has one owner: a project and an agent together match nothing
    elif owner:
        clauses += ["scope = ?", "owner = ?"]
        params += ["project" if where.owner_project else "agent", owner]
    for column, value in (("key", where.key), ("target", where.target)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    return clauses, params


def list_memories(where: MemoryFilter, after: tuple[float, int] | None, limit: int) -> list[MemoryRow]:
    """Most recently updated first, ties by ID (descending), after the keyset position `after`."""
    clauses, params = _memory_where(where)
    if after is not None:
        clauses.append("(updated_at < ? OR (updated_at = ? AND id < ?))")
        params += [after[0], after[0], after[1]]
    sql = f"SELECT {MEMORY_COLUMNS} FROM memory"
    sql += f" WHERE {' AND '.join(clauses)}" if clauses else ""
    sql += " ORDER BY updated_at DESC, id DESC LIMIT ?"
    return [memory_from(tuple(r)) for r in cursor().execute(sql, (*params, limit)).fetchall()]


def project_memories(project: str, limit: int) -> list[MemoryRow]:
    """A project's project-scope memories, highest confidence first, then most recently updated."""
    sql = (
        f"SELECT {MEMORY_COLUMNS} FROM memory WHERE scope = 'project' AND owner = ? "
        "ORDER BY confidence DESC, updated_at DESC, id DESC LIMIT ?"
    )
    return [memory_from(tuple(r)) for r in cursor().execute(sql, (project, limit)).fetchall()]


def memories_by_id(ids: list[int]) -> dict[int, MemoryRow]:
    cur = cursor()
    sql = f"SELECT {MEMORY_COLUMNS} FROM memory WHERE id = ?"
    found = (cur.execute(sql, (i,)).fetchone() for i in ids)
    return {int(r[0]): memory_from(tuple(r)) for r in found if r is not None}
