"""Numbered schema migrations, applied at start-up on the writer thread before the server serves.

Each migration is a function of the peewee database that runs in one transaction together with the
record of its version (PRAGMA user_version), so a failure leaves it pending. Migrations use frozen
SQL, never the live models, so a later change to a model cannot change what an old step does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import peewee

from envoy_grpc.store.code_schema import _v6_code, _v7_code_grams
from envoy_grpc.store.coordination_schema import _v8_coordination
from envoy_grpc.store.graph_schema import _v4_graph, _v9_graph_counts
from envoy_grpc.store.knowledge_schema import _v5_knowledge

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


# Session accountability: a session row with server-computed counters, one table per kind of
# evidence, the session event log every record also lands in, and the project events (with the audit
# log under the reserved project `_envoy_audit`). Every evidence row names its session by
# `session_id` (text, as the coding tool gave it) so records map straight onto graph entities.
_V3_TABLES = (
    """
    CREATE TABLE session (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL UNIQUE,
        agent TEXT NOT NULL,
        agent_id TEXT NOT NULL DEFAULT '',
        project TEXT NOT NULL,
        tool TEXT NOT NULL,
        trigger TEXT NOT NULL,
        model TEXT,
        git_branch TEXT,
        git_head TEXT,
        parent_session_id TEXT,
        started_at REAL NOT NULL,
        ended_at REAL,
        exit_status TEXT,
        prompt_count INTEGER NOT NULL DEFAULT 0,
        tool_call_count INTEGER NOT NULL DEFAULT 0,
        file_write_count INTEGER NOT NULL DEFAULT 0,
        commit_count INTEGER NOT NULL DEFAULT 0,
        test_run_count INTEGER NOT NULL DEFAULT 0,
        event_count INTEGER NOT NULL DEFAULT 0,
        last_prompt_sequence INTEGER NOT NULL DEFAULT 0,
        last_tool TEXT,
        last_tool_summary TEXT,
        prompt_input_tokens INTEGER NOT NULL DEFAULT 0,
        prompt_output_tokens INTEGER NOT NULL DEFAULT 0,
        prompt_cost_usd REAL NOT NULL DEFAULT 0,
        total_input_tokens INTEGER,
        total_output_tokens INTEGER,
        total_cost_usd REAL
    )
    """,
    "CREATE INDEX session_started ON session (started_at)",
    "CREATE INDEX session_project_started ON session (project, started_at)",
    "CREATE INDEX session_parent_started ON session (parent_session_id, started_at) "
    "WHERE parent_session_id IS NOT NULL",
    """
    CREATE TABLE session_event (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES session (session_id),
        event_type TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        agent_id TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    )
    """,
    "CREATE INDEX session_event_session ON session_event (session_id)",
    "CREATE INDEX session_event_session_type ON session_event (session_id, event_type)",
    "CREATE INDEX session_event_type ON session_event (event_type)",
    """
    CREATE TABLE session_prompt (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES session (session_id),
        agent_id TEXT NOT NULL DEFAULT '',
        sequence INTEGER NOT NULL,
        role TEXT NOT NULL,
        input_hash TEXT NOT NULL,
        input_summary TEXT NOT NULL DEFAULT '',
        output_hash TEXT NOT NULL DEFAULT '',
        input_tokens INTEGER,
        output_tokens INTEGER,
        latency_ms INTEGER,
        model TEXT NOT NULL DEFAULT '',
        cost_usd REAL,
        created_at REAL NOT NULL
    )
    """,
    "CREATE INDEX session_prompt_session_created ON session_prompt (session_id, created_at)",
    """
    CREATE TABLE session_tool_call (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES session (session_id),
        agent_id TEXT NOT NULL DEFAULT '',
        tool_use_id TEXT NOT NULL DEFAULT '',
        sequence INTEGER NOT NULL,
        tool_name TEXT NOT NULL,
        tool_version TEXT NOT NULL DEFAULT '',
        tool_category TEXT NOT NULL DEFAULT '',
        exit_status TEXT NOT NULL,
        input_hash TEXT NOT NULL DEFAULT '',
        input_summary TEXT NOT NULL DEFAULT '',
        output_hash TEXT NOT NULL DEFAULT '',
        output_summary TEXT NOT NULL DEFAULT '',
        latency_ms INTEGER,
        input_tokens_est INTEGER,
        file_paths_json TEXT NOT NULL DEFAULT '[]',
        created_at REAL NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX session_tool_call_use ON session_tool_call (session_id, tool_use_id) "
    "WHERE tool_use_id <> ''",
    "CREATE INDEX session_tool_call_session_created ON session_tool_call (session_id, created_at)",
    """
    CREATE TABLE session_file_write (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES session (session_id),
        project TEXT NOT NULL,
        agent_id TEXT NOT NULL DEFAULT '',
        tool_use_id TEXT NOT NULL DEFAULT '',
        file_path TEXT NOT NULL,
        path_key TEXT NOT NULL,
        file_id TEXT NOT NULL DEFAULT '',
        before_hash TEXT NOT NULL DEFAULT '',
        after_hash TEXT NOT NULL DEFAULT '',
        lines_added INTEGER,
        lines_deleted INTEGER,
        lines_changed INTEGER,
        write_type TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX session_file_write_use ON session_file_write (session_id, tool_use_id, file_path) "
    "WHERE tool_use_id <> ''",
    "CREATE INDEX session_file_write_session_path ON session_file_write (session_id, file_path)",
    "CREATE INDEX session_file_write_path ON session_file_write (path_key)",
    "CREATE INDEX session_file_write_project_path ON session_file_write (project, path_key)",
    """
    CREATE TABLE session_commit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES session (session_id),
        agent_id TEXT NOT NULL DEFAULT '',
        commit_sha TEXT NOT NULL,
        parent_sha TEXT,
        message TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL DEFAULT '',
        commit_type TEXT NOT NULL DEFAULT '',
        files_changed INTEGER NOT NULL DEFAULT 0,
        lines_inserted INTEGER NOT NULL DEFAULT 0,
        lines_deleted INTEGER NOT NULL DEFAULT 0,
        file_paths_json TEXT NOT NULL DEFAULT '[]',
        feature_tag TEXT,
        placeholder INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX session_commit_session_sha ON session_commit (session_id, commit_sha)",
    "CREATE INDEX session_commit_sha ON session_commit (commit_sha)",
    "CREATE INDEX session_commit_session_created ON session_commit (session_id, created_at)",
    """
    CREATE TABLE session_test_run (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES session (session_id),
        agent_id TEXT NOT NULL DEFAULT '',
        tool_use_id TEXT NOT NULL DEFAULT '',
        test_name TEXT NOT NULL,
        result TEXT NOT NULL,
        test_suite TEXT NOT NULL DEFAULT '',
        test_command TEXT NOT NULL DEFAULT '',
        duration_ms INTEGER,
        logs_summary TEXT NOT NULL DEFAULT '',
        commit_sha TEXT,
        commit_id INTEGER REFERENCES session_commit (id),
        created_at REAL NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX session_test_run_use ON session_test_run (session_id, tool_use_id) "
    "WHERE tool_use_id <> ''",
    "CREATE INDEX session_test_run_session_name ON session_test_run (session_id, test_name)",
    """
    CREATE TABLE session_fix_chain (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES session (session_id),
        agent_id TEXT NOT NULL DEFAULT '',
        bug_commit_sha TEXT NOT NULL,
        fix_commit_sha TEXT NOT NULL,
        fix_type TEXT NOT NULL,
        severity TEXT NOT NULL,
        cycles_to_fix INTEGER,
        time_to_fix_ms INTEGER,
        created_at REAL NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX session_fix_chain_key ON session_fix_chain (session_id, bug_commit_sha, fix_commit_sha)",
    """
    CREATE TABLE session_bench_run (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES session (session_id),
        agent_id TEXT NOT NULL DEFAULT '',
        bench_name TEXT NOT NULL,
        mean_ns INTEGER,
        median_ns INTEGER,
        p95_ns INTEGER,
        is_regression INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    )
    """,
    "CREATE INDEX session_bench_run_session ON session_bench_run (session_id)",
    """
    CREATE TABLE session_handover (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES session (session_id),
        agent_id TEXT NOT NULL DEFAULT '',
        to_agent TEXT NOT NULL DEFAULT '',
        to_session_id TEXT,
        summary TEXT NOT NULL,
        files_changed_json TEXT NOT NULL DEFAULT '[]',
        outcome TEXT NOT NULL,
        last_assistant_message TEXT,
        transcript_path TEXT,
        verified INTEGER NOT NULL DEFAULT 0,
        verification_reasons_json TEXT NOT NULL DEFAULT '[]',
        created_at REAL NOT NULL
    )
    """,
    "CREATE INDEX session_handover_session_created ON session_handover (session_id, created_at)",
    "CREATE INDEX session_handover_to_session ON session_handover (to_session_id) WHERE to_session_id IS NOT NULL",
    """
    CREATE TABLE project_event (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project TEXT NOT NULL,
        event_type TEXT NOT NULL,
        severity TEXT NOT NULL,
        source TEXT NOT NULL,
        message TEXT NOT NULL,
        data_json TEXT NOT NULL,
        session_id TEXT,
        agent_id TEXT NOT NULL DEFAULT '',
        task_id TEXT,
        created_at REAL NOT NULL
    )
    """,
    "CREATE INDEX project_event_project_created ON project_event (project, created_at)",
    "CREATE INDEX project_event_session ON project_event (session_id) WHERE session_id IS NOT NULL",
    # The audit log's filters: by agent, by operation (source) and by task.
    "CREATE INDEX project_event_audit_agent ON project_event (agent_id, created_at) "
    "WHERE project = '_envoy_audit'",
    "CREATE INDEX project_event_audit_source ON project_event (source, created_at) "
    "WHERE project = '_envoy_audit'",
    "CREATE INDEX project_event_audit_task ON project_event (task_id, created_at) "
    "WHERE project = '_envoy_audit' AND task_id IS NOT NULL",
)


def _v3_sessions(db: peewee.SqliteDatabase) -> None:
    for statement in _V3_TABLES:
        db.execute_sql(statement)


MIGRATIONS: list[Migration] = [
    _v1_agents,
    _v2_messages,
    _v3_sessions,
    _v4_graph,
    _v5_knowledge,
    _v6_code,
    _v7_code_grams,
    _v8_coordination,
    _v9_graph_counts,
]


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
