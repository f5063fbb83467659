"""What is recorded about one target (GetKnowledge): its discoveries, the handoffs that name it, the
memories about it, and the evidence behind the token-savings estimate.

The lists are limited; the counts and the evidence (reads, agents, knowledge size) cover every
record, and are computed by SQL aggregates over indexed look-ups rather than by loading records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envoy_grpc.store.knowledge import (
    DISCOVERY_COLUMNS,
    HANDOFF_COLUMNS,
    cursor,
    discovery_from,
    handoff_from,
)
from envoy_grpc.store.knowledge_memories import MEMORY_COLUMNS, memory_from
from envoy_grpc.store.knowledge_types import DiscoveryRow, HandoffRow, MemoryRow


@dataclass(frozen=True)
class SavingsEvidence:
    """The recorded facts the savings formula needs (see `envoy_grpc.core.knowledge_savings`)."""

    agents: frozenset[str]  # distinct labels: reading sessions' agents and the knowledge's authors
    recorded_reads: int
    reads_with_tokens: int
    read_tokens: int  # the sum of those reads' input_tokens_est
    knowledge_bytes: int  # discoveries' data, memories' content, handoffs' manifests, in UTF-8 bytes


@dataclass(frozen=True)
class Recorded:
    discoveries: list[DiscoveryRow]
    discovery_count: int
    handoffs: list[HandoffRow]
    handoff_count: int
    memories: list[MemoryRow]
    memory_count: int
    evidence: SavingsEvidence


# Each source as (FROM ... WHERE for the target, the project condition, the agent column, the size).
_DISCOVERIES = ("FROM discovery WHERE target = ?", " AND project = ?", "agent", "data_bytes")
_MEMORIES = (
    "FROM memory WHERE target = ?",
    " AND scope = 'project' AND owner = ?",
    "provenance_agent",
    "LENGTH(CAST(content AS BLOB))",
)
_HANDOFFS = (
    "FROM handoff_mention m JOIN handoff h ON h.id = m.handoff_id WHERE m.value = ?",
    " AND h.project = ?",
    "h.from_agent",
    "LENGTH(CAST(h.manifest_json AS BLOB))",
)
_READS = (
    "FROM knowledge_read r JOIN session s ON s.session_id = r.session_id WHERE r.path = ?",
    " AND s.project = ?",
    "s.agent",
    "",
)


def _where(source: tuple[str, str, str, str], target: str, project: str) -> tuple[str, list[Any]]:
    clause, by_project, _, _ = source
    return (clause + by_project, [target, project]) if project else (clause, [target])


def _agents(source: tuple[str, str, str, str], target: str, project: str) -> set[str]:
    where, params = _where(source, target, project)
    return {str(r[0]) for r in cursor().execute(f"SELECT DISTINCT {source[2]} {where}", params).fetchall()}


def _aggregate(source: tuple[str, str, str, str], target: str, project: str) -> tuple[int, int, set[str]]:
    """(records, their total size, their distinct agents) for one source."""
    where, params = _where(source, target, project)
    count, size = (
        cursor().execute(f"SELECT COUNT(*), COALESCE(SUM({source[3]}), 0) {where}", params).fetchone()
    )
    return int(count), int(size), _agents(source, target, project)


def _reads(target: str, project: str) -> tuple[int, int, int]:
    where, params = _where(_READS, target, project)
    row = cursor().execute(
        f"SELECT COUNT(*), COUNT(r.input_tokens_est), COALESCE(SUM(r.input_tokens_est), 0) {where}", params
    )
    count, with_tokens, tokens = row.fetchone()
    return int(count), int(with_tokens), int(tokens)


def recorded_about(target: str, project: str, limit: int) -> Recorded:
    """Everything recorded about `target` (of `project`, when given), newest first, `limit` of each."""
    discovery_count, discovery_bytes, discovery_agents = _aggregate(_DISCOVERIES, target, project)
    memory_count, memory_bytes, memory_agents = _aggregate(_MEMORIES, target, project)
    handoff_count, handoff_bytes, handoff_agents = _aggregate(_HANDOFFS, target, project)
    reader_agents = _agents(_READS, target, project)
    reads, reads_with_tokens, read_tokens = _reads(target, project)
    evidence = SavingsEvidence(
        agents=frozenset(discovery_agents | memory_agents | handoff_agents | reader_agents),
        recorded_reads=reads,
        reads_with_tokens=reads_with_tokens,
        read_tokens=read_tokens,
        knowledge_bytes=discovery_bytes + memory_bytes + handoff_bytes,
    )
    cur = cursor()
    where, params = _where(_DISCOVERIES, target, project)
    discoveries = cur.execute(
        f"SELECT {DISCOVERY_COLUMNS} {where} ORDER BY id DESC LIMIT ?", (*params, limit)
    )
    discovery_rows = [discovery_from(tuple(r)) for r in discoveries.fetchall()]
    where, params = _where(_MEMORIES, target, project)
    memories = cur.execute(
        f"SELECT {MEMORY_COLUMNS} {where} ORDER BY updated_at DESC, id DESC LIMIT ?", (*params, limit)
    )
    memory_rows = [memory_from(tuple(r)) for r in memories.fetchall()]
    where, params = _where(_HANDOFFS, target, project)
    columns = ", ".join(f"h.{c.strip()}" for c in HANDOFF_COLUMNS.split(","))
    handoffs = cur.execute(f"SELECT {columns} {where} ORDER BY h.id DESC LIMIT ?", (*params, limit))
    handoff_rows = [handoff_from(tuple(r)) for r in handoffs.fetchall()]
    return Recorded(
        discovery_rows, discovery_count, handoff_rows, handoff_count, memory_rows, memory_count, evidence
    )
