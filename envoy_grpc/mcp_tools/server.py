"""The MCP tools, each one gRPC call (or two) to the envoy-grpc server as the session's agent.

Few tools with short descriptions: every tool schema costs the agent context on every turn. Tool
answers are the API's own JSON (as the HTTP gateway renders it), trimmed to what an agent acts on.
A failed call becomes an MCP tool error whose text is the server's message (which names the field
or the holder at fault), so the agent can correct itself.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
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
from envoy_grpc.mcp_tools.connection import Connection
from gateway.transcode import to_json

INSTRUCTIONS = (
    "envoy-grpc connects you with the other coding agents on this machine: message them, read your inbox, "
    "share what you learn, find code across projects, and see who changed a file and why."
)


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
    async def whoami(ctx: Context[Any]) -> dict[str, Any]:
        """Your agent ID (other agents message you by it), your session and project."""
        me = await connection.identity(ctx)
        return {
            "agent_id": me.agent_id,
            "session_id": me.session_id,
            "project": me.project,
            "found_by": me.source,
        }

    @server.tool()
    async def send_message(
        ctx: Context[Any], text: str, to: str = "", topic: str = "", urgent: bool = False
    ) -> dict[str, Any]:
        """Send a message to an agent (`to`, an agent ID such as id3) or a topic (`topic`)."""
        me = await connection.identity(ctx)
        kind = messages_pb2.MESSAGE_TYPE_TOPIC if topic else messages_pb2.MESSAGE_TYPE_DIRECT
        request = messages_pb2.SendMessageRequest(
            type=kind, to=to, topic=topic, parts=[common_pb2.Part(text=text)], urgent=urgent
        )
        setattr(request, "from", me.agent_id)  # `from` is a Python keyword
        sent = await connection.call(messages.SendMessage, request, ctx)
        return _trim(to_json(sent), ("message_id", "to", "topic", "recipients"))

    @server.tool()
    async def read_inbox(ctx: Context[Any], limit: int = 20) -> dict[str, Any]:
        """Your unread messages, oldest first; they count as read afterwards."""
        me = await connection.identity(ctx)
        found = await connection.call(
            messages.SurfaceMessages,
            messages_pb2.SurfaceMessagesRequest(agent_id=me.agent_id, limit=limit),
            ctx,
        )
        keep = ("message_id", "from", "type", "topic", "parts", "urgent", "require_ack", "created_at")
        return {"count": found.count, "messages": [_trim(to_json(m), keep) for m in found.messages]}

    @server.tool()
    async def ack_message(ctx: Context[Any], message_id: str) -> dict[str, Any]:
        """Acknowledge a message you handled (needed for those sent with require_ack)."""
        acked = await connection.call(
            messages.AckMessage, messages_pb2.AckMessageRequest(message_id=message_id), ctx
        )
        return to_json(acked)

    @server.tool()
    async def search_knowledge(
        ctx: Context[Any], query: str, limit: int = 10, project: str = ""
    ) -> dict[str, Any]:
        """Full-text search of what agents recorded: discoveries, memories, handoffs, sessions, messages."""
        found = await connection.call(
            knowledge.Search, knowledge_pb2.SearchRequest(q=query, k=limit, project=project), ctx
        )
        return to_json(found)

    @server.tool()
    async def record_discovery(
        ctx: Context[Any], target: str, discovery_type: str, summary: str
    ) -> dict[str, Any]:
        """Record something worth knowing about a file or symbol (type such as Bug, Pattern, Decision)."""
        me = await connection.identity(ctx)
        request = knowledge_pb2.CreateDiscoveryRequest(
            agent=me.agent_id, discovery_type=discovery_type, target=target, project=me.project
        )
        request.metadata.update({"summary": summary})
        if me.session_id:
            request.session_id = me.session_id
        created = await connection.call(knowledge.CreateDiscovery, request, ctx)
        return _trim(to_json(created), ("discovery_id", "target", "discovery_type", "project", "is_new"))

    @server.tool()
    async def find_symbol(ctx: Context[Any], name: str, k: int = 10, language: str = "") -> dict[str, Any]:
        """Find a function, class or constant by name across every registered project."""
        found = await connection.call(
            code.CrossSearch, code_pb2.CrossSearchRequest(q=name, k=k, language=language), ctx
        )
        keep = ("project", "name", "kind", "file_path", "line", "qualified_name", "score")
        return {
            "results": [_trim(to_json(r), keep) for r in found.results],
            "warnings": [to_json(w) for w in found.warnings],
        }

    @server.tool()
    async def file_history(ctx: Context[Any], path: str, project: str = "") -> dict[str, Any]:
        """Who changed a file, when, with which tool call and prompt, and why."""
        found = await connection.call(
            sessions.GetFileHistory,
            sessions_pb2.GetFileHistoryRequest(path=path, project=project, page_size=20),
            ctx,
        )
        return to_json(found)

    @server.tool()
    async def lease_file(
        ctx: Context[Any],
        path: str,
        reason: str = "",
        minutes: int = 15,
        shared: bool = False,
        release: bool = False,
    ) -> dict[str, Any]:
        """Claim a file or glob (relative to the project) so others' edits are refused; release=true frees it."""
        me = await connection.identity(ctx)
        if release:
            mine = await connection.call(
                leases.ListLeases,
                leases_pb2.ListLeasesRequest(project=me.project, agent_id=me.agent_id, path=path),
                ctx,
            )
            freed = [
                await connection.call(
                    leases.ReleaseLease, leases_pb2.ReleaseLeaseRequest(lease_id=lease.lease_id), ctx
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
            ctx,
        )
        return _trim(to_json(created), ("lease_id", "project", "path", "mode", "expires_at"))

    @server.tool()
    async def claim_task(ctx: Context[Any], task_id: str = "", project: str = "") -> dict[str, Any]:
        """Claim a task from the board: the given one, or the oldest unblocked one of the project."""
        me = await connection.identity(ctx)
        if task_id:
            task = await connection.call(tasks.ClaimTask, tasks_pb2.ClaimTaskRequest(task_id=task_id), ctx)
        else:
            task = await connection.call(
                tasks.ClaimNextTask, tasks_pb2.ClaimNextTaskRequest(project=project or me.project), ctx
            )
        return _trim(
            to_json(task), ("id", "project", "title", "description", "state", "claimed_by", "blocked_by")
        )

    return server
