"""The index file: a SQLite database in the magellan layout, written one source file at a time.

    graph_entities(id, kind, name, file_path, data)      kind: File, Symbol, Call, Import
    graph_edges(id, from_id, to_id, edge_type, data)     DEFINES  File → Symbol
                                                         CALLER   Symbol → Call
                                                         CALLS    Call → Symbol (resolved calls)
                                                         IMPORTS  File → Import
    meta(key, value)                                     schema_version, sha256:<path> per file

`data` is JSON. A Symbol's is `{kind, start_line, start_col, end_line, end_col, qualified_name}`
as magellan writes it; a Call's `{caller, callee, file, line, col, candidates}`; an Import's
`{module, name, alias, line, col}`; a File's `{language, module, lines, sha256}`. `file_path` is
relative to the project root, with `/`. (No Reference entities yet.)

`replace_file` swaps one file's rows for new ones, `delete_file` drops them (with every edge that
touches them, so no edge dangles), and `link_calls` rebuilds the CALLS edges over the whole project,
because a call in an unchanged file may resolve to a symbol that just appeared (or went away).
This module uses the standard `sqlite3`: the file belongs to the indexed project, not to our server.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import TracebackType

from envoy_grpc.code.model import FileExtract

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS graph_entities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    file_path TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS graph_edges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    from_id INTEGER NOT NULL,
    to_id INTEGER NOT NULL,
    edge_type TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS graph_entities_file ON graph_entities(file_path);
CREATE INDEX IF NOT EXISTS graph_entities_name ON graph_entities(name);
CREATE INDEX IF NOT EXISTS graph_entities_kind ON graph_entities(kind);
CREATE INDEX IF NOT EXISTS graph_edges_from ON graph_edges(from_id, edge_type);
CREATE INDEX IF NOT EXISTS graph_edges_to ON graph_edges(to_id, edge_type);
CREATE INDEX IF NOT EXISTS graph_edges_type ON graph_edges(edge_type);
"""

_HASH_PREFIX = "sha256:"


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


class IndexDb:
    """An open index file. Writes are one transaction until `commit`; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA synchronous = NORMAL")
        row = self._version()
        if row is not None and row != SCHEMA_VERSION:  # an older layout of ours: rebuild from scratch
            self.conn.executescript("DROP TABLE graph_entities; DROP TABLE graph_edges; DROP TABLE meta;")
        self.conn.executescript(_SCHEMA)
        self.conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
        )
        self.conn.commit()

    def _version(self) -> str | None:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:  # no meta table: a new file
            return None
        return None if row is None else str(row[0])

    def __enter__(self) -> IndexDb:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.conn.commit()
        else:
            self.conn.rollback()
        self.conn.close()

    def commit(self) -> None:
        self.conn.commit()

    def file_hashes(self) -> dict[str, str]:
        """SHA-256 (hex) of every indexed file, by path."""
        rows = self.conn.execute(
            "SELECT substr(key, ?), value FROM meta WHERE key LIKE 'sha256:%'", (len(_HASH_PREFIX) + 1,)
        )
        return {str(path): str(digest) for path, digest in rows}

    def delete_file(self, path: str) -> None:
        """Drop a file's entities, every edge touching them, and its hash."""
        ids = "SELECT id FROM graph_entities WHERE file_path = ?"
        self.conn.execute(
            f"DELETE FROM graph_edges WHERE from_id IN ({ids}) OR to_id IN ({ids})", (path, path)
        )
        self.conn.execute("DELETE FROM graph_entities WHERE file_path = ?", (path,))
        self.conn.execute("DELETE FROM meta WHERE key = ?", (_HASH_PREFIX + path,))

    def _entity(self, kind: str, name: str, path: str, data: object) -> int:
        cursor = self.conn.execute(
            "INSERT INTO graph_entities(kind, name, file_path, data) VALUES (?, ?, ?, ?)",
            (kind, name, path, _json(data)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def replace_file(self, path: str, sha256: str, extract: FileExtract | None, language: str) -> None:
        """Replace a file's rows; `extract` None (unparsable source) keeps only its File entity."""
        self.delete_file(path)
        file_data: dict[str, object] = {"language": language, "sha256": sha256}
        if extract is not None:
            file_data |= {"module": extract.module, "lines": extract.lines}
        file_id = self._entity("File", path, path, file_data)
        self.conn.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (_HASH_PREFIX + path, sha256))
        if extract is None:
            return
        edges: list[tuple[int, int, str]] = []
        symbol_ids: dict[str, int] = {}
        for symbol in extract.symbols:
            data = {
                "kind": symbol.kind,
                "start_line": symbol.start_line,
                "start_col": symbol.start_col,
                "end_line": symbol.end_line,
                "end_col": symbol.end_col,
                "qualified_name": symbol.qualified_name,
            }
            symbol_id = self._entity("Symbol", symbol.name, path, data)
            symbol_ids.setdefault(symbol.qualified_name, symbol_id)
            edges.append((file_id, symbol_id, "DEFINES"))
        for call in extract.calls:
            data = {
                "caller": call.caller,
                "callee": call.callee,
                "file": path,
                "line": call.line,
                "col": call.col,
                "candidates": list(call.candidates),
            }
            call_id = self._entity("Call", call.callee, path, data)
            caller_id = symbol_ids.get(call.caller)
            if caller_id is not None:
                edges.append((caller_id, call_id, "CALLER"))
        for imp in extract.imports:
            data = {
                "module": imp.module,
                "name": imp.name,
                "alias": imp.alias,
                "line": imp.line,
                "col": imp.col,
            }
            edges.append((file_id, self._entity("Import", imp.module, path, data), "IMPORTS"))
        self.conn.executemany("INSERT INTO graph_edges(from_id, to_id, edge_type) VALUES (?, ?, ?)", edges)

    def link_calls(self) -> int:
        """Rebuild every CALLS edge: each call to the first of its candidates defined in the project."""
        self.conn.execute("DELETE FROM graph_edges WHERE edge_type = 'CALLS'")
        symbols: dict[str, int] = {}
        rows = self.conn.execute(
            "SELECT id, json_extract(data, '$.qualified_name') FROM graph_entities"
            " WHERE kind = 'Symbol' ORDER BY id"
        )
        for symbol_id, qualified in rows:
            symbols.setdefault(str(qualified), int(symbol_id))
        edges: list[tuple[int, int, str]] = []
        calls = self.conn.execute(
            "SELECT id, json_extract(data, '$.candidates') FROM graph_entities WHERE kind = 'Call'"
        )
        for call_id, candidates in calls:
            for candidate in json.loads(candidates or "[]"):
                target = symbols.get(candidate)
                if target is not None:
                    edges.append((int(call_id), target, _json({"qualified_name": candidate})))
                    break
        self.conn.executemany(
            "INSERT INTO graph_edges(from_id, to_id, edge_type, data) VALUES (?, ?, 'CALLS', ?)", edges
        )
        return len(edges)

    def count_edges(self, edge_type: str) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM graph_edges WHERE edge_type = ?", (edge_type,)
        ).fetchone()
        return int(row[0])
