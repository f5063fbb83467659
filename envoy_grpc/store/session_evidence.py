"""Repository functions for the rest of a session's evidence: file writes, commits, test runs, fix
chains, bench runs and handovers. Writers run on the writer thread inside the caller's transaction;
like tool calls, each bumps the session's counters in the same UPDATE that proves the session exists.
"""

from __future__ import annotations

from typing import Any

from envoy_grpc.store.session_types import (
    HandoverRow,
    NewBenchRun,
    NewCommit,
    NewFileWrite,
    NewFixChain,
    NewHandover,
    NewTestRun,
    Recorded,
    SessionRow,
)
from envoy_grpc.store.sessions import (
    HANDOVER_COLUMNS,
    append_event,
    cursor,
    dumps,
    handover_from,
    session_not_found,
)


def path_key(path: str) -> str:
    """The indexed form of a path: `/` + path, reversed, so a suffix match is a prefix range."""
    return ("/" + path)[::-1]


def _bump(session_id: str, counter: str = "") -> tuple[Any, ...]:
    """Count one more event (and one more of `counter`) for a session; returns (project, parent_session_id)."""
    extra = f", {counter} = {counter} + 1" if counter else ""
    row = (
        cursor()
        .execute(
            f"UPDATE session SET event_count = event_count + 1{extra} WHERE session_id = ? "
            "RETURNING project, parent_session_id",
            (session_id,),
        )
        .fetchone()
    )
    if row is None:
        raise session_not_found(session_id)
    return tuple(row)


# -- file writes -------------------------------------------------------------------------------

_INSERT_FILE_WRITE = (
    "INSERT INTO session_file_write (session_id, project, agent_id, tool_use_id, file_path, path_key, file_id, "
    "before_hash, after_hash, lines_added, lines_deleted, lines_changed, write_type, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def record_file_write(new: NewFileWrite, agent_id: str, now: float) -> Recorded:
    cur = cursor()
    if new.tool_use_id:
        found = cur.execute(
            "SELECT id FROM session_file_write WHERE session_id = ? AND tool_use_id = ? AND file_path = ? AND tool_use_id <> ''",
            (new.session_id, new.tool_use_id, new.file_path),
        ).fetchone()
        if found is not None:
            return Recorded(new.session_id, int(found[0]), False)
    project, _ = _bump(new.session_id, "file_write_count")
    cur.execute(
        _INSERT_FILE_WRITE,
        (
            new.session_id,
            project,
            agent_id,
            new.tool_use_id,
            new.file_path,
            path_key(new.file_path),
            new.file_id,
            new.before_hash,
            new.after_hash,
            new.lines_added,
            new.lines_deleted,
            new.lines_changed,
            new.write_type,
            now,
        ),
    )
    write_id = int(cur.lastrowid)
    payload = {
        "file_write_id": write_id,
        "file_path": new.file_path,
        "write_type": new.write_type,
        "tool_use_id": new.tool_use_id,
        "before_hash": new.before_hash,
        "after_hash": new.after_hash,
        "lines_added": new.lines_added,
        "lines_deleted": new.lines_deleted,
        "lines_changed": new.lines_changed,
    }
    append_event(new.session_id, "file_write", f"{new.session_id}:{new.file_path}", payload, agent_id, now)
    return Recorded(new.session_id, write_id)


def files_written(session_id: str) -> list[str]:
    """The distinct paths a session wrote, in first-write order."""
    rows = cursor().execute(
        "SELECT file_path, MIN(id) AS first FROM session_file_write WHERE session_id = ? "
        "GROUP BY file_path ORDER BY first",
        (session_id,),
    )
    return [row[0] for row in rows.fetchall()]


# -- commits and fix chains --------------------------------------------------------------------

_COMMIT_VALUES = (
    "parent_sha = ?, message = ?, author = ?, commit_type = ?, files_changed = ?, lines_inserted = ?, "
    "lines_deleted = ?, file_paths_json = ?, feature_tag = ?"
)


def _commit_values(new: NewCommit) -> tuple[Any, ...]:
    return (
        new.parent_sha,
        new.message,
        new.author,
        new.commit_type,
        new.files_changed,
        new.lines_inserted,
        new.lines_deleted,
        dumps(list(new.file_paths)),
        new.feature_tag,
    )


def record_commit(new: NewCommit, agent_id: str, now: float) -> Recorded:
    """Record a commit once per session, completing a fix chain's placeholder for its SHA if there is one."""
    cur = cursor()
    found = cur.execute(
        "SELECT id, placeholder FROM session_commit WHERE session_id = ? AND commit_sha = ?",
        (new.session_id, new.commit_sha),
    ).fetchone()
    if found is not None and not found[1]:
        return Recorded(new.session_id, int(found[0]), False)
    if found is None:
        found = cur.execute(
            "SELECT id, placeholder FROM session_commit WHERE commit_sha = ? AND placeholder = 1 LIMIT 1",
            (new.commit_sha,),
        ).fetchone()
    _bump(new.session_id, "commit_count")
    if found is not None:
        commit_id = int(found[0])
        cur.execute(
            f"UPDATE session_commit SET session_id = ?, agent_id = ?, placeholder = 0, created_at = ?, "
            f"{_COMMIT_VALUES} WHERE id = ?",
            (new.session_id, agent_id, now, *_commit_values(new), commit_id),
        )
    else:
        cur.execute(
            "INSERT INTO session_commit (session_id, agent_id, commit_sha, parent_sha, message, author, "
            "commit_type, files_changed, lines_inserted, lines_deleted, file_paths_json, feature_tag, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new.session_id, agent_id, new.commit_sha, *_commit_values(new), now),
        )
        commit_id = int(cur.lastrowid)
    payload = {
        "commit_id": commit_id,
        "commit_sha": new.commit_sha,
        "message": new.message,
        "author": new.author,
        "commit_type": new.commit_type,
        "file_paths": list(new.file_paths),
    }
    append_event(new.session_id, "commit", new.commit_sha, payload, agent_id, now)
    return Recorded(new.session_id, commit_id)


def _commit_id_for(sha: str, session_id: str) -> int | None:
    """The commit with this SHA, preferring the session's own record of it."""
    row = (
        cursor()
        .execute(
            "SELECT id FROM session_commit WHERE commit_sha = ? ORDER BY session_id = ? DESC, id LIMIT 1",
            (sha, session_id),
        )
        .fetchone()
    )
    return int(row[0]) if row else None


def _ensure_commit(sha: str, kind: str, session_id: str, agent_id: str, now: float) -> None:
    if _commit_id_for(sha, session_id) is None:
        cursor().execute(
            "INSERT INTO session_commit (session_id, agent_id, commit_sha, commit_type, placeholder, created_at) "
            "VALUES (?, ?, ?, ?, 1, ?)",
            (session_id, agent_id, sha, kind, now),
        )


def record_fix_chain(new: NewFixChain, agent_id: str, now: float) -> Recorded:
    cur = cursor()
    key = (new.session_id, new.bug_commit_sha, new.fix_commit_sha)
    found = cur.execute(
        "SELECT id FROM session_fix_chain WHERE session_id = ? AND bug_commit_sha = ? AND fix_commit_sha = ?",
        key,
    ).fetchone()
    if found is not None:
        return Recorded(new.session_id, int(found[0]), False)
    _bump(new.session_id)
    _ensure_commit(new.bug_commit_sha, "bug", new.session_id, agent_id, now)
    _ensure_commit(new.fix_commit_sha, "fix", new.session_id, agent_id, now)
    cur.execute(
        "INSERT INTO session_fix_chain (session_id, agent_id, bug_commit_sha, fix_commit_sha, fix_type, severity, "
        "cycles_to_fix, time_to_fix_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new.session_id,
            agent_id,
            new.bug_commit_sha,
            new.fix_commit_sha,
            new.fix_type,
            new.severity,
            new.cycles_to_fix,
            new.time_to_fix_ms,
            now,
        ),
    )
    chain_id = int(cur.lastrowid)
    payload = {
        "fix_chain_id": chain_id,
        "bug_commit_sha": new.bug_commit_sha,
        "fix_commit_sha": new.fix_commit_sha,
        "fix_type": new.fix_type,
        "severity": new.severity,
        "cycles_to_fix": new.cycles_to_fix,
        "time_to_fix_ms": new.time_to_fix_ms,
    }
    entity = f"{new.bug_commit_sha}:{new.fix_commit_sha}"
    append_event(new.session_id, "fix_linked", entity, payload, agent_id, now)
    return Recorded(new.session_id, chain_id)


# -- test runs and bench runs ------------------------------------------------------------------


def record_test_run(new: NewTestRun, agent_id: str, now: float) -> Recorded:
    cur = cursor()
    if new.tool_use_id:
        found = cur.execute(
            "SELECT id FROM session_test_run WHERE session_id = ? AND tool_use_id = ? AND tool_use_id <> ''",
            (new.session_id, new.tool_use_id),
        ).fetchone()
        if found is not None:
            return Recorded(new.session_id, int(found[0]), False)
    _bump(new.session_id, "test_run_count")
    commit_id = _commit_id_for(new.commit_sha, new.session_id) if new.commit_sha else None
    cur.execute(
        "INSERT INTO session_test_run (session_id, agent_id, tool_use_id, test_name, result, test_suite, "
        "test_command, duration_ms, logs_summary, commit_sha, commit_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new.session_id,
            agent_id,
            new.tool_use_id,
            new.test_name,
            new.result,
            new.test_suite,
            new.test_command,
            new.duration_ms,
            new.logs_summary,
            new.commit_sha,
            commit_id,
            now,
        ),
    )
    run_id = int(cur.lastrowid)
    payload = {
        "test_run_id": run_id,
        "test_name": new.test_name,
        "result": new.result,
        "test_suite": new.test_suite,
        "test_command": new.test_command,
        "duration_ms": new.duration_ms,
        "logs_summary": new.logs_summary,
        "commit_sha": new.commit_sha,
        "commit_id": commit_id,
        "tool_use_id": new.tool_use_id,
    }
    append_event(new.session_id, "test", str(run_id), payload, agent_id, now)
    return Recorded(new.session_id, run_id)


def record_bench_run(new: NewBenchRun, agent_id: str, now: float) -> Recorded:
    """Record a run; a regression is also logged as a `failure` event of the session."""
    cur = cursor()
    _bump(new.session_id)
    cur.execute(
        "INSERT INTO session_bench_run (session_id, agent_id, bench_name, mean_ns, median_ns, p95_ns, "
        "is_regression, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            new.session_id,
            agent_id,
            new.bench_name,
            new.mean_ns,
            new.median_ns,
            new.p95_ns,
            new.is_regression,
            now,
        ),
    )
    run_id = int(cur.lastrowid)
    payload = {
        "bench_run_id": run_id,
        "bench_name": new.bench_name,
        "mean_ns": new.mean_ns,
        "median_ns": new.median_ns,
        "p95_ns": new.p95_ns,
        "is_regression": new.is_regression,
    }
    append_event(new.session_id, "bench", str(run_id), payload, agent_id, now)
    if new.is_regression:
        _bump(new.session_id)
        failure = {"kind": "bench_regression", "bench_name": new.bench_name, "bench_run_id": run_id}
        append_event(new.session_id, "failure", f"bench:{new.bench_name}", failure, agent_id, now)
    return Recorded(new.session_id, run_id)


# -- handovers ---------------------------------------------------------------------------------


def insert_handover(
    new: NewHandover, session: SessionRow, verdict: tuple[bool, list[str]], agent_id: str, now: float
) -> HandoverRow:
    """Store a handover whose addressees, files and verdict the caller has settled.

    The handover names the agent behind the session (or, for a session recorded with the operator
    token, the agent recording the handover); the event log names the recorder.
    """
    _bump(session.session_id)
    verified, reasons = verdict
    cur = cursor()
    cur.execute(
        "INSERT INTO session_handover (session_id, agent_id, to_agent, to_session_id, summary, files_changed_json, "
        "outcome, last_assistant_message, transcript_path, verified, verification_reasons_json, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING " + HANDOVER_COLUMNS,
        (
            session.session_id,
            session.agent_id or agent_id,
            new.to_agent,
            new.to_session_id or None,
            new.summary,
            dumps(list(new.files_changed)),
            new.outcome,
            new.last_assistant_message,
            new.transcript_path,
            verified,
            dumps(reasons),
            now,
        ),
    )
    row = handover_from(tuple(cur.fetchone()))
    payload = {
        "handover_id": row.handover_id,
        "summary": new.summary,
        "files_changed": list(new.files_changed),
        "outcome": new.outcome,
        "to_agent": new.to_agent,
        "to_session_id": new.to_session_id or None,
        "verified": verified,
        "verification_reasons": reasons,
    }
    append_event(session.session_id, "subagent_handover", session.session_id, payload, agent_id, now)
    return row
