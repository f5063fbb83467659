"""Conversions between knowledge.proto's messages and the knowledge core's dataclasses.

Rows become protos by keyword: a None value is left unset, so optional fields print `null` over HTTP.
Requests become the core's inputs field by field; JSON objects (metadata, manifests) cross as
plain dicts with whole numbers as integers.
"""

from __future__ import annotations

from typing import Any

from envoy_grpc.core.knowledge import Context, MemoryDeletion
from envoy_grpc.core.knowledge_checks import MemoryDraft
from envoy_grpc.gen.envoy.v1 import knowledge_pb2 as pb
from envoy_grpc.services.convert import timestamp
from envoy_grpc.services.session_convert import struct, struct_to_dict
from envoy_grpc.store.knowledge_types import (
    DiscoveryFilter,
    DiscoveryRow,
    HandoffRow,
    KnowledgeAbout,
    MemoryFilter,
    MemoryRow,
    NewDiscovery,
    NewHandoff,
    SearchHit,
    TokenSavings,
)

SCOPES = {
    "user": pb.MEMORY_SCOPE_USER,
    "project": pb.MEMORY_SCOPE_PROJECT,
    "agent": pb.MEMORY_SCOPE_AGENT,
}
SCOPE_NAMES: dict[int, str] = {int(value): name for name, value in SCOPES.items()}


def _present(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def scope_name(scope: int) -> str:
    """The stored scope of a proto enum value; "" for UNSPECIFIED (or a number we do not know)."""
    return SCOPE_NAMES.get(int(scope), "")


# -- requests to inputs ------------------------------------------------------------------------


def new_discovery(r: pb.CreateDiscoveryRequest) -> NewDiscovery:
    return NewDiscovery(
        agent=r.agent,
        discovery_type=r.discovery_type,
        target=r.target,
        metadata=struct_to_dict(r.metadata) if r.HasField("metadata") else {},
        project=r.project,
        session_id=r.session_id if r.HasField("session_id") else None,
    )


def discovery_filter(r: pb.ListDiscoveriesRequest) -> DiscoveryFilter:
    return DiscoveryFilter(target=r.target, project=r.project, discovery_type=r.discovery_type, agent=r.agent)


def memory_draft(r: pb.UpsertMemoryRequest) -> MemoryDraft:
    return MemoryDraft(
        key=r.key,
        scope=scope_name(r.scope),
        content=r.content,
        project=r.project,
        agent=r.agent,
        confidence=r.confidence if r.HasField("confidence") else None,
        target=r.target if r.HasField("target") else None,
        provenance_agent=r.provenance.agent,
        provenance_session_id=r.provenance.session_id,
        provenance_tool_use_id=r.provenance.tool_use_id,
    )


def memory_filter(r: pb.ListMemoriesRequest) -> MemoryFilter:
    return MemoryFilter(
        scope=scope_name(r.scope), owner_project=r.project, owner_agent=r.agent, key=r.key, target=r.target
    )


def memory_deletion(r: pb.DeleteMemoryRequest) -> MemoryDeletion:
    return MemoryDeletion(
        memory_id=r.memory_id,
        key=r.key,
        scope=scope_name(r.scope),
        project=r.project,
        agent=r.agent,
        allow_missing=r.allow_missing,
    )


def new_handoff(r: pb.CreateHandoffRequest) -> NewHandoff:
    return NewHandoff(
        from_agent=r.from_agent,
        to_agent=r.to_agent,
        manifest=struct_to_dict(r.manifest),
        project=r.project,
        session_id=r.session_id if r.HasField("session_id") else None,
    )


# -- rows to protos ----------------------------------------------------------------------------


def discovery(row: DiscoveryRow) -> pb.Discovery:
    return pb.Discovery(
        **_present(
            id=row.discovery_id,
            name=row.name,
            data=struct(row.data),
            agent=row.agent,
            discovery_type=row.discovery_type,
            target=row.target,
            metadata=struct(row.metadata),
            project=row.project,
            session_id=row.session_id,
            created_at=timestamp(row.created_at),
        )
    )


def memory(row: MemoryRow) -> pb.Memory:
    return pb.Memory(
        **_present(
            id=row.memory_id,
            key=row.key,
            scope=SCOPES[row.scope],
            project=row.project,
            agent=row.agent,
            content=row.content,
            confidence=row.confidence,
            target=row.target,
            provenance=pb.Provenance(
                agent=row.provenance_agent,
                session_id=row.provenance_session_id,
                tool_use_id=row.provenance_tool_use_id,
            ),
            created_at=timestamp(row.created_at),
            updated_at=timestamp(row.updated_at),
        )
    )


def handoff(row: HandoffRow) -> pb.Handoff:
    return pb.Handoff(
        **_present(
            id=row.handoff_id,
            name=row.name,
            from_agent=row.from_agent,
            to_agent=row.to_agent,
            manifest=struct(row.manifest),
            created_at=timestamp(row.created_at),
            project=row.project,
            session_id=row.session_id,
            claimed=row.claimed_at is not None,
            claimed_at=timestamp(row.claimed_at) if row.claimed_at is not None else None,
        )
    )


def context(found: Context) -> pb.GetContextResponse:
    items = [
        pb.ContextItem(
            **_present(
                discovery_type=row.discovery_type,
                target=row.target,
                why=row.why,
                agent=row.agent,
                discovery_id=row.discovery_id,
                created_at=timestamp(row.created_at),
            )
        )
        for row in found.discoveries
    ]
    return pb.GetContextResponse(
        project=found.project, items=items, memories=[memory(row) for row in found.memories]
    )


def token_savings(savings: TokenSavings) -> pb.TokenSavings:
    return pb.TokenSavings(**savings.__dict__)


def knowledge(found: KnowledgeAbout) -> pb.GetKnowledgeResponse:
    return pb.GetKnowledgeResponse(
        **_present(
            target=found.target,
            queried_at=timestamp(found.queried_at),
            total_entities=found.discovery_count + found.handoff_count + found.memory_count,
            discovery_count=found.discovery_count,
            discoveries=[discovery(row) for row in found.discoveries],
            handoff_count=found.handoff_count,
            handoffs=[handoff(row) for row in found.handoffs],
            token_savings=token_savings(found.token_savings),
            memory_count=found.memory_count,
            memories=[memory(row) for row in found.memories],
            project=found.project,
        )
    )


def search_result(hit: SearchHit) -> pb.SearchResult:
    return pb.SearchResult(
        id=hit.entity_id,
        name=hit.name,
        kind=hit.kind,
        score=hit.score,
        data=struct(hit.data),
        snippet=hit.snippet,
    )
