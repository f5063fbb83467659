"""Reading and walking hand-built graphs over gRPC: neighbours and their pages, subgraphs on cycles with
node caps, shortest paths, navigation, stats, and bad arguments named in the error."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import grpc
import pytest
from support import Server, auth
from test_graph import graph_stub

from envoy_grpc.gen.envoy.v1 import graph_pb2 as pb
from envoy_grpc.store import graph as store
from envoy_grpc.store import graph_walk

OUT, IN = pb.EDGE_DIRECTION_OUTGOING, pb.EDGE_DIRECTION_INCOMING

# A ring a→b→c→d→e→a with a chord a→c (mentions), a self-loop on d, a back edge c→a and a tail e→f.
RING = [
    ("a", "b", "related_to"),
    ("b", "c", "related_to"),
    ("c", "d", "related_to"),
    ("d", "e", "related_to"),
    ("e", "a", "related_to"),
    ("a", "c", "mentions"),
    ("d", "d", "related_to"),
    ("c", "a", "mentions"),
    ("e", "f", "derived_from"),
]


async def build(
    server: Server, edges: list[tuple[str, str, str]], extra: tuple[str, ...] = ()
) -> dict[str, int]:
    """Entities named by the letters (kind Thing, project p) and the edges between them, in order."""

    def unit() -> dict[str, int]:
        names = dict.fromkeys(sorted({n for a, b, _ in edges for n in (a, b)} | set(extra)))
        ids = {name: store.upsert_entity("Thing", name, "p", now=1.0) for name in names}
        for a, b, label in edges:
            store.add_edge(ids[a], ids[b], label, now=1.0)
        return ids

    return await server.running.db.write(unit)


async def call(server: Server, method: str, **fields: Any) -> Any:
    stub = graph_stub(server)
    request = getattr(pb, f"{method}Request")(**fields)
    return await getattr(stub, method)(request, metadata=auth(server.operator_token))


async def refused(server: Server, method: str, **fields: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(server, method, **fields)
    return caught.value


def names_of(ids: dict[str, int], entities: Any) -> list[str]:
    back = {v: k for k, v in ids.items()}
    return [back[e.id] for e in entities]


async def test_an_entity_and_an_edge_by_id(server: Server) -> None:
    ids = await build(server, RING)

    entity = await call(server, "GetEntity", entity_id=ids["a"])
    edge = await call(server, "GetEdge", edge_id=1)

    assert (entity.kind, entity.name, entity.project, entity.HasField("file_path")) == (
        "Thing",
        "a",
        "p",
        False,
    )
    assert entity.created_at == entity.updated_at
    assert (edge.from_id, edge.to_id, edge.edge_type) == (ids["a"], ids["b"], "related_to")


async def test_neighbours_split_by_direction_in_id_order_and_paged(server: Server) -> None:
    ids = await build(server, RING)

    everything = await call(server, "ListNeighbors", entity_id=ids["a"])
    pages, token = [], ""
    while True:
        page = await call(server, "ListNeighbors", entity_id=ids["a"], page_size=2, page_token=token)
        pages.append(page)
        token = page.next_page_token
        if not token:
            break

    def links(edges: Any) -> list[tuple[int, int, str]]:
        return [(e.from_id, e.to_id, e.edge_type) for e in edges]

    assert links(everything.outgoing) == [
        (ids["a"], ids["b"], "related_to"),
        (ids["a"], ids["c"], "mentions"),
    ]
    assert links(everything.incoming) == [
        (ids["e"], ids["a"], "related_to"),
        (ids["c"], ids["a"], "mentions"),
    ]
    assert not everything.next_page_token and not everything.HasField("entry")
    assert [len(p.outgoing) + len(p.incoming) for p in pages] == [2, 2]
    assert [e.id for p in pages for e in [*p.outgoing, *p.incoming]] == [
        e.id for e in [*everything.outgoing, *everything.incoming]
    ]
    only_in = await call(server, "ListNeighbors", entity_id=ids["a"], direction=IN, edge_type="mentions")
    assert (links(only_in.outgoing), links(only_in.incoming)) == ([], [(ids["c"], ids["a"], "mentions")])
    error = await refused(server, "ListNeighbors", entity_id=ids["b"], page_token=pages[0].next_page_token)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in str(error.details())


async def test_a_walk_on_a_graph_with_cycles_goes_out_level_by_level(server: Server) -> None:
    ids = await build(server, RING)

    one = await call(server, "GetSubgraph", entity_id=ids["a"], depth=1)
    two = await call(server, "GetSubgraph", entity_id=ids["a"])  # depth 0 means 2
    deep = await call(server, "ListNeighbors", entity_id=ids["a"], depth=50)
    forward = await call(server, "GetSubgraph", entity_id=ids["d"], depth=2, direction=OUT)

    assert names_of(ids, one.entities) == ["a", "b", "c", "e"]
    assert names_of(ids, two.entities) == ["a", "b", "c", "e", "d", "f"]
    assert (two.depth, deep.depth, two.truncated) == (2, 10, False)
    assert names_of(ids, deep.entities) == names_of(ids, two.entities)
    assert names_of(ids, forward.entities) == ["d", "e", "a", "f"]
    # Every edge between the returned entities, and no other: the self-loop too.
    assert {(e.from_id, e.to_id) for e in one.edges} == {
        (ids[a], ids[b]) for a, b, _ in RING if a in "abce" and b in "abce"
    }
    assert len(two.edges) == len(RING)
    assert [e.id for e in two.edges] == sorted(e.id for e in two.edges)


async def test_the_node_cap_stops_the_walk_and_leaves_no_edge_dangling(server: Server) -> None:
    hub_edges = [("hub", f"n{i:04d}", "related_to") for i in range(300)]
    hub_edges += [(f"n{i:04d}", f"n{i + 1:04d}", "mentions") for i in range(299)]
    ids = await build(server, hub_edges)

    capped = await call(server, "GetSubgraph", entity_id=ids["hub"], depth=3, max_nodes=50)
    exact = await call(server, "GetSubgraph", entity_id=ids["n0000"], depth=1, max_nodes=3)
    single = await call(server, "GetSubgraph", entity_id=ids["hub"], depth=1, max_nodes=1)

    returned = {e.id for e in capped.entities}
    assert (len(returned), capped.truncated) == (50, True)
    assert capped.entities[0].id == ids["hub"]
    assert all(e.from_id in returned and e.to_id in returned for e in capped.edges)
    assert len(capped.edges) == 49 + sum(1 for e in capped.edges if e.edge_type == "mentions")
    assert (len(exact.entities), exact.truncated) == (3, False)  # hub and n0001: all it has
    assert (len(single.entities), len(single.edges), single.truncated) == (1, 0, True)


async def test_shortest_paths_on_cycles_by_direction_and_label(server: Server) -> None:
    ids = await build(server, RING, extra=("lonely",))

    def route(found: Any) -> list[str]:
        return names_of(ids, found.entities)

    both = await call(server, "FindPath", from_id=ids["b"], to_id=ids["e"])
    forward = await call(server, "FindPath", from_id=ids["b"], to_id=ids["a"], direction=OUT)
    backward = await call(server, "FindPath", from_id=ids["a"], to_id=ids["b"], direction=IN)
    by_label = await call(server, "FindPath", from_id=ids["a"], to_id=ids["c"], edge_type="related_to")
    too_short = await call(server, "FindPath", from_id=ids["b"], to_id=ids["f"], max_depth=2, direction=OUT)
    itself = await call(server, "FindPath", from_id=ids["d"], to_id=ids["d"])
    nowhere = await call(server, "FindPath", from_id=ids["a"], to_id=ids["lonely"], max_depth=12)

    assert route(both) == ["b", "a", "e"]
    assert route(forward) == ["b", "c", "a"] and [e.edge_type for e in forward.edges] == [
        "related_to",
        "mentions",
    ]
    assert route(backward) == ["a", "c", "b"]  # against the edges b→c and c→a
    assert all(e.edge_type == "related_to" for e in by_label.edges) and route(by_label) == ["a", "b", "c"]
    assert (too_short.found, list(too_short.entities)) == (False, [])
    assert (itself.found, route(itself), list(itself.edges)) == (True, ["d"], [])
    assert not nowhere.found
    for found in (both, forward, backward, by_label):
        steps = list(zip(found.entities, found.entities[1:], strict=False))
        assert all({e.from_id, e.to_id} == {x.id, y.id} for e, (x, y) in zip(found.edges, steps, strict=True))


def reference_walk(
    edges: set[tuple[int, int, str]], start: int, direction: str, label: str
) -> dict[int, int]:
    """Breadth-first distances, the slow obvious way."""
    adjacent: dict[int, set[int]] = defaultdict(set)
    for a, b, edge_label in edges:
        if label and edge_label != label:
            continue
        if direction in ("both", "outgoing"):
            adjacent[a].add(b)
        if direction in ("both", "incoming"):
            adjacent[b].add(a)
    distance, frontier = {start: 0}, [start]
    while frontier:
        following = []
        for node in frontier:
            for other in adjacent[node] - distance.keys():
                distance[other] = distance[node] + 1
                following.append(other)
        frontier = following
    return distance


async def test_walks_and_paths_agree_with_a_plain_breadth_first_search(server: Server) -> None:
    rng = random.Random(7)
    labels = ["related_to", "mentions", "calls"]

    def unit() -> tuple[list[int], set[tuple[int, int, str]]]:
        ids = [store.upsert_entity("Thing", f"r{i}", "p", now=1.0) for i in range(60)]
        edges = {(rng.choice(ids), rng.choice(ids), rng.choice(labels)) for _ in range(90)}
        for a, b, label in edges:
            store.add_edge(a, b, label, now=1.0)
        return ids, edges

    ids, edges = await server.running.db.write(unit)

    def check() -> None:
        for start in ids:
            for direction in ("both", "outgoing", "incoming"):
                for label in ("", "mentions"):
                    distance = reference_walk(edges, start, direction, label)
                    walk = graph_walk.subgraph(start, 3, 10_000, label, direction)  # type: ignore[arg-type]
                    assert walk is not None
                    near = {n: d for n, d in distance.items() if d <= 3}
                    assert [e.id for e in walk.entities] == sorted(near, key=lambda n: (near[n], n))
                    assert {(e.from_id, e.to_id, e.label) for e in walk.edges} == {
                        (a, b, lab)
                        for a, b, lab in edges
                        if a in near and b in near and lab == (label or lab)
                    }
                    target = rng.choice(ids)
                    for limit in (2, 4, 12):
                        path = graph_walk.shortest_path(start, target, limit, label, direction)  # type: ignore[arg-type]
                        assert path.found == (target in distance and distance[target] <= limit)
                        if path.found:
                            assert len(path.edges) == distance[target]

    await server.running.db.read(check)


async def test_navigate_walks_around_name_matches_or_the_search_it_is_given(server: Server) -> None:
    ids = await build(server, [("src/a_b.py", "x", "related_to"), ("src/aXb.py", "y", "related_to")])

    server.running.graph.search = store.name_prefix_matches  # the stand-in for full-text search
    escaped = await call(server, "Navigate", q="src/a_", depth=1)
    folded = await call(server, "Navigate", q="SRC/A", k=1, depth=1)
    elsewhere = await call(server, "Navigate", q="src/", project="other")
    server.running.graph.search = lambda q, k, project: [ids["y"], 999_999, ids["x"]]
    searched = await call(server, "Navigate", q="anything at all", depth=1)

    assert [s.entry.name for s in escaped.subgraphs] == ["src/a_b.py"]
    assert names_of(ids, escaped.subgraphs[0].entities) == ["src/a_b.py", "x"]
    assert [s.entry.name for s in folded.subgraphs] == ["src/a_b.py"]
    assert (escaped.query, list(elsewhere.subgraphs)) == ("src/a_", [])
    assert [s.entry.name for s in searched.subgraphs] == ["y", "x"]


@pytest.mark.parametrize(
    ("method", "fields", "field"),
    [
        ("GetSubgraph", {"depth": -1}, "depth"),
        ("GetSubgraph", {"max_nodes": -5}, "max_nodes"),
        ("GetSubgraph", {"edge_type": "CALLS"}, "edge_type"),
        ("ListNeighbors", {"page_size": -1}, "page_size"),
        ("ListNeighbors", {"edge_type": "Related_To"}, "edge_type"),
        ("FindPath", {"max_depth": -1}, "max_depth"),
        ("FindPath", {"edge_type": "refers"}, "edge_type"),
        ("Navigate", {"q": "x" * 1001}, "q"),
        ("Navigate", {"q": "x", "k": -1}, "k"),
    ],
)
async def test_bad_arguments_are_refused_naming_the_field(
    server: Server, method: str, fields: dict[str, Any], field: str
) -> None:
    ids = await build(server, RING)
    target = {"FindPath": {"from_id": ids["a"], "to_id": ids["b"]}, "Navigate": {}}.get(
        method, {"entity_id": ids["a"]}
    )

    error = await refused(server, method, **target, **fields)

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(error.details()).startswith(f"{field}:")
    if field == "edge_type":
        assert repr(fields["edge_type"]) in str(error.details()) and "belongs_to_project" in str(
            error.details()
        )


async def test_a_path_to_an_unknown_entity_names_the_end_that_is_missing(server: Server) -> None:
    ids = await build(server, RING)

    error = await refused(server, "FindPath", from_id=ids["a"], to_id=12345)

    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "(to_id)" in str(error.details())
