"""HookService: each harness's own hook JSON in, hook output JSON out (google.protobuf.Struct both ways).

Claude Code's payloads go to the adapter as they are; Codex's and Cursor's are translated first
(core/harness_payloads.py), and Cursor's answer is rendered back in Cursor's keys.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2

from envoy_grpc.core import harness_payloads
from envoy_grpc.core import hook_payloads as hp
from envoy_grpc.core.auth import current_caller
from envoy_grpc.core.hooks import HookAdapter
from envoy_grpc.gen.envoy.v1 import hooks_pb2, hooks_pb2_grpc
from envoy_grpc.services.message_convert import plain_json

HARNESS_METADATA = "x-envoy-harness-pid"


def harness_pid(context: grpc.aio.ServicerContext) -> int | None:
    """The harness process `envoy-grpc hook` reported, if any (anything else is ignored)."""
    for key, value in context.invocation_metadata() or ():
        if key == HARNESS_METADATA and isinstance(value, str) and value.isascii() and value.isdigit():
            return int(value)
    return None


def _payload(struct: struct_pb2.Struct) -> dict[str, Any]:
    return plain_json(json_format.MessageToDict(struct))  # type: ignore[no-any-return]


def _struct(output: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(output)
    return struct


class HookService(hooks_pb2_grpc.HookServiceServicer):
    def __init__(self, adapter: HookAdapter) -> None:
        self.adapter = adapter

    async def HandleClaudeHook(
        self, request: hooks_pb2.HandleClaudeHookRequest, context: grpc.aio.ServicerContext
    ) -> hooks_pb2.HandleClaudeHookResponse:
        output = await self.adapter.handle(current_caller(), _payload(request.payload), harness_pid(context))
        return hooks_pb2.HandleClaudeHookResponse(output=_struct(output))

    async def HandleCodexHook(
        self, request: hooks_pb2.HandleCodexHookRequest, context: grpc.aio.ServicerContext
    ) -> hooks_pb2.HandleCodexHookResponse:
        caller = current_caller()
        self.adapter.authorize(caller)
        payload = harness_payloads.codex_event(_payload(request.payload))
        output = await self.adapter.handle(caller, payload, harness_pid(context), hp.CODEX)
        return hooks_pb2.HandleCodexHookResponse(output=_struct(output))

    async def HandleCursorHook(
        self, request: hooks_pb2.HandleCursorHookRequest, context: grpc.aio.ServicerContext
    ) -> hooks_pb2.HandleCursorHookResponse:
        caller = current_caller()
        self.adapter.authorize(caller)
        raw = _payload(request.payload)
        payload = harness_payloads.cursor_event(raw)
        output = await self.adapter.handle(caller, payload, harness_pid(context), hp.CURSOR)
        event = str(raw.get("hook_event_name", ""))
        return hooks_pb2.HandleCursorHookResponse(
            output=_struct(harness_payloads.cursor_output(event, output))
        )

    async def ResolveHookAgent(
        self, request: hooks_pb2.ResolveHookAgentRequest, unused_context: grpc.aio.ServicerContext
    ) -> hooks_pb2.ResolveHookAgentResponse:
        identity, project, token = await self.adapter.resolve_harness(current_caller(), request.harness_pid)
        return hooks_pb2.ResolveHookAgentResponse(
            agent_id=identity.agent_id, session_id=identity.session_id, project=project, token=token
        )
