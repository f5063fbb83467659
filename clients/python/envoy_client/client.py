"""`EnvoyClient`: one channel, a stub per service, the token, retries and `subscribe()`."""

from __future__ import annotations

import os
from types import TracebackType
from typing import cast

import grpc

from envoy_client.gen.envoy.v1 import (
    agents_pb2,
    agents_pb2_grpc,
    code_pb2_grpc,
    graph_pb2_grpc,
    hooks_pb2_grpc,
    knowledge_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    sessions_pb2_grpc,
    system_pb2_grpc,
)
from envoy_client.retry import RetryPolicy, StreamInterceptor, UnaryInterceptor
from envoy_client.subscription import Subscription

DEFAULT_TARGET = "127.0.0.1:9877"

# Reconnect soon after a server restart (gRPC's default first pause is 1 s), and keep idle
# subscriptions alive through NATs and proxies.
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 3000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
)


def target_from_env() -> str:
    """$ENVOY_GRPC, or the server's default address."""
    return os.environ.get("ENVOY_GRPC") or DEFAULT_TARGET


class EnvoyClient:
    """A client of one server; use as `async with EnvoyClient(target, token) as client:`."""

    def __init__(
        self,
        target: str | None = None,
        token: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        options: tuple[tuple[str, int | str], ...] = (),
    ) -> None:
        self.token = token
        self.retry = retry or RetryPolicy()
        self.channel = grpc.aio.insecure_channel(
            target or target_from_env(),
            options=CHANNEL_OPTIONS + options,
            interceptors=[
                UnaryInterceptor(lambda: self.token, self.retry),
                StreamInterceptor(lambda: self.token),
            ],
        )
        # The stubs' type stubs pick the asyncio flavour from the channel type, which grpc leaves untyped.
        self.agents = cast(
            "agents_pb2_grpc.AgentServiceAsyncStub", agents_pb2_grpc.AgentServiceStub(self.channel)
        )
        self.messages = cast(
            "messages_pb2_grpc.MessageServiceAsyncStub", messages_pb2_grpc.MessageServiceStub(self.channel)
        )
        self.sessions = cast(
            "sessions_pb2_grpc.SessionServiceAsyncStub", sessions_pb2_grpc.SessionServiceStub(self.channel)
        )
        self.project_events = cast(
            "sessions_pb2_grpc.ProjectEventServiceAsyncStub",
            sessions_pb2_grpc.ProjectEventServiceStub(self.channel),
        )
        self.knowledge = cast(
            "knowledge_pb2_grpc.KnowledgeServiceAsyncStub",
            knowledge_pb2_grpc.KnowledgeServiceStub(self.channel),
        )
        self.graph = cast(
            "graph_pb2_grpc.GraphServiceAsyncStub", graph_pb2_grpc.GraphServiceStub(self.channel)
        )
        self.code = cast("code_pb2_grpc.CodeServiceAsyncStub", code_pb2_grpc.CodeServiceStub(self.channel))
        self.hooks = cast("hooks_pb2_grpc.HookServiceAsyncStub", hooks_pb2_grpc.HookServiceStub(self.channel))
        self.system = cast(
            "system_pb2_grpc.SystemServiceAsyncStub", system_pb2_grpc.SystemServiceStub(self.channel)
        )

    async def register(
        self, name: str, kind: str = "runner", parent_id: str | None = None
    ) -> agents_pb2.RegisterAgentResponse:
        """Register an agent; a new root agent's token becomes this client's token."""
        request = agents_pb2.RegisterAgentRequest(name=name, kind=kind, parent_id=parent_id)
        registered: agents_pb2.RegisterAgentResponse = await self.agents.RegisterAgent(request)
        if registered.token and not parent_id:
            self.token = registered.token
        return registered

    def subscribe(
        self, agent_id: str, after_sequence: int = 0, *, dedup_window: int = 10_000
    ) -> Subscription:
        """The agent's messages as an async iterator that resumes after disconnects (see Subscription)."""
        return Subscription(self.messages, agent_id, after_sequence, self.retry, dedup_window)

    async def ack(self, agent_id: str, message_id: str) -> messages_pb2.AckMessageResponse:
        """Acknowledge a delivered message as its recipient."""
        request = messages_pb2.AckMessageRequest(message_id=message_id, agent_id=agent_id)
        response: messages_pb2.AckMessageResponse = await self.messages.AckMessage(request)
        return response

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> EnvoyClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
