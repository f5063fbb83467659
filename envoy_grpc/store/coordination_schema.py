"""Migration 8: file leases, the task board and dependencies between agents (frozen SQL).

`lease` keeps every lease ever taken; `ended_at` is NULL while one is active (expiry by time is
checked on read, and the sweep records it). `task_blocker` is the blocked-by relation, indexed both
ways: claim-next asks "are this task's blockers done?", finishing a task asks "whom did it block?".
`task_event` is each task's history. `dependency` allows one unresolved row per (dependent, blocker)
pair through a partial unique index, so a duplicate is refused by the database itself.
"""

from __future__ import annotations

import peewee

_V7_STATEMENTS = (
    """
    CREATE TABLE lease (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project TEXT NOT NULL,
        path TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        mode TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        renewed_at REAL,
        ended_at REAL,
        end_state TEXT
    )
    """,
    "CREATE INDEX lease_active_project ON lease (project, id) WHERE ended_at IS NULL",
    "CREATE INDEX lease_agent ON lease (agent_id, id)",
    "CREATE INDEX lease_active_expiry ON lease (expires_at) WHERE ended_at IS NULL",
    "CREATE INDEX lease_project ON lease (project, id)",
    """
    CREATE TABLE task (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL,
        state TEXT NOT NULL,
        claimed_by TEXT,
        claimed_at REAL,
        checkpoint TEXT,
        proposed_by TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    "CREATE INDEX task_project_state ON task (project, state, id)",
    "CREATE INDEX task_project ON task (project, id)",
    "CREATE INDEX task_held ON task (claimed_by) WHERE state IN ('claimed', 'in_progress')",
    """
    CREATE TABLE task_blocker (
        task_id INTEGER NOT NULL REFERENCES task (id),
        blocker_id INTEGER NOT NULL REFERENCES task (id),
        PRIMARY KEY (task_id, blocker_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX task_blocker_blocker ON task_blocker (blocker_id, task_id)",
    """
    CREATE TABLE task_event (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id INTEGER NOT NULL REFERENCES task (id),
        event TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        agent_id TEXT NOT NULL DEFAULT '',
        checkpoint TEXT,
        created_at REAL NOT NULL
    )
    """,
    "CREATE INDEX task_event_task ON task_event (task_id, id)",
    """
    CREATE TABLE dependency (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dependent_agent TEXT NOT NULL,
        blocker_agent TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at REAL NOT NULL,
        resolved_at REAL
    )
    """,
    "CREATE UNIQUE INDEX dependency_open_pair ON dependency (dependent_agent, blocker_agent) "
    "WHERE resolved_at IS NULL",
    "CREATE INDEX dependency_open_blocker ON dependency (blocker_agent, id) WHERE resolved_at IS NULL",
)


def _v8_coordination(db: peewee.SqliteDatabase) -> None:
    for statement in _V7_STATEMENTS:
        db.execute_sql(statement)
