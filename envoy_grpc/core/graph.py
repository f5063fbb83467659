"""The knowledge graph, read: entities, edges, neighbours, subgraphs, shortest paths, navigation, stats.

GraphService calls this; every method is read-only and runs its SQL on a reader thread. Arguments
are checked and defaulted as graph.proto says (0 means the default; larger values are lowered to the
maximum; negative ones are INVALID_ARGUMENT naming the field), an unknown label is INVALID_ARGUMENT
(UNKNOWN_EDGE_TYPE) and an unknown entity or edge NOT_FOUND (ENTITY_NOT_FOUND, EDGE_NOT_FOUND).

    graph = running.graph                              # a Graph, on RunningServer
    await graph.get_entity(caller, 7) -> EntityRow
    await graph.list_neighbors(caller, 7, depth=0, ...) -> Neighbors | Walk
    await graph.get_subgraph(caller, 7, depth=2, max_nodes=500) -> Walk
    await graph.find_path(caller, 7, 9, max_depth=6) -> Path
    await graph.navigate(caller, "login", k=5, depth=2, project="") -> list[Walk]
    await graph.stats(caller) -> GraphStats
    await graph.catch_up()                             # the projector has everything committed

Navigate searches with `graph.search`, a function `search(q, k, project) -> [entity ID, ...]` (best
first) that runs on a reader thread: KnowledgeService plugs its full-text search in there at wiring
time. Until it does, the default is a case-insensitive prefix match on entity names over an index
(`envoy_grpc.store.graph.name_prefix_matches`), which finds entities by the start of their name
(a file path, a session ID, a tool call's `<session>:<tool>`), not by words inside them.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from envoy_grpc import errors
from envoy_grpc.core.auth import Caller
from envoy_grpc.core.graph_projector import GraphProjector
from envoy_grpc.store import graph as store
from envoy_grpc.store import graph_walk as walks
from envoy_grpc.store.db import Database
from envoy_grpc.store.graph import EdgeRow, EntityRow, GraphStats
from envoy_grpc.store.graph_walk import Direction, Path, Walk

Search = Callable[[str, int, str], list[int]]

MAX_DEPTH = 10
MAX_NODES = 10_000
DEFAULT_NODES = 500
MAX_PAGE = 10_000
DEFAULT_PAGE = 1_000
MAX_PATH_DEPTH = 12
DEFAULT_PATH_DEPTH = 6
MAX_QUERY = 1_000
MAX_HITS = 50
DIRECTIONS: tuple[Direction, ...] = ("both", "outgoing", "incoming")


@dataclass(frozen=True)
class Neighbors:
    """An entity's own edges (ListNeighbors at depth 0), one page of them."""

    entity_id: int
    outgoing: list[EdgeRow]
    incoming: list[EdgeRow]
    next_page_token: str


def bounded(field_path: str, value: int, default: int, maximum: int) -> int:
    """0 means `default`; larger than `maximum` is lowered to it; negative is refused."""
    if value < 0:
        raise errors.invalid_argument(
            field_path, f"must be 0 (the default, {default}) or positive, got {value}"
        )
    return min(value or default, maximum)


def label_filter(edge_type: str) -> str:
    return store.check_label(edge_type) if edge_type else ""


def direction_of(direction: str) -> Direction:
    if direction not in DIRECTIONS:
        raise errors.invalid_argument(
            "direction", f"must be one of {', '.join(DIRECTIONS)}, got {direction!r}"
        )
    return direction


class Graph:
    def __init__(self, db: Database, projector: GraphProjector, search: Search | None = None) -> None:
        self.db = db
        self.projector = projector
        self.search: Search = search or store.name_prefix_matches

    async def catch_up(self) -> int:
        return await self.projector.catch_up()

    async def get_entity(self, unused_caller: Caller, entity_id: int) -> EntityRow:
        row = await self.db.read(lambda: store.get_entity(entity_id))
        if row is None:
            raise store.entity_not_found(entity_id)
        return row

    async def get_edge(self, unused_caller: Caller, edge_id: int) -> EdgeRow:
        row = await self.db.read(lambda: store.get_edge(edge_id))
        if row is None:
            raise store.edge_not_found(edge_id)
        return row

    async def list_neighbors(
        self,
        caller: Caller,
        entity_id: int,
        depth: int = 0,
        edge_type: str = "",
        direction: str = "both",
        page_size: int = 0,
        page_token: str = "",
        max_nodes: int = 0,
    ) -> Neighbors | Walk:
        """Depth 0: the entity's own edges, paged (outgoing first); deeper: a walk, as GetSubgraph."""
        hops = bounded("depth", depth, 0, MAX_DEPTH)
        label, way = label_filter(edge_type), direction_of(direction)
        size = bounded("page_size", page_size, DEFAULT_PAGE, MAX_PAGE)
        cap = bounded("max_nodes", max_nodes, DEFAULT_NODES, MAX_NODES)
        if hops > 0:
            return await self._walk(entity_id, hops, cap, label, way)
        fingerprint = _fingerprint(entity_id, label, way)
        outgoing_first, after = _decode_page_token(page_token, fingerprint)

        def page() -> Neighbors | None:
            if store.get_entity(entity_id) is None:
                return None
            return _edge_page(entity_id, label, way, outgoing_first, after, size, fingerprint)

        found = await self.db.read(page)
        if found is None:
            raise store.entity_not_found(entity_id)
        return found

    async def get_subgraph(
        self,
        unused_caller: Caller,
        entity_id: int,
        depth: int = 0,
        max_nodes: int = 0,
        edge_type: str = "",
        direction: str = "both",
    ) -> Walk:
        hops = bounded("depth", depth, 2, MAX_DEPTH)
        cap = bounded("max_nodes", max_nodes, DEFAULT_NODES, MAX_NODES)
        return await self._walk(entity_id, hops, cap, label_filter(edge_type), direction_of(direction))

    async def _walk(self, entity_id: int, depth: int, cap: int, label: str, direction: Direction) -> Walk:
        walk = await self.db.read(lambda: walks.subgraph(entity_id, depth, cap, label, direction))
        if walk is None:
            raise store.entity_not_found(entity_id)
        return walk

    async def find_path(
        self,
        unused_caller: Caller,
        from_id: int,
        to_id: int,
        max_depth: int = 0,
        edge_type: str = "",
        direction: str = "both",
    ) -> Path:
        hops = bounded("max_depth", max_depth, DEFAULT_PATH_DEPTH, MAX_PATH_DEPTH)
        label, way = label_filter(edge_type), direction_of(direction)

        def find() -> Path | str:
            for field_path, entity_id in (("from_id", from_id), ("to_id", to_id)):
                if store.get_entity(entity_id) is None:
                    return field_path
            return walks.shortest_path(from_id, to_id, hops, label, way)

        found = await self.db.read(find)
        if isinstance(found, str):
            raise store.entity_not_found(from_id if found == "from_id" else to_id, found)
        return found

    async def navigate(
        self, unused_caller: Caller, q: str, k: int = 0, depth: int = 0, project: str = "", max_nodes: int = 0
    ) -> list[Walk]:
        """Search, then the subgraph around each of the best `k` hits, best first."""
        if not q.strip():
            raise errors.missing_fields(["q"])
        if len(q) > MAX_QUERY:
            raise errors.invalid_argument("q", f"must be at most {MAX_QUERY} characters, got {len(q)}")
        hits = bounded("k", k, 5, MAX_HITS)
        hops = bounded("depth", depth, 2, MAX_DEPTH)
        cap = bounded("max_nodes", max_nodes, DEFAULT_NODES, MAX_NODES)
        search = self.search

        def around_hits() -> list[Walk]:
            found = (
                walks.subgraph(hit, hops, cap) for hit in dict.fromkeys(search(q.strip(), hits, project))
            )
            return [walk for walk in found if walk is not None][:hits]

        return await self.db.read(around_hits)

    async def stats(self, unused_caller: Caller) -> GraphStats:
        return await self.db.read(store.stats)


def _edge_page(
    entity_id: int, label: str, way: Direction, outgoing_first: bool, after: int, size: int, fingerprint: str
) -> Neighbors:
    """Outgoing edges, then incoming ones, each in ID order: `size` of them from the token's place."""
    outgoing: list[EdgeRow] = []
    incoming: list[EdgeRow] = []
    token = ""
    if way != "incoming" and outgoing_first:
        outgoing = store.incident_edges(entity_id, True, label, after, size + 1)
        if len(outgoing) > size:
            outgoing = outgoing[:size]
            return Neighbors(entity_id, outgoing, [], _encode_page_token(True, outgoing[-1].id, fingerprint))
        after = 0
    if way != "outgoing":
        room = size - len(outgoing)
        incoming = store.incident_edges(entity_id, False, label, after, room + 1)
        if len(incoming) > room:
            incoming = incoming[:room]
            token = _encode_page_token(False, incoming[-1].id if incoming else 0, fingerprint)
    return Neighbors(entity_id, outgoing, incoming, token)


def _fingerprint(*fields: object) -> str:
    return hashlib.sha256("\0".join(str(f) for f in fields).encode()).hexdigest()[:16]


def _encode_page_token(outgoing: bool, last_id: int, fingerprint: str) -> str:
    side = "out" if outgoing else "in"
    return base64.urlsafe_b64encode(f"neighbors:{side}:{last_id}:{fingerprint}".encode()).decode()


def _decode_page_token(token: str, fingerprint: str) -> tuple[bool, int]:
    """(whether the page starts among the outgoing edges, the last edge ID already returned)."""
    if not token:
        return True, 0
    try:
        kind, side, last_id, stamp = base64.urlsafe_b64decode(token.encode()).decode().split(":")
    except (ValueError, UnicodeDecodeError):
        kind, side, last_id, stamp = "", "", "", ""
    if kind != "neighbors" or side not in ("out", "in") or not (last_id.isascii() and last_id.isdigit()):
        raise errors.invalid_argument(
            "page_token", "is not a token returned by a previous ListNeighbors call"
        )
    if stamp != fingerprint:
        raise errors.invalid_argument(
            "page_token", "was returned for another entity, edge_type or direction; ask again without it"
        )
    return side == "out", int(last_id)
