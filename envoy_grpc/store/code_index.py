"""Reading the projects' own code indexes (magellan layout), always read-only.

    pool = IndexPool(capacity=8)                       # one per server, shared by every request
    pool.problem(path) -> Problem | None               # INDEX_MISSING / INDEX_CORRUPT / INDEX_INCOMPATIBLE
    pool.query(path, sql, params) -> list[tuple]       # on a reader thread
    check_index(path) -> Problem | None                # a fresh connection, for validation
    load_symbols(path, root) -> (symbols, file_count, languages)

Why one connection per index file rather than ATTACH on a shared connection: a connection per file
lets reader threads walk different projects at the same time (an ATTACH connection is one lock for
every project), needs no schema names made from project names, is not limited by SQLite's ATTACH
limit, and `file:...?mode=ro` makes every one of them read-only at the SQLite level. The pool is an
LRU bounded by `capacity`, shared across requests and thread-safe: the pool lock guards the map,
and each connection has its own lock held while a query runs on it, so an evicted connection is
closed only once its current query is done.

A file's health (`problem`) is remembered by (mtime, size), so a search checks a dozen projects
with a dozen `stat` calls; a file that changes is checked again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CAPACITY = 8
ENTITY_COLUMNS = ("id", "kind", "name", "file_path", "data")
EDGE_COLUMNS = ("id", "from_id", "to_id", "edge_type", "data")


@dataclass(frozen=True)
class Problem:
    """Why an index cannot be read: an UPPER_SNAKE code and a sentence naming the file."""

    code: str
    message: str


class IndexUnreadableError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def connect_read_only(path: str) -> sqlite3.Connection:
    uri = Path(path).as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=5)
    conn.execute("PRAGMA query_only = 1")
    return conn


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}


def probe(conn: sqlite3.Connection, path: str) -> Problem | None:
    """None if `conn` reads a magellan-layout index; otherwise what is wrong with it."""
    try:
        entities = _columns(conn, "graph_entities")
        edges = _columns(conn, "graph_edges")
    except sqlite3.DatabaseError as error:
        return Problem("INDEX_CORRUPT", f"the index {path} is not a readable SQLite file ({error})")
    if not entities or not edges:
        return Problem(
            "INDEX_INCOMPATIBLE", f"the index {path} has no magellan tables graph_entities and graph_edges"
        )
    missing = sorted(
        (set(ENTITY_COLUMNS) - entities) | {f"graph_edges.{c}" for c in set(EDGE_COLUMNS) - edges}
    )
    if missing:
        return Problem(
            "INDEX_INCOMPATIBLE", f"the index {path} lacks the magellan columns {', '.join(missing)}"
        )
    return None


def check_index(path: str) -> Problem | None:
    """Open `path` read-only on a fresh connection and say whether it is a usable index."""
    if not os.path.isfile(path):
        return Problem("INDEX_MISSING", f"the index {path} does not exist")
    try:
        conn = connect_read_only(path)
    except sqlite3.Error as error:
        return Problem("INDEX_CORRUPT", f"the index {path} cannot be opened ({error})")
    try:
        return probe(conn, path)
    finally:
        conn.close()


@dataclass
class _Entry:
    conn: sqlite3.Connection
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False


class IndexPool:
    """A bounded, thread-safe LRU of read-only connections to index files, shared across requests."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(1, capacity)
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._health: dict[str, tuple[int, int, Problem | None]] = {}
        self.opened = 0  # connections opened so far (for tests and diagnostics)

    def problem(self, path: str) -> Problem | None:
        """None if the index at `path` is readable; remembered until the file changes."""
        try:
            stat = os.stat(path)
        except OSError:
            return Problem("INDEX_MISSING", f"the index {path} does not exist")
        with self._lock:
            known = self._health.get(path)
        if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        found = check_index(path)
        with self._lock:
            self._health[path] = (stat.st_mtime_ns, stat.st_size, found)
        return found

    def _entry(self, path: str) -> _Entry:
        evicted: list[_Entry] = []
        with self._lock:
            entry = self._entries.get(path)
            if entry is not None and not entry.closed:
                self._entries.move_to_end(path)
                return entry
            conn = connect_read_only(path)
            self.opened += 1
            entry = _Entry(conn)
            self._entries[path] = entry
            while len(self._entries) > self.capacity:
                evicted.append(self._entries.popitem(last=False)[1])
        for old in evicted:
            _close(old)
        return entry

    def query(self, path: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read on the pooled connection for `path`; raises IndexUnreadableError."""
        for _ in range(3):
            try:
                entry = self._entry(path)
            except sqlite3.Error as error:
                raise IndexUnreadableError(
                    Problem("INDEX_CORRUPT", f"the index {path} cannot be opened ({error})")
                ) from None
            with entry.lock:
                if entry.closed:  # evicted between lookup and lock: open it again
                    continue
                try:
                    return list(entry.conn.execute(sql, tuple(params)).fetchall())
                except sqlite3.DatabaseError as error:
                    raise IndexUnreadableError(
                        Problem("INDEX_CORRUPT", f"the index {path} cannot be read ({error})")
                    ) from None
        raise IndexUnreadableError(Problem("INDEX_CORRUPT", f"the index {path} keeps being evicted"))

    def forget(self, path: str) -> None:
        """Close the pooled connection for `path` (after its file was deleted or replaced)."""
        with self._lock:
            entry = self._entries.pop(path, None)
            self._health.pop(path, None)
        if entry is not None:
            _close(entry)

    def cached(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def close(self) -> None:
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
        for entry in entries:
            _close(entry)


def _close(entry: _Entry) -> None:
    with entry.lock:
        entry.closed = True
        entry.conn.close()


# -- reading symbols ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexedSymbol:
    entity_id: int
    name: str
    kind: str
    file_path: str | None
    line: int
    column: int
    qualified_name: str
    data_json: str


def parse_data(raw: object) -> dict[str, Any]:
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def relative_path(file_path: str | None, root: str) -> str | None:
    """A file path relative to the project's root when it is under it, else as stored."""
    if not file_path:
        return None
    if os.path.isabs(file_path) and root:
        try:
            rel = Path(file_path).relative_to(root)
        except ValueError:
            return file_path
        return rel.as_posix()
    return file_path


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def symbol_line_column(data: dict[str, Any]) -> tuple[int, int]:
    """1-based line and column; magellan and our indexer store 1-based lines, 0-based columns."""
    line = _int(data.get("start_line")) or _int(data.get("line"))
    col = _int(data.get("start_col")) if "start_col" in data else _int(data.get("col"))
    return line, (col + 1 if line else 0)


def qualified_name(data: dict[str, Any]) -> str:
    for key in ("qualified_name", "display_fqn", "fqn"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def load_symbols(path: str, root: str) -> tuple[list[IndexedSymbol], int, list[str]]:
    """Every Symbol of the index at `path` (read-only), its number of files and its languages."""
    problem = check_index(path)
    if problem is not None:
        raise IndexUnreadableError(problem)
    conn = connect_read_only(path)
    try:
        symbols = []
        for entity_id, name, file_path, raw in conn.execute(
            "SELECT id, name, file_path, data FROM graph_entities WHERE kind = 'Symbol' ORDER BY id"
        ):
            data = parse_data(raw)
            kind = data.get("kind")
            line, column = symbol_line_column(data)
            symbols.append(
                IndexedSymbol(
                    int(entity_id),
                    str(name),
                    kind if isinstance(kind, str) and kind else "Symbol",
                    relative_path(file_path, root),
                    line,
                    column,
                    qualified_name(data),
                    json.dumps(data, separators=(",", ":")),
                )
            )
        files = int(conn.execute("SELECT count(*) FROM graph_entities WHERE kind = 'File'").fetchone()[0])
        languages = sorted(
            {
                str(row[0]).lower()
                for row in conn.execute(
                    "SELECT DISTINCT CASE WHEN json_valid(data) THEN json_extract(data, '$.language') END"
                    " FROM graph_entities WHERE kind = 'File'"
                )
                if isinstance(row[0], str) and row[0]
            }
        )
        return symbols, files, languages
    except sqlite3.DatabaseError as error:
        raise IndexUnreadableError(
            Problem("INDEX_CORRUPT", f"the index {path} cannot be read ({error})")
        ) from None
    finally:
        conn.close()


def count_kinds(path: str) -> dict[str, int]:
    conn = connect_read_only(path)
    try:
        return {
            str(kind): int(n)
            for kind, n in conn.execute("SELECT kind, count(*) FROM graph_entities GROUP BY kind")
        }
    finally:
        conn.close()
