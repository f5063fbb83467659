"""HookService: Claude Code's own hook JSON in, hook output JSON out (google.protobuf.Struct both ways)."""

from __future__ import annotations

import grpc
from google.protobuf import json_format, struct_pb2

from envoy_grpc.core.auth import current_caller
from envoy_grpc.core.hooks import HookAdapter
from envoy_grpc.gen.envoy.v1 import hooks_pb2, hooks_pb2_grpc
from envoy_grpc.services.message_convert import plain_json


class HookService(hooks_pb2_grpc.HookServiceServicer):
    def __init__(self, adapter: HookAdapter) -> None:
        self.adapter = adapter

    async def HandleClaudeHook(
        self, request: hooks_pb2.HandleClaudeHookRequest, unused_context: grpc.aio.ServicerContext
    ) -> hooks_pb2.HandleClaudeHookResponse:
        payload = plain_json(json_format.MessageToDict(request.payload))
        output = await self.adapter.handle(current_caller(), payload)
        struct = struct_pb2.Struct()
        struct.update(output)
        return hooks_pb2.HandleClaudeHookResponse(output=struct)
