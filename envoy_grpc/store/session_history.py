"""Read side of accountability: "who changed this file and why", and the evidence a handover is judged on.

A file's history is one indexed query over the writes (an equality or a prefix range on the reversed
path, see `session_evidence.path_key`), then a few keyed look-ups per write on the same reader
connection: its tool call, the prompt before it, and the handover and commit after it. Nothing scans
every session, and the work is bounded by the page size.
"""

from __future__ import annotations

from typing import Any

from envoy_grpc.store import project_events
from envoy_grpc.store.session_evidence import path_key
from envoy_grpc.store.session_types import (
    CommitRow,
    FileChange,
    FileWriteRow,
    HandoverRow,
    PromptRow,
    SessionRow,
    ToolCallRow,
    VerificationEvidence,
)
from envoy_grpc.store.sessions import HANDOVER_COLUMNS, cursor, handover_from

WRITE_COLUMNS = (
    "id, session_id, project, agent_id, tool_use_id, file_path, file_id, before_hash, after_hash, "
    "lines_added, lines_deleted, lines_changed, write_type, created_at"
)
TOOL_CALL_COLUMNS = (
    "id, session_id, agent_id, tool_use_id, sequence, tool_name, tool_version, tool_category, exit_status, "
    "input_hash, input_summary, output_hash, output_summary, latency_ms, input_tokens_est, file_paths_json, "
    "created_at"
)
PROMPT_COLUMNS = (
    "id, session_id, agent_id, sequence, role, input_hash, input_summary, output_hash, input_tokens, "
    "output_tokens, latency_ms, model, cost_usd, created_at"
)
COMMIT_COLUMNS = (
    "id, session_id, commit_sha, parent_sha, message, author, commit_type, files_changed, lines_inserted, "
    "lines_deleted, file_paths_json, feature_tag, created_at"
)
# How far back to look for a tool call naming a file, and ahead for a commit naming it.
NEARBY_LIMIT = 50


def same_file(recorded: str, wanted: str) -> bool:
    """Whether two recorded paths name the same file: equal, or one is the other's tail after a `/`
    (a commit lists `src/main.rs` where the hook recorded `/home/ada/envoy/src/main.rs`)."""
    a, b = recorded.removeprefix("./"), wanted.removeprefix("./")
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def _writes(path: str, project: str, before_id: int | None, limit: int) -> list[FileWriteRow]:
    """An absolute path matches exactly; a relative one matches every path ending in `/` + it (or equal)."""
    key = path_key(path)
    clauses: list[str]
    params: list[Any]
    if path.startswith("/"):
        clauses, params = ["path_key = ?"], [key]
    else:  # the key ends with "/": the range is every key that starts with it ("0" follows "/")
        clauses, params = ["path_key >= ?", "path_key < ?"], [key, key[:-1] + "0"]
    if project:
        clauses.append("project = ?")
        params.append(project)
    if before_id is not None:
        clauses.append("id < ?")
        params.append(before_id)
    sql = f"SELECT {WRITE_COLUMNS} FROM session_file_write WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?"
    return [FileWriteRow(*row) for row in cursor().execute(sql, (*params, limit)).fetchall()]


def _sessions(session_ids: set[str]) -> dict[str, tuple[str, str | None]]:
    """(agent label, parent_session_id) of each session, in one query."""
    if not session_ids:
        return {}
    marks = ", ".join("?" for _ in session_ids)
    rows = cursor().execute(
        f"SELECT session_id, agent, parent_session_id FROM session WHERE session_id IN ({marks})",
        tuple(session_ids),
    )
    return {row[0]: (row[1], row[2]) for row in rows.fetchall()}


def _tool_call(write: FileWriteRow) -> ToolCallRow | None:
    cur = cursor()
    if write.tool_use_id:
        row = cur.execute(
            f"SELECT {TOOL_CALL_COLUMNS} FROM session_tool_call WHERE session_id = ? AND tool_use_id = ? AND tool_use_id <> ''",
            (write.session_id, write.tool_use_id),
        ).fetchone()
        if row is not None:
            return ToolCallRow(*row)
    rows = cur.execute(
        f"SELECT {TOOL_CALL_COLUMNS} FROM session_tool_call WHERE session_id = ? AND created_at <= ? "
        "ORDER BY created_at DESC LIMIT ?",
        (write.session_id, write.created_at, NEARBY_LIMIT),
    ).fetchall()
    for row in rows:
        call = ToolCallRow(*row)
        if any(same_file(p, write.file_path) for p in call.file_paths):
            return call
    return None


def _prompt(session_id: str, at: float) -> PromptRow | None:
    row = (
        cursor()
        .execute(
            f"SELECT {PROMPT_COLUMNS} FROM session_prompt WHERE session_id = ? AND created_at <= ? "
            "ORDER BY created_at DESC LIMIT 1",
            (session_id, at),
        )
        .fetchone()
    )
    return PromptRow(*row) if row else None


def _handover(session_id: str, at: float) -> HandoverRow | None:
    row = (
        cursor()
        .execute(
            f"SELECT {HANDOVER_COLUMNS} FROM session_handover WHERE session_id = ? AND created_at >= ? "
            "ORDER BY created_at LIMIT 1",
            (session_id, at),
        )
        .fetchone()
    )
    return handover_from(tuple(row)) if row else None


def _commit(write: FileWriteRow, parent: str | None) -> CommitRow | None:
    sessions = (write.session_id, parent or write.session_id)
    rows = cursor().execute(
        f"SELECT {COMMIT_COLUMNS} FROM session_commit WHERE session_id IN (?, ?) AND created_at >= ? "
        "AND placeholder = 0 ORDER BY created_at LIMIT ?",
        (*sessions, write.created_at, NEARBY_LIMIT),
    )
    for row in rows.fetchall():
        commit = CommitRow(*row)
        if any(same_file(p, write.file_path) for p in commit.file_paths):
            return commit
    return None


def file_history(path: str, project: str, before_id: int | None, limit: int) -> tuple[list[FileChange], bool]:
    """Up to `limit` changes to `path`, newest first, with whether more follow."""
    writes = _writes(path, project, before_id, limit + 1)
    more = len(writes) > limit
    writes = writes[:limit]
    sessions = _sessions({w.session_id for w in writes})
    changes = []
    for write in writes:
        agent, parent = sessions.get(write.session_id, ("", None))
        prompt = _prompt(write.session_id, write.created_at)
        if prompt is None and parent:
            prompt = _prompt(parent, write.created_at)
        changes.append(
            FileChange(
                write=write,
                agent=agent,
                tool_call=_tool_call(write),
                prompt=prompt,
                handover=_handover(write.session_id, write.created_at),
                commit=_commit(write, parent),
            )
        )
    return changes, more


def latest_tests(session_id: str) -> list[tuple[str, str]]:
    """The result of each test's latest run in a session, by test name."""
    rows = cursor().execute(
        "SELECT test_name, result, MAX(id) FROM session_test_run WHERE session_id = ? GROUP BY test_name "
        "ORDER BY test_name",
        (session_id,),
    )
    return [(row[0], row[1]) for row in rows.fetchall()]


def verification_evidence(session: SessionRow, now: float) -> VerificationEvidence:
    until = session.ended_at if session.ended_at is not None else now
    events = project_events.verifying_events(session.session_id, session.project, session.started_at, until)
    return VerificationEvidence(latest_tests(session.session_id), events)
