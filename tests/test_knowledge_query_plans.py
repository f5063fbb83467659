"""The knowledge queries use indexes: every statement the knowledge store runs for a realistic workload
(records, lists with each filter, context, knowledge by target, search, the indexer, purge) is
explained, and none reads a whole table except where that is the point (documented below)."""

from __future__ import annotations

from typing import Any

import pytest
from query_plans import explain_reads, record
from support import Server

from envoy_grpc.core.auth import HOOK, OPERATOR
from envoy_grpc.core.knowledge import MemoryDeletion
from envoy_grpc.core.knowledge_checks import MemoryDraft
from envoy_grpc.store import (
    knowledge,
    knowledge_about,
    knowledge_fts,
    knowledge_graph,
    knowledge_indexer,
    knowledge_memories,
    knowledge_purge,
    knowledge_search,
)
from envoy_grpc.store.knowledge_types import DiscoveryFilter, MemoryFilter, NewDiscovery, NewHandoff
from envoy_grpc.store.session_types import NewHandover, NewPrompt, NewSession, NewToolCall

STORE_MODULES = (
    knowledge,
    knowledge_about,
    knowledge_fts,
    knowledge_graph,
    knowledge_indexer,
    knowledge_memories,
    knowledge_purge,
    knowledge_search,
)
# Reading a whole table is the point of these: a purge finding an agent's sessions (sessions are not
# indexed by agent label) and what is left of a project in the graph, and test runs of other
# sessions that name a purged session's commits.
PURGE_SCANS = ("SCAN session", "SCAN graph_entity", "SCAN session_test_run")


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    return record(monkeypatch, STORE_MODULES, knowledge_fts.cursor)


async def exercise(server: Server) -> None:
    """Everything the knowledge area stores and reads, once or twice."""
    sessions, core = server.running.sessions, server.running.knowledge
    await sessions.create_session(HOOK, NewSession("s-1", "alice", "envoy"), "id1")
    await sessions.record_prompt(HOOK, NewPrompt("s-1", "user", "h", input_summary="why"), "id1")
    read = NewToolCall("s-1", "Read", "success", input_tokens_est=10, file_paths=("/p/a.py",))
    await sessions.record_tool_call(HOOK, read, "id1")
    await sessions.record_handover(HOOK, NewHandover("s-1", "done with a.py"), "id1")
    await core.catch_up()
    new = NewDiscovery("alice", "Bug", "/p/a.py", {"why": "slow"}, "envoy", "s-1")
    await core.create_discovery(HOOK, new)
    await core.create_discovery(HOOK, new)
    await core.create_discovery(HOOK, NewDiscovery("bob", "Bug", "/p/a.py", {"session_id": "s-1"}))
    draft = MemoryDraft(
        "k", "project", "ruff", project="envoy", target="/p/a.py", provenance_session_id="s-1"
    )
    await core.upsert_memory(HOOK, draft)
    await core.upsert_memory(HOOK, draft)
    handoff = await core.create_handoff(HOOK, NewHandoff("alice", "bob", {"f": ["/p/a.py"]}, "envoy", "s-1"))
    await core.claim_handoff(HOOK, handoff.handoff_id)
    await core.pending_handoff(HOOK, "bob")
    await core.pending_handoff(HOOK, "bob", "envoy")
    for project, agent in (("", ""), ("envoy", ""), ("", "bob"), ("envoy", "bob")):
        await core.recent_handoffs(HOOK, project, agent)
    for where in (
        DiscoveryFilter(),
        DiscoveryFilter(target="/p/a.py"),
        DiscoveryFilter(project="envoy"),
        DiscoveryFilter(discovery_type="Bug"),
        DiscoveryFilter(agent="bob"),
    ):
        page = await core.list_discoveries(HOOK, where, page_size=1)
        await core.list_discoveries(HOOK, where, page_size=1, page_token=page.next_page_token)
    for filters in (
        MemoryFilter(),
        MemoryFilter(scope="project"),
        MemoryFilter(owner_project="envoy"),
        MemoryFilter(owner_agent="bob"),
        MemoryFilter(key="k"),
        MemoryFilter(target="/p/a.py"),
    ):
        await core.list_memories(HOOK, filters)
    await core.get_context(HOOK, "envoy")
    await core.knowledge_about(HOOK, "/p/a.py")
    await core.knowledge_about(HOOK, "/p/a.py", project="envoy")
    await core.search(HOOK, 'slow "done with" ruf*', k=10)
    await core.search(HOOK, "slow", project="envoy", kind="Discovery")
    await server.running.graph.catch_up()
    await core.search(HOOK, "done")
    await core.delete_memory(HOOK, MemoryDeletion(key="k", scope="project", project="envoy"))
    await core.purge(OPERATOR, agent="bob", dry_run=True)
    await core.purge(OPERATOR, project="envoy")


async def test_every_knowledge_statement_uses_an_index(
    server: Server, statements: list[tuple[str, tuple[Any, ...]]]
) -> None:
    await exercise(server)
    db = server.running.db
    plans = await explain_reads(db, statements)

    assert len(plans) > 40
    for sql, plan in plans:
        for line in plan.splitlines():
            # Virtual-table lines are FTS5 MATCH look-ups; subqueries, `candidates` and `best` are bounded.
            bounded = ("VIRTUAL TABLE" in line, "(subquery" in line, line in ("SCAN best", "SCAN candidates"))
            if not line.startswith("SCAN ") or " USING " in line or any(bounded):
                continue
            newest_first = "WHERE" not in sql and "ORDER BY id DESC LIMIT" in sql  # a bounded walk
            assert newest_first or line.startswith(PURGE_SCANS), (sql, plan)
    by_index = "\n".join(plan for _, plan in plans)
    for index in (
        "discovery_content",
        "discovery_target",
        "discovery_project",
        "discovery_type",
        "discovery_agent",
        "memory_scope_owner_key",
        "memory_updated",
        "memory_key",
        "memory_target",
        "memory_provenance_agent",
        "handoff_pending",
        "handoff_to",
        "handoff_from",
        "handoff_project",
        "knowledge_read_path",
        "knowledge_read_session",
        "knowledge_doc_record",
        "session_prompt_session_created",
    ):
        assert index in by_index, index
