"""Retention: delete everything recorded about one project or by one agent label (PurgeData).

One unit of work on the writer thread. A project's purge takes its sessions (with every record of
theirs: event log, prompts, tool calls, file writes, commits, test runs, fix chains, bench runs,
handovers, reads), its project events, its discoveries, its project-scope memories and its handoffs;
an agent's takes the sessions it ran, the discoveries it recorded, its agent-scope memories and the
memories it wrote, and the handoffs from or to it. Search documents and graph entities go with their
records. Messages in mailboxes, registered agents and the audit log are not touched; the purge
itself is audited.

A dry run does the same work inside a savepoint and rolls it back, so its counts are exact.
"""

from __future__ import annotations

from typing import Any

from envoy_grpc.store import knowledge_graph as graph
from envoy_grpc.store import knowledge_index as search_index
from envoy_grpc.store import project_events
from envoy_grpc.store.knowledge import cursor
from envoy_grpc.store.knowledge_types import PurgeCounts
from envoy_grpc.store.models import database_proxy

# A session's records, children before parents (test runs name commits). Each table has an index
# that starts with session_id.
_SESSION_RECORDS = (
    "session_test_run",
    "session_commit",
    "session_fix_chain",
    "session_bench_run",
    "session_file_write",
    "session_tool_call",
    "session_prompt",
    "session_event",
    "knowledge_read",
)


class _Tally:
    """What a purge deleted: graph entities and edges, and search documents."""

    def __init__(self) -> None:
        self.entities = 0
        self.edges = 0
        self.documents = 0

    def entities_deleted(self, ids: list[int]) -> None:
        entities, edges = graph.unlink(ids)
        self.entities += entities
        self.edges += edges

    def records(self, kind: str, ids: list[int]) -> None:
        """Delete the search documents and graph entities of deleted records of `kind`."""
        self.documents += search_index.forget(kind, ids)
        if kind in ("Discovery", "Memory", "Handoff"):  # their IDs are their entities' IDs
            self.entities_deleted(ids)


def _ids(sql: str, params: tuple[Any, ...]) -> list[int]:
    return [int(r[0]) for r in cursor().execute(sql, params).fetchall()]


def _purge_session(rowid: int, session_id: str, project: str, tally: _Tally) -> None:
    cur = cursor()
    tally.entities_deleted(graph.session_entities(session_id, project))
    if cur.execute("SELECT 1 FROM session_commit WHERE session_id = ? LIMIT 1", (session_id,)).fetchone():
        # Test runs of other sessions may name this session's commits: they keep the SHA, not the link.
        cur.execute(
            "UPDATE session_test_run SET commit_id = NULL WHERE commit_id IN "
            "(SELECT id FROM session_commit WHERE session_id = ?) AND session_id <> ?",
            (session_id, session_id),
        )
    tally.records(
        "Handover", _ids("DELETE FROM session_handover WHERE session_id = ? RETURNING id", (session_id,))
    )
    for table in _SESSION_RECORDS:
        cur.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
    cur.execute(
        "DELETE FROM project_event WHERE session_id = ? AND project <> ?",
        (session_id, project_events.AUDIT_PROJECT),
    )
    cur.execute("DELETE FROM session WHERE id = ?", (rowid,))
    tally.records("Session", [rowid])


def _purge_sessions(column: str, value: str, tally: _Tally) -> None:
    # Purges are rare operator actions: finding an agent's sessions reads the session table.
    sql = f"SELECT id, session_id, project FROM session WHERE {column} = ?"
    for rowid, session_id, project in cursor().execute(sql, (value,)).fetchall():
        _purge_session(int(rowid), str(session_id), str(project), tally)


def _purge_project(project: str, tally: _Tally) -> None:
    _purge_sessions("project", project, tally)
    cursor().execute("DELETE FROM project_event WHERE project = ?", (project,))
    tally.records("Discovery", _ids("DELETE FROM discovery WHERE project = ? RETURNING id", (project,)))
    tally.records(
        "Memory", _ids("DELETE FROM memory WHERE scope = 'project' AND owner = ? RETURNING id", (project,))
    )
    tally.records("Handoff", _ids("DELETE FROM handoff WHERE project = ? RETURNING id", (project,)))
    # What is left under the project: its files, commits, events, the Project itself.
    tally.entities_deleted(graph.project_entities(project))


def _purge_agent(agent: str, tally: _Tally) -> None:
    _purge_sessions("agent", agent, tally)
    tally.records("Discovery", _ids("DELETE FROM discovery WHERE agent = ? RETURNING id", (agent,)))
    memories = _ids("DELETE FROM memory WHERE scope = 'agent' AND owner = ? RETURNING id", (agent,))
    memories += _ids("DELETE FROM memory WHERE provenance_agent = ? RETURNING id", (agent,))
    tally.records("Memory", memories)
    handoffs = _ids("DELETE FROM handoff WHERE from_agent = ? RETURNING id", (agent,))
    handoffs += _ids("DELETE FROM handoff WHERE to_agent = ? RETURNING id", (agent,))
    tally.records("Handoff", handoffs)
    tally.entities_deleted(graph.orphan_agent(agent))


def purge(project: str, agent: str, dry_run: bool, operator: str, now: float) -> PurgeCounts:
    """Delete one project's (or one agent label's) knowledge; with `dry_run`, only count it."""
    tally = _Tally()
    with database_proxy.atomic() as savepoint:
        if project:
            _purge_project(project, tally)
        else:
            _purge_agent(agent, tally)
        if dry_run:
            savepoint.rollback()
    counts = PurgeCounts(tally.entities, tally.edges, tally.documents, dry_run)
    if not dry_run:
        subject = {"project": project} if project else {"agent": agent}
        data = {
            **subject,
            "deleted_entities": counts.deleted_entities,
            "deleted_documents": counts.deleted_documents,
        }
        what = f"project {project!r}" if project else f"agent {agent!r}"
        project_events.audit("data_purged", f"knowledge of {what} purged", data, operator, now)
    return counts
