"""The cross-project symbol search uses indexes: every statement the code store runs for each kind of
query (exact, prefix, substring of one, two and more letters, near misses, kind and project filters)
is explained, and none reads the symbol table from end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from query_plans import explain_reads, record
from support import Server
from test_code_search import ROUTER, index, register, write

from envoy_grpc.core.auth import OPERATOR
from envoy_grpc.store import code, code_fts

QUERIES: tuple[dict[str, Any], ...] = (
    {"q": "route"},  # exact, then prefixes fill k
    {"q": "uild", "k": 20},  # substring through the trigram index
    {"q": "x", "k": 20},  # one letter: sequences holding it, and two-letter names
    {"q": "te", "k": 20},  # two letters
    {"q": "biuld_router", "k": 20},  # two mistakes allowed: neighbours and pieces
    {"q": "rotue", "k": 20},  # one mistake
    {"q": "route", "kind": "function", "project": "fixture"},
)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    return record(monkeypatch, (code, code_fts), code_fts.cursor)


async def test_symbol_search_never_scans_the_symbol_table(
    server: Server, tmp_path: Path, statements: list[tuple[str, tuple[Any, ...]]]
) -> None:
    await register(server, "fixture", write(tmp_path / "fixture", {"app/router.py": ROUTER}))
    await index(server, "fixture")
    statements.clear()
    for query in QUERIES:
        await server.running.code.search(OPERATOR, **query)

    plans = await explain_reads(server.running.db, statements)

    assert len(plans) >= 8
    for sql, plan in plans:
        # The list of three-letter sequences is small (tens of thousands at most) and read whole.
        if "code_symbol_gram" in sql:
            continue
        assert "SCAN code_symbol " not in plan + " " and not plan.endswith("SCAN code_symbol"), (sql, plan)
        if "FROM code_symbol WHERE" in sql:
            assert "INDEX code_symbol_name" in plan or "USING INTEGER PRIMARY KEY" in plan, (sql, plan)
