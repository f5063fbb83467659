"""The code-project registry and the cross-project symbol-name index, in our own database.

Functions of the peewee database, run by `envoy_grpc.core.code` on the writer thread (changes) or a
reader thread (queries). Symbol search never scans: exact matches use `code_symbol_name` by
equality, prefixes use it as a range, substrings and fuzzy candidates go through the trigram index
(`code_fts`), and every step reads at most CANDIDATES rows per string it looks for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from envoy_grpc.store import code_fts
from envoy_grpc.store.code_index import IndexedSymbol
from envoy_grpc.store.models import database_proxy

CANDIDATES = 2_000  # rows read per match class (exact, prefix, substring) or fuzzy piece at most
_PROJECT_COLUMNS = (
    "name, root_path, languages_json, index_path, external, enabled, file_count, symbol_count, "
    "created_at, updated_at, last_indexed_at"
)
_SYMBOL_COLUMNS = "id, project, entity_id, name, kind, file_path, line, col, qualified_name, data_json"
# Above every character a name can continue with: the end of a prefix range.
_TOP = "\U0010ffff"


@dataclass(frozen=True)
class ProjectRow:
    name: str
    root_path: str
    languages: list[str]
    index_path: str
    external: bool
    enabled: bool
    file_count: int
    symbol_count: int
    created_at: float
    updated_at: float
    last_indexed_at: float | None


@dataclass(frozen=True)
class SymbolRow:
    row_id: int
    project: str
    entity_id: int
    name: str
    kind: str
    file_path: str | None
    line: int
    column: int
    qualified_name: str
    data_json: str


def cursor() -> Any:
    return database_proxy.cursor()


def _project(row: Sequence[Any]) -> ProjectRow:
    return ProjectRow(
        str(row[0]),
        str(row[1]),
        list(json.loads(row[2])),
        str(row[3]),
        bool(row[4]),
        bool(row[5]),
        int(row[6]),
        int(row[7]),
        float(row[8]),
        float(row[9]),
        None if row[10] is None else float(row[10]),
    )


def _symbol(row: Sequence[Any]) -> SymbolRow:
    return SymbolRow(
        int(row[0]),
        str(row[1]),
        int(row[2]),
        str(row[3]),
        str(row[4]),
        None if row[5] is None else str(row[5]),
        int(row[6]),
        int(row[7]),
        str(row[8]),
        str(row[9]),
    )


# -- registry ----------------------------------------------------------------------------------


def get_project(name: str) -> ProjectRow | None:
    row = cursor().execute(f"SELECT {_PROJECT_COLUMNS} FROM code_project WHERE name = ?", (name,)).fetchone()
    return None if row is None else _project(row)


def list_projects(language: str, enabled: bool | None, after: str, limit: int) -> list[ProjectRow]:
    where: list[str] = ["name > ?"]
    params: list[Any] = [after]
    if language:
        where.append("EXISTS (SELECT 1 FROM json_each(languages_json) WHERE value = ?)")
        params.append(language.lower())
    if enabled is not None:
        where.append("enabled = ?")
        params.append(int(enabled))
    sql = f"SELECT {_PROJECT_COLUMNS} FROM code_project WHERE {' AND '.join(where)} ORDER BY name LIMIT ?"
    return [_project(r) for r in cursor().execute(sql, (*params, limit))]


def insert_project(row: ProjectRow) -> None:
    cursor().execute(
        f"INSERT INTO code_project ({_PROJECT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            row.name,
            row.root_path,
            json.dumps(row.languages),
            row.index_path,
            int(row.external),
            int(row.enabled),
            row.file_count,
            row.symbol_count,
            row.created_at,
            row.updated_at,
            row.last_indexed_at,
        ),
    )


def save_project(row: ProjectRow) -> None:
    cursor().execute(
        "UPDATE code_project SET root_path = ?, languages_json = ?, index_path = ?, external = ?, "
        "enabled = ?, file_count = ?, symbol_count = ?, updated_at = ?, last_indexed_at = ? WHERE name = ?",
        (
            row.root_path,
            json.dumps(row.languages),
            row.index_path,
            int(row.external),
            int(row.enabled),
            row.file_count,
            row.symbol_count,
            row.updated_at,
            row.last_indexed_at,
            row.name,
        ),
    )


def delete_project(name: str) -> bool:
    clear_symbols(name)
    return bool(cursor().execute("DELETE FROM code_project WHERE name = ?", (name,)).rowcount)


# -- symbols -----------------------------------------------------------------------------------


def clear_symbols(project: str) -> None:
    code_fts.drop_project(project)
    cursor().execute("DELETE FROM code_symbol WHERE project = ?", (project,))


def replace_symbols(project: str, symbols: list[IndexedSymbol]) -> None:
    """Swap a project's symbols for `symbols` (one transaction, on the writer thread)."""
    clear_symbols(project)
    cur = cursor()
    names: list[tuple[int, str]] = []
    for s in symbols:
        cur.execute(
            "INSERT INTO code_symbol (project, entity_id, name, name_lower, kind, file_path, line, col, "
            "qualified_name, data_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                project,
                s.entity_id,
                s.name,
                s.name.lower(),
                s.kind,
                s.file_path,
                s.line,
                s.column,
                s.qualified_name,
                s.data_json,
            ),
        )
        names.append((int(cur.lastrowid), s.name))
    code_fts.put(names)


def _filters(projects: Sequence[str], kind: str) -> tuple[str, list[Any]]:
    # The unary + keeps SQLite from answering `project IN (...)` with the project index (every
    # symbol of those projects, then a sort): the name or rowid index must drive these queries.
    sql = f" AND +project IN ({', '.join('?' * len(projects))})"
    params: list[Any] = list(projects)
    if kind:
        sql += " AND lower(kind) = ?"
        params.append(kind.lower())
    return sql, params


def exact(lowered: str, projects: Sequence[str], kind: str) -> list[SymbolRow]:
    if not projects:
        return []
    where, params = _filters(projects, kind)
    sql = f"SELECT {_SYMBOL_COLUMNS} FROM code_symbol WHERE name_lower = ?{where} LIMIT {CANDIDATES}"
    return [_symbol(r) for r in cursor().execute(sql, (lowered, *params))]


def prefix(lowered: str, projects: Sequence[str], kind: str) -> list[SymbolRow]:
    """Names starting with `lowered` (but not equal to it), the first CANDIDATES in name order."""
    if not projects:
        return []
    where, params = _filters(projects, kind)
    sql = (
        f"SELECT {_SYMBOL_COLUMNS} FROM code_symbol WHERE name_lower > ? AND name_lower < ?{where} "
        f"ORDER BY name_lower LIMIT {CANDIDATES}"
    )
    return [_symbol(r) for r in cursor().execute(sql, (lowered, lowered + _TOP, *params))]


def substring(lowered: str, projects: Sequence[str], kind: str) -> list[SymbolRow]:
    """Names containing `lowered` among the first CANDIDATES substring matches."""
    if not projects:
        return []
    return _rows(code_fts.substring(lowered, CANDIDATES), projects, kind)


def named_any(lowered_names: Sequence[str], projects: Sequence[str], kind: str) -> list[SymbolRow]:
    """Symbols whose lowercased name is one of `lowered_names` (at most CANDIDATES)."""
    if not projects or not lowered_names:
        return []
    where, params = _filters(projects, kind)
    found: list[SymbolRow] = []
    for start in range(0, len(lowered_names), 500):
        chunk = lowered_names[start : start + 500]
        sql = (
            f"SELECT {_SYMBOL_COLUMNS} FROM code_symbol WHERE name_lower IN ({', '.join('?' * len(chunk))})"
            f"{where} LIMIT {CANDIDATES - len(found)}"
        )
        found.extend(_symbol(r) for r in cursor().execute(sql, (*chunk, *params)))
        if len(found) >= CANDIDATES:
            break
    return found


def containing_any(pieces: Sequence[str], projects: Sequence[str], kind: str) -> list[SymbolRow]:
    """Names containing at least one of `pieces`: the candidates for a fuzzy match."""
    if not projects:
        return []
    ids: dict[int, None] = {}
    for piece in pieces:
        ids.update(dict.fromkeys(code_fts.substring(piece, CANDIDATES)))
    return _rows(list(ids), projects, kind)


def _rows(ids: list[int], projects: Sequence[str], kind: str) -> list[SymbolRow]:
    if not ids:
        return []
    where, params = _filters(projects, kind)
    found: list[SymbolRow] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        sql = f"SELECT {_SYMBOL_COLUMNS} FROM code_symbol WHERE id IN ({', '.join('?' * len(chunk))}){where}"
        found.extend(_symbol(r) for r in cursor().execute(sql, (*chunk, *params)))
    return found


def definitions(lowered: str, projects: Sequence[str]) -> list[SymbolRow]:
    """Symbols named `lowered` (case-insensitively) in `projects`, in project, file and line order."""
    if not projects:
        return []
    where, params = _filters(projects, "")
    sql = (
        f"SELECT {_SYMBOL_COLUMNS} FROM code_symbol WHERE name_lower = ?{where} "
        "ORDER BY project, file_path, line LIMIT 50"
    )
    return [_symbol(r) for r in cursor().execute(sql, (lowered, *params))]
