"""Migration 6: the code-project registry and the cross-project symbol-name index (frozen SQL).

`code_project` is the registry. `code_symbol` holds every symbol (definition) of every project's
code index, one row per symbol, with `name_lower` for exact matches and prefix ranges; the rows are
replaced per project on every (re)index. `code_symbol_fts`, the SQLite-only part, is an FTS5
trigram index over the same names under the same rowid, for substring matches of 3 or more
characters (see `envoy_grpc.store.code_fts`).
"""

from __future__ import annotations

import peewee

_V6_TABLES = (
    """
    CREATE TABLE code_project (
        name TEXT PRIMARY KEY NOT NULL,
        root_path TEXT NOT NULL,
        languages_json TEXT NOT NULL DEFAULT '[]',
        index_path TEXT NOT NULL,
        external INTEGER NOT NULL DEFAULT 0,
        enabled INTEGER NOT NULL DEFAULT 1,
        file_count INTEGER NOT NULL DEFAULT 0,
        symbol_count INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        last_indexed_at REAL
    )
    """,
    """
    CREATE TABLE code_symbol (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project TEXT NOT NULL,
        entity_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        name_lower TEXT NOT NULL,
        kind TEXT NOT NULL,
        file_path TEXT,
        line INTEGER NOT NULL DEFAULT 0,
        col INTEGER NOT NULL DEFAULT 0,
        qualified_name TEXT NOT NULL DEFAULT '',
        data_json TEXT NOT NULL DEFAULT '{}'
    )
    """,
    "CREATE INDEX code_symbol_project ON code_symbol (project, entity_id)",
    "CREATE INDEX code_symbol_name ON code_symbol (name_lower, project)",
)

# The SQLite-only part: on another database this is replaced by its own substring index.
_V6_FTS = "CREATE VIRTUAL TABLE code_symbol_fts USING fts5(name, tokenize = 'trigram')"


def _v6_code(db: peewee.SqliteDatabase) -> None:
    for statement in (*_V6_TABLES, _V6_FTS):
        db.execute_sql(statement)


def _v7_code_grams(db: peewee.SqliteDatabase) -> None:
    """Every three-letter sequence of the indexed names, for one- and two-letter substring queries."""
    db.execute_sql("CREATE TABLE code_symbol_gram (gram TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID")
    grams: set[str] = set()
    for (name,) in db.execute_sql("SELECT DISTINCT name_lower FROM code_symbol"):
        grams.update(name[i : i + 3] for i in range(len(name) - 2))
    db.cursor().executemany("INSERT INTO code_symbol_gram (gram) VALUES (?)", ((g,) for g in sorted(grams)))
