"""Export the records as JSON lines, from one snapshot of the live database.

The export reads through a read-only connection of its own, inside one read transaction, so it works
while a server is serving and every line comes from the same committed state. Rows stream out one at
a time (memory stays flat however large the database is).

The first line is a header: `{"kind": "header", "format": "envoy-grpc-export", "version": 1,
"schema_version": N, "exported_at": <seconds>, "counts": {kind: n}}`. Every other line is one record
with a `"kind"`. Columns are the table's, with three changes: secrets are left out (agents' token
hashes, messages' body hashes), `*_json` columns appear decoded under the name without the suffix
(and a `kind` column as `<kind>_kind`, such as the agent's `agent_kind`), and a message carries its recipients' `deliveries` (state, sequence, attempts). Times are float
seconds since the Unix epoch, as stored.

Derived tables (search indexes, the knowledge graph, code symbols, counters) are not exported: the
server rebuilds them from the records. `EXPORTED` and `DERIVED` together name every table, and a test
fails when a new table is in neither.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from envoy_grpc.store.backup import open_source

FORMAT = "envoy-grpc-export"
VERSION = 1


@dataclass(frozen=True)
class Kind:
    """One kind of exported record: the table it comes from and the columns it leaves out."""

    kind: str
    table: str
    order_by: str = "id"
    omit: tuple[str, ...] = ()


EXPORTED = (
    Kind("agent", "agent", omit=("token_hash", "sort_key")),
    Kind("topic_subscription", "topic_subscription"),
    Kind("message", "message", omit=("body_hash",)),
    Kind("session", "session"),
    Kind("session_event", "session_event"),
    Kind("prompt", "session_prompt"),
    Kind("tool_call", "session_tool_call"),
    Kind("file_write", "session_file_write", omit=("path_key",)),
    Kind("commit", "session_commit"),
    Kind("test_run", "session_test_run"),
    Kind("fix_chain", "session_fix_chain"),
    Kind("bench_run", "session_bench_run"),
    Kind("handover", "session_handover"),
    Kind("project_event", "project_event"),
    Kind("discovery", "discovery", omit=("content_hash",)),
    Kind("memory", "memory"),
    Kind("handoff", "handoff"),
    Kind("lease", "lease"),
    Kind("task", "task"),
    Kind("task_blocker", "task_blocker", order_by="task_id, blocker_id"),
    Kind("task_event", "task_event"),
    Kind("dependency", "dependency"),
    Kind("code_project", "code_project", order_by="name"),
)

# Tables that are not exported: exported inside another kind (delivery), rebuilt from the records
# (search, graph, symbols), or bookkeeping.
DERIVED = frozenset(
    {
        "delivery",
        "counter",
        "sqlite_sequence",
        "handoff_mention",
        "knowledge_read",
        "knowledge_doc",
        "graph_entity",
        "graph_edge",
        "graph_count",
        "code_symbol",
        "code_symbol_gram",
    }
)
_FTS_PREFIXES = ("knowledge_fts", "code_symbol_fts")

_DELIVERY_COLUMNS = (
    "agent_id, sequence, state, delivery_count, first_delivered_at, last_delivered_at, "
    "surfaced_at, acked_at, next_attempt_at, expires_at"
)


@dataclass(frozen=True)
class ExportReport:
    counts: dict[str, int]
    seconds: float


def unexported_tables(connection: sqlite3.Connection) -> list[str]:
    """Tables of the database that this module neither exports nor knows to be derived."""
    names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    known = {kind.table for kind in EXPORTED} | DERIVED
    return sorted(n for n in names if n not in known and not n.startswith(_FTS_PREFIXES))


def export(database: Path, out: TextIO) -> ExportReport:
    """Write the header and every record of `database` to `out`, one JSON object per line."""
    started = time.monotonic()
    with contextlib.closing(open_source(database)) as connection:
        connection.isolation_level = None  # we issue BEGIN ourselves: one read transaction, one snapshot
        connection.execute("BEGIN")
        try:
            counts = _counts(connection)
            header = {
                "kind": "header",
                "format": FORMAT,
                "version": VERSION,
                "schema_version": connection.execute("PRAGMA user_version").fetchone()[0],
                "exported_at": time.time(),
                "counts": counts,
            }
            _write(out, header)
            for kind in EXPORTED:
                for record in _records(connection, kind):
                    _write(out, record)
        finally:
            connection.execute("COMMIT")
    return ExportReport(counts, time.monotonic() - started)


def _counts(connection: sqlite3.Connection) -> dict[str, int]:
    present = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {
        kind.kind: int(connection.execute(f"SELECT count(*) FROM {kind.table}").fetchone()[0])
        if kind.table in present
        else 0
        for kind in EXPORTED
    }


def _records(connection: sqlite3.Connection, kind: Kind) -> Iterator[dict[str, Any]]:
    try:
        cursor = connection.execute(f"SELECT * FROM {kind.table} ORDER BY {kind.order_by}")
    except sqlite3.OperationalError:  # a table an older schema does not have yet
        return
    columns = [description[0] for description in cursor.description]
    deliveries = _deliveries(connection) if kind.kind == "message" else None
    for row in cursor:
        record = _record(kind, columns, row)
        if deliveries is not None:
            record["deliveries"] = deliveries.take(record["id"])
        yield record


def _record(kind: Kind, columns: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": kind.kind}
    for column, value in zip(columns, row, strict=True):
        if column in kind.omit:
            continue
        if column == "kind":  # the record's own `kind` names the record type
            record[f"{kind.kind}_kind"] = value
        elif column.endswith("_json") and isinstance(value, str):
            record[column.removesuffix("_json")] = json.loads(value)
        else:
            record[column] = value
    return record


class _DeliveryMerge:
    """Deliveries ordered by message, handed out message by message (a merge join, no lookups)."""

    def __init__(self, rows: Iterator[tuple[Any, ...]], columns: list[str]) -> None:
        self.rows = rows
        self.columns = columns
        self.pending = next(rows, None)

    def take(self, message_id: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while self.pending is not None and self.pending[0] <= message_id:
            if self.pending[0] == message_id:
                found.append(dict(zip(self.columns, self.pending[1:], strict=True)))
            self.pending = next(self.rows, None)
        return found


def _deliveries(connection: sqlite3.Connection) -> _DeliveryMerge:
    cursor = connection.execute(
        f"SELECT message_id, {_DELIVERY_COLUMNS} FROM delivery ORDER BY message_id, agent_id"
    )
    return _DeliveryMerge(iter(cursor), [d[0] for d in cursor.description][1:])


def _write(out: TextIO, record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")
