"""Walks over the knowledge graph (reader threads): breadth-first subgraphs and shortest paths.

Both go level by level, one SQL statement per level over the adjacency indexes (`graph_edge_out` and
`graph_edge_in`, which hold both ends, so a level reads only the indexes). The frontier and the
visited set travel as JSON arrays read with `json_each`, so a level costs one statement whatever its
size, and visited entities are filtered out inside SQLite: walks are cycle-safe and never revisit.

Subgraph: a level asks for at most the room left under the node cap (plus one, to know whether the
cap cut the walk short), so a hub with a hundred thousand neighbours costs what the cap allows, not
its degree. Which entities fill the last, partly taken level is deterministic (the frontier in ID
order, each entity's edges in index order) but unspecified. The edges returned are every edge
(with the requested label, in either direction) whose two ends were both returned: no edge dangles.

Shortest path: a bidirectional breadth-first search that always grows the side with the smaller
frontier, and stops as soon as the two meet (which, growing whole levels, gives a shortest path) or
when the levels of both sides add up to `max_depth`. Each newly reached entity remembers the edge of
lowest ID that reached it, so the path returned is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from envoy_grpc.store.graph import (
    EdgeRow,
    EntityRow,
    cursor,
    edges_by_id,
    entities_by_id,
    get_entity,
    id_list,
)

Direction = Literal["both", "outgoing", "incoming"]


@dataclass(frozen=True)
class Walk:
    entry: EntityRow
    depth: int
    # The entry first, then by distance from it, ties by ID.
    entities: list[EntityRow]
    # In ID order; both ends of each are in `entities`.
    edges: list[EdgeRow]
    truncated: bool


@dataclass(frozen=True)
class Path:
    found: bool
    # From the start to the end; `edges[i]` links `entities[i]` and `entities[i + 1]`.
    entities: list[EntityRow]
    edges: list[EdgeRow]


def _arms(direction: Direction, label: str, columns: str) -> str:
    """The adjacency of the entities in ?1 as a UNION ALL of index searches, with `columns` naming
    what to select of an edge followed forwards (`{near}`/`{far}` are its two ends)."""
    label_test = " AND label = ?3" if label else ""
    forward = f"SELECT {columns.format(near='from_id', far='to_id')} FROM graph_edge WHERE from_id IN (SELECT value FROM json_each(?1)){label_test}"
    backward = f"SELECT {columns.format(near='to_id', far='from_id')} FROM graph_edge WHERE to_id IN (SELECT value FROM json_each(?1)){label_test}"
    if direction == "outgoing":
        return forward
    if direction == "incoming":
        return backward
    return f"{forward} UNION ALL {backward}"


def _new_neighbours(
    frontier: Iterable[int], visited: Iterable[int], direction: Direction, label: str, limit: int
) -> list[int]:
    """Up to `limit` entities one hop from the frontier that are not visited yet."""
    sql = (
        f"SELECT DISTINCT far FROM ({_arms(direction, label, '{far} AS far')}) "
        "WHERE far NOT IN (SELECT value FROM json_each(?2)) LIMIT ?4"
    )
    rows = cursor().execute(sql, (id_list(frontier), id_list(visited), label, limit))
    return [int(row[0]) for row in rows]


def _edges_among(ids: list[int], label: str) -> list[int]:
    """The IDs of the edges whose two ends are both in `ids` (driven by the outgoing index: hubs of
    the graph, such as projects, have many incoming edges but few outgoing ones)."""
    label_test = " AND label = ?2" if label else ""
    sql = (
        "SELECT id FROM graph_edge WHERE from_id IN (SELECT value FROM json_each(?1)) "
        f"AND +to_id IN (SELECT value FROM json_each(?1)){label_test}"
    )
    params = (id_list(ids), label) if label else (id_list(ids),)
    return [int(row[0]) for row in cursor().execute(sql, params)]


def subgraph(
    entity_id: int, depth: int, max_nodes: int, label: str = "", direction: Direction = "both"
) -> Walk | None:
    """Every entity within `depth` hops of `entity_id`, at most `max_nodes` of them; None if it does
    not exist."""
    entry = get_entity(entity_id)
    if entry is None:
        return None
    distance = {entity_id: 0}
    frontier = [entity_id]
    truncated = False
    for level in range(1, depth + 1):
        room = max_nodes - len(distance)
        found = _new_neighbours(frontier, distance, direction, label, room + 1)
        if len(found) > room:
            truncated = True
            found = found[:room]
        for node in found:
            distance[node] = level
        frontier = sorted(found)
        if truncated or not frontier:
            break
    ids = sorted(distance, key=lambda node: (distance[node], node))
    rows = entities_by_id(ids)
    entities = [rows[node] for node in ids if node in rows]
    edges = edges_by_id(_edges_among(ids, label))
    return Walk(entry, depth, entities, edges, truncated)


class _Side:
    """One end of a bidirectional search: how far it got and how it reached each entity."""

    def __init__(self, start: int, direction: Direction) -> None:
        self.direction = direction
        self.distance = {start: 0}
        # entity -> (the edge that reached it, the entity it was reached from)
        self.reached_by: dict[int, tuple[int, int]] = {}
        self.frontier = [start]
        self.level = 0

    def grow(self, label: str) -> list[int]:
        """Walk one more level; returns the entities reached for the first time."""
        sql = (
            f"SELECT far, MIN(edge), near FROM ({_arms(self.direction, label, 'id AS edge, {near} AS near, {far} AS far')}) "
            "WHERE far NOT IN (SELECT value FROM json_each(?2)) GROUP BY far"
        )
        params = (id_list(self.frontier), id_list(self.distance), *((label,) if label else ()))
        rows = cursor().execute(sql, params).fetchall()
        self.level += 1
        for far, edge, near in rows:
            self.distance[int(far)] = self.level
            self.reached_by[int(far)] = (int(edge), int(near))
        self.frontier = sorted(int(row[0]) for row in rows)
        return self.frontier

    def trail(self, node: int) -> tuple[list[int], list[int]]:
        """The entities and edges from `node` back to this side's start."""
        nodes, edges = [node], []
        while node in self.reached_by:
            edge, node = self.reached_by[node]
            edges.append(edge)
            nodes.append(node)
        return nodes, edges


_REVERSED: dict[Direction, Direction] = {"both": "both", "outgoing": "incoming", "incoming": "outgoing"}


def shortest_path(
    from_id: int, to_id: int, max_depth: int, label: str = "", direction: Direction = "both"
) -> Path:
    """A shortest path of at most `max_depth` edges from `from_id` to `to_id` (both must exist)."""
    if from_id == to_id:
        return Path(True, list(entities_by_id([from_id]).values()), [])
    start, end = _Side(from_id, direction), _Side(to_id, _REVERSED[direction])
    while start.level + end.level < max_depth:
        side, other = (start, end) if len(start.frontier) <= len(end.frontier) else (end, start)
        if not side.frontier:
            break
        meetings = [node for node in side.grow(label) if node in other.distance]
        if meetings:
            meeting = min(meetings, key=lambda node: (other.distance[node], node))
            return _path(start, end, meeting)
    return Path(False, [], [])


def _path(start: _Side, end: _Side, meeting: int) -> Path:
    head_nodes, head_edges = start.trail(meeting)
    tail_nodes, tail_edges = end.trail(meeting)
    nodes = head_nodes[::-1] + tail_nodes[1:]
    edge_ids = head_edges[::-1] + tail_edges
    entity_rows = entities_by_id(nodes)
    edge_rows = {edge.id: edge for edge in edges_by_id(edge_ids)}
    return Path(True, [entity_rows[node] for node in nodes], [edge_rows[edge] for edge in edge_ids])
