"""The graph store API the rest of the server writes through: one entity per thing, one edge per
relation, merged data, labels checked, deletes that cascade and keep the counts right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support import Server

from envoy_grpc import errors
from envoy_grpc.core import graph_projection
from envoy_grpc.core.session_checks import EDGE_LABELS
from envoy_grpc.store import graph as store

PROTO = Path(__file__).resolve().parent.parent / "proto" / "envoy" / "v1" / "graph.proto"


def test_the_known_labels_are_the_ones_graph_proto_lists() -> None:
    header = PROTO.read_text().split("syntax =")[0]
    listed = set(re.findall(r"^// - `([a-z_]+)`:", header, flags=re.MULTILINE))

    assert store.KNOWN_LABELS == listed == EDGE_LABELS
    assert len(listed) == 27


async def test_an_entity_is_found_again_by_kind_name_and_project(server: Server) -> None:
    def unit() -> tuple[list[int], list[store.EntityRow | None], list[int], list[int]]:
        first = store.upsert_entity(
            "File", "a.py", "p", file_path="a.py", data={"lines": 3, "lang": "py"}, now=1.0
        )
        same = store.upsert_entity("File", "a.py", "p", now=2.0)
        unchanged = store.get_entity(first)
        merged = store.upsert_entity("File", "a.py", "p", data={"lines": 4, "lang": None}, now=3.0)
        other_project = store.upsert_entity("File", "a.py", "q", now=4.0)
        after = store.upsert_entity("File", "b.py", "p", now=5.0)
        return (
            [first, same, merged, other_project, after],
            [unchanged, store.get_entity(first)],
            store.entity_ids_for("File", "a.py"),
            store.entity_ids_for("File", "a.py", "q"),
        )

    ids, (unchanged, merged), anywhere, in_q = await server.running.db.write(unit)

    assert ids == [1, 1, 1, 2, 3]  # repeats take no ID: the next entity gets the next one
    assert unchanged is not None and (unchanged.data, unchanged.updated_at) == (
        {"lines": 3, "lang": "py"},
        1.0,
    )
    assert merged is not None and (merged.data, merged.file_path) == ({"lines": 4}, "a.py")
    assert (merged.created_at, merged.updated_at) == (1.0, 3.0)
    assert (anywhere, in_q) == ([1, 2], [2])


async def test_an_edge_is_added_once_and_its_label_and_ends_are_checked(server: Server) -> None:
    def unit() -> list[tuple[int, bool]]:
        a = store.upsert_entity("Session", "s", "p", now=1.0)
        b = store.upsert_entity("Project", "p", "p", now=1.0)
        return [
            store.add_edge(a, b, "belongs_to_project", {"why": "test", "none": None}, now=1.0),
            store.add_edge(a, b, "belongs_to_project", {"why": "again"}, now=2.0),
            store.add_edge(b, a, "belongs_to_project", now=2.0),
        ]

    results = await server.running.db.write(unit)

    assert results == [(1, True), (1, False), (2, True)]
    edge = await server.running.db.read(lambda: store.get_edge(1))
    assert edge is not None and edge.data == {"why": "test"}
    with pytest.raises(errors.EnvoyError) as bad_label:
        await server.running.db.write(lambda: store.add_edge(1, 2, "CALLS", now=1.0))
    assert bad_label.value.reason == "UNKNOWN_EDGE_TYPE"
    assert "'CALLS' is not a knowledge-graph label" in bad_label.value.message
    assert "belongs_to_project" in bad_label.value.message and "consolidated_from" in bad_label.value.message
    with pytest.raises(errors.EnvoyError) as missing:
        await server.running.db.write(lambda: store.add_edge(1, 99, "related_to", now=1.0))
    assert (missing.value.reason, missing.value.metadata["field"]) == ("ENTITY_NOT_FOUND", "to_id")


async def test_deleting_entities_takes_their_edges_and_keeps_the_counts(server: Server) -> None:
    def build() -> list[int]:
        ids = [store.upsert_entity("Thing", name, now=1.0) for name in "abcd"]
        for a, b in ((0, 1), (1, 2), (2, 3), (3, 0), (0, 2)):
            store.add_edge(ids[a], ids[b], "related_to", now=1.0)
        return ids

    ids = await server.running.db.write(build)
    deleted = await server.running.db.write(lambda: store.delete_entities([ids[0], ids[0], 12345]))
    stats = await server.running.db.read(store.stats)
    left = await server.running.db.read(lambda: store.entities_by_id(ids))

    assert deleted == (1, 3)
    assert sorted(left) == ids[1:]
    assert (stats.total_entities, stats.total_edges) == (3, 2)
    assert (stats.entity_counts, stats.edge_counts) == ([("Thing", 3)], [("related_to", 2)])


async def test_an_entity_needs_a_kind_and_a_name(server: Server) -> None:
    with pytest.raises(errors.EnvoyError) as caught:
        await server.running.db.write(lambda: store.upsert_entity("File", "", now=1.0))
    assert caught.value.metadata["field"] == "name"


async def test_records_and_fresh_edges_take_one_statement_and_stay_unique(server: Server) -> None:
    def unit() -> list[object]:
        first = store.insert_entity("ToolCall", "s:Read:1", "p", data={"tool_name": "Read"}, now=1.0)
        again = store.insert_entity("ToolCall", "s:Read:1", "p", data={"tool_name": "Edit"}, now=2.0)
        other = store.upsert_entity("Session", "s", "p", now=1.0)
        edge = store.add_edge(first[0], other, "observed_in", now=1.0, fresh=True)
        repeat = store.add_edge(first[0], other, "observed_in", now=2.0, fresh=True)
        row = store.get_entity(first[0])
        return [first, again, edge, repeat, row.data if row else None]

    first, again, edge, repeat, data = await server.running.db.write(unit)

    assert (first, again) == ((1, True), (1, False))
    assert data == {"tool_name": "Read"}  # an existing record entity is left as it is
    assert (edge, repeat) == ((1, True), (1, False))
    stats = await server.running.db.read(store.stats)
    assert (stats.total_entities, stats.total_edges) == (2, 1)


async def test_another_writer_can_link_to_a_session_before_the_projector_gets_to_it(server: Server) -> None:
    await server.running.graph.projector.stop()
    body = {"session_id": "s1", "agent": "claude", "project": "envoy", "parent_session_id": "s0"}
    parent = {"session_id": "s0", "agent": "claude", "project": "envoy"}
    await server.request("POST", "/atheneum/sessions", parent, token=server.operator_token)
    await server.request("POST", "/atheneum/sessions", body, token=server.operator_token)

    linked = await server.running.db.write(lambda: graph_projection.session_entity("s1", 5.0))
    unknown = await server.running.db.write(lambda: graph_projection.session_entity("nope", 5.0))
    await server.running.graph.catch_up()

    assert unknown is None
    assert linked == (await server.running.db.read(lambda: store.entity_ids_for("Session", "s1")))[0]
    stats = await server.running.db.read(store.stats)
    assert dict(stats.entity_counts) == {"Session": 2, "Project": 1, "Agent": 1}
    assert dict(stats.edge_counts) == {"belongs_to_project": 2, "performed_by": 2, "depends_on": 1}
