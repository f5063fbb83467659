"""Knowledge that persists: discoveries, memories, handoffs, knowledge by target, search and purge.

The servicer (KnowledgeService) calls this API; every method takes the `Caller` first. Inputs are
the frozen dataclasses of `envoy_grpc.store.knowledge_types` (and `MemoryDraft`). Errors are
`EnvoyError`s naming the field: FIELD_REQUIRED, INVALID_ARGUMENT, SESSION_NOT_FOUND,
MEMORY_NOT_FOUND, HANDOFF_NOT_FOUND, OPERATOR_ONLY.

    knowledge = running.knowledge                    # a Knowledge, on RunningServer

    await knowledge.create_discovery(caller, NewDiscovery(...)) -> DiscoveryCreated   # idempotent
    await knowledge.list_discoveries(caller, DiscoveryFilter(...), page_size, page_token) -> DiscoveryPage
    await knowledge.get_context(caller, project, limit) -> Context
    await knowledge.upsert_memory(caller, MemoryDraft(...)) -> MemoryUpserted            # by scope+owner+key
    await knowledge.get_memory(caller, memory_id) -> MemoryRow
    await knowledge.list_memories(caller, MemoryFilter(...), page_size, page_token) -> MemoryPage
    await knowledge.delete_memory(caller, MemoryDeletion(...)) -> int                     # 0: none
    await knowledge.create_handoff(caller, NewHandoff(...)) -> HandoffRow
    await knowledge.pending_handoff(caller, agent, project) -> HandoffRow | None
    await knowledge.recent_handoffs(caller, project, agent, limit) -> list[HandoffRow]
    await knowledge.claim_handoff(caller, handoff_id) -> HandoffRow                       # repeatable
    await knowledge.knowledge_about(caller, target, project, limit) -> KnowledgeAbout
    await knowledge.search(caller, q, k, project, kind) -> list[SearchHit]
    await knowledge.purge(caller, project, agent, dry_run) -> PurgeCounts                 # operator only
    await knowledge.catch_up()      # index every session, tool call, handover and message recorded so far
    knowledge.entity_search(q, k, project) -> list[int]   # on a reader thread: GraphService.Navigate's search

Every write commits, with its search document and graph links, before the method returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from envoy_grpc import errors
from envoy_grpc.core import knowledge_checks as checks
from envoy_grpc.core import knowledge_query, knowledge_savings
from envoy_grpc.core.auth import Caller
from envoy_grpc.core.knowledge_indexer import Indexer
from envoy_grpc.core.session_checks import limit, required
from envoy_grpc.core.sessions import StrictClock
from envoy_grpc.store import knowledge as store
from envoy_grpc.store import knowledge_about, knowledge_purge, knowledge_search
from envoy_grpc.store import knowledge_memories as memories
from envoy_grpc.store.db import Database
from envoy_grpc.store.knowledge_types import (
    DiscoveryCreated,
    DiscoveryFilter,
    DiscoveryPage,
    DiscoveryRow,
    HandoffRow,
    KnowledgeAbout,
    MemoryFilter,
    MemoryPage,
    MemoryRow,
    MemoryUpserted,
    NewDiscovery,
    NewHandoff,
    PurgeCounts,
    SearchHit,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    project: str
    discoveries: list[DiscoveryRow]
    memories: list[MemoryRow]


@dataclass(frozen=True)
class MemoryDeletion:
    """Which memory DeleteMemory names: an ID, or a key with its scope and owner."""

    memory_id: int = 0
    key: str = ""
    scope: str = ""
    project: str = ""
    agent: str = ""
    allow_missing: bool = False


class Knowledge:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._now = StrictClock(clock)
        self.indexer = Indexer(db)

    def start(self) -> None:
        self.indexer.start()

    async def close(self) -> None:
        await self.indexer.close()

    async def catch_up(self) -> None:
        await self.indexer.catch_up()

    async def _write(self, unit: Callable[[float], T]) -> T:
        """Run `unit(now)` on the writer thread, `now` taken there."""
        return await self.db.write(lambda: unit(self._now()))

    # -- discoveries ---------------------------------------------------------------------------

    async def create_discovery(self, unused_caller: Caller, new: NewDiscovery) -> DiscoveryCreated:
        checked = checks.new_discovery(new)
        return await self._write(lambda now: store.create_discovery(checked, now))

    async def list_discoveries(
        self, unused_caller: Caller, where: DiscoveryFilter, page_size: int = 0, page_token: str = ""
    ) -> DiscoveryPage:
        size = limit("page_size", page_size, default=100, maximum=1000)
        stamp = checks.fingerprint(where.target, where.project, where.discovery_type, where.agent)
        position = checks.decode_page_token(page_token, "discoveries", stamp, "ListDiscoveries")
        before = _number(position)
        rows, total = await self.db.read(lambda: store.list_discoveries(where, before, size + 1))
        more = len(rows) > size
        rows = rows[:size]
        token = checks.encode_page_token("discoveries", str(rows[-1].discovery_id), stamp) if more else ""
        return DiscoveryPage(rows, total, token)

    async def get_context(self, caller: Caller, project: str, size: int = 0) -> Context:
        required("project", project, checks.MAX_LABEL)
        count = limit("limit", size, default=8, maximum=100)
        page = await self.list_discoveries(caller, DiscoveryFilter(project=project), count)
        found = await self.db.read(lambda: memories.project_memories(project, count))
        return Context(project, page.discoveries, found)

    # -- memories ------------------------------------------------------------------------------

    async def upsert_memory(self, caller: Caller, draft: checks.MemoryDraft) -> MemoryUpserted:
        new = checks.new_memory(draft, caller)
        return await self._write(lambda now: memories.upsert_memory(new, now))

    async def get_memory(self, unused_caller: Caller, memory_id: int) -> MemoryRow:
        found = await self.db.read(lambda: memories.get_memory(memory_id))
        if found is None:
            raise memories.memory_not_found(f"with ID {memory_id} (memory_id)", memoryId=str(memory_id))
        return found

    async def list_memories(
        self, unused_caller: Caller, where: MemoryFilter, page_size: int = 0, page_token: str = ""
    ) -> MemoryPage:
        size = limit("page_size", page_size, default=100, maximum=1000)
        stamp = checks.fingerprint(
            where.scope, where.owner_project, where.owner_agent, where.key, where.target
        )
        position = checks.decode_page_token(page_token, "memories", stamp, "ListMemories")
        after = _keyset(position)
        rows = await self.db.read(lambda: memories.list_memories(where, after, size + 1))
        more = len(rows) > size
        rows = rows[:size]
        token = ""
        if more:
            token = checks.encode_page_token(
                "memories", f"{rows[-1].updated_at!r}:{rows[-1].memory_id}", stamp
            )
        return MemoryPage(rows, token)

    async def delete_memory(self, unused_caller: Caller, which: MemoryDeletion) -> int:
        """Delete one memory; returns its ID, or 0 when it did not exist and `allow_missing` is set."""
        if which.memory_id < 0:
            raise errors.invalid_argument("memory_id", "must be a positive memory ID")
        if not which.memory_id and not which.key:
            raise errors.invalid_argument("memory_id", "give a memory_id, or a key with its scope and owner")
        if which.memory_id:
            description, metadata = (
                f"with ID {which.memory_id} (memory_id)",
                {"memoryId": str(which.memory_id)},
            )
        else:
            if not which.scope:
                raise errors.missing_fields(["scope"])
            memory_owner = checks.owner(which.scope, which.project, which.agent)
            description = f"with key {which.key!r} in {which.scope} scope" + (
                f" of {memory_owner!r}" if memory_owner else ""
            )
            metadata = {"key": which.key, "scope": which.scope}

        def unit(unused_now: float) -> int:
            if which.memory_id:
                memory_id = which.memory_id
            else:
                found = memories.find_memory(which.scope, memory_owner, which.key)
                memory_id = found.memory_id if found else 0
            return memory_id if memory_id and memories.delete_memories([memory_id]) else 0

        deleted = await self._write(unit)
        if not deleted and not which.allow_missing:
            raise memories.memory_not_found(description, **metadata)
        return deleted

    # -- handoffs ------------------------------------------------------------------------------

    async def create_handoff(self, unused_caller: Caller, new: NewHandoff) -> HandoffRow:
        checked = checks.new_handoff(new)
        return await self._write(lambda now: store.create_handoff(checked, now))

    async def pending_handoff(
        self, unused_caller: Caller, agent: str, project: str = ""
    ) -> HandoffRow | None:
        required("agent", agent, checks.MAX_LABEL)
        return await self.db.read(lambda: store.pending_handoff(agent, project))

    async def recent_handoffs(
        self, unused_caller: Caller, project: str = "", agent: str = "", size: int = 0
    ) -> list[HandoffRow]:
        count = limit("limit", size, default=10, maximum=100)
        return await self.db.read(lambda: store.recent_handoffs(project, agent, count))

    async def claim_handoff(self, unused_caller: Caller, handoff_id: int) -> HandoffRow:
        return await self._write(lambda now: store.claim_handoff(handoff_id, now))

    # -- knowledge by target, search -----------------------------------------------------------

    async def knowledge_about(
        self, unused_caller: Caller, target: str, project: str = "", size: int = 0
    ) -> KnowledgeAbout:
        required("target", target, checks.MAX_TARGET)
        count = limit("limit", size, default=100, maximum=1000)
        queried_at = self._now()
        found = await self.db.read(lambda: knowledge_about.recorded_about(target, project, count))
        return KnowledgeAbout(
            target=target,
            project=project or None,
            discoveries=found.discoveries,
            discovery_count=found.discovery_count,
            handoffs=found.handoffs,
            handoff_count=found.handoff_count,
            memories=found.memories,
            memory_count=found.memory_count,
            token_savings=knowledge_savings.from_evidence(found.evidence),
            queried_at=queried_at,
        )

    async def search(
        self, unused_caller: Caller, q: str, k: int = 0, project: str = "", kind: str = ""
    ) -> list[SearchHit]:
        count = checks.search_query(q, k)
        terms = knowledge_query.parse(q)
        if not terms:
            return []
        hits, stale = await self.db.read(lambda: knowledge_search.search(terms, kind, project, count))
        if stale:
            self.indexer.forget_later(stale)
        return hits

    def entity_search(self, q: str, k: int, project: str) -> list[int]:
        """GraphService.Navigate's search (it runs this on a reader thread): the graph entity IDs of
        the best `k` hits, best first; hits not in the graph yet are left out."""
        hits, _ = knowledge_search.search(knowledge_query.parse(q), "", project, k)
        return [hit.entity_id for hit in hits if hit.entity_id]

    # -- retention -----------------------------------------------------------------------------

    async def purge(
        self, caller: Caller, project: str = "", agent: str = "", dry_run: bool = False
    ) -> PurgeCounts:
        if not caller.is_operator:
            raise errors.permission_denied(
                "only the operator may purge data (use the token in operator.token)", reason="OPERATOR_ONLY"
            )
        checks.purge_subject(project, agent)
        operator = caller.describe()
        return await self._write(lambda now: knowledge_purge.purge(project, agent, dry_run, operator, now))


def _number(position: str | None) -> int | None:
    if position is None:
        return None
    if not (position.isascii() and position.isdigit()):
        raise errors.invalid_argument("page_token", "is not a token returned by a previous call")
    return int(position)


def _keyset(position: str | None) -> tuple[float, int] | None:
    if position is None:
        return None
    updated_at, _, memory_id = position.rpartition(":")
    try:
        return float(updated_at), int(memory_id)
    except ValueError:
        raise errors.invalid_argument("page_token", "is not a token returned by a previous call") from None
