"""The MCP tools, each one gRPC call (or two) to the envoy-grpc server as the session's agent.

Few tools with short descriptions: every tool schema costs the agent context on every turn. Tool
answers are the API's own JSON (as the HTTP gateway renders it), trimmed to what an agent acts on.
A failed call becomes an MCP tool error whose text is the server's message (which names the field
or the holder at fault), so the agent can correct itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf import message as _message
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from envoy_grpc.core import lease_paths
from envoy_grpc.errors import EnvoyError
from envoy_grpc.gen.envoy.v1 import (
    code_pb2,
    code_pb2_grpc,
    common_pb2,
    knowledge_pb2,
    knowledge_pb2_grpc,
    leases_pb2,
    leases_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    sessions_pb2,
    sessions_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)
from envoy_grpc.mcp_tools import identity as identities
from envoy_grpc.mcp_tools.identity import Identity
from gateway.transcode import to_json

log = logging.getLogger(__name__)
Reply = TypeVar("Reply", bound=_message.Message)
INSTRUCTIONS = (
    "envoy-grpc connects you with the other coding agents on this machine: message them, read your inbox, "
    "share what you learn, find code across projects, and see who changed a file and why."
)


class Connection:
    """One channel to the server and the identity the tools act as, resolved on first use."""

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

    async def identity(self) -> Identity:
        if self._identity is None:
            self._identity = await identities.resolve(self.channel, self.data_dir)
            log.info("acting as %s (%s)", self._identity.agent_id, self._identity.source)
        return self._identity

    async def call(self, method: Callable[..., Awaitable[Reply]], request: _message.Message) -> Reply:
        """Call as the agent; a token that stopped working (rotated by another MCP process of the same
        session) is resolved again once."""
        for attempt in (1, 2):
            me = await self.identity()
            try:
                return await method(request, metadata=(("authorization", f"Bearer {me.token}"),), timeout=30)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.UNAUTHENTICATED and attempt == 1:
                    self._identity = None
                    continue
                raise ToolError(f"{error.code().name}: {error.details()}") from None
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()


def _trim(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: data[k] for k in keys if data.get(k) not in (None, "", [], {})}


def _normalized(path: str) -> str:
    try:
        return lease_paths.normalize(path)
    except EnvoyError as error:
        raise ToolError(error.message) from None


def build(connection: Connection) -> MCPServer:
    server: MCPServer = MCPServer("envoy-grpc", instructions=INSTRUCTIONS)
    messages = messages_pb2_grpc.MessageServiceStub(connection.channel)
    knowledge = knowledge_pb2_grpc.KnowledgeServiceStub(connection.channel)
    sessions = sessions_pb2_grpc.SessionServiceStub(connection.channel)
    code = code_pb2_grpc.CodeServiceStub(connection.channel)
    leases = leases_pb2_grpc.LeaseServiceStub(connection.channel)
    tasks = tasks_pb2_grpc.TaskServiceStub(connection.channel)

    @server.tool()
    async def whoami() -> dict[str, Any]:
        """Your agent ID (other agents message you by it), your session and project."""
        me = await connection.identity()
        return {
            "agent_id": me.agent_id,
            "session_id": me.session_id,
            "project": me.project,
            "found_by": me.source,
        }

    @server.tool()
    async def send_message(text: str, to: str = "", topic: str = "", urgent: bool = False) -> dict[str, Any]:
        """Send a message to an agent (`to`, an agent ID such as id3) or a topic (`topic`)."""
        me = await connection.identity()
        kind = messages_pb2.MESSAGE_TYPE_TOPIC if topic else messages_pb2.MESSAGE_TYPE_DIRECT
        request = messages_pb2.SendMessageRequest(
            type=kind, to=to, topic=topic, parts=[common_pb2.Part(text=text)], urgent=urgent
        )
        setattr(request, "from", me.agent_id)  # `from` is a Python keyword
        sent = await connection.call(messages.SendMessage, request)
        return _trim(to_json(sent), ("message_id", "to", "topic", "recipients"))

    @server.tool()
    async def read_inbox(limit: int = 20) -> dict[str, Any]:
        """Your unread messages, oldest first; they count as read afterwards."""
        me = await connection.identity()
        found = await connection.call(
            messages.SurfaceMessages, messages_pb2.SurfaceMessagesRequest(agent_id=me.agent_id, limit=limit)
        )
        keep = ("message_id", "from", "type", "topic", "parts", "urgent", "require_ack", "created_at")
        return {"count": found.count, "messages": [_trim(to_json(m), keep) for m in found.messages]}

    @server.tool()
    async def ack_message(message_id: str) -> dict[str, Any]:
        """Acknowledge a message you handled (needed for those sent with require_ack)."""
        acked = await connection.call(
            messages.AckMessage, messages_pb2.AckMessageRequest(message_id=message_id)
        )
        return to_json(acked)

    @server.tool()
    async def search_knowledge(query: str, limit: int = 10, project: str = "") -> dict[str, Any]:
        """Full-text search of what agents recorded: discoveries, memories, handoffs, sessions, messages."""
        found = await connection.call(
            knowledge.Search, knowledge_pb2.SearchRequest(q=query, k=limit, project=project)
        )
        return to_json(found)

    @server.tool()
    async def record_discovery(target: str, discovery_type: str, summary: str) -> dict[str, Any]:
        """Record something worth knowing about a file or symbol (type such as Bug, Pattern, Decision)."""
        me = await connection.identity()
        request = knowledge_pb2.CreateDiscoveryRequest(
            agent=me.agent_id, discovery_type=discovery_type, target=target, project=me.project
        )
        request.metadata.update({"summary": summary})
        if me.session_id:
            request.session_id = me.session_id
        created = await connection.call(knowledge.CreateDiscovery, request)
        return _trim(to_json(created), ("discovery_id", "target", "discovery_type", "project", "is_new"))

    @server.tool()
    async def find_symbol(name: str, k: int = 10, language: str = "") -> dict[str, Any]:
        """Find a function, class or constant by name across every registered project."""
        found = await connection.call(
            code.CrossSearch, code_pb2.CrossSearchRequest(q=name, k=k, language=language)
        )
        keep = ("project", "name", "kind", "file_path", "line", "qualified_name", "score")
        return {
            "results": [_trim(to_json(r), keep) for r in found.results],
            "warnings": [to_json(w) for w in found.warnings],
        }

    @server.tool()
    async def file_history(path: str, project: str = "") -> dict[str, Any]:
        """Who changed a file, when, with which tool call and prompt, and why."""
        found = await connection.call(
            sessions.GetFileHistory,
            sessions_pb2.GetFileHistoryRequest(path=path, project=project, page_size=20),
        )
        return to_json(found)

    @server.tool()
    async def lease_file(
        path: str, reason: str = "", minutes: int = 15, shared: bool = False, release: bool = False
    ) -> dict[str, Any]:
        """Claim a file or glob (relative to the project) so others' edits are refused; release=true frees it."""
        me = await connection.identity()
        if release:
            mine = await connection.call(
                leases.ListLeases,
                leases_pb2.ListLeasesRequest(project=me.project, agent_id=me.agent_id, path=path),
            )
            freed = [
                await connection.call(
                    leases.ReleaseLease, leases_pb2.ReleaseLeaseRequest(lease_id=lease.lease_id)
                )
                for lease in mine.leases
                if lease.path in (path, _normalized(path))
            ]
            return {"released": [to_json(lease)["lease_id"] for lease in freed]}
        mode = leases_pb2.LEASE_MODE_SHARED if shared else leases_pb2.LEASE_MODE_EXCLUSIVE
        created = await connection.call(
            leases.CreateLease,
            leases_pb2.CreateLeaseRequest(
                project=me.project, path=path, mode=mode, reason=reason, ttl_seconds=minutes * 60
            ),
        )
        return _trim(to_json(created), ("lease_id", "project", "path", "mode", "expires_at"))

    @server.tool()
    async def claim_task(task_id: str = "", project: str = "") -> dict[str, Any]:
        """Claim a task from the board: the given one, or the oldest unblocked one of the project."""
        me = await connection.identity()
        if task_id:
            task = await connection.call(tasks.ClaimTask, tasks_pb2.ClaimTaskRequest(task_id=task_id))
        else:
            task = await connection.call(
                tasks.ClaimNextTask, tasks_pb2.ClaimNextTaskRequest(project=project or me.project)
            )
        return _trim(
            to_json(task), ("id", "project", "title", "description", "state", "claimed_by", "blocked_by")
        )

    return server
