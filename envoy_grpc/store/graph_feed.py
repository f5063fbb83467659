"""What the graph projector reads: the records written since it last looked, and its cursors.

The projector follows three append-only tables by ID: the session event log (`session_event`, where
every session record also lands: sessions, prompts, tool calls, file writes, commits, test runs, fix
chains, bench runs and failures, handovers and generic events), `message` and `project_event`. How
far it got in each is kept in the `counter` table, in the same transaction as the entities it
wrote, so a crash or a restart neither loses nor repeats a batch. IDs of those tables only grow and
the writer thread is their only writer, so nothing can appear behind a cursor.
"""

from __future__ import annotations

from dataclasses import dataclass

from envoy_grpc.store.project_events import COLUMNS as PROJECT_EVENT_COLUMNS
from envoy_grpc.store.session_types import EventRow, ProjectEventRow
from envoy_grpc.store.sessions import EVENT_COLUMNS, cursor

SOURCES = ("session_event", "message", "project_event")
_COUNTER = {source: f"graph_projection.{source}" for source in SOURCES}


# Not frozen: a frozen dataclass sets every field through object.__setattr__ (1.6 µs to build one
# against 0.2), and these are built several times for every message sent. Nothing mutates them.
@dataclass(slots=True)
class MessageRow:
    """A message as the graph sees it."""

    message_id: int
    type: str
    sender: str
    to: str
    topic: str
    task_id: str | None
    context_id: str | None
    parts_json: str
    recipients_json: str
    created_at: float


@dataclass(frozen=True)
class AgentInfo:
    agent_id: str
    name: str
    kind: str
    parent_id: str | None


def cursors() -> dict[str, int]:
    """The ID of the last row projected from each source (0 before the first)."""
    rows = (
        cursor()
        .execute("SELECT name, value FROM counter WHERE name IN (?, ?, ?)", tuple(_COUNTER.values()))
        .fetchall()
    )
    found = dict(rows)
    return {source: int(found.get(name, 0)) for source, name in _COUNTER.items()}


def set_cursors(values: dict[str, int]) -> None:
    cursor().executemany(
        "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [(_COUNTER[source], value) for source, value in values.items()],
    )


def latest_ids() -> dict[str, int]:
    """The newest ID of each source (0 for an empty table)."""
    row = (
        cursor()
        .execute(
            "SELECT (SELECT MAX(id) FROM session_event), (SELECT MAX(id) FROM message), "
            "(SELECT MAX(id) FROM project_event)"
        )
        .fetchone()
    )
    return {source: int(value or 0) for source, value in zip(SOURCES, row, strict=True)}


def session_events_after(after: int, limit: int) -> list[EventRow]:
    sql = f"SELECT {EVENT_COLUMNS} FROM session_event WHERE id > ? ORDER BY id LIMIT ?"
    return [EventRow(*row) for row in cursor().execute(sql, (after, limit))]


def messages_after(after: int, limit: int) -> list[MessageRow]:
    sql = (
        "SELECT id, type, sender, to_agent, topic, task_id, context_id, parts_json, recipients_json, created_at "
        "FROM message WHERE id > ? ORDER BY id LIMIT ?"
    )
    return [MessageRow(*row) for row in cursor().execute(sql, (after, limit))]


def project_events_after(after: int, limit: int) -> list[ProjectEventRow]:
    sql = f"SELECT {PROJECT_EVENT_COLUMNS} FROM project_event WHERE id > ? ORDER BY id LIMIT ?"
    return [ProjectEventRow(*row) for row in cursor().execute(sql, (after, limit))]


def agent_info(agent_id: str) -> AgentInfo | None:
    row = (
        cursor()
        .execute("SELECT agent_id, name, kind, parent_id FROM agent WHERE agent_id = ?", (agent_id,))
        .fetchone()
    )
    return AgentInfo(*row) if row else None
