"""Connections to the server under test and the agents the scenarios act as.

Channels are opened with a local subchannel pool so that each is its own TCP connection; workers are
spread over them round-robin, as independent clients would be.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import aiohttp
import grpc
from grpc_health.v1 import health_pb2_grpc

from bench.load import HttpStatusError, gather_or_cancel
from envoy_grpc.gen.envoy.v1 import (
    agents_pb2,
    agents_pb2_grpc,
    messages_pb2_grpc,
    system_pb2,
    system_pb2_grpc,
)

CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]
READY_TIMEOUT = 10.0
KIND = "bench"
REGISTER_CONCURRENCY = 64

Metadata = tuple[tuple[str, str], ...]


class UnexpectedResponse(Exception):
    """A call succeeded but returned something other than what the scenario asked for."""


@dataclass(frozen=True)
class Agent:
    """A registered agent and its bearer token, in the forms gRPC and HTTP want."""

    agent_id: str
    token: str

    @property
    def metadata(self) -> Metadata:
        return (("authorization", f"Bearer {self.token}"),)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def agent_from_registration(response: agents_pb2.RegisterAgentResponse) -> Agent:
    if not response.is_new or not response.token:
        raise UnexpectedResponse(f"registration of {response.agent_id!r} was not new or had no token")
    return Agent(response.agent_id, response.token)


def agent_from_json(body: bytes) -> Agent:
    data: dict[str, Any] = json.loads(body)
    if not data.get("is_new") or not data.get("token"):
        raise UnexpectedResponse(f"registration of {data.get('agent_id')!r} was not new or had no token")
    return Agent(str(data["agent_id"]), str(data["token"]))


def open_channel(grpc_target: str) -> grpc.aio.Channel:
    """A channel that is its own TCP connection (a local subchannel pool), as a separate client's is."""
    return grpc.aio.insecure_channel(grpc_target, options=CHANNEL_OPTIONS)


def message_stub(channel: grpc.aio.Channel) -> messages_pb2_grpc.MessageServiceAsyncStub:
    return cast("messages_pb2_grpc.MessageServiceAsyncStub", messages_pb2_grpc.MessageServiceStub(channel))


class Clients:
    """gRPC channels and one HTTP session to a server, shared by every scenario of a run."""

    def __init__(
        self, grpc_target: str, http_base: str, channels: int, concurrency: int, timeout: float
    ) -> None:
        self.grpc_target = grpc_target
        self.http_base = http_base
        self.timeout = timeout
        self.channels = [open_channel(grpc_target) for _ in range(channels)]
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        self._serial = itertools.count(1)

    def channel(self, worker: int) -> grpc.aio.Channel:
        return self.channels[worker % len(self.channels)]

    def agents(self, worker: int) -> agents_pb2_grpc.AgentServiceAsyncStub:
        # grpc ships no types, so the stub's overload on grpc.aio.Channel cannot be selected: say it.
        return cast(
            "agents_pb2_grpc.AgentServiceAsyncStub", agents_pb2_grpc.AgentServiceStub(self.channel(worker))
        )

    def messages(self, worker: int) -> messages_pb2_grpc.MessageServiceAsyncStub:
        return message_stub(self.channel(worker))

    def health(self, worker: int) -> Any:
        return health_pb2_grpc.HealthStub(self.channel(worker))

    def unique_name(self, prefix: str) -> str:
        return f"{prefix}-{next(self._serial)}"

    async def wait_ready(self) -> None:
        for channel in self.channels:
            await channel.channel_ready()

    async def register_root(self, prefix: str) -> Agent:
        request = agents_pb2.RegisterAgentRequest(name=self.unique_name(prefix), kind=KIND)
        response = await self.agents(0).RegisterAgent(request, timeout=self.timeout)
        return agent_from_registration(response)

    async def register_roots(
        self, prefix: str, count: int, concurrency: int = REGISTER_CONCURRENCY
    ) -> list[Agent]:
        """Register `count` root agents, `concurrency` at a time over all channels, in order."""
        slots = asyncio.Semaphore(concurrency)

        async def one(index: int) -> Agent:
            async with slots:
                request = agents_pb2.RegisterAgentRequest(name=self.unique_name(prefix), kind=KIND)
                response = await self.agents(index).RegisterAgent(request, timeout=self.timeout)
                return agent_from_registration(response)

        return await gather_or_cancel(one(index) for index in range(count))

    async def agents_registered(self) -> int:
        """How many agents the server holds, which some per-call costs grow with."""
        stub = cast(
            "system_pb2_grpc.SystemServiceAsyncStub", system_pb2_grpc.SystemServiceStub(self.channel(0))
        )
        stats: system_pb2.GetStatsResponse = await stub.GetStats(
            system_pb2.GetStatsRequest(), timeout=self.timeout
        )
        return stats.agents_registered

    async def http_call(
        self,
        method: str,
        path: str,
        expected: int,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        data: bytes | None = None,
    ) -> bytes:
        """One HTTP request; the whole body is read, and any status but `expected` is an error.

        `body` is sent as JSON; `data` is sent as it is (already encoded: set the Content-Type header).
        """
        async with self.http.request(
            method, self.http_base + path, headers=headers, json=body, data=data
        ) as response:
            content = await response.read()
            if response.status != expected:
                raise HttpStatusError(response.status, expected, content.decode(errors="replace"))
            return content

    async def close(self) -> None:
        await self.http.close()
        for channel in self.channels:
            await channel.close()


@asynccontextmanager
async def connected(
    grpc_target: str, http_base: str, channels: int, concurrency: int, timeout: float
) -> AsyncIterator[Clients]:
    """Open the connections, wait until every channel is ready, and always close them."""
    clients = Clients(grpc_target, http_base, channels, concurrency, timeout)
    try:
        await asyncio.wait_for(clients.wait_ready(), READY_TIMEOUT)
        yield clients
    finally:
        await clients.close()
