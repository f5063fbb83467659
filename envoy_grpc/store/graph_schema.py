"""Schema of the knowledge graph (migration 4): entities, typed edges and their running counts.

One entity per thing: `(kind, name, project)` is unique (`project` is '' for things shared by every
project, such as agents). One edge per relation: `(from_id, label, to_id)` is unique, so recording a
relation twice adds nothing. That unique index is also the outgoing adjacency index, and
`graph_edge_in` the incoming one; both end in the other endpoint, so a walk reads only the index
(every SQLite index also holds the rowid, the edge's ID). `graph_entity_name` (case-insensitive) serves
name look-ups and the prefix search Navigate falls back on.

`graph_count` holds the number of entities of each kind and of edges with each label, kept in the
same transaction as every insert and delete, so GetGraphStats reads a few rows instead of counting a
million. Migration 4 kept it with triggers; since migration 9 the store's insert functions count
what each statement inserted (a trigger per row was a third of the cost of projecting a message),
and deletes are still counted by triggers. The triggers and `json_patch` are SQLite's: this module,
`envoy_grpc.store.graph` and `envoy_grpc.store.graph_messages` are the seam a PostgreSQL port
rewrites.

Frozen SQL, never the live code, as every migration (see `envoy_grpc.store.migrations`).
"""

from __future__ import annotations

import peewee

_V4_STATEMENTS = (
    """
    CREATE TABLE graph_entity (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        project TEXT NOT NULL DEFAULT '',
        file_path TEXT,
        data_json TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX graph_entity_key ON graph_entity (kind, name, project)",
    "CREATE INDEX graph_entity_name ON graph_entity (name COLLATE NOCASE)",
    """
    CREATE TABLE graph_edge (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        from_id INTEGER NOT NULL REFERENCES graph_entity (id) ON DELETE CASCADE,
        to_id INTEGER NOT NULL REFERENCES graph_entity (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        data_json TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX graph_edge_out ON graph_edge (from_id, label, to_id)",
    "CREATE INDEX graph_edge_in ON graph_edge (to_id, label, from_id)",
    """
    CREATE TABLE graph_count (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        n INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (scope, key)
    ) WITHOUT ROWID
    """,
    """
    CREATE TRIGGER graph_entity_counted AFTER INSERT ON graph_entity BEGIN
        INSERT INTO graph_count (scope, key, n) VALUES ('kind', NEW.kind, 1)
        ON CONFLICT (scope, key) DO UPDATE SET n = n + 1;
    END
    """,
    """
    CREATE TRIGGER graph_entity_uncounted AFTER DELETE ON graph_entity BEGIN
        UPDATE graph_count SET n = n - 1 WHERE scope = 'kind' AND key = OLD.kind;
    END
    """,
    """
    CREATE TRIGGER graph_edge_counted AFTER INSERT ON graph_edge BEGIN
        INSERT INTO graph_count (scope, key, n) VALUES ('label', NEW.label, 1)
        ON CONFLICT (scope, key) DO UPDATE SET n = n + 1;
    END
    """,
    """
    CREATE TRIGGER graph_edge_uncounted AFTER DELETE ON graph_edge BEGIN
        UPDATE graph_count SET n = n - 1 WHERE scope = 'label' AND key = OLD.label;
    END
    """,
)


def _v4_graph(db: peewee.SqliteDatabase) -> None:
    for statement in _V4_STATEMENTS:
        db.execute_sql(statement)


def _v9_graph_counts(db: peewee.SqliteDatabase) -> None:
    """Inserts are counted by the store's insert functions, once per statement, instead of by a
    trigger per row: a trigger was about a third of the SQLite work of projecting a message (three
    rows). Deletes stay counted by their triggers."""
    db.execute_sql("DROP TRIGGER graph_entity_counted")
    db.execute_sql("DROP TRIGGER graph_edge_counted")
