"""Agent identity over gRPC, through the generated stubs, with rich error details."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from support import Server, auth

from envoy_grpc.gen.envoy.v1 import agents_pb2, messages_pb2


def error_details(error: grpc.aio.AioRpcError) -> tuple[str, list[str]]:
    """The ErrorInfo reason and the BadRequest field paths of a failed call."""
    status = rpc_status.from_call(error)
    assert status is not None
    reason, fields = "", []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields = [v.field for v in bad.field_violations]
    return reason, fields


async def test_register_subagent_and_retire_cascade(server: Server) -> None:
    root = await server.agents.RegisterAgent(
        agents_pb2.RegisterAgentRequest(name="claude-main", kind="claude")
    )
    child = await server.agents.RegisterAgent(
        agents_pb2.RegisterAgentRequest(name="sub-agent-1", kind="claude", parent_id="id1"),
        metadata=auth(root.token),
    )

    retired = await server.agents.RetireAgent(
        agents_pb2.RetireAgentRequest(agent_id="id1"), metadata=auth(root.token)
    )

    assert (root.agent_id, root.is_new) == ("id1", True)
    assert (child.agent_id, child.parent_id) == ("id1.1", "id1")
    assert list(retired.affected) == ["id1", "id1.1"]


async def test_an_idempotent_register_is_marked_in_trailing_metadata(server: Server) -> None:
    await server.agents.RegisterAgent(agents_pb2.RegisterAgentRequest(name="a", kind="k"))

    call = server.agents.RegisterAgent(agents_pb2.RegisterAgentRequest(name="a", kind="k"))
    again = await call

    assert again.is_new is False
    assert ("envoy-existing", "true") in tuple(await call.trailing_metadata())


async def test_get_agent_returns_children_and_presence_fields(server: Server) -> None:
    root = await server.agents.RegisterAgent(agents_pb2.RegisterAgentRequest(name="root", kind="claude"))
    await server.agents.RegisterAgent(
        agents_pb2.RegisterAgentRequest(name="c", kind="claude", parent_id="id1"), metadata=auth(root.token)
    )

    agent = await server.agents.GetAgent(
        agents_pb2.GetAgentRequest(agent_id="id1"), metadata=auth(root.token)
    )

    assert list(agent.children) == ["id1.1"]
    assert agent.lifecycle == agents_pb2.LIFECYCLE_ACTIVE
    assert not agent.HasField("parent_id")
    assert not agent.HasField("last_heartbeat_at")


async def test_missing_fields_are_invalid_argument_with_field_violations(server: Server) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await server.agents.RegisterAgent(agents_pb2.RegisterAgentRequest())

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(raised.value) == ("FIELD_REQUIRED", ["name", "kind"])


async def test_unknown_agent_is_not_found_with_reason(server: Server) -> None:
    root = await server.agents.RegisterAgent(agents_pb2.RegisterAgentRequest(name="root", kind="claude"))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await server.agents.GetAgent(agents_pb2.GetAgentRequest(agent_id="id5"), metadata=auth(root.token))

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_details(raised.value)[0] == "AGENT_NOT_FOUND"
    assert "id5" in (raised.value.details() or "")


async def test_no_token_is_unauthenticated(server: Server) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await server.agents.ListAgents(agents_pb2.ListAgentsRequest())

    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_impersonated_heartbeat_is_permission_denied(server: Server) -> None:
    await server.agents.RegisterAgent(agents_pb2.RegisterAgentRequest(name="victim", kind="k"))
    attacker = await server.agents.RegisterAgent(agents_pb2.RegisterAgentRequest(name="attacker", kind="k"))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await server.agents.Heartbeat(
            agents_pb2.HeartbeatRequest(agent_id="id1"), metadata=auth(attacker.token)
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_methods_of_later_work_are_unimplemented_after_auth(server: Server) -> None:
    # Every service is implemented now, so only the authentication half of this test remains.
    with pytest.raises(grpc.aio.AioRpcError) as unauthenticated:
        await server.messages.GetMessage(messages_pb2.GetMessageRequest(message_id="1"))

    assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED
