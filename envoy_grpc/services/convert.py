"""Conversions between stored rows and protos for the agent area."""

from __future__ import annotations

from typing import Any

from google.protobuf import timestamp_pb2

from envoy_grpc.core.agents import Registration
from envoy_grpc.core.circuit import CircuitState
from envoy_grpc.gen.envoy.v1 import agents_pb2
from envoy_grpc.store.agents import AgentRow

LIFECYCLES = {"active": agents_pb2.LIFECYCLE_ACTIVE, "retired": agents_pb2.LIFECYCLE_RETIRED}
LIFECYCLE_NAMES = {value: name for name, value in LIFECYCLES.items()}
STATES = {
    "working": agents_pb2.AGENT_STATE_WORKING,
    "blocked": agents_pb2.AGENT_STATE_BLOCKED,
    "waiting_review": agents_pb2.AGENT_STATE_WAITING_REVIEW,
    "idle": agents_pb2.AGENT_STATE_IDLE,
}
STATE_NAMES = {value: name for name, value in STATES.items()}
CIRCUIT_STATES = {
    "closed": agents_pb2.CIRCUIT_STATE_CLOSED,
    "open": agents_pb2.CIRCUIT_STATE_OPEN,
    "half_open": agents_pb2.CIRCUIT_STATE_HALF_OPEN,
}
_STATUS_TEXT_FIELDS = ("working_on", "task_id", "blocked_reason", "waiting_on_agent", "checkpoint")


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromMicroseconds(round(seconds * 1_000_000))
    return stamp


def status_to_dict(status: agents_pb2.AgentStatus) -> dict[str, Any]:
    result: dict[str, Any] = {"state": STATE_NAMES.get(status.state, "working")}
    for field, value in status.ListFields():
        if field.name in _STATUS_TEXT_FIELDS:
            result[field.name] = value
    return result


def status_to_proto(status: dict[str, Any]) -> agents_pb2.AgentStatus:
    proto = agents_pb2.AgentStatus(
        state=STATES.get(status.get("state", "working"), agents_pb2.AGENT_STATE_UNSPECIFIED)
    )
    for name in _STATUS_TEXT_FIELDS:
        if status.get(name) is not None:
            setattr(proto, name, status[name])
    return proto


def agent(
    row: AgentRow, children: list[str] | None = None, last_seen: float | None = None
) -> agents_pb2.Agent:
    proto = agents_pb2.Agent(
        agent_id=row.agent_id,
        name=row.name,
        kind=row.kind,
        lifecycle=LIFECYCLES[row.lifecycle],
        online=row.active,
        children=children or [],
        created_at=timestamp(row.created_at),
    )
    if row.parent_id:
        proto.parent_id = row.parent_id
    if row.status is not None:
        proto.status.CopyFrom(status_to_proto(row.status))
    if row.last_heartbeat_at is not None:
        proto.last_heartbeat_at.CopyFrom(timestamp(row.last_heartbeat_at))
    if row.retired_at is not None:
        proto.retired_at.CopyFrom(timestamp(row.retired_at))
    if last_seen is not None:
        proto.last_seen_at.CopyFrom(timestamp(last_seen))
    return proto


def registration(result: Registration) -> agents_pb2.RegisterAgentResponse:
    row = result.agent
    proto = agents_pb2.RegisterAgentResponse(
        agent_id=row.agent_id,
        name=row.name,
        kind=row.kind,
        lifecycle=LIFECYCLES[row.lifecycle],
        online=row.active,
        is_new=result.is_new,
        token=result.token or "",
        created_at=timestamp(row.created_at),
        message=(
            f"Registered as {row.agent_id}. Send 'authorization: Bearer <token>' on every call."
            if result.is_new
            else f"Agent {row.agent_id} already exists; its holder has the token (rotate it with "
            f"POST /agents/{row.agent_id}/token)."
        ),
    )
    if row.parent_id:
        proto.parent_id = row.parent_id
    if row.status is not None:
        proto.status.CopyFrom(status_to_proto(row.status))
    if row.last_heartbeat_at is not None:
        proto.last_heartbeat_at.CopyFrom(timestamp(row.last_heartbeat_at))
    return proto


def circuit(agent_id: str, state: CircuitState) -> agents_pb2.Circuit:
    proto = agents_pb2.Circuit(
        agent_id=agent_id, state=CIRCUIT_STATES[state.state], failure_count=state.failure_count
    )
    if state.opened_at is not None and state.state != "closed":
        proto.opened_at.CopyFrom(timestamp(state.opened_at))
    return proto
