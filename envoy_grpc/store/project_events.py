"""Repository functions for project events (gate, hook, CI, doc, verify), the audit log, and the
announcement of a project event to the agents subscribed to its project.

Audit entries are project events of type `audit_log` under the reserved project `_envoy_audit`, with
the operation in `source`, as the original envoy kept them. Writers run on the writer thread inside
the caller's transaction, so an event, its audit entry and its announcement commit together.
"""

from __future__ import annotations

import hashlib
from typing import Any

from envoy_grpc.core import ids, topics
from envoy_grpc.store.messages import DeliveryView, StoredMessage
from envoy_grpc.store.session_types import NewProjectEvent, ProjectEventRow
from envoy_grpc.store.sessions import cursor, dumps

AUDIT_PROJECT = "_envoy_audit"
COLUMNS = (
    "id, project, event_type, severity, source, message, data_json, session_id, agent_id, task_id, created_at"
)


def insert(new: NewProjectEvent, now: float) -> ProjectEventRow:
    row = (
        cursor()
        .execute(
            "INSERT INTO project_event (project, event_type, severity, source, message, data_json, session_id, "
            f"agent_id, task_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}",
            (
                new.project,
                new.event_type,
                new.severity,
                new.source,
                new.message,
                dumps(new.data),
                new.session_id,
                new.agent_id,
                new.task_id,
                now,
            ),
        )
        .fetchone()
    )
    return ProjectEventRow(*row)


def audit(
    operation: str, message: str, data: dict[str, Any], agent_id: str, now: float, **extra: Any
) -> None:
    """Append an audit-log entry (an `audit_log` event of project `_envoy_audit`)."""
    insert(
        NewProjectEvent(
            project=AUDIT_PROJECT,
            event_type="audit_log",
            severity="info",
            source=operation,
            message=message,
            data=data,
            agent_id=agent_id,
            session_id=extra.get("session_id"),
            task_id=extra.get("task_id"),
        ),
        now,
    )


def list_project(project: str, since: float | None, limit: int) -> list[ProjectEventRow]:
    """A project's newest events recorded strictly after `since`."""
    sql = f"SELECT {COLUMNS} FROM project_event WHERE project = ?"
    params: list[Any] = [project]
    if since is not None:
        sql += " AND created_at > ?"
        params.append(since)
    sql += " ORDER BY created_at DESC LIMIT ?"
    return [ProjectEventRow(*row) for row in cursor().execute(sql, (*params, limit)).fetchall()]


def list_audit(
    agent_id: str, operation: str, task_id: str, since: float | None, limit: int
) -> list[ProjectEventRow]:
    """Newest audit entries first. The project test is literal SQL so the partial indexes apply."""
    sql = f"SELECT {COLUMNS} FROM project_event WHERE project = '{AUDIT_PROJECT}'"
    params: list[Any] = []
    for column, value in (("agent_id", agent_id), ("source", operation), ("task_id", task_id)):
        if value:
            sql += f" AND {column} = ?"
            params.append(value)
    if since is not None:
        sql += " AND created_at > ?"
        params.append(since)
    sql += " ORDER BY created_at DESC LIMIT ?"
    return [ProjectEventRow(*row) for row in cursor().execute(sql, (*params, limit)).fetchall()]


VERIFYING_TYPES = ("gate_result", "hook_result", "task_verify")


def verifying_events(session_id: str, project: str, started_at: float, until: float) -> list[ProjectEventRow]:
    """Gate, hook and verify events that count for a session, oldest first: those naming it, and those
    naming no session that were recorded for its project while it was open."""
    types = ", ".join(f"'{t}'" for t in VERIFYING_TYPES)
    sql = (
        f"SELECT {COLUMNS} FROM project_event WHERE session_id = ? AND event_type IN ({types}) "
        f"UNION ALL SELECT {COLUMNS} FROM project_event WHERE project = ? AND created_at >= ? "
        f"AND created_at <= ? AND session_id IS NULL AND event_type IN ({types}) ORDER BY 11, 1"
    )
    rows = cursor().execute(sql, (session_id, project, started_at, until)).fetchall()
    return [ProjectEventRow(*row) for row in rows]


# -- announcing an event to its project's subscribers -------------------------------------------

_INSERT_MESSAGE = (
    "INSERT INTO message (type, sender, to_agent, topic, parts_json, created_at, body_hash, recipients_json) "
    "VALUES ('topic', ?, '', ?, ?, ?, ?, ?)"
)
_NEXT_SEQUENCE = (
    "UPDATE agent SET last_sequence = last_sequence + 1 WHERE agent_id = ? RETURNING last_sequence"
)
_INSERT_DELIVERY = "INSERT INTO delivery (message_id, agent_id, sequence, state) VALUES (?, ?, ?, 'stored')"


def _subscribers(topic: str) -> list[str]:
    # CROSS JOIN keeps SQLite from driving the join from `agent`, which grows with every hook session:
    # read the (few) subscriptions and look each agent up by its key.
    rows = cursor().execute(
        "SELECT s.agent_id, s.pattern FROM topic_subscription AS s CROSS JOIN agent AS a "
        "ON a.agent_id = s.agent_id WHERE a.lifecycle = 'active'"
    )
    matched = {agent for agent, pattern in rows.fetchall() if topics.matches(pattern, topic)}
    return sorted(matched, key=ids.sort_key)


def announce(sender: str, topic: str, parts: list[dict[str, Any]], now: float) -> list[DeliveryView]:
    """Store a topic message for every active agent subscribed to `topic` (nothing if none is), and
    return the deliveries to publish after COMMIT. Unlike MessageService.SendMessage, the sender
    need not be an agent: an event recorded with the hook or operator token is sent by the server."""
    recipients = _subscribers(topic)
    if not recipients:
        return []
    parts_json = dumps(parts)
    cur = cursor()
    body_hash = hashlib.sha256(parts_json.encode()).hexdigest()
    cur.execute(_INSERT_MESSAGE, (sender, topic, parts_json, now, body_hash, dumps(recipients)))
    message = StoredMessage(
        message_id=int(cur.lastrowid),
        type="topic",
        sender=sender,
        to="",
        topic=topic,
        task_id=None,
        context_id=None,
        parts_json=parts_json,
        created_at=now,
        expires_at=None,
        idempotency_key=None,
        require_ack=False,
        urgent=False,
        recipients=tuple(recipients),
    )
    deliveries = [
        DeliveryView(
            message, agent_id, int(cur.execute(_NEXT_SEQUENCE, (agent_id,)).fetchone()[0]), "stored", 0
        )
        for agent_id in recipients
    ]
    cur.executemany(_INSERT_DELIVERY, [(message.message_id, d.agent_id, d.sequence) for d in deliveries])
    return deliveries
