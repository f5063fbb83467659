"""SystemService: health and counts, answered from memory."""

from __future__ import annotations

import time

import grpc

from envoy_grpc import __version__
from envoy_grpc.core.agents import AgentRegistry
from envoy_grpc.core.messaging import Messaging
from envoy_grpc.gen.envoy.v1 import system_pb2, system_pb2_grpc


class SystemService(system_pb2_grpc.SystemServiceServicer):
    def __init__(
        self, registry: AgentRegistry, messaging: Messaging, started_at: float | None = None
    ) -> None:
        self.registry = registry
        self.messaging = messaging
        self.started_at = time.monotonic() if started_at is None else started_at
        self.shutting_down = False

    async def GetHealth(
        self, unused_request: system_pb2.GetHealthRequest, unused_context: grpc.aio.ServicerContext
    ) -> system_pb2.GetHealthResponse:
        return system_pb2.GetHealthResponse(
            status="shutting_down" if self.shutting_down else "ok",
            uptime_seconds=int(time.monotonic() - self.started_at),
            agents_online=self.registry.online_count(),
            version=__version__,
        )

    async def GetStats(
        self, unused_request: system_pb2.GetStatsRequest, unused_context: grpc.aio.ServicerContext
    ) -> system_pb2.GetStatsResponse:
        registered, active = self.registry.counts()
        return system_pb2.GetStatsResponse(
            messages_total=await self.messaging.messages_total(),
            agents_registered=registered,
            agents_active=active,
            agents_online=self.registry.online_count(),
        )
