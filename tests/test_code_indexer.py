"""The built-in code indexer: a fixture package's exact symbols, calls and imports in the magellan
layout; incremental re-indexing by hash (unchanged, modified, deleted files); what the walk skips;
and this repository's own `envoy_grpc/core` and throughput over `envoy_grpc/`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from envoy_grpc.code.index_db import SCHEMA_VERSION
from envoy_grpc.code.indexer import index_project

REPO = Path(__file__).resolve().parent.parent

UTIL = '''"""Utilities."""

RATE = 2


def double(value: int) -> int:
    return value * RATE
'''

CART = '''"""Carts."""

from shop.util import double
from . import util


class Cart:
    def __init__(self) -> None:
        self.items: list[int] = []

    def add(self, price: int) -> None:
        self.items.append(double(price))

    def total(self) -> int:
        self.add(0)
        return util.double(sum(self.items))


def make_cart() -> Cart:
    cart = Cart()
    cart.add(1)
    return cart
'''


def make_repo(root: Path) -> Path:
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "util.py").write_text(UTIL)
    (root / "shop" / "cart.py").write_text(CART)
    return root


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, args))


def symbols(db: Path, path: str | None = None) -> set[tuple[str, str, int, int]]:
    """(qualified name, kind, start line, start column) of each Symbol, optionally of one file."""
    found = set()
    for name, file_path, data in rows(
        db, "SELECT name, file_path, data FROM graph_entities WHERE kind = 'Symbol'"
    ):
        fields = json.loads(data)
        assert fields["qualified_name"].rpartition(".")[2] == name
        if path is None or file_path == path:
            found.add((fields["qualified_name"], fields["kind"], fields["start_line"], fields["start_col"]))
    return found


def calls(db: Path) -> set[tuple[str, str, int, str | None]]:
    """(caller, callee as written, line, resolved qualified name or None), walked over the edges."""
    qualified = {
        entity_id: json.loads(data)["qualified_name"]
        for entity_id, data in rows(db, "SELECT id, data FROM graph_entities WHERE kind = 'Symbol'")
    }
    found = set()
    sql = """SELECT caller.from_id, call.name, call.data, target.to_id
             FROM graph_edges caller JOIN graph_entities call ON call.id = caller.to_id
             LEFT JOIN graph_edges target ON target.from_id = call.id AND target.edge_type = 'CALLS'
             WHERE caller.edge_type = 'CALLER'"""
    for caller_id, callee, data, target_id in rows(db, sql):
        fields = json.loads(data)
        assert fields["caller"] == qualified[caller_id] and fields["callee"] == callee
        found.add((qualified[caller_id], callee, fields["line"], qualified.get(target_id)))
    return found


def imports(db: Path) -> set[tuple[str, str, str | None, int]]:
    sql = """SELECT f.name, i.data FROM graph_edges e JOIN graph_entities f ON f.id = e.from_id
             JOIN graph_entities i ON i.id = e.to_id WHERE e.edge_type = 'IMPORTS'"""
    return {(file, (d := json.loads(data))["module"], d["name"], d["line"]) for file, data in rows(db, sql)}


def assert_consistent(db: Path) -> None:
    """No edge dangles and every indexed file has exactly one File entity and a hash."""
    dangling = rows(
        db,
        """SELECT id FROM graph_edges WHERE from_id NOT IN (SELECT id FROM graph_entities)
           OR to_id NOT IN (SELECT id FROM graph_entities)""",
    )
    assert dangling == []
    files = sorted(r[0] for r in rows(db, "SELECT name FROM graph_entities WHERE kind = 'File'"))
    hashed = sorted(
        r[0][len("sha256:") :] for r in rows(db, "SELECT key FROM meta WHERE key LIKE 'sha256:%'")
    )
    assert files == hashed


def test_fixture_symbols_calls_and_imports(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    db = tmp_path / "index.db"
    progress: list[tuple[int, int]] = []
    stats = index_project(root, db, progress=lambda done, total: progress.append((done, total)))

    assert (stats.files, stats.indexed, stats.unchanged, stats.removed, stats.failed) == (3, 3, 0, 0, 0)
    assert progress == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert stats.lines == len(UTIL.splitlines()) + len(CART.splitlines())
    assert symbols(db, "shop/cart.py") == {
        ("shop.cart", "Module", 1, 0),
        ("shop.cart.Cart", "Class", 7, 0),
        ("shop.cart.Cart.__init__", "Method", 8, 4),
        ("shop.cart.Cart.add", "Method", 11, 4),
        ("shop.cart.Cart.total", "Method", 14, 4),
        ("shop.cart.make_cart", "Function", 19, 0),
    }
    assert symbols(db, "shop/util.py") == {
        ("shop.util", "Module", 1, 0),
        ("shop.util.RATE", "Constant", 3, 0),
        ("shop.util.double", "Function", 6, 0),
    }
    assert symbols(db, "shop/__init__.py") == {("shop", "Module", 1, 0)}
    assert calls(db) == {
        ("shop.cart.Cart.add", "self.items.append", 12, None),
        ("shop.cart.Cart.add", "double", 12, "shop.util.double"),
        ("shop.cart.Cart.total", "self.add", 15, "shop.cart.Cart.add"),
        ("shop.cart.Cart.total", "util.double", 16, "shop.util.double"),
        ("shop.cart.Cart.total", "sum", 16, None),
        ("shop.cart.make_cart", "Cart", 20, "shop.cart.Cart"),
        ("shop.cart.make_cart", "cart.add", 21, None),
    }
    assert stats.linked_calls == 4
    assert imports(db) == {("shop/cart.py", "shop.util", "double", 3), ("shop/cart.py", "shop", "util", 4)}

    (end_line, end_col, kind) = next(
        (d["end_line"], d["end_col"], d["kind"])
        for (data,) in rows(db, "SELECT data FROM graph_entities WHERE kind = 'Symbol' AND name = 'total'")
        if (d := json.loads(data))
    )
    assert (end_line, kind) == (16, "Method") and end_col == len(
        "        return util.double(sum(self.items))"
    )
    assert rows(db, "SELECT value FROM meta WHERE key = 'schema_version'") == [(SCHEMA_VERSION,)]
    assert_consistent(db)


def test_reindex_skips_unchanged_replaces_modified_and_drops_deleted(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    db = tmp_path / "index.db"
    index_project(root, db)
    before = rows(db, "SELECT * FROM graph_entities ORDER BY id")

    again = index_project(root, db)
    assert (again.indexed, again.unchanged, again.removed, again.symbols) == (0, 3, 0, 0)
    assert rows(db, "SELECT * FROM graph_entities ORDER BY id") == before

    # double → triple: only util.py is re-parsed; the stale symbol and the calls linked to it go.
    (root / "shop" / "util.py").write_text(UTIL.replace("double", "triple"))
    changed = index_project(root, db)
    assert (changed.indexed, changed.unchanged, changed.removed) == (1, 2, 0)
    assert symbols(db, "shop/util.py") == {
        ("shop.util", "Module", 1, 0),
        ("shop.util.RATE", "Constant", 3, 0),
        ("shop.util.triple", "Function", 6, 0),
    }
    resolved = {(caller, callee): target for caller, callee, _, target in calls(db)}
    assert resolved[("shop.cart.Cart.add", "double")] is None
    assert resolved[("shop.cart.Cart.total", "util.double")] is None
    assert resolved[("shop.cart.Cart.total", "self.add")] == "shop.cart.Cart.add"
    assert_consistent(db)

    # Back again: calls in the unchanged cart.py link to the reappeared definition.
    (root / "shop" / "util.py").write_text(UTIL)
    assert index_project(root, db).indexed == 1
    assert ("shop.cart.Cart.add", "double", 12, "shop.util.double") in calls(db)

    (root / "shop" / "cart.py").unlink()
    deleted = index_project(root, db)
    assert (deleted.files, deleted.indexed, deleted.unchanged, deleted.removed) == (2, 0, 2, 1)
    assert rows(db, "SELECT count(*) FROM graph_entities WHERE file_path = 'shop/cart.py'") == [(0,)]
    assert calls(db) == set() and imports(db) == set()
    assert {s[0] for s in symbols(db)} == {"shop", "shop.util", "shop.util.RATE", "shop.util.double"}
    assert_consistent(db)


def test_walk_skips_vendored_big_escaping_files_and_keeps_broken_ones(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo")
    outside = tmp_path / "outside.py"
    outside.write_text("def outside() -> None:\n    pass\n")
    for skipped in (".git", ".venv", "node_modules", "__pycache__", "build", "pkg.egg-info"):
        (root / skipped).mkdir()
        (root / skipped / "hidden.py").write_text("def hidden() -> None:\n    pass\n")
    (root / "big.py").write_text("X = 1\n" * 200_000)  # 1.2 MB
    (root / "escape.py").symlink_to(outside)
    (root / "inside.py").symlink_to(root / "shop" / "util.py")
    (root / "broken.py").write_text("def broken(:\n")
    (root / "notes.txt").write_text("def not_python(): pass\n")
    db = tmp_path / "index.db"

    stats = index_project(root, db)
    files = {r[0] for r in rows(db, "SELECT name FROM graph_entities WHERE kind = 'File'")}
    assert files == {"shop/__init__.py", "shop/util.py", "shop/cart.py", "inside.py", "broken.py"}
    assert (stats.indexed, stats.failed) == (5, 1)
    assert {s[0] for s in symbols(db, "broken.py")} == set()
    assert {s[0] for s in symbols(db, "inside.py")} == {"inside", "inside.RATE", "inside.double"}
    assert index_project(root, db).unchanged == 5  # a broken file is not re-parsed until it changes


def line_of(path: Path, prefix: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if line.startswith(prefix))


def test_indexes_this_repository_core_package(tmp_path: Path) -> None:
    core = REPO / "envoy_grpc" / "core"
    db = tmp_path / "core.db"
    stats = index_project(core, db)
    assert stats.failed == 0 and stats.indexed == stats.files == len(list(core.glob("*.py")))

    found = {(q, kind): line for q, kind, line, _ in symbols(db)}
    topics, graph = core / "topics.py", core / "graph.py"
    assert found[("envoy_grpc.core.topics", "Module")] == 1
    assert found[("envoy_grpc.core.topics.matches", "Function")] == line_of(topics, "def matches(")
    assert found[("envoy_grpc.core.topics.MAX_LENGTH", "Constant")] == line_of(topics, "MAX_LENGTH =")
    assert found[("envoy_grpc.core.graph.Graph", "Class")] == line_of(graph, "class Graph:")
    assert found[("envoy_grpc.core.graph.Graph.get_entity", "Method")] == line_of(
        graph, "    async def get_entity("
    )
    assert_consistent(db)


def test_throughput_over_envoy_grpc(tmp_path: Path) -> None:
    stats = index_project(REPO / "envoy_grpc", tmp_path / "all.db")
    assert stats.failed == 0 and stats.lines > 5_000
    # The target is 2,000 source lines/s per core; this runs single-threaded.
    assert stats.lines / stats.seconds >= 2_000, stats
