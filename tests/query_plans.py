"""Shared by the query-plan tests: record every statement a store runs, then explain each read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from envoy_grpc.store.db import Database

Statements = list[tuple[str, tuple[Any, ...]]]


class RecordingCursor:
    """A cursor that remembers each statement and its parameters (trace callbacks only see them inlined,
    which would let SQLite use partial indexes that bound parameters cannot)."""

    def __init__(self, inner: Any, log: Statements) -> None:
        self._inner = inner
        self._log = log

    def execute(self, sql: str, params: Any = ()) -> Any:
        self._log.append((sql, tuple(params)))
        self._inner.execute(sql, params)
        return self

    def executemany(self, sql: str, rows: Any) -> Any:
        rows = list(rows)
        if rows:
            self._log.append((sql, tuple(rows[0])))
        self._inner.executemany(sql, rows)
        return self

    def __iter__(self) -> Any:
        return iter(self._inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def record(monkeypatch: pytest.MonkeyPatch, modules: Iterable[Any], real: Any) -> Statements:
    """Make every module's `cursor()` a recording one; return the log it fills."""
    log: Statements = []
    for module in modules:
        monkeypatch.setattr(module, "cursor", lambda: RecordingCursor(real(), log))
    return log


async def explain_reads(db: Database, statements: Statements) -> list[tuple[str, str]]:
    """(sql, plan) for every distinct statement that is not an INSERT, explained on a reader thread."""
    # dict.fromkeys: distinct, in the order they ran (parameters may hold None, which does not sort).
    reads = list(dict.fromkeys((sql, p) for sql, p in statements if not sql.lstrip().startswith("INSERT")))

    def explain() -> list[tuple[str, str]]:
        return [
            (sql, "\n".join(str(row[-1]) for row in db.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params)))
            for sql, params in reads
        ]

    return await db.read(explain)
