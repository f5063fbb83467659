"""Schema version 5: discoveries, memories, handoffs, what the knowledge reports read, and the search index.

Frozen SQL, as every migration (see `envoy_grpc.store.migrations`). Three record tables, each listed
newest first through an index ending in `id` (IDs grow with time); two derived tables kept by this
area's writers and its indexer (the string values of handoff manifests, and the file reads recorded
by tool calls); and the search index: `knowledge_doc` says what each document is (kind, record,
project, time) and `knowledge_fts`, the SQLite-only part, holds its text under the same rowid.

A record's ID is the ID of its knowledge-graph entity (the row is inserted with it), and `name` is
that entity's name, kept here because two discoveries by one agent about one target need two names.
"""

from __future__ import annotations

import peewee

_V5_TABLES = (
    """
    CREATE TABLE discovery (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        agent TEXT NOT NULL,
        discovery_type TEXT NOT NULL,
        target TEXT NOT NULL,
        project TEXT,
        session_id TEXT,
        session_linked INTEGER NOT NULL DEFAULT 0,
        metadata_json TEXT NOT NULL,
        data_bytes INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        created_at REAL NOT NULL
    )
    """,
    # data_bytes: the UTF-8 size of the discovery's `data` as compact JSON (what GetKnowledge's savings
    # estimate counts), fixed when it is recorded since discoveries never change.
    # A repeat of an identical discovery finds the stored one through its content hash.
    "CREATE UNIQUE INDEX discovery_content ON discovery (content_hash)",
    "CREATE INDEX discovery_target ON discovery (target, id)",
    "CREATE INDEX discovery_project ON discovery (project, id)",
    "CREATE INDEX discovery_type ON discovery (discovery_type, id)",
    "CREATE INDEX discovery_agent ON discovery (agent, id)",
    """
    CREATE TABLE memory (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL,
        owner TEXT NOT NULL,
        key TEXT NOT NULL,
        content TEXT NOT NULL,
        confidence REAL NOT NULL,
        target TEXT,
        provenance_agent TEXT NOT NULL,
        provenance_session_id TEXT NOT NULL DEFAULT '',
        provenance_tool_use_id TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    # The upsert key: one memory per key within a scope and its owner ('' in user scope).
    "CREATE UNIQUE INDEX memory_scope_owner_key ON memory (scope, owner, key)",
    "CREATE INDEX memory_scope_owner_updated ON memory (scope, owner, updated_at, id)",
    "CREATE INDEX memory_updated ON memory (updated_at, id)",
    "CREATE INDEX memory_key ON memory (key, updated_at)",
    "CREATE INDEX memory_target ON memory (target, updated_at) WHERE target IS NOT NULL",
    "CREATE INDEX memory_provenance_agent ON memory (provenance_agent)",
    """
    CREATE TABLE handoff (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        from_agent TEXT NOT NULL,
        to_agent TEXT NOT NULL,
        manifest_json TEXT NOT NULL,
        project TEXT,
        session_id TEXT,
        created_at REAL NOT NULL,
        claimed_at REAL
    )
    """,
    "CREATE INDEX handoff_pending ON handoff (to_agent, id) WHERE claimed_at IS NULL",
    "CREATE INDEX handoff_to ON handoff (to_agent, id)",
    "CREATE INDEX handoff_from ON handoff (from_agent, id)",
    "CREATE INDEX handoff_project ON handoff (project, id)",
    # Every string value of a manifest, at any depth: how GetKnowledge finds the handoffs naming a target.
    """
    CREATE TABLE handoff_mention (
        value TEXT NOT NULL,
        handoff_id INTEGER NOT NULL REFERENCES handoff (id) ON DELETE CASCADE,
        PRIMARY KEY (value, handoff_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX handoff_mention_handoff ON handoff_mention (handoff_id)",
    # The file reads recorded by tool calls (one row per path of a file-reading call), filled by the
    # indexer from session_tool_call: the evidence behind GetKnowledge's token savings.
    """
    CREATE TABLE knowledge_read (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        session_id TEXT NOT NULL,
        tool_call_id INTEGER NOT NULL,
        input_tokens_est INTEGER
    )
    """,
    "CREATE INDEX knowledge_read_path ON knowledge_read (path, session_id)",
    "CREATE INDEX knowledge_read_session ON knowledge_read (session_id)",
    # One searchable document per record; its text lives in knowledge_fts under the same rowid.
    """
    CREATE TABLE knowledge_doc (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        record_id INTEGER NOT NULL,
        project TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX knowledge_doc_record ON knowledge_doc (kind, record_id)",
)

# The SQLite-only part (FTS5); on another database this table is replaced by its own text index.
# `prefix = '2 3'` keeps extra doclists for every 2- and 3-character prefix, so a short prefix query
# (`w1*`, `han*`) reads one doclist instead of merging those of the thousands of words it covers;
# longer prefixes cover few enough words to merge. (Edited in place: schema 5 was never released.)
_V5_FTS = "CREATE VIRTUAL TABLE knowledge_fts USING fts5(body, tokenize = 'porter unicode61', prefix = '2 3')"


def _v5_knowledge(db: peewee.SqliteDatabase) -> None:
    for statement in (*_V5_TABLES, _V5_FTS):
        db.execute_sql(statement)
