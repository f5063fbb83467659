"""GraphService: a thin servicer over `envoy_grpc.core.graph` (read-only, safe to repeat)."""

from __future__ import annotations

import grpc

from envoy_grpc.core.auth import current_caller
from envoy_grpc.core.graph import Graph
from envoy_grpc.gen.envoy.v1 import graph_pb2 as pb
from envoy_grpc.gen.envoy.v1 import graph_pb2_grpc
from envoy_grpc.services import graph_convert as convert


class GraphService(graph_pb2_grpc.GraphServiceServicer):
    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    async def GetEntity(
        self, request: pb.GetEntityRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Entity:
        return convert.entity(await self.graph.get_entity(current_caller(), request.entity_id))

    async def GetEdge(self, request: pb.GetEdgeRequest, unused_context: grpc.aio.ServicerContext) -> pb.Edge:
        return convert.edge(await self.graph.get_edge(current_caller(), request.edge_id))

    async def ListNeighbors(
        self, request: pb.ListNeighborsRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListNeighborsResponse:
        found = await self.graph.list_neighbors(
            current_caller(),
            request.entity_id,
            depth=request.depth,
            edge_type=request.edge_type,
            direction=convert.direction(request.direction),
            page_size=request.page_size,
            page_token=request.page_token,
            max_nodes=request.max_nodes,
        )
        return convert.neighbors(found, request.entity_id)

    async def GetSubgraph(
        self, request: pb.GetSubgraphRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Subgraph:
        walk = await self.graph.get_subgraph(
            current_caller(),
            request.entity_id,
            depth=request.depth,
            max_nodes=request.max_nodes,
            edge_type=request.edge_type,
            direction=convert.direction(request.direction),
        )
        return convert.subgraph(walk)

    async def FindPath(
        self, request: pb.FindPathRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.FindPathResponse:
        found = await self.graph.find_path(
            current_caller(),
            request.from_id,
            request.to_id,
            max_depth=request.max_depth,
            edge_type=request.edge_type,
            direction=convert.direction(request.direction),
        )
        return convert.path(found)

    async def Navigate(
        self, request: pb.NavigateRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.NavigateResponse:
        walks = await self.graph.navigate(
            current_caller(),
            request.q,
            k=request.k,
            depth=request.depth,
            project=request.project,
            max_nodes=request.max_nodes,
        )
        return pb.NavigateResponse(query=request.q, subgraphs=[convert.subgraph(walk) for walk in walks])

    async def GetGraphStats(
        self, unused_request: pb.GetGraphStatsRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.GetGraphStatsResponse:
        return convert.stats(await self.graph.stats(current_caller()))
