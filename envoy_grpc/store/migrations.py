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


def _v2_messages(db: peewee.SqliteDatabase) -> None:
    db.execute_sql("ALTER TABLE agent ADD COLUMN last_sequence INTEGER NOT NULL DEFAULT 0")
    db.execute_sql(
        """
        CREATE TABLE message (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            type TEXT NOT NULL,
            sender TEXT NOT NULL,
            to_agent TEXT NOT NULL DEFAULT '',
            topic TEXT NOT NULL DEFAULT '',
            task_id TEXT,
            context_id TEXT,
            parts_json TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL,
            idempotency_key TEXT,
            body_hash TEXT NOT NULL,
            require_ack INTEGER NOT NULL DEFAULT 0,
            urgent INTEGER NOT NULL DEFAULT 0,
            recipients_json TEXT NOT NULL DEFAULT '[]'
        )
        """
    )
    db.execute_sql(
        "CREATE UNIQUE INDEX message_sender_idempotency_key ON message (sender, idempotency_key) "
        "WHERE idempotency_key IS NOT NULL"
    )
    db.execute_sql(
        """
        CREATE TABLE delivery (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id INTEGER NOT NULL REFERENCES message (id) ON DELETE CASCADE,
            agent_id TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'stored',
            delivery_count INTEGER NOT NULL DEFAULT 0,
            first_delivered_at REAL,
            last_delivered_at REAL,
            surfaced_at REAL,
            acked_at REAL,
            next_attempt_at REAL,
            expires_at REAL
        )
        """
    )
    db.execute_sql("CREATE UNIQUE INDEX delivery_agent_sequence ON delivery (agent_id, sequence)")
    db.execute_sql("CREATE UNIQUE INDEX delivery_message_agent ON delivery (message_id, agent_id)")
    # Unfinished deliveries: what polls, replays and the redelivery loop look at.
    db.execute_sql(
        "CREATE INDEX delivery_open ON delivery (agent_id, sequence) "
        "WHERE state IN ('stored', 'delivered', 'surfaced')"
    )
    db.execute_sql(
        "CREATE INDEX delivery_due ON delivery (next_attempt_at) WHERE state IN ('delivered', 'surfaced')"
    )
    db.execute_sql(
        "CREATE INDEX delivery_expiring ON delivery (expires_at) "
        "WHERE expires_at IS NOT NULL AND state IN ('stored', 'delivered', 'surfaced')"
    )
    db.execute_sql(
        """
        CREATE TABLE topic_subscription (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            agent_id TEXT NOT NULL,
            pattern TEXT NOT NULL,
            created_at REAL NOT NULL
        )
        """
    )
    db.execute_sql(
        "CREATE UNIQUE INDEX topic_subscription_agent_pattern ON topic_subscription (agent_id, pattern)"
    )


MIGRATIONS: list[Migration] = [_v1_agents, _v2_messages]


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
