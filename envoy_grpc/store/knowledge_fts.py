"""The search index's SQLite-only seam: FTS5 text, MATCH expressions, bm25 ranking and snippets.

Everything FTS5-specific lives here and nowhere else: the virtual table `knowledge_fts` (created by
`envoy_grpc.store.knowledge_schema`), the MATCH syntax a parsed query becomes, and the `bm25()` and
`snippet()` calls. On another database (PostgreSQL's tsvector, say) this module is the one to
replace; its callers see only `put`, `drop` and `search`, which speak in document IDs (rows of
`knowledge_doc`) and parsed `Term`s.

User input never reaches FTS5 syntax directly: `match_expression` quotes every word (a quoted FTS5
string is always literal, whatever it holds) and joins them with AND, so `"`, `*`, `NEAR(`, `OR`,
`AND`, `^` and column filters are all plain text by the time SQLite sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envoy_grpc.store.knowledge_types import Term
from envoy_grpc.store.models import database_proxy

MAX_BODY = 100_000  # characters of a document that are indexed; the rest is not searchable
SNIPPET_WORDS = 32


def cursor() -> Any:
    return database_proxy.cursor()


def put(doc_id: int, body: str) -> None:
    """Index (or re-index) the text of one document."""
    cur = cursor()
    cur.execute("DELETE FROM knowledge_fts WHERE rowid = ?", (doc_id,))
    cur.execute("INSERT INTO knowledge_fts (rowid, body) VALUES (?, ?)", (doc_id, _clean(body)[:MAX_BODY]))


def put_new(documents: list[tuple[int, str]]) -> None:
    """Index the text of documents that have none yet: (document ID, text) each, in one statement."""
    cursor().executemany(
        "INSERT INTO knowledge_fts (rowid, body) VALUES (?, ?)",
        [(doc_id, _clean(body)[:MAX_BODY]) for doc_id, body in documents],
    )


def drop(doc_ids: list[int]) -> None:
    if doc_ids:
        cursor().executemany("DELETE FROM knowledge_fts WHERE rowid = ?", [(d,) for d in doc_ids])


def match_expression(terms: list[Term]) -> str:
    """`"word" AND "pre"* AND "two words"`: every term a quoted FTS5 string, so nothing is an operator."""
    rendered = []
    for term in terms:
        text = " ".join(term.words).replace('"', '""')
        rendered.append(f'"{text}"' + ("*" if term.prefix else ""))
    return " AND ".join(rendered)


@dataclass(frozen=True)
class Match:
    doc_id: int
    kind: str
    record_id: int
    project: str
    score: float
    snippet: str


# Rank the newest CANDIDATES matches, keep the best `limit`, and only then cut snippets for those.
#
# `bm25()` costs about a microsecond per row and FTS5 has no early exit for it (`ORDER BY rank`
# ranks every match too, and more slowly), so a word in 40% of 100,000 documents took ~45 ms to
# rank in full. Walking the MATCH newest first (`ORDER BY rowid DESC`, which FTS5 serves straight
# from its doclists and stops after the LIMIT) bounds that: a query with at most CANDIDATES matches
# (after the kind and project filters) is ranked exactly as before; one with more is ranked among
# its CANDIDATES newest matches. bm25's IDF and average length still come from the whole index, so
# a document's score does not depend on the cap, only whether an old document is considered. The
# CROSS JOIN keeps FTS5 as the outer loop, so the filters are checked per match by primary key and
# bm25 is computed only for rows that pass them. The snippet join looks the kept rows up by rowid
# within the same MATCH, which `snippet()` needs (a snippet for each of 40,000 matches of a common
# word would cost more than the ranking).
CANDIDATES = 5_000

_SEARCH = (
    "WITH candidates AS ("
    "SELECT d.id, d.kind, d.record_id, d.project, d.created_at, bm25(knowledge_fts) AS score "
    "FROM knowledge_fts CROSS JOIN knowledge_doc d ON d.id = knowledge_fts.rowid "
    "WHERE knowledge_fts MATCH ?1{filters} ORDER BY knowledge_fts.rowid DESC LIMIT {candidates}), "
    "best AS (SELECT * FROM candidates ORDER BY score, created_at DESC, id DESC LIMIT ?2) "
    "SELECT best.id, best.kind, best.record_id, best.project, -best.score, "
    "snippet(knowledge_fts, 0, '**', '**', '…', {words}) "
    "FROM best CROSS JOIN knowledge_fts ON knowledge_fts.rowid = best.id "
    "WHERE knowledge_fts MATCH ?1 ORDER BY best.score, best.created_at DESC, best.id DESC"
)


def search(terms: list[Term], kind: str, project: str, limit: int) -> list[Match]:
    """The best `limit` documents matching every term, best first (ties: newer first), among the
    newest CANDIDATES matches."""
    if not terms:
        return []
    filters, params = "", []
    if kind:
        filters += " AND d.kind = ?3"
        params.append(kind)
    if project:
        filters += f" AND d.project = ?{3 + len(params)}"
        params.append(project)
    sql = _SEARCH.format(filters=filters, words=SNIPPET_WORDS, candidates=CANDIDATES)
    rows = cursor().execute(sql, (match_expression(terms), limit, *params)).fetchall()
    return [Match(int(r[0]), str(r[1]), int(r[2]), str(r[3]), float(r[4]), str(r[5])) for r in rows]


def _clean(text: str) -> str:
    """NUL cannot be indexed as text; it separates words like any control character."""
    return text.replace("\x00", " ")
