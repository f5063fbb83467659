"""Conversions between the graph area's protos and the core's rows.

Entity and edge data are JSON objects (google.protobuf.Struct); an entity's `project` and
`file_path` are left unset (JSON `null`) when empty. Stats pairs are two-element ListValues, as the
original envoy printed them (`["ToolCall", 2399]`).

A subgraph holds up to 10,000 entities and their edges, so rows are written straight into the
response's repeated fields (`add()`), which spares a copy of every message, and edges without data
(most of them) skip JSON parsing.
"""

from __future__ import annotations

import json

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

from envoy_grpc.core.graph import Neighbors
from envoy_grpc.gen.envoy.v1 import graph_pb2 as pb
from envoy_grpc.store.graph import EdgeRow, EntityRow, GraphStats
from envoy_grpc.store.graph_walk import Direction, Path, Walk

DIRECTIONS: dict[int, Direction] = {
    pb.EDGE_DIRECTION_UNSPECIFIED: "both",
    pb.EDGE_DIRECTION_BOTH: "both",
    pb.EDGE_DIRECTION_OUTGOING: "outgoing",
    pb.EDGE_DIRECTION_INCOMING: "incoming",
}


def direction(value: int) -> str:
    """The core's name of a direction; an unknown number passes through for the core to refuse."""
    return DIRECTIONS.get(value, str(value))


def _set_time(target: timestamp_pb2.Timestamp, seconds: float) -> None:
    """Whole microseconds, as everywhere in the API."""
    target.seconds, micros = divmod(round(seconds * 1_000_000), 1_000_000)
    target.nanos = micros * 1000


def _set_data(target: struct_pb2.Struct, data_json: str) -> None:
    target.SetInParent()
    if data_json != "{}":
        target.update(json.loads(data_json))


def fill_entity(target: pb.Entity, row: EntityRow) -> pb.Entity:
    target.id, target.kind, target.name = row.id, row.kind, row.name
    if row.file_path:
        target.file_path = row.file_path
    if row.project:
        target.project = row.project
    _set_data(target.data, row.data_json)
    _set_time(target.created_at, row.created_at)
    _set_time(target.updated_at, row.updated_at)
    return target


def fill_edge(target: pb.Edge, row: EdgeRow) -> pb.Edge:
    target.id, target.from_id, target.to_id, target.edge_type = row.id, row.from_id, row.to_id, row.label
    _set_data(target.data, row.data_json)
    _set_time(target.created_at, row.created_at)
    return target


def entity(row: EntityRow) -> pb.Entity:
    return fill_entity(pb.Entity(), row)


def edge(row: EdgeRow) -> pb.Edge:
    return fill_edge(pb.Edge(), row)


def _fill_walk(target: pb.Subgraph | pb.ListNeighborsResponse, walk: Walk) -> None:
    fill_entity(target.entry, walk.entry)
    target.depth, target.truncated = walk.depth, walk.truncated
    for row in walk.entities:
        fill_entity(target.entities.add(), row)
    for link in walk.edges:
        fill_edge(target.edges.add(), link)


def subgraph(walk: Walk) -> pb.Subgraph:
    proto = pb.Subgraph()
    _fill_walk(proto, walk)
    return proto


def neighbors(found: Neighbors | Walk, entity_id: int) -> pb.ListNeighborsResponse:
    proto = pb.ListNeighborsResponse(entity_id=entity_id)
    if isinstance(found, Neighbors):
        for row in found.outgoing:
            fill_edge(proto.outgoing.add(), row)
        for row in found.incoming:
            fill_edge(proto.incoming.add(), row)
        proto.next_page_token = found.next_page_token
    else:
        _fill_walk(proto, found)
    return proto


def path(found: Path) -> pb.FindPathResponse:
    proto = pb.FindPathResponse(found=found.found)
    for row in found.entities:
        fill_entity(proto.entities.add(), row)
    for link in found.edges:
        fill_edge(proto.edges.add(), link)
    return proto


def _fill_pairs(
    target: RepeatedCompositeFieldContainer[struct_pb2.ListValue], counts: list[tuple[str, int]]
) -> None:
    for name, count in counts:
        target.add().extend([name, count])


def stats(found: GraphStats) -> pb.GetGraphStatsResponse:
    proto = pb.GetGraphStatsResponse(total_entities=found.total_entities, total_edges=found.total_edges)
    _fill_pairs(proto.entity_counts, found.entity_counts)
    _fill_pairs(proto.edge_counts, found.edge_counts)
    return proto
