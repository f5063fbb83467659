"""The knowledge graph's store: entities and typed edges, written inside the caller's transaction.

Writers are plain functions that run on the writer thread inside whatever unit of work calls them,
so a record and its graph entities commit together (the knowledge area does this) or a projector
writes them in batches (`envoy_grpc.core.graph_projector` does this for sessions and messages). They
use plain SQL on the transaction's cursor: they are on the hot path of every record.

    eid = upsert_entity("File", "src/app.py", "envoy", file_path="src/app.py", data={...}, now=now)
    eid, created = insert_entity("ToolCall", "<sid>:Read:3", "envoy", data={...}, now=now)
    edge_id, created = add_edge(session_eid, eid, "modified", now=now)   # fresh=True: insert first
    entity_ids_for("Session", "5f0c2a9e-…", "envoy") -> [eid]            # project None: any project
    delete_entities([eid, ...]) -> (entities deleted, edges deleted)

An entity is found by `(kind, name, project)` (project '' for shared things: see
`envoy_grpc.core.graph_projection.scope`); upserting it again merges `data` (RFC 7396: a null value
removes a key) and keeps `updated_at` unless something changed. An edge is found by
`(from_id, label, to_id)`; adding it again returns the existing one; its label must be one of
`KNOWN_LABELS`. Readers (reader threads) are below; the walks are in `envoy_grpc.store.graph_walk`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from envoy_grpc import errors
from envoy_grpc.store.models import database_proxy

# The lowercase labels of graph.proto (envoy-api.md §4.3 and the newer atheneum ones). Anything else
# is refused: uppercase code-index labels such as CALLS belong to CodeService.
KNOWN_LABELS: frozenset[str] = frozenset(
    [
        "performed_by",
        "assigned_to",
        "called",
        "calls",
        "accessed",
        "modified",
        "verified_by",
        "caused_by",
        "created",
        "related_to",
        "mentions",
        "wikilink",
        "implements",
        "depends_on",
        "tested_by",
        "fixed_by",
        "regressed_by",
        "observed_in",
        "belongs_to_project",
        "similar_failure",
        "requires_skill",
        "handled_by_tool",
        "explains",
        "derived_from",
        "led_to",
        "superseded_by",
        "consolidated_from",
    ]
)
CHUNK = 500
ENTITY_COLUMNS = "id, kind, name, project, file_path, data_json, created_at, updated_at"
EDGE_COLUMNS = "id, from_id, to_id, label, data_json, created_at"


def cursor() -> Any:
    """A cursor on this thread's connection (the writer's transaction, or a reader's)."""
    return database_proxy.cursor()


# One encoder for every call: `json.dumps` with options builds a new JSONEncoder each time.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    return _COMPACT.encode(value)


def id_list(ids: Iterable[int]) -> str:
    """A list of IDs as one JSON parameter, read in SQL with `json_each` (no limit on its length)."""
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


@dataclass(frozen=True)
class EntityRow:
    id: int
    kind: str
    name: str
    project: str  # '' for entities shared by every project
    file_path: str | None
    data_json: str
    created_at: float
    updated_at: float

    @property
    def data(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.data_json)
        return parsed


@dataclass(frozen=True)
class EdgeRow:
    id: int
    from_id: int
    to_id: int
    label: str
    data_json: str
    created_at: float

    @property
    def data(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.data_json)
        return parsed


@dataclass(frozen=True)
class GraphStats:
    total_entities: int
    total_edges: int
    # (kind, count) and (label, count), largest count first, then by name.
    entity_counts: list[tuple[str, int]]
    edge_counts: list[tuple[str, int]]


# -- errors ------------------------------------------------------------------------------------


def unknown_label(label: str, field_path: str = "edge_type") -> errors.EnvoyError:
    return errors.invalid_argument(
        field_path,
        f"{label!r} is not a knowledge-graph label; use one of {', '.join(sorted(KNOWN_LABELS))}",
        reason="UNKNOWN_EDGE_TYPE",
    )


def check_label(label: str, field_path: str = "edge_type") -> str:
    if label not in KNOWN_LABELS:
        raise unknown_label(label, field_path)
    return label


def entity_not_found(entity_id: int, field_path: str = "entity_id") -> errors.EnvoyError:
    return errors.not_found(
        "ENTITY_NOT_FOUND",
        f"no graph entity with ID {entity_id} ({field_path})",
        entityId=str(entity_id),
        field=field_path,
    )


def edge_not_found(edge_id: int) -> errors.EnvoyError:
    return errors.not_found(
        "EDGE_NOT_FOUND", f"no graph edge with ID {edge_id} (edge_id)", edgeId=str(edge_id), field="edge_id"
    )


# -- writers (writer thread, inside the caller's transaction) ----------------------------------

# Look first, then write: an `INSERT ... ON CONFLICT` that finds its row still takes a new ID from the
# AUTOINCREMENT sequence, so every repeat would leave a gap (and a write) behind. The writer thread is
# the only writer, so nothing can come between the look-up and the insert.
_ENTITY_KEY = "SELECT id FROM graph_entity WHERE kind = ? AND name = ? AND project = ?"
_INSERT_ENTITY = (
    "INSERT INTO graph_entity (kind, name, project, file_path, data_json, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, json_patch('{}', ?), ?, ?)"
)
# `data` is a JSON merge patch (RFC 7396); the row is written only when the path or the data change.
_MERGE_ENTITY = (
    "UPDATE graph_entity SET file_path = COALESCE(?1, file_path), data_json = json_patch(data_json, ?2), "
    "updated_at = MAX(updated_at, ?3) WHERE id = ?4 "
    "AND (COALESCE(?1, file_path) IS NOT file_path OR json_patch(data_json, ?2) IS NOT data_json)"
)


_COUNT = (
    "INSERT INTO graph_count (scope, key, n) VALUES (?, ?, ?) "
    "ON CONFLICT (scope, key) DO UPDATE SET n = n + excluded.n"
)


def count_inserted(scope: str, key: str, n: int) -> None:
    """Add `n` new entities of kind `key` (scope 'kind') or edges with label `key` (scope 'label')
    to the running counts. Every insert into graph_entity or graph_edge calls this (migration 9)."""
    if n > 0:
        cursor().execute(_COUNT, (scope, key, n))


def upsert_entity(
    kind: str,
    name: str,
    project: str = "",
    file_path: str | None = None,
    data: dict[str, Any] | None = None,
    *,
    now: float,
) -> int:
    """The ID of the entity `(kind, name, project)`, created if missing; `data` is merged into it."""
    if not kind or not name:
        raise errors.invalid_argument(
            "kind" if not kind else "name", "a graph entity needs a kind and a name"
        )
    cur = cursor()
    patch = dumps(data) if data else "{}"
    row = cur.execute(_ENTITY_KEY, (kind, name, project)).fetchone()
    if row is None:
        cur.execute(_INSERT_ENTITY, (kind, name, project, file_path, patch, now, now))
        count_inserted("kind", kind, 1)
        return int(cur.lastrowid)
    if data or file_path is not None:
        cur.execute(_MERGE_ENTITY, (file_path, patch, now, row[0]))
    return int(row[0])


_INSERT_NEW_ENTITY = (
    "INSERT INTO graph_entity (kind, name, project, file_path, data_json, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, json_patch('{}', ?), ?, ?) ON CONFLICT (kind, name, project) DO NOTHING RETURNING id"
)


def insert_entity(
    kind: str,
    name: str,
    project: str = "",
    file_path: str | None = None,
    data: dict[str, Any] | None = None,
    *,
    now: float,
) -> tuple[int, bool]:
    """For an entity that is new nearly every time (one per record): (its ID, whether it was
    created), in one statement when it is new. An existing one is returned unchanged (and, as with
    any INSERT that finds its row, one number of the ID sequence goes unused)."""
    cur = cursor()
    patch = dumps(data) if data else "{}"
    row = cur.execute(_INSERT_NEW_ENTITY, (kind, name, project, file_path, patch, now, now)).fetchone()
    if row is not None:
        count_inserted("kind", kind, 1)
        return int(row[0]), True
    return int(cur.execute(_ENTITY_KEY, (kind, name, project)).fetchone()[0]), False


def newest_entity_id() -> int:
    """The highest entity ID so far: every entity created later has a higher one."""
    return int(cursor().execute("SELECT MAX(id) FROM graph_entity").fetchone()[0] or 0)


_EDGE_KEY = "SELECT id FROM graph_edge WHERE from_id = ? AND label = ? AND to_id = ?"
_INSERT_EDGE = "INSERT INTO graph_edge (from_id, to_id, label, data_json, created_at) VALUES (?, ?, ?, ?, ?)"


def add_edge(
    from_id: int,
    to_id: int,
    label: str,
    data: dict[str, Any] | None = None,
    *,
    now: float,
    fresh: bool = False,
) -> tuple[int, bool]:
    """The edge `from_id -label-> to_id`: (its ID, whether this call created it). An existing edge
    is returned as it is (its data is not changed). `fresh` says the edge is almost surely new (one
    of its ends was just created): it is then inserted without looking first."""
    check_label(label)
    cur = cursor()
    if not fresh:
        row = cur.execute(_EDGE_KEY, (from_id, label, to_id)).fetchone()
        if row is not None:
            return int(row[0]), False
    data_json = dumps({k: v for k, v in data.items() if v is not None}) if data else "{}"
    try:
        cur.execute(
            _INSERT_EDGE + (" ON CONFLICT DO NOTHING" if fresh else ""),
            (from_id, to_id, label, data_json, now),
        )
    except sqlite3.IntegrityError:  # a foreign key: one of the ends does not exist
        missing = to_id if get_entity(from_id) is not None else from_id
        raise entity_not_found(missing, "to_id" if missing == to_id else "from_id") from None
    if cur.rowcount == 0:  # `fresh`, but it existed
        return int(cur.execute(_EDGE_KEY, (from_id, label, to_id)).fetchone()[0]), False
    edge_id = int(cur.lastrowid)
    count_inserted("label", label, 1)
    return edge_id, True


def delete_entities(ids: Iterable[int]) -> tuple[int, int]:
    """Delete these entities and every edge that touches them; returns (entities, edges) deleted."""
    wanted = sorted(set(ids))
    cur = cursor()
    entities = edges = 0
    for start in range(0, len(wanted), CHUNK):
        chunk = id_list(wanted[start : start + CHUNK])
        for column in ("from_id", "to_id"):
            cur.execute(
                f"DELETE FROM graph_edge WHERE {column} IN (SELECT value FROM json_each(?))", (chunk,)
            )
            edges += max(cur.rowcount, 0)
        cur.execute("DELETE FROM graph_entity WHERE id IN (SELECT value FROM json_each(?))", (chunk,))
        entities += max(cur.rowcount, 0)
    return entities, edges


def entity_ids_for(kind: str, name: str, project: str | None = None) -> list[int]:
    """The IDs of the entities of this kind and name: in `project`, or in any project if None."""
    if project is not None:
        rows = cursor().execute(_ENTITY_KEY, (kind, name, project)).fetchall()
    else:
        rows = cursor().execute(
            "SELECT id FROM graph_entity WHERE kind = ? AND name = ? ORDER BY id", (kind, name)
        )
    return [int(row[0]) for row in rows]


# -- readers -----------------------------------------------------------------------------------


def get_entity(entity_id: int) -> EntityRow | None:
    row = cursor().execute(f"SELECT {ENTITY_COLUMNS} FROM graph_entity WHERE id = ?", (entity_id,)).fetchone()
    return EntityRow(*row) if row else None


def get_edge(edge_id: int) -> EdgeRow | None:
    row = cursor().execute(f"SELECT {EDGE_COLUMNS} FROM graph_edge WHERE id = ?", (edge_id,)).fetchone()
    return EdgeRow(*row) if row else None


def entities_by_id(ids: Iterable[int]) -> dict[int, EntityRow]:
    wanted = sorted(set(ids))
    found: dict[int, EntityRow] = {}
    sql = f"SELECT {ENTITY_COLUMNS} FROM graph_entity WHERE id IN (SELECT value FROM json_each(?))"
    for start in range(0, len(wanted), CHUNK):
        for row in cursor().execute(sql, (id_list(wanted[start : start + CHUNK]),)):
            found[int(row[0])] = EntityRow(*row)
    return found


def edges_by_id(ids: Iterable[int]) -> list[EdgeRow]:
    """These edges in ID order (those that exist)."""
    wanted = sorted(set(ids))
    found: list[EdgeRow] = []
    sql = f"SELECT {EDGE_COLUMNS} FROM graph_edge WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id"
    for start in range(0, len(wanted), CHUNK):
        found += [EdgeRow(*row) for row in cursor().execute(sql, (id_list(wanted[start : start + CHUNK]),))]
    return found


def incident_edges(entity_id: int, outgoing: bool, label: str, after_id: int, limit: int) -> list[EdgeRow]:
    """One entity's outgoing (or incoming) edges with IDs above `after_id`, in ID order."""
    column = "from_id" if outgoing else "to_id"
    index = "graph_edge_out" if outgoing else "graph_edge_in"
    label_test = " AND label = ?" if label else ""
    params: tuple[Any, ...] = (entity_id, label, after_id, limit) if label else (entity_id, after_id, limit)
    sql = (
        f"SELECT {EDGE_COLUMNS} FROM graph_edge INDEXED BY {index} WHERE {column} = ?{label_test} AND id > ? "
        "ORDER BY id LIMIT ?"
    )
    return [EdgeRow(*row) for row in cursor().execute(sql, params)]


def stats() -> GraphStats:
    rows = cursor().execute("SELECT scope, key, n FROM graph_count WHERE n > 0").fetchall()
    kinds = sorted(
        ((key, int(n)) for scope, key, n in rows if scope == "kind"), key=lambda kn: (-kn[1], kn[0])
    )
    labels = sorted(
        ((key, int(n)) for scope, key, n in rows if scope == "label"), key=lambda kn: (-kn[1], kn[0])
    )
    return GraphStats(sum(n for _, n in kinds), sum(n for _, n in labels), kinds, labels)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_prefix_matches(prefix: str, k: int, project: str = "") -> list[int]:
    """Up to `k` entities whose name starts with `prefix` (case-insensitive), in name order.

    The stand-in for full-text search in Navigate: an indexed `LIKE 'prefix%'` (wildcards in the
    prefix are escaped, so they match themselves)."""
    pattern = escape_like(prefix) + "%"
    sql = "SELECT id FROM graph_entity WHERE name LIKE ? ESCAPE '\\'"
    params: tuple[Any, ...] = (pattern,)
    if project:
        sql += " AND project = ?"
        params += (project,)
    sql += " ORDER BY name COLLATE NOCASE, id LIMIT ?"
    return [int(row[0]) for row in cursor().execute(sql, (*params, k))]
