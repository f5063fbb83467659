"""AgentService: thin servicer over the agent registry."""

from __future__ import annotations

import grpc

from envoy_grpc import errors
from envoy_grpc.core.agents import AgentRegistry
from envoy_grpc.core.auth import current_caller
from envoy_grpc.gen.envoy.v1 import agents_pb2, agents_pb2_grpc
from envoy_grpc.services import convert
from envoy_grpc.services.metadata import mark_existing


class AgentService(agents_pb2_grpc.AgentServiceServicer):
    def __init__(self, registry: AgentRegistry, open_registration: bool) -> None:
        self.registry = registry
        self.open_registration = open_registration

    async def RegisterAgent(
        self, request: agents_pb2.RegisterAgentRequest, context: grpc.aio.ServicerContext
    ) -> agents_pb2.RegisterAgentResponse:
        caller = current_caller()
        parent_id = request.parent_id if request.HasField("parent_id") and request.parent_id else None
        if parent_id is None and not self.open_registration and not caller.is_operator:
            raise errors.permission_denied(
                "registration of root agents is closed (--registration=operator): "
                "register with the operator token",
                reason="REGISTRATION_CLOSED",
            )
        result = await self.registry.register(caller, request.name, request.kind, parent_id)
        if not result.is_new:
            mark_existing(context)
        return convert.registration(result)

    async def GetAgent(
        self, request: agents_pb2.GetAgentRequest, unused_context: grpc.aio.ServicerContext
    ) -> agents_pb2.Agent:
        row = self.registry.get(request.agent_id)
        return convert.agent(row, self.registry.children(row.agent_id), self.registry.last_seen(row.agent_id))

    async def ListAgents(
        self, request: agents_pb2.ListAgentsRequest, unused_context: grpc.aio.ServicerContext
    ) -> agents_pb2.ListAgentsResponse:
        page = self.registry.list_agents(
            kind=request.kind,
            parent_id=request.parent_id,
            lifecycle=convert.LIFECYCLE_NAMES.get(request.lifecycle, ""),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return agents_pb2.ListAgentsResponse(
            agents=[
                convert.agent(row, last_seen=self.registry.last_seen(row.agent_id)) for row in page.agents
            ],
            next_page_token=page.next_page_token,
        )

    async def RetireAgent(
        self, request: agents_pb2.RetireAgentRequest, unused_context: grpc.aio.ServicerContext
    ) -> agents_pb2.RetireAgentResponse:
        affected = await self.registry.retire(current_caller(), request.agent_id)
        return agents_pb2.RetireAgentResponse(affected=affected, retired=True, disconnected=True)

    async def RotateAgentToken(
        self, request: agents_pb2.RotateAgentTokenRequest, unused_context: grpc.aio.ServicerContext
    ) -> agents_pb2.RotateAgentTokenResponse:
        token = await self.registry.rotate_token(current_caller(), request.agent_id)
        return agents_pb2.RotateAgentTokenResponse(agent_id=request.agent_id, token=token)

    async def Heartbeat(
        self, request: agents_pb2.HeartbeatRequest, unused_context: grpc.aio.ServicerContext
    ) -> agents_pb2.HeartbeatResponse:
        status = convert.status_to_dict(request.status)
        await self.registry.heartbeat(current_caller(), request.agent_id, status)
        return agents_pb2.HeartbeatResponse(accepted=True)

    async def GetCaller(
        self, unused_request: agents_pb2.GetCallerRequest, unused_context: grpc.aio.ServicerContext
    ) -> agents_pb2.GetCallerResponse:
        caller = current_caller()
        return agents_pb2.GetCallerResponse(role=caller.role, agent_id=caller.agent_id or "")

    async def GetCircuit(
        self, request: agents_pb2.GetCircuitRequest, unused_context: grpc.aio.ServicerContext
    ) -> agents_pb2.Circuit:
        self.registry.get(request.agent_id)
        return convert.circuit(request.agent_id, self.registry.circuits.get(request.agent_id))

    async def RecordCircuitFailure(
        self, request: agents_pb2.RecordCircuitFailureRequest, unused_context: grpc.aio.ServicerContext
    ) -> agents_pb2.Circuit:
        self.registry.get(request.agent_id)
        return convert.circuit(request.agent_id, self.registry.circuits.record_failure(request.agent_id))
