"""Agent identity: registration, hierarchy, retirement, tokens, heartbeats and liveness.

The registry keeps an in-memory directory of every agent, loaded at start-up and updated only after
the store has committed a change, so reads and token checks never wait for SQLite and never see
anything the database could forget. The store functions re-check every rule inside their
transaction; the directory is a view, not the authority.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from envoy_grpc import errors
from envoy_grpc.core import ids, tokens
from envoy_grpc.core.auth import Caller
from envoy_grpc.core.circuit import CircuitBreakers
from envoy_grpc.store import agents as store
from envoy_grpc.store.agents import AgentRow
from envoy_grpc.store.db import Database

ONLINE_WINDOW = 300.0
MAX_NAME = 200
MAX_KIND = 100
STATES = ("working", "blocked", "waiting_review", "idle")

log = logging.getLogger(__name__)
# Called after a retirement has committed, with every agent it retired (file leases listen).
RetireListener = Callable[[list[str]], Awaitable[None]]


@dataclass(frozen=True)
class Registration:
    agent: AgentRow
    is_new: bool
    token: str | None


@dataclass(frozen=True)
class AgentPage:
    agents: list[AgentRow]
    next_page_token: str


class AgentRegistry:
    """Every agent, in memory, kept in step with the store."""

    def __init__(
        self,
        db: Database,
        circuits: CircuitBreakers,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.circuits = circuits
        self._clock = clock
        self._agents: dict[str, AgentRow] = {}
        self._children: dict[str, list[str]] = {}
        self._by_token: dict[str, str] = {}
        # Active root agents by name: registration is idempotent on it.
        self._active_roots: dict[str, str] = {}
        self._last_seen: dict[str, float] = {}
        # Agents heard from within ONLINE_WINDOW (pruned as they age), so counting them is cheap.
        self._recent: dict[str, float] = {}
        self._open_streams: dict[str, int] = {}
        self._active = 0
        self._retire_listeners: list[RetireListener] = []

    def on_retire(self, listener: RetireListener) -> None:
        """Call `listener` with the retired agents' IDs after each retirement commits."""
        self._retire_listeners.append(listener)

    async def load(self) -> None:
        for row in await self.db.read(store.load_all):
            self._remember(row)
            if row.active and row.last_heartbeat_at is not None:
                self._recent[row.agent_id] = row.last_heartbeat_at

    # -- reads (memory only) -------------------------------------------------------------------

    def get(self, agent_id: str, field_path: str = "agent_id") -> AgentRow:
        row = self._agents.get(agent_id)
        if row is None:
            raise errors.agent_not_found(agent_id, field_path)
        return row

    def children(self, agent_id: str) -> list[str]:
        return list(self._children.get(agent_id, ()))

    def is_active(self, agent_id: str) -> bool:
        row = self._agents.get(agent_id)
        return row is not None and row.active

    def active_root(self, name: str) -> str | None:
        """The ID of the active root agent with this name, if any (what registering it would return)."""
        return self._active_roots.get(name)

    def agent_for_token_hash(self, token_hash: str) -> str | None:
        return self._by_token.get(token_hash)

    def list_agents(
        self,
        *,
        kind: str = "",
        parent_id: str = "",
        lifecycle: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> AgentPage:
        """Agents in ID order after `page_token` (the sort key of the last agent of the previous page)."""
        if page_size < 0:
            raise errors.invalid_argument("page_size", "must be 0 (the default, 100) or a positive number")
        size = min(page_size or 100, 1000)
        after = _decode_page_token(page_token)
        selected = [
            row
            for row in self._agents.values()
            if (not kind or row.kind == kind)
            and (not parent_id or row.parent_id == parent_id)
            and (not lifecycle or row.lifecycle == lifecycle)
        ]
        selected.sort(key=lambda r: ids.sort_key(r.agent_id))
        if after:
            selected = [r for r in selected if ids.sort_key(r.agent_id) > after]
        page = selected[:size]
        more = len(selected) > size
        return AgentPage(page, _encode_page_token(ids.sort_key(page[-1].agent_id)) if more else "")

    def counts(self) -> tuple[int, int]:
        """(registered, active) agents."""
        return len(self._agents), self._active

    # -- liveness ------------------------------------------------------------------------------

    def mark_seen(self, agent_id: str) -> None:
        now = self._clock()
        self._last_seen[agent_id] = now
        self._recent[agent_id] = now

    def last_seen(self, agent_id: str) -> float | None:
        return self._last_seen.get(agent_id)

    def stream_opened(self, agent_id: str) -> None:
        self._open_streams[agent_id] = self._open_streams.get(agent_id, 0) + 1
        self.mark_seen(agent_id)

    def stream_closed(self, agent_id: str) -> None:
        remaining = self._open_streams.get(agent_id, 0) - 1
        if remaining > 0:
            self._open_streams[agent_id] = remaining
        else:
            self._open_streams.pop(agent_id, None)
        self.mark_seen(agent_id)

    def online_count(self) -> int:
        """Active agents with an open stream, or heard from (call or heartbeat) in the last 5 minutes."""
        horizon = self._clock() - ONLINE_WINDOW
        for agent_id in [a for a, seen in self._recent.items() if seen < horizon]:
            del self._recent[agent_id]
        online = {a for a in self._recent if self.is_active(a)}
        online.update(a for a in self._open_streams if self.is_active(a))
        return len(online)

    # -- writes (store first, then memory) ------------------------------------------------------

    async def register(self, caller: Caller, name: str, kind: str, parent_id: str | None) -> Registration:
        name = _checked_text("name", name, MAX_NAME)
        kind = _checked_text("kind", kind, MAX_KIND)
        token = tokens.new_token()
        digest = tokens.token_hash(token)
        now = self._clock()
        if parent_id:
            self._check_may_create_child(caller, parent_id)
            row = await self.db.write(lambda: store.register_child(parent_id, name, kind, digest, now))
            self._remember(row)
            return Registration(row, True, token)
        row, is_new = await self.db.write(lambda: store.register_root(name, kind, digest, now))
        if is_new:
            self._remember(row)
        return Registration(row, is_new, token if is_new else None)

    def _check_may_create_child(self, caller: Caller, parent_id: str) -> None:
        parent = self.get(parent_id, "parent_id")
        if caller.is_operator or _is_self_or_ancestor(caller, parent.agent_id):
            return
        raise errors.permission_denied(
            f"only {parent_id!r}, one of its ancestors or the operator may register a child of "
            f"{parent_id!r}; the caller is {caller.describe()!r}",
            parentId=parent_id,
        )

    async def retire(self, caller: Caller, agent_id: str) -> list[str]:
        self.get(agent_id)
        if not (caller.is_operator or _is_self_or_ancestor(caller, agent_id)):
            raise errors.permission_denied(
                f"only {agent_id!r}, one of its ancestors or the operator may retire it; "
                f"the caller is {caller.describe()!r}",
                agentId=agent_id,
            )
        now = self._clock()
        affected = await self.db.write(lambda: store.retire(agent_id, now))
        for retired_id in affected:
            row = self._agents[retired_id]
            if row.token_hash:
                self._by_token.pop(row.token_hash, None)
            if row.active:
                self._active -= 1
            if self._active_roots.get(row.name) == retired_id:
                del self._active_roots[row.name]
            self._agents[retired_id] = replace(row, lifecycle="retired", retired_at=now, token_hash=None)
            self.circuits.forget(retired_id)
        for listener in self._retire_listeners:
            try:
                await listener(affected)
            except Exception:  # the retirement stands; what listeners hold also checks is_active
                log.exception("a retire listener failed for %s", affected)
        return affected

    async def rotate_token(self, caller: Caller, agent_id: str) -> str:
        row = self.get(agent_id)
        if not (caller.is_operator or caller.agent_id == agent_id):
            raise errors.permission_denied(
                f"only {agent_id!r} itself or the operator may rotate its token; "
                f"the caller is {caller.describe()!r}",
                agentId=agent_id,
            )
        if not row.active:
            raise errors.failed_precondition(
                "AGENT_OFFLINE", f"agent {agent_id!r} is retired and has no token"
            )
        token = tokens.new_token()
        digest = tokens.token_hash(token)
        await self.db.write(lambda: store.set_token(agent_id, digest))
        if row.token_hash:
            self._by_token.pop(row.token_hash, None)
        self._remember(replace(row, token_hash=digest))
        return token

    async def heartbeat(self, caller: Caller, agent_id: str, status: dict[str, Any]) -> AgentRow:
        target = agent_id or caller.agent_id
        if not target:
            raise errors.invalid_argument("agent_id", "is required when the caller is not an agent")
        if agent_id and not (caller.is_operator or caller.agent_id == agent_id):
            raise errors.permission_denied(
                f"agent_id {agent_id!r} is not the caller {caller.describe()!r}; an agent sends its own heartbeat",
                agentId=agent_id,
            )
        row = self.get(target)
        if not row.active:
            raise errors.failed_precondition("AGENT_OFFLINE", f"agent {target!r} is retired")
        status = _checked_status(status)
        now = self._clock()
        await self.db.write(lambda: store.heartbeat(target, status, now))
        row = store.with_heartbeat(row, status, now)
        self._agents[target] = row
        self.mark_seen(target)
        self.circuits.reset(target)
        return row

    def _remember(self, row: AgentRow) -> None:
        previous = self._agents.get(row.agent_id)
        if previous is None and row.parent_id:
            self._children.setdefault(row.parent_id, []).append(row.agent_id)
        self._active += int(row.active) - int(previous is not None and previous.active)
        self._agents[row.agent_id] = row
        if row.active and row.parent_id is None:
            self._active_roots.setdefault(row.name, row.agent_id)
        if row.token_hash:
            self._by_token[row.token_hash] = row.agent_id


def _is_self_or_ancestor(caller: Caller, agent_id: str) -> bool:
    return caller.agent_id is not None and (
        caller.agent_id == agent_id or ids.is_ancestor(caller.agent_id, agent_id)
    )


def _checked_text(field_path: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise errors.missing_fields([field_path])
    if len(value) > limit:
        raise errors.invalid_argument(field_path, f"must be at most {limit} characters, got {len(value)}")
    return value


def _checked_status(status: dict[str, Any]) -> dict[str, Any]:
    state = status.get("state") or "working"
    if state not in STATES:
        raise errors.invalid_argument("status.state", f"must be one of {', '.join(STATES)}; got {state!r}")
    return {**status, "state": state}


def _encode_page_token(sort_key: str) -> str:
    return base64.urlsafe_b64encode(b"agents:" + sort_key.encode()).decode()


def _decode_page_token(token: str) -> str:
    if not token:
        return ""
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    prefix, _, key = raw.partition(":")
    if prefix != "agents" or not key or not all(part.isascii() and part.isdigit() for part in key.split(".")):
        raise errors.invalid_argument("page_token", "is not a token returned by a previous ListAgents call")
    return key
