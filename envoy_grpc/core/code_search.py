"""Cross-project symbol search and graph walks, run on a reader thread.

`search` reads only our symbol index (`envoy_grpc.store.code`); `navigate` then walks each hit's
project index through the shared `IndexPool`, breadth first, in both directions, following calls
into other projects (a Call with no CALLS edge in its own index, whose callee's name is a symbol
of another enabled project, gets a CALLS edge with ID 0 to it). Entities that an edge names but
the index lacks are dropped with their edges, so no returned edge dangles.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from envoy_grpc.core import code_fuzzy
from envoy_grpc.store import code as store
from envoy_grpc.store.code import ProjectRow, SymbolRow
from envoy_grpc.store.code_index import (
    IndexPool,
    IndexUnreadableError,
    Problem,
    parse_data,
    qualified_name,
    relative_path,
    symbol_line_column,
)

EXACT, PREFIX, SUBSTRING = 1.0, 0.75, 0.5
FUZZY = {1: 0.3, 2: 0.2}  # by the number of mistakes
_CHUNK = 400


@dataclass(frozen=True)
class Warning_:
    project: str
    code: str
    message: str


@dataclass
class Entity:
    project: str
    id: int
    kind: str
    name: str
    file_path: str | None
    line: int
    column: int
    qualified_name: str
    score: float
    data: dict[str, Any]


@dataclass(frozen=True)
class Edge:
    id: int
    kind: str
    from_project: str
    from_id: int
    to_project: str
    to_id: int
    data: dict[str, Any]


@dataclass
class SearchResult:
    hits: list[Entity]
    warnings: list[Warning_]


@dataclass
class View:
    project: str
    entry_id: int
    entities: list[Entity] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    truncated: bool = False


@dataclass
class NavigateResult:
    views: list[View]
    warnings: list[Warning_]


def _hit(row: SymbolRow, score: float) -> Entity:
    return Entity(
        row.project,
        row.entity_id,
        row.kind,
        row.name,
        row.file_path,
        row.line,
        row.column,
        row.qualified_name,
        score,
        parse_data(row.data_json),
    )


class Scope:
    """The enabled projects a request may read, and the warnings for the ones it must skip."""

    def __init__(self, pool: IndexPool, projects: Iterable[ProjectRow]) -> None:
        self.healthy: dict[str, ProjectRow] = {}
        self.warnings: dict[str, Warning_] = {}
        self.pool = pool
        self.walked_failures: set[str] = set()
        for project in projects:
            problem = pool.problem(project.index_path)
            if problem is None:
                self.healthy[project.name] = project
            else:
                self.skip(project.name, problem)

    def skip(self, project: str, problem: Problem) -> None:
        self.healthy.pop(project, None)
        self.warnings.setdefault(project, Warning_(project, problem.code, problem.message))

    def restricted(self, names: set[str]) -> Scope:
        """The same scope with only the projects in `names`."""
        narrow = Scope(self.pool, [])
        narrow.healthy = {n: p for n, p in self.healthy.items() if n in names}
        narrow.warnings = {n: w for n, w in self.warnings.items() if n in names}
        return narrow

    def sorted_warnings(self) -> list[Warning_]:
        return [self.warnings[name] for name in sorted(self.warnings)]


def enabled_projects(language: str, only: str) -> list[ProjectRow]:
    rows: list[ProjectRow] = []
    after = ""
    while True:
        page = store.list_projects(language, True, after, 1000)
        rows.extend(p for p in page if not only or p.name == only)
        if len(page) < 1000:
            return rows
        after = page[-1].name


def search(pool: IndexPool, q: str, language: str, k: int, kind: str, only: str) -> SearchResult:
    scope = Scope(pool, enabled_projects(language, only))
    return SearchResult(find(scope, q, k, kind), scope.sorted_warnings())


def find(scope: Scope, q: str, k: int, kind: str) -> list[Entity]:
    """The best `k` symbols: exact, then prefix, then substring, then fuzzy matches.

    Each later class is read only while fewer than `k` symbols are found. Within a class, ties go
    to the fewer mistakes (fuzzy), then the shorter name, then by project, file and line.
    """
    lowered = q.lower()
    projects = sorted(scope.healthy)
    best: dict[int, tuple[float, SymbolRow]] = {}

    def add(score: float, rows: Iterable[SymbolRow]) -> None:
        for row in rows:
            best.setdefault(row.row_id, (score, row))

    add(EXACT, store.exact(lowered, projects, kind))
    add(PREFIX, store.prefix(lowered, projects, kind))
    if len(best) < k:
        add(SUBSTRING, store.substring(lowered, projects, kind))
    mistakes = code_fuzzy.allowed_mistakes(lowered)
    if len(best) < k and mistakes:
        candidates = store.named_any(sorted(code_fuzzy.one_mistake_away(lowered)), projects, kind)
        if mistakes > 1:
            candidates += store.containing_any(code_fuzzy.pieces(lowered, 3), projects, kind)
        named = ((row.name.lower(), row) for row in candidates if row.row_id not in best)
        for distance, row in code_fuzzy.closest(lowered, named, mistakes):
            add(FUZZY[distance], [row])
    ranked = sorted(
        best.values(),
        key=lambda item: (
            -item[0],
            len(item[1].name),
            item[1].project,
            item[1].file_path or "",
            item[1].line,
            item[1].entity_id,
        ),
    )
    return [_hit(row, score) for score, row in ranked[:k]]


# -- navigation --------------------------------------------------------------------------------

Node = tuple[str, int]


def navigate(
    pool: IndexPool, q: str, language: str, k: int, depth: int, max_nodes: int, only: str
) -> NavigateResult:
    everyone = enabled_projects("", "")
    scope = Scope(pool, everyone)
    allowed = {
        p.name
        for p in everyone
        if (not language or language.lower() in p.languages) and (not only or p.name == only)
    }
    hit_scope = scope.restricted(allowed)
    hits = find(hit_scope, q, k, "")
    views = [_walk(scope, hit, depth, max_nodes) for hit in hits]
    # Projects skipped among those searched, and any that failed during a walk.
    warnings = dict(hit_scope.warnings)
    for name, warning in scope.warnings.items():
        if name in scope.walked_failures:
            warnings.setdefault(name, warning)
    return NavigateResult(views, [warnings[n] for n in sorted(warnings)])


def _query(scope: Scope, project: str, sql: str, params: list[Any]) -> list[tuple[Any, ...]] | None:
    row = scope.healthy.get(project)
    if row is None:
        return None
    try:
        return scope.pool.query(row.index_path, sql, params)
    except IndexUnreadableError as error:
        scope.skip(project, error.problem)
        scope.walked_failures.add(project)
        return None


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _edges_of(scope: Scope, project: str, ids: list[int]) -> list[tuple[Any, ...]]:
    found: dict[int, tuple[Any, ...]] = {}
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        for column in ("from_id", "to_id"):
            rows = _query(
                scope,
                project,
                f"SELECT id, from_id, to_id, edge_type, data FROM graph_edges WHERE {column} IN ({marks})",
                list(chunk),
            )
            for row in rows or []:
                found[int(row[0])] = row
    return [found[i] for i in sorted(found)]


def _entities_of(scope: Scope, project: str, ids: list[int]) -> dict[int, tuple[Any, ...]]:
    found: dict[int, tuple[Any, ...]] = {}
    for chunk in _chunks(ids):
        marks = ", ".join("?" * len(chunk))
        rows = _query(
            scope,
            project,
            f"SELECT id, kind, name, file_path, data FROM graph_entities WHERE id IN ({marks})",
            list(chunk),
        )
        for row in rows or []:
            found[int(row[0])] = row
    return found


_SPLIT = re.compile(r"[.:]+")


def _callee(row: tuple[Any, ...]) -> str:
    data = parse_data(row[4])
    callee = data.get("callee")
    name = callee if isinstance(callee, str) and callee else str(row[2]).split(" calls ")[-1]
    return _SPLIT.split(name)[-1]


def _walk(scope: Scope, hit: Entity, depth: int, max_nodes: int) -> View:
    start: Node = (hit.project, hit.id)
    distance: dict[Node, int] = {start: 0}
    rows: dict[Node, tuple[Any, ...]] = {}
    edges: dict[tuple[str, int, int, str, int], Edge] = {}
    frontier: list[Node] = [start]
    truncated = False
    for step in range(1, depth + 1):
        if not frontier:
            break
        reached: list[Node] = []
        by_project: dict[str, list[int]] = defaultdict(list)
        for project, entity_id in frontier:
            by_project[project].append(entity_id)
        for project in sorted(by_project):
            ids = sorted(by_project[project])
            fetched = _entities_of(scope, project, [i for i in ids if (project, i) not in rows])
            for fetched_id, fetched_row in fetched.items():
                rows[(project, fetched_id)] = fetched_row
            resolved_calls: set[int] = set()
            for edge_id, from_id, to_id, edge_type, raw in _edges_of(scope, project, ids):
                kind = str(edge_type)
                edge = Edge(int(edge_id), kind, project, int(from_id), project, int(to_id), parse_data(raw))
                edges[(project, edge.id, 0, "", 0)] = edge
                if kind == "CALLS":
                    resolved_calls.add(int(from_id))
                reached.extend([(project, int(from_id)), (project, int(to_id))])
            for entity_id in ids:
                call = rows.get((project, entity_id))
                if call is None or str(call[1]) != "Call" or entity_id in resolved_calls:
                    continue
                others = [name for name in scope.healthy if name != project]
                targets = store.definitions(_callee(call).lower(), sorted(others))
                if targets:
                    target = targets[0]
                    edge = Edge(0, "CALLS", project, entity_id, target.project, target.entity_id, {})
                    edges[(project, 0, entity_id, target.project, target.entity_id)] = edge
                    reached.append((target.project, target.entity_id))
        frontier = []
        for node in sorted(set(reached)):
            if node in distance:
                continue
            if len(distance) >= max_nodes:
                truncated = True
                continue
            distance[node] = step
            frontier.append(node)
    # Fetch every entity not fetched yet; drop the ones the index lacks.
    missing: dict[str, list[int]] = defaultdict(list)
    for node in distance:
        if node not in rows:
            missing[node[0]].append(node[1])
    for project, ids in missing.items():
        for found_id, found_row in _entities_of(scope, project, sorted(ids)).items():
            rows[(project, found_id)] = found_row
    present = {node for node in distance if node in rows}
    view = View(hit.project, hit.id, truncated=truncated)
    ordered = sorted(present, key=lambda n: (n != start, distance[n], n[0], n[1]))
    for node in ordered:
        owner = scope.healthy.get(node[0])
        entity = _entity(node[0], rows[node], owner.root_path if owner else "")
        if node == start:
            entity.score = hit.score
        view.entities.append(entity)
    view.edges = sorted(
        (
            e
            for e in edges.values()
            if (e.from_project, e.from_id) in present and (e.to_project, e.to_id) in present
        ),
        key=lambda e: (e.from_project, e.id, e.from_id, e.to_project, e.to_id),
    )
    return view


def _entity(project: str, row: tuple[Any, ...], root: str) -> Entity:
    entity_id, kind, name, file_path, raw = row
    data = parse_data(raw)
    kind = str(kind)
    shown_kind = kind
    line = column = 0
    qualified = ""
    shown_name = str(name)
    if kind == "Symbol":
        symbol_kind = data.get("kind")
        shown_kind = symbol_kind if isinstance(symbol_kind, str) and symbol_kind else "Symbol"
        line, column = symbol_line_column(data)
        qualified = qualified_name(data)
    elif kind == "File":
        shown_name = relative_path(shown_name, root) or shown_name
    else:
        line, column = symbol_line_column(data)
        if kind == "Call":
            caller, callee = data.get("caller"), data.get("callee")
            if isinstance(caller, str) and isinstance(callee, str) and " calls " not in shown_name:
                shown_name = f"{caller} calls {callee}"
    return Entity(
        project,
        int(entity_id),
        shown_kind,
        shown_name,
        relative_path(None if file_path is None else str(file_path), root),
        line,
        column,
        qualified,
        0.0,
        data,
    )
