"""Numbered schema migrations, applied at start-up on the writer thread before the server serves.

Each migration is a function of the peewee database that runs in one transaction together with the
record of its version (PRAGMA user_version), so a failure leaves it pending. Migrations use frozen
SQL, never the live models, so a later change to a model cannot change what an old step does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import peewee

log = logging.getLogger(__name__)

Migration = Callable[[peewee.SqliteDatabase], None]


def _v1_agents(db: peewee.SqliteDatabase) -> None:
    db.execute_sql("CREATE TABLE counter (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL DEFAULT 0)")
    db.execute_sql(
        """
        CREATE TABLE agent (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            agent_id TEXT NOT NULL UNIQUE,
            sort_key TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            parent_id TEXT,
            lifecycle TEXT NOT NULL DEFAULT 'active',
            status_json TEXT,
            last_heartbeat_at REAL,
            created_at REAL NOT NULL,
            retired_at REAL,
            token_hash TEXT UNIQUE,
            child_count INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute_sql("CREATE INDEX agent_parent_id ON agent (parent_id)")
    db.execute_sql("CREATE INDEX agent_name_lifecycle ON agent (name, lifecycle)")


MIGRATIONS: list[Migration] = [_v1_agents]


def schema_version(db: peewee.SqliteDatabase) -> int:
    return int(db.execute_sql("PRAGMA user_version").fetchone()[0])


def migrate(db: peewee.SqliteDatabase) -> int:
    """Apply every pending migration in order; return the resulting schema version."""
    version = schema_version(db)
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"the database {db.database} has schema version {version}, newer than this server "
            f"understands ({len(MIGRATIONS)}); upgrade envoy-grpc"
        )
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.atomic():
            step(db)
            db.execute_sql(f"PRAGMA user_version = {number:d}")
        log.info("applied schema migration %d (%s)", number, step.__name__)
    return len(MIGRATIONS)
