"""Who the MCP tools act as, and how they reach the server.

`StdioConnection` is one process per coding session (`envoy-grpc mcp`): it opens its own channel and
resolves its identity once (`identity.resolve`). `HttpConnection` serves the MCP endpoint mounted on
the gateway (`/mcp`) for many callers at once: each request's bearer token is the identity (an agent
token; `GetCaller` says whose), and its calls ride the gateway's channel.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf import message as _message
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from envoy_grpc.gen.envoy.v1 import agents_pb2, agents_pb2_grpc
from envoy_grpc.mcp_tools import identity as identities
from envoy_grpc.mcp_tools.identity import Identity

log = logging.getLogger(__name__)
Reply = TypeVar("Reply", bound=_message.Message)
CALL_TIMEOUT = 30.0


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def tool_error(error: grpc.aio.AioRpcError) -> ToolError:
    return ToolError(f"{error.code().name}: {error.details()}")


class Connection:
    """The channel and the identity of one tool call."""

    @property
    def channel(self) -> grpc.aio.Channel:
        raise NotImplementedError

    async def identity(self, ctx: Context[Any]) -> Identity:
        raise NotImplementedError

    async def call(
        self, method: Callable[..., Awaitable[Reply]], request: _message.Message, ctx: Context[Any]
    ) -> Reply:
        me = await self.identity(ctx)
        try:
            return await method(request, metadata=_bearer(me.token), timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise tool_error(error) from None

    async def close(self) -> None:
        """Release what the connection opened."""


class StdioConnection(Connection):
    """One coding session: its own channel; the identity resolved on first use."""

    def __init__(self, target: str, data_dir: Path) -> None:
        self.target = target
        self.data_dir = data_dir
        self._channel: grpc.aio.Channel | None = None
        self._identity: Identity | None = None

    @property
    def channel(self) -> grpc.aio.Channel:
        if self._channel is None:  # created inside the running event loop
            self._channel = grpc.aio.insecure_channel(self.target)
        return self._channel

    async def identity(self, ctx: Context[Any]) -> Identity:
        if self._identity is None:
            self._identity = await identities.resolve(self.channel, self.data_dir)
            log.info("acting as %s (%s)", self._identity.agent_id, self._identity.source)
        return self._identity

    async def call(
        self, method: Callable[..., Awaitable[Reply]], request: _message.Message, ctx: Context[Any]
    ) -> Reply:
        """A token that stopped working (rotated by another MCP process of the same session) is
        resolved again, once."""
        try:
            return await super().call(method, request, ctx)
        except ToolError as error:
            if not str(error).startswith("UNAUTHENTICATED"):
                raise
        self._identity = None
        return await super().call(method, request, ctx)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()


class HttpConnection(Connection):
    """The `/mcp` endpoint on the gateway: each request carries an agent token."""

    CACHE = 1024  # tokens whose agent is remembered (a token's agent never changes)

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._channel = channel
        self._agents: OrderedDict[str, str] = OrderedDict()

    @property
    def channel(self) -> grpc.aio.Channel:
        return self._channel

    async def identity(self, ctx: Context[Any]) -> Identity:
        request = ctx.request_context.request
        headers = getattr(request, "headers", {})
        scheme, _, token = str(headers.get("authorization", "")).partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ToolError("the MCP endpoint needs an agent token: send `Authorization: Bearer <token>`")
        token = token.strip()
        agent_id = self._agents.get(token)
        if agent_id is None:
            agent_id = await self._agent_of(token)
        query = getattr(request, "query_params", {})
        project = str(headers.get("x-envoy-project", "") or query.get("project", ""))
        return Identity(agent_id, token, "token", project=project)

    async def _agent_of(self, token: str) -> str:
        try:
            caller = await agents_pb2_grpc.AgentServiceStub(self._channel).GetCaller(
                agents_pb2.GetCallerRequest(), metadata=_bearer(token), timeout=CALL_TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            raise tool_error(error) from None
        if caller.role != "agent":
            raise ToolError(f"the MCP tools act as an agent; this token is the {caller.role}'s")
        self._agents[token] = caller.agent_id
        if len(self._agents) > self.CACHE:
            self._agents.popitem(last=False)
        return str(caller.agent_id)
