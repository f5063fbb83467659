"""Repository functions for agents. Writers run on the writer thread inside a transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import peewee

from envoy_grpc import errors
from envoy_grpc.core import ids
from envoy_grpc.store.models import Agent, Counter

ROOT_COUNTER = "agent_root"


@dataclass(frozen=True)
class AgentRow:
    """An agent as stored: what the in-memory directory and the API are built from."""

    agent_id: str
    name: str
    kind: str
    parent_id: str | None
    lifecycle: str
    status: dict[str, Any] | None
    last_heartbeat_at: float | None
    created_at: float
    retired_at: float | None
    token_hash: str | None

    @property
    def active(self) -> bool:
        return self.lifecycle == "active"


def _row(agent: Agent) -> AgentRow:
    return AgentRow(
        agent_id=agent.agent_id,
        name=agent.name,
        kind=agent.kind,
        parent_id=agent.parent_id,
        lifecycle=agent.lifecycle,
        status=json.loads(agent.status_json) if agent.status_json else None,
        last_heartbeat_at=agent.last_heartbeat_at,
        created_at=agent.created_at,
        retired_at=agent.retired_at,
        token_hash=agent.token_hash,
    )


def load_all() -> list[AgentRow]:
    """Every agent, in ID order."""
    return [_row(a) for a in Agent.select().order_by(Agent.sort_key)]


def _next_root_number() -> int:
    Counter.insert(name=ROOT_COUNTER, value=0).on_conflict_ignore().execute()
    Counter.update(value=Counter.value + 1).where(Counter.name == ROOT_COUNTER).execute()
    return int(Counter.get_by_id(ROOT_COUNTER).value)


def _create(
    agent_id: str, name: str, kind: str, parent_id: str | None, token_hash: str, now: float
) -> AgentRow:
    agent = Agent.create(
        agent_id=agent_id,
        sort_key=ids.sort_key(agent_id),
        name=name,
        kind=kind,
        parent_id=parent_id,
        lifecycle="active",
        created_at=now,
        token_hash=token_hash,
    )
    return _row(agent)


def register_root(name: str, kind: str, token_hash: str, now: float) -> tuple[AgentRow, bool]:
    """The active root agent named `name`, or a new one with the next root ID. Returns (row, is_new)."""
    existing = (
        Agent.select()
        .where((Agent.name == name) & (Agent.lifecycle == "active") & Agent.parent_id.is_null())
        .order_by(Agent.sort_key)
        .first()
    )
    if existing is not None:
        return _row(existing), False
    return _create(ids.root_id(_next_root_number()), name, kind, None, token_hash, now), True


def register_child(parent_id: str, name: str, kind: str, token_hash: str, now: float) -> AgentRow:
    """A new child of `parent_id`, numbered after every child it ever had."""
    parent = Agent.get_or_none(Agent.agent_id == parent_id)
    if parent is None:
        raise errors.agent_not_found(parent_id, "parent_id")
    if parent.lifecycle != "active":
        raise errors.failed_precondition(
            "AGENT_OFFLINE", f"parent agent {parent_id!r} is retired; children need an active parent"
        )
    number = parent.child_count + 1
    Agent.update(child_count=number).where(Agent.id == parent.id).execute()
    return _create(ids.child_id(parent_id, number), name, kind, parent_id, token_hash, now)


def retire(agent_id: str, now: float) -> list[str]:
    """Retire the agent and every active descendant, revoking their tokens. Returns those retired."""
    subtree = Agent.select(Agent.agent_id).where(
        ((Agent.agent_id == agent_id) | Agent.agent_id.startswith(agent_id + "."))
        & (Agent.lifecycle == "active")
    )
    affected = sorted((a.agent_id for a in subtree), key=ids.sort_key)
    if affected:
        Agent.update(lifecycle="retired", retired_at=now, token_hash=None).where(
            Agent.agent_id.in_(affected)
        ).execute()
    return affected


def set_token(agent_id: str, token_hash: str) -> None:
    Agent.update(token_hash=token_hash).where(Agent.agent_id == agent_id).execute()


def heartbeat(agent_id: str, status: dict[str, Any], now: float) -> None:
    Agent.update(status_json=json.dumps(status, sort_keys=True), last_heartbeat_at=now).where(
        Agent.agent_id == agent_id
    ).execute()


def with_heartbeat(row: AgentRow, status: dict[str, Any], now: float) -> AgentRow:
    return replace(row, status=status, last_heartbeat_at=now)


def count() -> int:
    return int(Agent.select(peewee.fn.COUNT(Agent.id)).scalar())
