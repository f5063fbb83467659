"""The search index's portable half: one `knowledge_doc` row per searchable record, and its text.

A document is named by the kind of its record and the record's ID (`Discovery` 7, `Session` 12,
...), carries the record's project (for the `project` filter) and time (newer wins ties), and its
text goes to the FTS seam (`envoy_grpc.store.knowledge_fts`) under the document's ID. Writers call
`index` and `forget` inside their own transaction, so a record and its document commit together.
The `*_text` functions say what of each record is searchable; its parts are joined with ` · ` so a
snippet reads as one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from envoy_grpc.store import knowledge_fts as fts
from envoy_grpc.store.knowledge_types import DiscoveryRow, HandoffRow, MemoryRow

KINDS = ("Discovery", "Memory", "Handoff", "Handover", "Session", "Message")
SEPARATOR = " · "

_UPSERT = (
    "INSERT INTO knowledge_doc (kind, record_id, project, created_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (kind, record_id) DO UPDATE SET project = excluded.project, created_at = excluded.created_at "
    "RETURNING id"
)


def index(kind: str, record_id: int, project: str | None, created_at: float, body: str) -> None:
    """Make one record searchable, or replace its text."""
    row = fts.cursor().execute(_UPSERT, (kind, record_id, project or "", created_at)).fetchone()
    fts.put(int(row[0]), body)


_EXISTING = (
    "SELECT record_id, id FROM knowledge_doc WHERE kind = ? AND record_id IN (SELECT value FROM json_each(?))"
)
_INSERT_NEW = (
    "INSERT INTO knowledge_doc (kind, record_id, project, created_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (kind, record_id) DO NOTHING"
)


def index_many(kind: str, records: list[tuple[int, str, float, str]]) -> None:
    """`index` for many records of one kind: (record ID, project, time, text) each. Records seen for
    the first time (the usual case for a cursor's new rows) cost one statement for the lot, with no
    look-up of text to replace; the others are indexed one by one."""
    cur = fts.cursor()
    wanted = json.dumps([record_id for record_id, _, _, _ in records])
    existing = dict(cur.execute(_EXISTING, (kind, wanted)).fetchall())
    fresh = [record for record in records if record[0] not in existing]
    for record_id, project, created_at, body in records:
        if record_id in existing:
            index(kind, record_id, project, created_at, body)
    if not fresh:
        return
    cur.executemany(_INSERT_NEW, [(kind, r[0], r[1] or "", r[2]) for r in fresh])
    ids = dict(cur.execute(_EXISTING, (kind, json.dumps([r[0] for r in fresh]))).fetchall())
    fts.put_new([(ids[record_id], body) for record_id, _, _, body in fresh])


def forget(kind: str, record_ids: Iterable[int]) -> int:
    """Remove the documents of these records; returns how many there were."""
    cur = fts.cursor()
    doc_ids = []
    for record_id in record_ids:
        found = cur.execute(
            "DELETE FROM knowledge_doc WHERE kind = ? AND record_id = ? RETURNING id", (kind, record_id)
        ).fetchone()
        if found is not None:
            doc_ids.append(int(found[0]))
    fts.drop(doc_ids)
    return len(doc_ids)


def forget_documents(doc_ids: list[int]) -> int:
    """Remove documents by their own IDs (those whose records are gone)."""
    cur = fts.cursor()
    gone = [d for d in doc_ids if cur.execute("DELETE FROM knowledge_doc WHERE id = ?", (d,)).rowcount]
    fts.drop(gone)
    return len(gone)


def count(kind: str, record_ids: Iterable[int]) -> int:
    cur = fts.cursor()
    sql = "SELECT 1 FROM knowledge_doc WHERE kind = ? AND record_id = ?"
    return sum(1 for r in record_ids if cur.execute(sql, (kind, r)).fetchone() is not None)


# -- what is searchable ------------------------------------------------------------------------


def flatten(value: Any, key: str = "") -> list[str]:
    """JSON as lines of `key: value`, depth first, so keys and values are both searchable."""
    if isinstance(value, dict):
        return [line for k, v in value.items() for line in flatten(v, str(k))]
    if isinstance(value, list):
        return [line for item in value for line in flatten(item, key)]
    text = value if isinstance(value, str) else json.dumps(value)
    return [f"{key}: {text}" if key else text]


def discovery_text(row: DiscoveryRow) -> str:
    return SEPARATOR.join([f"{row.discovery_type} {row.target}", row.agent, *flatten(row.metadata)])


def memory_text(row: MemoryRow) -> str:
    return SEPARATOR.join(part for part in (row.key, row.content, row.target or "") if part)


def handoff_text(row: HandoffRow) -> str:
    return SEPARATOR.join([f"{row.from_agent} → {row.to_agent}", *flatten(row.manifest)])


def handover_text(summary: str, outcome: str, files_changed_json: str, last_message: str | None) -> str:
    files: list[str] = json.loads(files_changed_json)
    return SEPARATOR.join(part for part in (summary, outcome, *files, last_message or "") if part)


def session_text(session: tuple[Any, ...], prompt_summaries: list[str]) -> str:
    """(session_id, agent, project, git_branch, last_tool_summary) and the prompts' summaries."""
    return SEPARATOR.join(str(part) for part in (*session, *prompt_summaries) if part)


def message_text(parts_json: str) -> str:
    """The text of a message's text parts (data and URL parts are not prose)."""
    parts: list[dict[str, Any]] = json.loads(parts_json)
    return SEPARATOR.join(str(p["text"]) for p in parts if isinstance(p, dict) and p.get("text"))
