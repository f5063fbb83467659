"""The symbol index's SQLite-only seam: the FTS5 trigram table `code_symbol_fts`.

Its rows share their rowid with `code_symbol`. `put` and `drop` keep it in step; `substring`
returns the rowids of names containing a string. User input never reaches FTS5 syntax: every
string becomes one quoted FTS5 string (quotes doubled), which the trigram tokenizer matches as a
literal, case-insensitive substring, so `%`, `_`, `*`, `"` and `OR` are plain text.

The trigram tokenizer cannot match a string shorter than three characters, so `code_symbol_gram`
keeps every distinct three-letter sequence (lowercased) that a name has ever had. A one- or
two-letter string is then answered as the names containing any sequence that contains it, asked in
small batches until enough are found, plus the two-letter names that contain it (they have no
sequence at all). Sequences of removed names stay in the table; they only ever match nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from envoy_grpc.store.models import database_proxy

MIN_TRIGRAM = 3  # the trigram tokenizer cannot match shorter strings
_TERMS_PER_QUERY = 64  # sequences OR-ed together in one FTS5 query for a short string


def cursor() -> Any:
    return database_proxy.cursor()


def trigrams(name: str) -> set[str]:
    lowered = name.lower()
    return {lowered[i : i + 3] for i in range(len(lowered) - 2)}


def put(rows: list[tuple[int, str]]) -> None:
    """Index (rowid, name) pairs."""
    cur = cursor()
    cur.executemany("INSERT INTO code_symbol_fts (rowid, name) VALUES (?, ?)", rows)
    grams: set[str] = set()
    for _, name in rows:
        grams |= trigrams(name)
    cur.executemany("INSERT OR IGNORE INTO code_symbol_gram (gram) VALUES (?)", ((g,) for g in grams))


def drop_project(project: str) -> None:
    cursor().execute(
        "DELETE FROM code_symbol_fts WHERE rowid IN (SELECT id FROM code_symbol WHERE project = ?)",
        (project,),
    )


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _matching(expression: str, limit: int) -> list[int]:
    rows = cursor().execute(
        "SELECT rowid FROM code_symbol_fts WHERE code_symbol_fts MATCH ? LIMIT ?", (expression, limit)
    )
    return [int(r[0]) for r in rows]


def substring(text: str, limit: int) -> list[int]:
    """Rowids of names containing `text` (lowercased, 1 or more characters), at most `limit`."""
    if not text:
        return []
    if len(text) >= MIN_TRIGRAM:
        return _matching(quoted(text), limit)
    return _short_substring(text, limit)


def _short_substring(text: str, limit: int) -> list[int]:
    grams = [
        str(r[0])
        for r in cursor().execute("SELECT gram FROM code_symbol_gram WHERE instr(gram, ?) > 0", (text,))
    ]
    found: dict[int, None] = dict.fromkeys(_two_letter_names(text, grams))
    for start in range(0, len(grams), _TERMS_PER_QUERY):
        if len(found) >= limit:
            break
        batch = grams[start : start + _TERMS_PER_QUERY]
        found.update(dict.fromkeys(_matching(" OR ".join(quoted(g) for g in batch), limit - len(found))))
    return list(found)[:limit]


def _two_letter_names(text: str, grams: Iterable[str]) -> list[int]:
    """Two-letter names holding a one-letter `text`: `text` next to any letter seen beside it."""
    if len(text) != 1:
        return []  # a two-letter name holding a two-letter string is an exact match
    letters = {c for g in grams for c in g}
    names = sorted({text + c for c in letters} | {c + text for c in letters})
    if not names:
        return []
    rows = cursor().execute(
        f"SELECT id FROM code_symbol WHERE name_lower IN ({', '.join('?' * len(names))})", names
    )
    return [int(r[0]) for r in rows]
