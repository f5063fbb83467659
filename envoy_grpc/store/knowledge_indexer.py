"""Indexing what other areas record: sessions, prompts, tool calls, handovers and messages.

Those areas write on their own hot paths and know nothing of search, so their records are indexed
from a durable cursor instead of in their transaction: for each source table, the highest ID already
indexed is kept in the `counter` table (`knowledge_index.<table>`), and `drain` (a unit of work on
the writer thread) takes the rows past it in ID order, a batch at a time, and advances the cursor in
the same transaction as the documents it writes. IDs are AUTOINCREMENT and the writer is single, so
no row can appear behind a cursor, and a crash re-indexes at most an uncommitted batch.

What each source gives:
- `session`, `session_prompt` and `session_tool_call` mark sessions whose summary document (project,
  agent, last tool summary, prompt summaries) is rebuilt;
- `session_tool_call` also adds one `knowledge_read` row per file path of a file-reading call
  (category `file_read`, or a Read, Glob, Grep, LS or NotebookRead tool): the reads GetKnowledge's
  savings estimate counts, the same calls the graph projector turns into Session `accessed` File;
- `session_handover` and `message` each give one document per row (messages without text none).
"""

from __future__ import annotations

import json
from typing import Any

from envoy_grpc.core.graph_mapping import READ_TOOLS
from envoy_grpc.store import knowledge_index as search_index
from envoy_grpc.store.knowledge import cursor

SOURCES = ("session", "session_prompt", "session_tool_call", "session_handover", "message")
PROMPTS_PER_SESSION = 200  # the newest prompt summaries that go into a session's document

_COLUMNS = {
    "session": "id, session_id",
    "session_prompt": "id, session_id",
    "session_tool_call": "id, session_id, tool_name, tool_category, input_tokens_est, file_paths_json",
    "session_handover": "id, session_id, summary, outcome, files_changed_json, last_assistant_message, created_at",
    "message": "id, parts_json, created_at",
}


def counter_name(source: str) -> str:
    return f"knowledge_index.{source}"


def position(source: str) -> int:
    row = cursor().execute("SELECT value FROM counter WHERE name = ?", (counter_name(source),)).fetchone()
    return int(row[0]) if row else 0


def pending() -> bool:
    """Whether any source has rows past its cursor (a cheap check, run on a reader)."""
    cur = cursor()
    for source in SOURCES:
        newest = cur.execute(f"SELECT MAX(id) FROM {source}").fetchone()[0]
        if newest is not None and int(newest) > position(source):
            return True
    return False


def drain(batch: int) -> bool:
    """Index up to `batch` rows of each source; returns whether any source has more."""
    cur = cursor()
    more = False
    sessions: set[str] = set()
    for source in SOURCES:
        rows = cur.execute(
            f"SELECT {_COLUMNS[source]} FROM {source} WHERE id > ? ORDER BY id LIMIT ?",
            (position(source), batch),
        ).fetchall()
        if not rows:
            continue
        more = more or len(rows) == batch
        if source == "session_handover":
            _index_handovers(rows)
        elif source == "message":
            _index_messages(rows)
        else:
            sessions.update(str(r[1]) for r in rows)
            if source == "session_tool_call":
                _record_reads(rows)
        cur.execute(
            "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (counter_name(source), int(rows[-1][0])),
        )
    for session_id in sorted(sessions):
        index_session(session_id)
    return more


def _record_reads(rows: list[Any]) -> None:
    reads = [
        (path, str(session_id), int(call_id), tokens)
        for call_id, session_id, tool, category, tokens, paths_json in rows
        if category == "file_read" or tool in READ_TOOLS
        for path in json.loads(paths_json)
        if isinstance(path, str) and path
    ]
    cursor().executemany(
        "INSERT INTO knowledge_read (path, session_id, tool_call_id, input_tokens_est) VALUES (?, ?, ?, ?)",
        reads,
    )


def index_session(session_id: str) -> None:
    cur = cursor()
    row = cur.execute(
        "SELECT id, session_id, agent, project, git_branch, last_tool_summary, started_at FROM session "
        "WHERE session_id = ?",
        (session_id,),
    ).fetchone()
    if row is None:  # purged since it was recorded
        return
    prompts = cur.execute(
        "SELECT input_summary FROM session_prompt WHERE session_id = ? ORDER BY created_at DESC LIMIT ?",
        (session_id, PROMPTS_PER_SESSION),
    ).fetchall()
    body = search_index.session_text(tuple(row[1:6]), [str(p[0]) for p in reversed(prompts)])
    search_index.index("Session", int(row[0]), str(row[3]), float(row[6]), body)


def _index_handovers(rows: list[Any]) -> None:
    cur = cursor()
    for handover_id, session_id, summary, outcome, files_json, last_message, created_at in rows:
        project = cur.execute("SELECT project FROM session WHERE session_id = ?", (session_id,)).fetchone()
        body = search_index.handover_text(summary, outcome, files_json, last_message)
        search_index.index(
            "Handover", int(handover_id), project[0] if project else "", float(created_at), body
        )


def _index_messages(rows: list[Any]) -> None:
    documents = []
    for message_id, parts_json, created_at in rows:
        body = search_index.message_text(parts_json)
        if body:
            documents.append((int(message_id), "", float(created_at), body))
    search_index.index_many("Message", documents)
