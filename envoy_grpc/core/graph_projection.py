"""One batch of the graph projection: the entities of sessions, projects, agents and files, each written
once per batch, and the rule that says which project an entity is kept under.

`envoy_grpc.core.graph_mapping` says what each record becomes; this module holds what every mapping
shares. Other writers that link their own records to these things (the knowledge area links
discoveries to sessions) use `scope` and `session_entity`, so a session or a file is one entity
whoever writes it first.
"""

from __future__ import annotations

import hashlib
from typing import Any

from envoy_grpc.store import graph, graph_feed, graph_messages
from envoy_grpc.store import sessions as sessions_store
from envoy_grpc.store.session_types import SessionRow

# Kinds whose entities every project shares (their project is ''); a Project lives in itself.
SHARED_KINDS = frozenset({"Agent", "Message"})


def scope(kind: str, name: str, project: str) -> str:
    """The project an entity of `kind` is kept under: shared kinds have none, a Project is its own."""
    if kind == "Project":
        return name
    return "" if kind in SHARED_KINDS else project


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Projection:
    """One batch of the projection: remembers what it wrote, so a session's entities and edges are
    written once per batch however many of its records the batch holds."""

    def __init__(self) -> None:
        self._entities: dict[tuple[str, str, str], int] = {}
        self._edges: set[tuple[int, int, str]] = set()
        self._sessions: dict[str, tuple[int, str] | None] = {}
        # Entities with this ID or a higher one were created by this batch: their edges are new.
        self._first_new = graph.newest_entity_id() + 1
        self.edges_added = 0

    def entity(
        self,
        kind: str,
        name: str,
        project: str,
        now: float,
        file_path: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> int:
        key = (kind, name, scope(kind, name, project))
        if key in self._entities and file_path is None and not data:
            return self._entities[key]
        entity_id = graph.upsert_entity(kind, name, key[2], file_path, data, now=now)
        self._entities[key] = entity_id
        return entity_id

    def record(self, kind: str, name: str, project: str, now: float, data: dict[str, Any]) -> int:
        """The entity of one record (a tool call, a test run, a message): new nearly every time."""
        entity_id, _ = graph.insert_entity(kind, name, scope(kind, name, project), data=data, now=now)
        return entity_id

    def messages(self, message_ids: list[int]) -> None:
        """The Message entities and their `created` / `assigned_to` edges of these messages."""
        _, edges = graph_messages.project(message_ids)
        self.edges_added += edges

    def edge(
        self, from_id: int, to_id: int, label: str, now: float, data: dict[str, Any] | None = None
    ) -> None:
        if (from_id, to_id, label) in self._edges:
            return
        fresh = max(from_id, to_id) >= self._first_new
        _, created = graph.add_edge(from_id, to_id, label, data, now=now, fresh=fresh)
        self._edges.add((from_id, to_id, label))
        self.edges_added += created

    def project(self, name: str, now: float) -> int:
        return self.entity("Project", name, name, now)

    def file(self, path: str, project: str, now: float) -> int:
        key = ("File", path, project)
        file_id = self._entities.get(key) or self.entity("File", path, project, now, file_path=path)
        self.edge(file_id, self.project(project, now), "belongs_to_project", now)
        return file_id

    def agent(self, agent: str, now: float) -> int:
        """The Agent entity of an envoy agent ID (or of a free-form agent label)."""
        key = ("Agent", agent, "")
        found = self._entities.get(key) or next(iter(graph.entity_ids_for(*key)), None)
        if found is not None:
            self._entities[key] = found
            return found
        info = graph_feed.agent_info(agent)
        data = (
            {"agent_id": info.agent_id, "name": info.name, "kind": info.kind, "parent_id": info.parent_id}
            if info
            else {"label": agent}
        )
        return self.entity("Agent", agent, "", now, data=data)

    def session(self, session_id: str, now: float) -> tuple[int, str] | None:
        """The Session entity (and its project) with its agent, project and parent edges; None for
        an unknown session."""
        if session_id in self._sessions:
            return self._sessions[session_id]
        row = sessions_store.get_session(session_id)
        if row is None:
            self._sessions[session_id] = None
            return None
        entity_id = self.entity("Session", session_id, row.project, now, data=_session_data(row))
        self._sessions[session_id] = (entity_id, row.project)
        self.edge(entity_id, self.project(row.project, now), "belongs_to_project", now)
        self.edge(self.agent(row.agent_id or row.agent, now), entity_id, "performed_by", now)
        parent = self.session(row.parent_session_id, now) if row.parent_session_id else None
        if parent is not None:
            self.edge(entity_id, parent[0], "depends_on", now)
        return entity_id, row.project


def _session_data(row: SessionRow) -> dict[str, Any]:
    """What a Session entity shows; None values remove keys (a reopened session loses `ended_at`)."""
    keys = ("session_id", "agent", "agent_id", "tool", "trigger", "model", "git_branch", "git_head")
    data: dict[str, Any] = {key: getattr(row, key) for key in keys}
    data.update(
        parent_session_id=row.parent_session_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        exit_status=row.exit_status,
    )
    return data


def session_entity(session_id: str, now: float) -> int | None:
    """The Session entity of a recorded session, with its project, agent and parent edges, written
    now if the projector has not got to it yet; None for an unknown session. Runs on the writer
    thread, inside the caller's transaction."""
    found = Projection().session(session_id, now)
    return found[0] if found else None
