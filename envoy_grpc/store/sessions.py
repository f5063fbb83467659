"""Repository functions for sessions, their event log, prompts and tool calls.

Writers run on the writer thread inside the caller's transaction. Each record is one `UPDATE session
... RETURNING` (which bumps the session's counters, proves the session exists and hands back what
the record needs), one INSERT of the record and one INSERT into the event log: counters are never
recounted and never trusted from the client. Tool calls are the hottest write, so this module uses
plain SQL on the transaction's cursor, as the send path does.
"""

from __future__ import annotations

import json
from typing import Any

from envoy_grpc import errors
from envoy_grpc.store.models import database_proxy
from envoy_grpc.store.session_types import (
    EventRecorded,
    EventRow,
    HandoverRow,
    NewEvent,
    NewPrompt,
    NewSession,
    NewToolCall,
    Recorded,
    SessionCreated,
    SessionDetail,
    SessionEnd,
    SessionRow,
)


def cursor() -> Any:
    """A cursor on this thread's connection (the writer's transaction, or a reader's)."""
    return database_proxy.cursor()


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def session_not_found(session_id: str) -> errors.EnvoyError:
    return errors.not_found(
        "SESSION_NOT_FOUND",
        f"no session with ID {session_id!r} (session_id); record it first with CreateSession "
        "(POST /atheneum/sessions)",
        sessionId=session_id,
    )


def append_event(
    session_id: str, event_type: str, entity_id: str, payload: dict[str, Any], agent_id: str, now: float
) -> int:
    """Add an entry to the event log. The caller has already counted it in `session.event_count`."""
    cur = cursor()
    cur.execute(
        "INSERT INTO session_event (session_id, event_type, entity_id, payload_json, agent_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (session_id, event_type, entity_id, dumps(payload), agent_id, now),
    )
    return int(cur.lastrowid)


# -- sessions ----------------------------------------------------------------------------------

SESSION_COLUMNS = (
    "session_id, agent, agent_id, project, tool, trigger, model, git_branch, git_head, parent_session_id, "
    "started_at, ended_at, exit_status, prompt_count, tool_call_count, file_write_count, commit_count, "
    "test_run_count, event_count, last_tool, last_tool_summary, "
    "COALESCE(total_input_tokens, prompt_input_tokens), COALESCE(total_output_tokens, prompt_output_tokens), "
    "COALESCE(total_cost_usd, prompt_cost_usd)"
)
_INSERT_SESSION = (
    "INSERT INTO session (session_id, agent, agent_id, project, tool, trigger, model, git_branch, git_head, "
    "parent_session_id, started_at, event_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) "
    "ON CONFLICT (session_id) DO NOTHING"
)


def get_session(session_id: str) -> SessionRow | None:
    row = (
        cursor()
        .execute(f"SELECT {SESSION_COLUMNS} FROM session WHERE session_id = ?", (session_id,))
        .fetchone()
    )
    return SessionRow(*row) if row else None


def session_or_error(session_id: str) -> SessionRow:
    row = get_session(session_id)
    if row is None:
        raise session_not_found(session_id)
    return row


def create_session(new: NewSession, agent_id: str, now: float) -> SessionCreated:
    """Record a session once; a repeat changes nothing and returns the recorded one."""
    cur = cursor()
    cur.execute(
        _INSERT_SESSION,
        (
            new.session_id,
            new.agent,
            agent_id,
            new.project,
            new.tool,
            new.trigger,
            new.model,
            new.git_branch,
            new.git_head,
            new.parent_session_id,
            now,
        ),
    )
    is_new = cur.rowcount == 1
    if is_new:
        payload = {"project": new.project, "tool": new.tool, "agent": new.agent, "trigger": new.trigger}
        append_event(new.session_id, "session_start", new.session_id, payload, agent_id, now)
    return SessionCreated(session_or_error(new.session_id), is_new)


def end_session(end: SessionEnd, agent_id: str, now: float) -> SessionRow:
    """Set the exit status and the totals given; keep the first `ended_at`."""
    cur = cursor()
    cur.execute(
        "UPDATE session SET ended_at = COALESCE(ended_at, ?), exit_status = ?, "
        "total_input_tokens = COALESCE(?, total_input_tokens), "
        "total_output_tokens = COALESCE(?, total_output_tokens), "
        "total_cost_usd = COALESCE(?, total_cost_usd), event_count = event_count + 1 "
        "WHERE session_id = ?",
        (
            now,
            end.exit_status,
            end.total_input_tokens,
            end.total_output_tokens,
            end.total_cost_usd,
            end.session_id,
        ),
    )
    if cur.rowcount != 1:
        raise session_not_found(end.session_id)
    append_event(
        end.session_id, "session_end", end.session_id, {"exit_status": end.exit_status}, agent_id, now
    )
    return session_or_error(end.session_id)


def reopen_session(session_id: str, agent_id: str, now: float) -> tuple[SessionRow, bool]:
    """Clear `ended_at` and `exit_status` of an ended session; returns (session, whether it was ended)."""
    cur = cursor()
    cur.execute(
        "UPDATE session SET ended_at = NULL, exit_status = NULL, event_count = event_count + 1 "
        "WHERE session_id = ? AND ended_at IS NOT NULL",
        (session_id,),
    )
    reopened = cur.rowcount == 1
    if reopened:
        append_event(session_id, "session_reopened", session_id, {}, agent_id, now)
    return session_or_error(session_id), reopened


def list_sessions(project: str, parent_id: str, limit: int, open_only: bool = False) -> list[SessionRow]:
    """Newest `started_at` first; each filter is optional (empty matches everything)."""
    clauses, params = [], []
    if project:
        clauses.append("project = ?")
        params.append(project)
    if parent_id:
        clauses.append("parent_session_id = ?")
        params.append(parent_id)
    if open_only:
        clauses.append("ended_at IS NULL")
    where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
    sql = f"SELECT {SESSION_COLUMNS} FROM session {where}ORDER BY started_at DESC LIMIT ?"
    return [SessionRow(*row) for row in cursor().execute(sql, (*params, limit)).fetchall()]


# -- the event log -----------------------------------------------------------------------------

EVENT_COLUMNS = "id, session_id, event_type, entity_id, payload_json, agent_id, created_at"


def record_event(new: NewEvent, agent_id: str, now: float) -> EventRecorded:
    cur = cursor()
    cur.execute("UPDATE session SET event_count = event_count + 1 WHERE session_id = ?", (new.session_id,))
    if cur.rowcount != 1:
        raise session_not_found(new.session_id)
    event_id = append_event(new.session_id, new.event_type, new.entity_id, new.payload, agent_id, now)
    return EventRecorded(new.session_id, event_id, 0)


def list_events(session_id: str, event_type: str, limit: int) -> list[EventRow]:
    """Newest first, optionally of one session and of one type."""
    clauses, params = [], []
    if session_id:
        clauses.append("session_id = ?")
        params.append(session_id)
    if event_type:
        clauses.append("event_type = ?")
        params.append(event_type)
    where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
    sql = f"SELECT {EVENT_COLUMNS} FROM session_event {where}ORDER BY id DESC LIMIT ?"
    return [EventRow(*row) for row in cursor().execute(sql, (*params, limit)).fetchall()]


HANDOVER_COLUMNS = (
    "id, session_id, agent_id, to_agent, to_session_id, summary, files_changed_json, outcome, "
    "last_assistant_message, transcript_path, verified, verification_reasons_json, created_at"
)


def handover_from(row: tuple[Any, ...]) -> HandoverRow:
    values = list(row)
    values[10] = bool(values[10])
    return HandoverRow(*values)


def handovers_of(session_id: str) -> list[HandoverRow]:
    """The handovers a session recorded and those addressed to it, oldest first."""
    sql = (
        f"SELECT {HANDOVER_COLUMNS} FROM session_handover WHERE session_id = ? "
        f"UNION SELECT {HANDOVER_COLUMNS} FROM session_handover WHERE to_session_id = ? ORDER BY id"
    )
    return [handover_from(row) for row in cursor().execute(sql, (session_id, session_id)).fetchall()]


def session_detail(session_id: str, limit: int) -> SessionDetail | None:
    session = get_session(session_id)
    if session is None:
        return None
    return SessionDetail(
        session=session,
        tool_calls=list_events(session_id, "tool_call", limit),
        events=list_events(session_id, "", limit),
        handovers=handovers_of(session_id),
    )


# -- prompts and tool calls --------------------------------------------------------------------

_BUMP_PROMPTS = (
    "UPDATE session SET prompt_count = prompt_count + 1, event_count = event_count + 1, "
    "last_prompt_sequence = MAX(last_prompt_sequence, CASE WHEN ? > 0 THEN ? ELSE last_prompt_sequence + 1 END), "
    "prompt_input_tokens = prompt_input_tokens + COALESCE(?, 0), "
    "prompt_output_tokens = prompt_output_tokens + COALESCE(?, 0), "
    "prompt_cost_usd = prompt_cost_usd + COALESCE(?, 0) "
    "WHERE session_id = ? RETURNING last_prompt_sequence"
)
_INSERT_PROMPT = (
    "INSERT INTO session_prompt (session_id, agent_id, sequence, role, input_hash, input_summary, output_hash, "
    "input_tokens, output_tokens, latency_ms, model, cost_usd, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def record_prompt(new: NewPrompt, agent_id: str, now: float) -> Recorded:
    cur = cursor()
    row = cur.execute(
        _BUMP_PROMPTS,
        (
            new.sequence,
            new.sequence,
            new.input_tokens,
            new.output_tokens,
            new.cost_usd,
            new.session_id,
        ),
    ).fetchone()
    if row is None:
        raise session_not_found(new.session_id)
    sequence = new.sequence or int(row[0])
    cur.execute(
        _INSERT_PROMPT,
        (
            new.session_id,
            agent_id,
            sequence,
            new.role,
            new.input_hash,
            new.input_summary,
            new.output_hash,
            new.input_tokens,
            new.output_tokens,
            new.latency_ms,
            new.model,
            new.cost_usd,
            now,
        ),
    )
    prompt_id = int(cur.lastrowid)
    payload = {
        "prompt_id": prompt_id,
        "sequence": sequence,
        "role": new.role,
        "input_hash": new.input_hash,
        "input_summary": new.input_summary,
        "model": new.model,
        "input_tokens": new.input_tokens,
        "output_tokens": new.output_tokens,
        "latency_ms": new.latency_ms,
        "cost_usd": new.cost_usd,
    }
    append_event(new.session_id, "prompt", f"{new.session_id}:{sequence}", payload, agent_id, now)
    return Recorded(new.session_id, prompt_id, True, sequence)


# `tool_use_id <> ''` is spelled out so SQLite can use the partial unique index, which it cannot prove
# applicable from a bound parameter alone.
_EXISTING_TOOL_CALL = "SELECT id, sequence FROM session_tool_call WHERE session_id = ? AND tool_use_id = ? AND tool_use_id <> ''"
_BUMP_TOOL_CALLS = (
    "UPDATE session SET tool_call_count = tool_call_count + 1, event_count = event_count + 1, "
    "last_tool = ?, last_tool_summary = ? WHERE session_id = ? RETURNING tool_call_count"
)
_INSERT_TOOL_CALL = (
    "INSERT INTO session_tool_call (session_id, agent_id, tool_use_id, sequence, tool_name, tool_version, "
    "tool_category, exit_status, input_hash, input_summary, output_hash, output_summary, latency_ms, "
    "input_tokens_est, file_paths_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def record_tool_call(new: NewToolCall, agent_id: str, now: float) -> Recorded:
    """The hot path: an indexed look-up (with a tool_use_id), one UPDATE, two INSERTs."""
    cur = cursor()
    if new.tool_use_id:
        found = cur.execute(_EXISTING_TOOL_CALL, (new.session_id, new.tool_use_id)).fetchone()
        if found is not None:
            return Recorded(new.session_id, int(found[0]), False, int(found[1]))
    row = cur.execute(_BUMP_TOOL_CALLS, (new.tool_name, new.input_summary or None, new.session_id)).fetchone()
    if row is None:
        raise session_not_found(new.session_id)
    sequence = int(row[0])
    paths = list(new.file_paths)
    cur.execute(
        _INSERT_TOOL_CALL,
        (
            new.session_id,
            agent_id,
            new.tool_use_id,
            sequence,
            new.tool_name,
            new.tool_version,
            new.tool_category,
            new.exit_status,
            new.input_hash,
            new.input_summary,
            new.output_hash,
            new.output_summary,
            new.latency_ms,
            new.input_tokens_est,
            dumps(paths),
            now,
        ),
    )
    tool_call_id = int(cur.lastrowid)
    payload = {
        "tool_call_id": tool_call_id,
        "sequence": sequence,
        "tool_name": new.tool_name,
        "exit_status": new.exit_status,
        "input_summary": new.input_summary,
        "output_summary": new.output_summary,
        "latency_ms": new.latency_ms,
        "tool_use_id": new.tool_use_id,
        "tool_version": new.tool_version,
        "tool_category": new.tool_category,
        "input_hash": new.input_hash,
        "output_hash": new.output_hash,
        "input_tokens_est": new.input_tokens_est,
        "file_paths": paths,
    }
    entity = f"{new.session_id}:{new.tool_name}:{sequence}"
    append_event(new.session_id, "tool_call", entity, payload, agent_id, now)
    return Recorded(new.session_id, tool_call_id, True, sequence)
