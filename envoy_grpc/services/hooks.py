"""HookService: Claude Code's own hook JSON in, hook output JSON out (google.protobuf.Struct both ways)."""

from __future__ import annotations

import grpc
from google.protobuf import json_format, struct_pb2

from envoy_grpc.core.auth import current_caller
from envoy_grpc.core.hooks import HookAdapter
from envoy_grpc.gen.envoy.v1 import hooks_pb2, hooks_pb2_grpc
from envoy_grpc.services.message_convert import plain_json

HARNESS_METADATA = "x-envoy-harness-pid"


def harness_pid(context: grpc.aio.ServicerContext) -> int | None:
    """The harness process `envoy-grpc hook` reported, if any (anything else is ignored)."""
    for key, value in context.invocation_metadata() or ():
        if key == HARNESS_METADATA and isinstance(value, str) and value.isdigit():
            return int(value)
    return None


class HookService(hooks_pb2_grpc.HookServiceServicer):
    def __init__(self, adapter: HookAdapter) -> None:
        self.adapter = adapter

    async def HandleClaudeHook(
        self, request: hooks_pb2.HandleClaudeHookRequest, context: grpc.aio.ServicerContext
    ) -> hooks_pb2.HandleClaudeHookResponse:
        payload = plain_json(json_format.MessageToDict(request.payload))
        output = await self.adapter.handle(current_caller(), payload, harness_pid(context))
        struct = struct_pb2.Struct()
        struct.update(output)
        return hooks_pb2.HandleClaudeHookResponse(output=struct)

    async def ResolveHookAgent(
        self, request: hooks_pb2.ResolveHookAgentRequest, unused_context: grpc.aio.ServicerContext
    ) -> hooks_pb2.ResolveHookAgentResponse:
        identity, project, token = await self.adapter.resolve_harness(current_caller(), request.harness_pid)
        return hooks_pb2.ResolveHookAgentResponse(
            agent_id=identity.agent_id, session_id=identity.session_id, project=project, token=token
        )
