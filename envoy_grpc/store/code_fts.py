"""The symbol index's SQLite-only seam: the FTS5 trigram table `code_symbol_fts`.

Its rows share their rowid with `code_symbol`. `put` and `drop` keep it in step; `substring`
returns the rowids of names containing a string of 3 or more characters. User input never reaches
FTS5 syntax: the query becomes one quoted FTS5 string (quotes doubled), which the trigram tokenizer
matches as a literal, case-insensitive substring, so `%`, `_`, `*`, `"` and `OR` are plain text.
"""

from __future__ import annotations

from typing import Any

from envoy_grpc.store.models import database_proxy

MIN_SUBSTRING = 3  # the trigram tokenizer cannot match shorter strings


def cursor() -> Any:
    return database_proxy.cursor()


def put(rows: list[tuple[int, str]]) -> None:
    """Index (rowid, name) pairs."""
    cursor().executemany("INSERT INTO code_symbol_fts (rowid, name) VALUES (?, ?)", rows)


def drop_project(project: str) -> None:
    cursor().execute(
        "DELETE FROM code_symbol_fts WHERE rowid IN (SELECT id FROM code_symbol WHERE project = ?)",
        (project,),
    )


def match_expression(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def substring(text: str, limit: int) -> list[int]:
    """Rowids of names containing `text` (at least MIN_SUBSTRING characters), at most `limit`."""
    if len(text) < MIN_SUBSTRING:
        return []
    rows = cursor().execute(
        "SELECT rowid FROM code_symbol_fts WHERE code_symbol_fts MATCH ? LIMIT ?",
        (match_expression(text), limit),
    )
    return [int(r[0]) for r in rows]
