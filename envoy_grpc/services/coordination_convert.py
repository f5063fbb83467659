"""Conversions between the coordination rows (leases, tasks, dependencies) and their protos.

A None value is left unset, so optional fields and unset timestamps print `null` over HTTP.
"""

from __future__ import annotations

from envoy_grpc.gen.envoy.v1 import dependencies_pb2, leases_pb2, tasks_pb2
from envoy_grpc.services.convert import timestamp
from envoy_grpc.store.coordination_types import DependencyRow, LeaseRow, TaskEventRow, TaskRow

LEASE_MODES = {"exclusive": leases_pb2.LEASE_MODE_EXCLUSIVE, "shared": leases_pb2.LEASE_MODE_SHARED}
LEASE_MODE_NAMES: dict[int, str] = {int(v): k for k, v in LEASE_MODES.items()}
LEASE_STATES = {
    "active": leases_pb2.LEASE_STATE_ACTIVE,
    "released": leases_pb2.LEASE_STATE_RELEASED,
    "expired": leases_pb2.LEASE_STATE_EXPIRED,
}
TASK_STATES = {
    "proposed": tasks_pb2.TASK_STATE_PROPOSED,
    "claimed": tasks_pb2.TASK_STATE_CLAIMED,
    "in_progress": tasks_pb2.TASK_STATE_IN_PROGRESS,
    "waiting_review": tasks_pb2.TASK_STATE_WAITING_REVIEW,
    "done": tasks_pb2.TASK_STATE_DONE,
}
TASK_STATE_NAMES: dict[int, str] = {int(v): k for k, v in TASK_STATES.items()}


def lease_mode_name(mode: int) -> str:
    """The stored mode of a proto value; "" for UNSPECIFIED (the core's default then applies)."""
    return LEASE_MODE_NAMES.get(int(mode), "")


def task_state_name(state: int) -> str:
    return TASK_STATE_NAMES.get(int(state), "")


def lease(row: LeaseRow, now: float) -> leases_pb2.Lease:
    message = leases_pb2.Lease(
        lease_id=str(row.lease_id),
        project=row.project,
        path=row.path,
        agent_id=row.agent_id,
        mode=LEASE_MODES[row.mode],
        reason=row.reason,
        state=LEASE_STATES[row.state(now)],
        created_at=timestamp(row.created_at),
        expires_at=timestamp(row.expires_at),
    )
    if row.renewed_at is not None:
        message.renewed_at.CopyFrom(timestamp(row.renewed_at))
    if row.ended_at is not None:
        message.ended_at.CopyFrom(timestamp(row.ended_at))
    return message


def task(row: TaskRow) -> tasks_pb2.Task:
    message = tasks_pb2.Task(
        id=str(row.task_id),
        project=row.project,
        title=row.title,
        description=row.description,
        state=TASK_STATES[row.state],
        blocked_by=[str(b) for b in row.blocked_by],
        proposed_by=row.proposed_by,
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
    )
    if row.claimed_by is not None:
        message.claimed_by = row.claimed_by
    if row.checkpoint is not None:
        message.checkpoint = row.checkpoint
    return message


def task_event(row: TaskEventRow) -> tasks_pb2.TaskEvent:
    message = tasks_pb2.TaskEvent(
        id=str(row.event_id),
        task_id=str(row.task_id),
        event=row.event,
        to_state=TASK_STATES[row.to_state],
        agent_id=row.agent_id,
        created_at=timestamp(row.created_at),
    )
    if row.from_state is not None:
        message.from_state = TASK_STATES[row.from_state]
    if row.checkpoint is not None:
        message.checkpoint = row.checkpoint
    return message


def dependency(row: DependencyRow) -> dependencies_pb2.Dependency:
    message = dependencies_pb2.Dependency(
        dependency_id=str(row.dependency_id),
        dependent_agent=row.dependent_agent,
        blocker_agent=row.blocker_agent,
        reason=row.reason,
        created_at=timestamp(row.created_at),
        resolved=row.resolved,
    )
    if row.resolved_at is not None:
        message.resolved_at.CopyFrom(timestamp(row.resolved_at))
    return message
