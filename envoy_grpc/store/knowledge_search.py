"""Search: the best matches from the FTS seam, each completed with its graph entity's ID, name and data.

Discoveries, memories and handoffs are their entities (same ID). Sessions, handovers and messages
get theirs from the graph projector within about a second of being recorded; until then a hit
carries ID 0 and the name and data the projector will give it. A document whose record is gone (a
message removed by retention) is left out of the answer and reported back as stale, so the indexer
can drop it on its next pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from envoy_grpc.core.graph_mapping import digest, scope
from envoy_grpc.store import knowledge_fts as fts
from envoy_grpc.store import knowledge_graph as graph
from envoy_grpc.store.knowledge import cursor, discoveries_by_id, handoffs_by_id
from envoy_grpc.store.knowledge_memories import memories_by_id
from envoy_grpc.store.knowledge_types import SearchHit, Term, rfc3339

Described = tuple[str, dict[str, Any]]  # (entity name, entity data)


def _records(kind: str, ids: list[int]) -> dict[int, Described]:
    lookup = _LOOKUPS.get(kind)
    return lookup(ids) if lookup else {}


def _discoveries(ids: list[int]) -> dict[int, Described]:
    return {i: (row.name, row.data) for i, row in discoveries_by_id(ids).items()}


def _memories(ids: list[int]) -> dict[int, Described]:
    return {i: (row.name, row.data) for i, row in memories_by_id(ids).items()}


def _handoffs(ids: list[int]) -> dict[int, Described]:
    return {i: (row.name, row.data) for i, row in handoffs_by_id(ids).items()}


def _sessions(ids: list[int]) -> dict[int, Described]:
    sql = (
        "SELECT id, session_id, agent, project, tool, trigger, model, git_branch, parent_session_id, "
        "started_at, ended_at, exit_status, last_tool, last_tool_summary FROM session WHERE id = ?"
    )
    found: dict[int, Described] = {}
    for record_id in ids:
        row = cursor().execute(sql, (record_id,)).fetchone()
        if row is None:
            continue
        keys = (
            "session_id",
            "agent",
            "project",
            "tool",
            "trigger",
            "model",
            "git_branch",
            "parent_session_id",
        )
        data: dict[str, Any] = dict(zip(keys, row[1:9], strict=True))
        data.update(
            started_at=rfc3339(row[9]),
            ended_at=rfc3339(row[10]) if row[10] is not None else None,
            exit_status=row[11],
            last_tool=row[12],
            last_tool_summary=row[13],
        )
        found[record_id] = (str(row[1]), data)
    return found


def _handovers(ids: list[int]) -> dict[int, Described]:
    sql = (
        "SELECT session_id, agent_id, to_agent, to_session_id, summary, files_changed_json, outcome, verified, "
        "created_at FROM session_handover WHERE id = ?"
    )
    found: dict[int, Described] = {}
    for record_id in ids:
        row = cursor().execute(sql, (record_id,)).fetchone()
        if row is None:
            continue
        data = {
            "handover_id": record_id,
            "session_id": row[0],
            "agent_id": row[1],
            "to_agent": row[2],
            "to_session_id": row[3],
            "summary": row[4],
            "files_changed": json.loads(row[5]),
            "outcome": row[6],
            "verified": bool(row[7]),
            "created_at": rfc3339(row[8]),
        }
        found[record_id] = (f"{row[0]}:handover:{digest(str(row[4]))}", data)
    return found


def _messages(ids: list[int]) -> dict[int, Described]:
    sql = "SELECT type, sender, to_agent, topic, task_id, context_id, created_at FROM message WHERE id = ?"
    found: dict[int, Described] = {}
    for record_id in ids:
        row = cursor().execute(sql, (record_id,)).fetchone()
        if row is None:
            continue
        data = {
            "message_id": str(record_id),
            "type": row[0],
            "from": row[1],
            "to": row[2],
            "topic": row[3],
            "task_id": row[4],
            "context_id": row[5],
            "created_at": rfc3339(row[6]),
        }
        found[record_id] = (str(record_id), data)
    return found


_LOOKUPS: dict[str, Callable[[list[int]], dict[int, Described]]] = {
    "Discovery": _discoveries,
    "Memory": _memories,
    "Handoff": _handoffs,
    "Session": _sessions,
    "Handover": _handovers,
    "Message": _messages,
}


OWN_ENTITIES = ("Discovery", "Memory", "Handoff")  # records whose ID is their entity's


def search(terms: list[Term], kind: str, project: str, k: int) -> tuple[list[SearchHit], list[int]]:
    """The best `k` hits, best first, and the IDs of stale documents met on the way."""
    matches = fts.search(terms, kind, project, k)
    described: dict[tuple[str, int], Described] = {}
    for match_kind in {m.kind for m in matches}:
        ids = [m.record_id for m in matches if m.kind == match_kind]
        described.update(((match_kind, i), d) for i, d in _records(match_kind, ids).items())
    live = [m for m in matches if (m.kind, m.record_id) in described]
    keys = {
        m.doc_id: (m.kind, described[(m.kind, m.record_id)][0], scope(m.kind, "", m.project))
        for m in live
        if m.kind not in OWN_ENTITIES
    }
    projected = graph.entities(list(keys.values()))
    own = graph.entities_by_id(m.record_id for m in live if m.kind in OWN_ENTITIES)
    hits = []
    for match in live:
        name, data = described[(match.kind, match.record_id)]
        entity = own.get(match.record_id) if match.kind in OWN_ENTITIES else projected.get(keys[match.doc_id])
        entity_id = entity.id if entity else (match.record_id if match.kind in OWN_ENTITIES else 0)
        if entity is not None:
            name, data = entity.name, entity.data
        hits.append(SearchHit(entity_id, name, match.kind, match.score, data, match.snippet))
    return hits, [m.doc_id for m in matches if (m.kind, m.record_id) not in described]
