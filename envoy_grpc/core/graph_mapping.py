"""How records become knowledge-graph entities and edges. Runs on the writer thread, inside the
projector's transaction (`envoy_grpc.core.graph_projector`).

One entity per thing, found by (kind, name, project) (`scope` says which project a kind lives in),
and one edge per relation: projecting the same records again adds nothing. Unlike the original
envoy, records that are already reachable through their session do not also get their own
`belongs_to_project` edge, and a session recorded twice is one entity.

| Record (event type)        | Entities (name)                                  | Edges                                              |
|----------------------------|--------------------------------------------------|----------------------------------------------------|
| any session record         | Session (`session_id`), Project, Agent (the      | Agent performed_by Session; Session                |
|                            | session's envoy agent ID, else its `agent` label)| belongs_to_project Project; Session depends_on     |
|                            |                                                  | parent Session                                     |
| prompt                     | ReasoningLog (`<sid>:prompt:<input_hash>`: the   | ReasoningLog observed_in Session                   |
|                            | same prompt text in a session is one entity)     |                                                    |
| tool_call                  | ToolCall (`<sid>:<tool>:<sequence>`); File for   | ToolCall observed_in Session; Session              |
|                            | each path of a file-reading tool (Read, Glob,    | handled_by_tool ToolCall; Session accessed File;   |
|                            | Grep, LS)                                        | File belongs_to_project Project                    |
| file_write                 | File (its path)                                  | Session modified File; File belongs_to_project     |
| commit                     | Commit (the SHA)                                 | Commit observed_in Session; Session created Commit |
| test                       | TestRun (`<sid>:test:<test_run_id>`)             | TestRun observed_in Session; Session verified_by   |
|                            |                                                  | TestRun; Commit tested_by TestRun (its commit)     |
| fix_linked                 | Commit (bug SHA), Commit (fix SHA)               | bug fixed_by fix; fix observed_in Session          |
| failure (bench regression) | Failure (`bench:<name>`: one per bench)          | Failure regressed_by Session; Failure observed_in  |
| subagent_handover          | Handover (`<sid>:handover:<digest of summary>`)  | Handover observed_in Session; parent Session       |
|                            |                                                  | derived_from Handover; Handover mentions File      |
|                            |                                                  | (each of `files_changed`)                          |
| any event's                | both ends, by (kind, name) in the session's      | the hint's `edge_type`, with its `data`            |
| `payload.relations`        | project unless the end names a `project`         |                                                    |
| message                    | Message (its ID), Agent (sender, recipients)     | sender Agent created Message; Message assigned_to  |
|                            |                                                  | each recipient Agent; Message mentions the Session |
|                            |                                                  | its `context_id` names                             |
| project event              | Event (`<event_type>:<id>`)                      | Event belongs_to_project Project; Event            |
|                            |                                                  | observed_in its Session                            |

Not projected: session start, end and reopening (they change the Session's data), bench runs that
are not regressions, pre-compact and notification events, the audit log, heartbeat messages, and
messages that only announce a record the graph already has: the hook adapter's handoff notice of a
handover (a data part with `handover_id`) and a project event's announcement on `project.<name>`
(they are that Handover and that Event). A record whose payload lacks what its type needs (a generic
event that borrowed a reserved type) contributes only its relation hints.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from envoy_grpc.core.graph_projection import Projection, digest, scope
from envoy_grpc.store import graph, graph_messages
from envoy_grpc.store.graph_feed import MessageRow
from envoy_grpc.store.project_events import AUDIT_PROJECT
from envoy_grpc.store.session_types import EventRow, ProjectEventRow

__all__ = [
    "HANDLERS",
    "READ_TOOLS",
    "Projection",
    "digest",
    "message",
    "messages",
    "project_event",
    "scope",
    "session_event",
]

log = logging.getLogger(__name__)

READ_TOOLS = frozenset({"Read", "Glob", "Grep", "LS", "NotebookRead"})
TEXT_LIMIT = graph_messages.TEXT_LIMIT


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > TEXT_LIMIT:
        return value[: TEXT_LIMIT - 1] + "…"
    return value


def _pick(payload: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: _clip(payload.get(key)) for key in keys if payload.get(key) is not None}


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


def _paths(payload: dict[str, Any], key: str) -> list[str]:
    value = payload.get(key)
    return [path for path in value if isinstance(path, str) and path] if isinstance(value, list) else []


# -- the session event log ---------------------------------------------------------------------

Handler = Callable[[Projection, EventRow, dict[str, Any], int, str], None]


def _prompt(p: Projection, event: EventRow, payload: dict[str, Any], session: int, project: str) -> None:
    key = _text(payload, "input_hash") or str(payload.get("sequence", event.event_id))
    data = _pick(payload, ("role", "input_summary", "input_hash", "model"))
    log_id = p.entity(
        "ReasoningLog", f"{event.session_id}:prompt:{key}", project, event.created_at, data=data
    )
    p.edge(log_id, session, "observed_in", event.created_at)


_TOOL_CALL_KEYS = (
    "tool_call_id",
    "sequence",
    "tool_name",
    "exit_status",
    "tool_use_id",
    "tool_category",
    "input_summary",
    "output_summary",
    "latency_ms",
)


def _tool_call(p: Projection, event: EventRow, payload: dict[str, Any], session: int, project: str) -> None:
    now = event.created_at
    tool = _text(payload, "tool_name")
    if not tool or not isinstance(payload.get("sequence"), int):
        return
    data = {"session_id": event.session_id, **_pick(payload, _TOOL_CALL_KEYS)}
    call = p.record("ToolCall", f"{event.session_id}:{tool}:{payload['sequence']}", project, now, data)
    p.edge(call, session, "observed_in", now)
    p.edge(session, call, "handled_by_tool", now)
    if payload.get("tool_category") == "file_read" or tool in READ_TOOLS:
        for path in _paths(payload, "file_paths"):
            p.edge(session, p.file(path, project, now), "accessed", now)


def _file_write(p: Projection, event: EventRow, payload: dict[str, Any], session: int, project: str) -> None:
    path = _text(payload, "file_path")
    if path:
        p.edge(session, p.file(path, project, event.created_at), "modified", event.created_at)


def _commit(p: Projection, event: EventRow, payload: dict[str, Any], session: int, project: str) -> None:
    now = event.created_at
    sha = _text(payload, "commit_sha")
    if not sha:
        return
    data = _pick(payload, ("commit_sha", "message", "author", "commit_type", "file_paths"))
    commit = p.entity("Commit", sha, project, now, data=data)
    p.edge(commit, session, "observed_in", now)
    p.edge(session, commit, "created", now)


def _test_run(p: Projection, event: EventRow, payload: dict[str, Any], session: int, project: str) -> None:
    now = event.created_at
    run_id = payload.get("test_run_id")
    if not isinstance(run_id, int) or not _text(payload, "test_name"):
        return
    keys = ("test_run_id", "test_name", "result", "test_suite", "test_command", "duration_ms", "commit_sha")
    run = p.record("TestRun", f"{event.session_id}:test:{run_id}", project, now, _pick(payload, keys))
    p.edge(run, session, "observed_in", now)
    p.edge(session, run, "verified_by", now)
    sha = _text(payload, "commit_sha")
    if sha and payload.get("commit_id") is not None:
        p.edge(p.entity("Commit", sha, project, now, data={"commit_sha": sha}), run, "tested_by", now)


def _fix_chain(p: Projection, event: EventRow, payload: dict[str, Any], session: int, project: str) -> None:
    now = event.created_at
    bug, fix = _text(payload, "bug_commit_sha"), _text(payload, "fix_commit_sha")
    if not bug or not fix:
        return
    bug_id = p.entity("Commit", bug, project, now, data={"commit_sha": bug})
    fix_id = p.entity("Commit", fix, project, now, data={"commit_sha": fix})
    p.edge(
        bug_id,
        fix_id,
        "fixed_by",
        now,
        _pick(payload, ("fix_type", "severity", "cycles_to_fix", "time_to_fix_ms")),
    )
    p.edge(fix_id, session, "observed_in", now)


def _failure(p: Projection, event: EventRow, payload: dict[str, Any], session: int, project: str) -> None:
    failure = p.entity("Failure", event.entity_id, project, event.created_at, data=payload)
    p.edge(failure, session, "regressed_by", event.created_at)
    p.edge(failure, session, "observed_in", event.created_at)


def _handover(p: Projection, event: EventRow, payload: dict[str, Any], session: int, project: str) -> None:
    now = event.created_at
    summary = _text(payload, "summary")
    if not summary:
        return
    keys = (
        "handover_id",
        "summary",
        "outcome",
        "to_agent",
        "to_session_id",
        "verified",
        "verification_reasons",
    )
    data = {
        "session_id": event.session_id,
        **_pick(payload, keys),
        "files_changed": payload.get("files_changed"),
    }
    handover = p.entity("Handover", f"{event.session_id}:handover:{digest(summary)}", project, now, data=data)
    p.edge(handover, session, "observed_in", now)
    to_session = _text(payload, "to_session_id")
    parent = p.session(to_session, now) if to_session else None
    if parent is not None:
        p.edge(parent[0], handover, "derived_from", now)
    for path in _paths(payload, "files_changed"):
        p.edge(handover, p.file(path, project, now), "mentions", now)


HANDLERS: dict[str, Handler] = {
    "prompt": _prompt,
    "tool_call": _tool_call,
    "file_write": _file_write,
    "commit": _commit,
    "test": _test_run,
    "fix_linked": _fix_chain,
    "failure": _failure,
    "subagent_handover": _handover,
}


def session_event(p: Projection, event: EventRow) -> None:
    """Project one entry of the session event log."""
    found = p.session(event.session_id, event.created_at)
    if found is None:
        return
    session, project = found
    payload = event.payload
    handler = HANDLERS.get(event.event_type)
    if handler is not None:
        handler(p, event, payload, session, project)
    relations = payload.get("relations")
    if isinstance(relations, list):
        for item in relations:
            _relation(p, item, project, event.created_at)


def _endpoint(p: Projection, end: Any, project: str, now: float) -> int | None:
    if not isinstance(end, dict) or not _text(end, "kind").strip() or not _text(end, "name").strip():
        return None
    path = end.get("file_path") if isinstance(end.get("file_path"), str) else None
    data = end.get("data") if isinstance(end.get("data"), dict) else None
    where = end["project"] if isinstance(end.get("project"), str) else project
    return p.entity(end["kind"], end["name"], where, now, file_path=path, data=data)


def _relation(p: Projection, item: Any, project: str, now: float) -> None:
    """Materialize one relation hint (validated when it was recorded; anything malformed is skipped)."""
    if not isinstance(item, dict) or item.get("edge_type") not in graph.KNOWN_LABELS:
        log.debug("skipping a malformed relation hint: %r", item)
        return
    ends = _endpoint(p, item.get("from"), project, now), _endpoint(p, item.get("to"), project, now)
    if ends[0] is not None and ends[1] is not None:
        data = item.get("data") if isinstance(item.get("data"), dict) else None
        p.edge(ends[0], ends[1], item["edge_type"], now, data)


# -- messages and project events ---------------------------------------------------------------


def _announces_a_record(message: MessageRow, parts: list[dict[str, Any]]) -> bool:
    data = [part["data"] for part in parts if isinstance(part.get("data"), dict)]
    if message.type == "handoff" and any("handover_id" in d for d in data):
        return True
    return message.topic.startswith("project.") and any(set(d) == {"kind", "event"} for d in data)


def messages(p: Projection, rows: list[MessageRow]) -> None:
    """A batch of messages at once: the busiest source, so their entities and edges are written in
    set-based SQL (`envoy_grpc.store.graph_messages`), after the Agent entities they point to."""
    kept = [row for row in rows if _projected(row)]
    if not kept:
        return
    for row in kept:
        p.agent(row.sender, row.created_at)
        for recipient in graph_messages.recipients(row.recipients_json, row.to):
            p.agent(recipient, row.created_at)
    p.messages([row.message_id for row in kept])
    for row in kept:
        session = p.session(row.context_id, row.created_at) if row.context_id else None
        if session is not None:
            (entity,) = graph.entity_ids_for("Message", str(row.message_id), "")
            p.edge(entity, session[0], "mentions", row.created_at)


def message(p: Projection, row: MessageRow) -> None:
    messages(p, [row])


def _projected(row: MessageRow) -> bool:
    """Heartbeats and the announcements of records the graph already has are not projected."""
    if row.type == "heartbeat":
        return False
    if row.type != "handoff" and not row.topic.startswith("project."):
        return True  # only these two can announce a record: no need to read the parts
    return not _announces_a_record(row, json.loads(row.parts_json))


def project_event(p: Projection, row: ProjectEventRow) -> None:
    if row.project == AUDIT_PROJECT:  # operations on records the graph has already
        return
    now = row.created_at
    data = {
        "event_id": row.event_id,
        "event_type": row.event_type,
        "severity": row.severity,
        "source": row.source,
        "message": _clip(row.message),
        "data": row.data,
        "session_id": row.session_id,
        "agent_id": row.agent_id or None,
        "task_id": row.task_id,
    }
    event = p.record("Event", f"{row.event_type}:{row.event_id}", row.project, now, data)
    p.edge(event, p.project(row.project, now), "belongs_to_project", now)
    session = p.session(row.session_id, now) if row.session_id else None
    if session is not None:
        p.edge(event, session[0], "observed_in", now)
