"""Sessions through gRPC and through the core API the hook adapter calls in-process, and under load:
20 sessions recording 50 tool calls each, all at once, lose nothing."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from support import Server, auth

from envoy_grpc import errors
from envoy_grpc.core.auth import HOOK, OPERATOR, Caller
from envoy_grpc.core.project_events import GateResult
from envoy_grpc.gen.envoy.v1 import sessions_pb2, sessions_pb2_grpc
from envoy_grpc.store.session_types import (
    NewFileWrite,
    NewHandover,
    NewPrompt,
    NewSession,
    NewTestRun,
    NewToolCall,
    SessionEnd,
)


def reason_and_fields(error: grpc.aio.AioRpcError) -> tuple[str, list[str]]:
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


async def test_grpc_create_record_get_and_errors(server: Server) -> None:
    agent = await server.register("claude-main")
    stub = sessions_pb2_grpc.SessionServiceStub(server.channel)
    meta = auth(agent["token"])

    created = await stub.CreateSession(
        sessions_pb2.CreateSessionRequest(session_id="g1", agent="claude", project="envoy"), metadata=meta
    )
    repeat = stub.CreateSession(
        sessions_pb2.CreateSessionRequest(session_id="g1", agent="claude", project="envoy"), metadata=meta
    )
    again = await repeat
    call = await stub.RecordToolCall(
        sessions_pb2.RecordToolCallRequest(
            session_id="g1", tool_name="Bash", exit_status="success", latency_ms=5
        ),
        metadata=meta,
    )
    got = await stub.GetSession(sessions_pb2.GetSessionRequest(session_id="g1"), metadata=meta)
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stub.GetSession(sessions_pb2.GetSessionRequest(session_id="nope"), metadata=meta)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.RecordToolCall(sessions_pb2.RecordToolCallRequest(session_id="g1"), metadata=meta)

    assert created.is_new and not again.is_new
    assert ("envoy-existing", "true") in tuple(await repeat.trailing_metadata())
    assert (call.tool_call_id, call.sequence, call.is_new) == (1, 1, True)
    assert got.session.tool_call_count == 1 and got.session.last_tool == "Bash"
    assert got.tool_calls[0].payload["latency_ms"] == 5
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_and_fields(unknown.value)[0] == "SESSION_NOT_FOUND"
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_and_fields(missing.value) == ("FIELD_REQUIRED", ["tool_name", "exit_status"])


async def test_core_api_attributes_records_to_the_agent_the_hook_names(server: Server) -> None:
    """What the hook adapter does: record with the hook token, in the names of the agents it registered."""
    sessions = server.running.sessions
    root = await server.register("claude-9a8b7c6d")
    child = await server.register("sub", parent_id=root["agent_id"], token=root["token"])

    created = await sessions.create_session(
        HOOK, NewSession("h1", "claude-9a8b7c6d", "envoy"), root["agent_id"]
    )
    again = await sessions.create_session(
        HOOK, NewSession("h1", "claude-9a8b7c6d", "envoy"), root["agent_id"]
    )
    sub = NewSession("h1.sub", "general-purpose", "envoy", "claude-code", "subagent", parent_session_id="h1")
    await sessions.create_session(HOOK, sub, child["agent_id"])
    await sessions.record_prompt(
        HOOK, NewPrompt("h1", "user", "hash", input_summary="do it"), root["agent_id"]
    )
    call = NewToolCall("h1.sub", "Write", "success", tool_use_id="tu1", file_paths=("/p/x.py",))
    first = await sessions.record_tool_call(HOOK, call, child["agent_id"])
    repeat = await sessions.record_tool_call(HOOK, call, child["agent_id"])
    await sessions.record_file_write(
        HOOK, NewFileWrite("h1.sub", "/p/x.py", tool_use_id="tu1"), child["agent_id"]
    )
    await sessions.record_test_run(
        HOOK, NewTestRun("h1.sub", "pytest", "passed", tool_use_id="tu2"), child["agent_id"]
    )
    handover = await sessions.record_handover(HOOK, NewHandover("h1.sub", "wrote x.py"), child["agent_id"])
    ended = await sessions.end_session(HOOK, SessionEnd("h1.sub", "complete"), child["agent_id"])
    reopened = await sessions.reopen_session(HOOK, "h1.sub", child["agent_id"])
    open_children = await sessions.list_sessions(HOOK, parent_id="h1", open_only=True)
    history = await sessions.file_history(OPERATOR, "x.py")

    assert created.is_new and not again.is_new and created.session.agent_id == root["agent_id"]
    assert first.is_new and not repeat.is_new and repeat.record_id == first.record_id
    assert (handover.verified, handover.to_agent, handover.to_session_id) == (True, root["agent_id"], "h1")
    assert handover.agent_id == child["agent_id"] and handover.files_changed == ["/p/x.py"]
    assert ended.exit_status == "complete" and reopened.ended_at is None and reopened.exit_status is None
    assert [s.session_id for s in open_children] == ["h1.sub"]
    (change,) = history.changes
    assert change.write.agent_id == child["agent_id"]
    assert change.tool_call is not None and change.tool_call.agent_id == child["agent_id"]
    assert change.prompt is not None and change.prompt.input_summary == "do it"
    assert change.handover is not None and change.handover.handover_id == handover.handover_id


async def test_an_agent_cannot_record_in_another_agents_name(server: Server) -> None:
    sessions = server.running.sessions
    agent = await server.register("a")
    await sessions.create_session(OPERATOR, NewSession("x", "a", "envoy"))

    with pytest.raises(errors.EnvoyError) as raised:
        await sessions.record_tool_call(
            Caller("agent", agent["agent_id"]), NewToolCall("x", "T", "ok"), "id99"
        )
    gate = await sessions.record_gate_event(HOOK, GateResult("envoy", 1, 1), agent_id="id5")

    assert raised.value.reason == "NOT_THE_RECORDER"
    assert gate.agent_id == "id5"


async def test_twenty_sessions_record_fifty_tool_calls_each_at_once(server: Server) -> None:
    agent = await server.register("load")
    token = agent["token"]
    session_ids = [f"load-{n:02d}" for n in range(20)]
    for session_id in session_ids:
        body = {"session_id": session_id, "agent": "load", "project": "bench"}
        status, _ = await server.request("POST", "/atheneum/sessions", body, token=token)
        assert status == 201

    async def call(session_id: str, n: int) -> int:
        body = {
            "session_id": session_id,
            "tool_name": f"Tool{n % 3}",
            "exit_status": "success",
            "tool_use_id": f"{session_id}-{n}",
            "input_summary": f"call {n}",
        }
        status, answer = await server.request("POST", "/atheneum/tool-calls", body, token=token)
        assert status == 200, answer
        return int(answer["sequence"])

    sequences = await asyncio.gather(*(call(s, n) for s in session_ids for n in range(50)))
    _, listed = await server.request("GET", "/atheneum/sessions?project=bench&last=20", token=token)
    _, events = await server.request("GET", "/atheneum/events?event_type=tool_call&limit=1000", token=token)

    assert sorted(sequences) == sorted(list(range(1, 51)) * 20)
    assert len(listed) == 20
    assert all(s["tool_call_count"] == 50 for s in listed)
    assert len(events["events"]) == 1000
    for session in listed:
        got = [e for e in events["events"] if e["session_id"] == session["session_id"]]
        assert sorted(e["payload"]["sequence"] for e in got) == list(range(1, 51))
        assert session["last_tool_summary"] == next(
            e["payload"]["input_summary"] for e in got if e["payload"]["sequence"] == 50
        )
