"""DependencyService: a thin servicer over `envoy_grpc.core.dependencies`."""

from __future__ import annotations

import grpc

from envoy_grpc.core.auth import current_caller
from envoy_grpc.core.dependencies import Dependencies
from envoy_grpc.gen.envoy.v1 import dependencies_pb2 as pb
from envoy_grpc.gen.envoy.v1 import dependencies_pb2_grpc
from envoy_grpc.services import coordination_convert as convert


class DependencyService(dependencies_pb2_grpc.DependencyServiceServicer):
    def __init__(self, dependencies: Dependencies) -> None:
        self.dependencies = dependencies

    async def CreateDependency(
        self, request: pb.CreateDependencyRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Dependency:
        row = await self.dependencies.create(
            current_caller(), request.dependent_agent, request.blocker_agent, request.reason
        )
        return convert.dependency(row)

    async def GetDependency(
        self, request: pb.GetDependencyRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Dependency:
        return convert.dependency(await self.dependencies.get(current_caller(), request.dependency_id))

    async def ListDependenciesByBlocker(
        self, request: pb.ListDependenciesByBlockerRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListDependenciesByBlockerResponse:
        rows = await self.dependencies.by_blocker(current_caller(), request.agent_id)
        return pb.ListDependenciesByBlockerResponse(
            dependencies=[convert.dependency(row) for row in rows], count=len(rows)
        )

    async def ListDependenciesByDependent(
        self, request: pb.ListDependenciesByDependentRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListDependenciesByDependentResponse:
        rows = await self.dependencies.by_dependent(current_caller(), request.agent_id)
        return pb.ListDependenciesByDependentResponse(
            dependencies=[convert.dependency(row) for row in rows], count=len(rows)
        )

    async def ResolveDependency(
        self, request: pb.ResolveDependencyRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Dependency:
        return convert.dependency(await self.dependencies.resolve(current_caller(), request.dependency_id))
