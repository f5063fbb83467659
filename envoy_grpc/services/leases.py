"""LeaseService: a thin servicer over `envoy_grpc.core.leases`."""

from __future__ import annotations

import grpc

from envoy_grpc.core.auth import current_caller
from envoy_grpc.core.leases import Leases
from envoy_grpc.gen.envoy.v1 import leases_pb2 as pb
from envoy_grpc.gen.envoy.v1 import leases_pb2_grpc
from envoy_grpc.services import coordination_convert as convert
from envoy_grpc.services.metadata import mark_existing
from envoy_grpc.store.coordination_types import LeaseFilter


class LeaseService(leases_pb2_grpc.LeaseServiceServicer):
    def __init__(self, leases: Leases) -> None:
        self.leases = leases

    async def CreateLease(
        self, request: pb.CreateLeaseRequest, context: grpc.aio.ServicerContext
    ) -> pb.Lease:
        lease, is_new = await self.leases.create(
            current_caller(),
            request.project,
            request.path,
            agent_id=request.agent_id,
            mode=convert.lease_mode_name(request.mode),
            reason=request.reason,
            ttl_seconds=request.ttl_seconds,
        )
        if not is_new:
            mark_existing(context)
        return convert.lease(lease, self.leases.now())

    async def RenewLease(
        self, request: pb.RenewLeaseRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Lease:
        lease = await self.leases.renew(current_caller(), request.lease_id, request.ttl_seconds)
        return convert.lease(lease, self.leases.now())

    async def ReleaseLease(
        self, request: pb.ReleaseLeaseRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Lease:
        lease = await self.leases.release(current_caller(), request.lease_id)
        return convert.lease(lease, self.leases.now())

    async def GetLease(
        self, request: pb.GetLeaseRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Lease:
        return convert.lease(await self.leases.get(current_caller(), request.lease_id), self.leases.now())

    async def ListLeases(
        self, request: pb.ListLeasesRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListLeasesResponse:
        where = LeaseFilter(request.project, request.agent_id, request.include_ended)
        page = await self.leases.list_leases(
            current_caller(), where, request.path, request.page_size, request.page_token
        )
        now = self.leases.now()
        return pb.ListLeasesResponse(
            leases=[convert.lease(lease, now) for lease in page.leases],
            count=len(page.leases),
            next_page_token=page.next_page_token,
        )

    async def CheckPath(
        self, request: pb.CheckPathRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.CheckPathResponse:
        found = self.leases.check_path(current_caller(), request.project, request.path, request.agent_id)
        now = self.leases.now()
        return pb.CheckPathResponse(
            allowed=found.allowed,
            conflicts=[convert.lease(lease, now) for lease in found.conflicts],
            path=found.path,
            message=found.message,
        )
