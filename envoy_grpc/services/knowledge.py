"""KnowledgeService: a thin servicer over `envoy_grpc.core.knowledge`.

Each method parses the request, makes one core call as the current caller and builds the response.
Creates that found an existing record (an identical discovery, a memory replaced) say so through
the response metadata, so the gateway answers 200 instead of 201.
"""

from __future__ import annotations

import grpc

from envoy_grpc.core.auth import current_caller
from envoy_grpc.core.knowledge import Knowledge
from envoy_grpc.gen.envoy.v1 import knowledge_pb2 as pb
from envoy_grpc.gen.envoy.v1 import knowledge_pb2_grpc
from envoy_grpc.services import knowledge_convert as convert
from envoy_grpc.services.convert import timestamp
from envoy_grpc.services.metadata import mark_existing


class KnowledgeService(knowledge_pb2_grpc.KnowledgeServiceServicer):
    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge

    async def CreateDiscovery(
        self, request: pb.CreateDiscoveryRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateDiscoveryResponse:
        created = await self.knowledge.create_discovery(current_caller(), convert.new_discovery(request))
        if not created.is_new:
            mark_existing(context)
        row = created.discovery
        response = pb.CreateDiscoveryResponse(
            discovery_id=row.discovery_id,
            agent=row.agent,
            target=row.target,
            discovery_type=row.discovery_type,
            created_at=timestamp(row.created_at),
            is_new=created.is_new,
        )
        if row.project is not None:
            response.project = row.project
        if row.session_id is not None and row.session_linked:
            response.session_id = row.session_id
        return response

    async def ListDiscoveries(
        self, request: pb.ListDiscoveriesRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListDiscoveriesResponse:
        page = await self.knowledge.list_discoveries(
            current_caller(), convert.discovery_filter(request), request.page_size, request.page_token
        )
        return pb.ListDiscoveriesResponse(
            target=request.target,
            discovery_count=page.total,
            discoveries=[convert.discovery(row) for row in page.discoveries],
            next_page_token=page.next_page_token,
        )

    async def GetContext(
        self, request: pb.GetContextRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.GetContextResponse:
        found = await self.knowledge.get_context(current_caller(), request.project, request.limit)
        return convert.context(found)

    async def UpsertMemory(
        self, request: pb.UpsertMemoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.Memory:
        upserted = await self.knowledge.upsert_memory(current_caller(), convert.memory_draft(request))
        if not upserted.is_new:
            mark_existing(context)
        return convert.memory(upserted.memory)

    async def GetMemory(
        self, request: pb.GetMemoryRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Memory:
        return convert.memory(await self.knowledge.get_memory(current_caller(), request.memory_id))

    async def ListMemories(
        self, request: pb.ListMemoriesRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListMemoriesResponse:
        page = await self.knowledge.list_memories(
            current_caller(), convert.memory_filter(request), request.page_size, request.page_token
        )
        return pb.ListMemoriesResponse(
            memories=[convert.memory(row) for row in page.memories], next_page_token=page.next_page_token
        )

    async def DeleteMemory(
        self, request: pb.DeleteMemoryRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.DeleteMemoryResponse:
        deleted = await self.knowledge.delete_memory(current_caller(), convert.memory_deletion(request))
        return pb.DeleteMemoryResponse(memory_id=deleted, deleted=bool(deleted))

    async def CreateHandoff(
        self, request: pb.CreateHandoffRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.CreateHandoffResponse:
        row = await self.knowledge.create_handoff(current_caller(), convert.new_handoff(request))
        response = pb.CreateHandoffResponse(
            handoff_id=row.handoff_id,
            from_agent=row.from_agent,
            to_agent=row.to_agent,
            created_at=timestamp(row.created_at),
        )
        if row.project is not None:
            response.project = row.project
        return response

    async def GetPendingHandoff(
        self, request: pb.GetPendingHandoffRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.GetPendingHandoffResponse:
        row = await self.knowledge.pending_handoff(current_caller(), request.agent, request.project)
        return pb.GetPendingHandoffResponse(handoff=convert.handoff(row) if row is not None else None)

    async def ListRecentHandoffs(
        self, request: pb.ListRecentHandoffsRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListRecentHandoffsResponse:
        rows = await self.knowledge.recent_handoffs(
            current_caller(), request.project, request.agent, request.limit
        )
        return pb.ListRecentHandoffsResponse(count=len(rows), handoffs=[convert.handoff(row) for row in rows])

    async def ClaimHandoff(
        self, request: pb.ClaimHandoffRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ClaimHandoffResponse:
        row = await self.knowledge.claim_handoff(current_caller(), request.handoff_id)
        assert row.claimed_at is not None
        return pb.ClaimHandoffResponse(
            claimed=True, handoff_id=row.handoff_id, claimed_at=timestamp(row.claimed_at)
        )

    async def GetKnowledge(
        self, request: pb.GetKnowledgeRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.GetKnowledgeResponse:
        found = await self.knowledge.knowledge_about(
            current_caller(), request.target, request.project, request.limit
        )
        return convert.knowledge(found)

    async def Search(
        self, request: pb.SearchRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.SearchResponse:
        hits = await self.knowledge.search(
            current_caller(), request.q, request.k, request.project, request.kind
        )
        response = pb.SearchResponse(
            query=request.q, count=len(hits), results=[convert.search_result(hit) for hit in hits]
        )
        if request.project:
            response.project = request.project
        return response

    async def PurgeData(
        self, request: pb.PurgeDataRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.PurgeDataResponse:
        counts = await self.knowledge.purge(current_caller(), request.project, request.agent, request.dry_run)
        return pb.PurgeDataResponse(
            deleted_entities=counts.deleted_entities,
            deleted_edges=counts.deleted_edges,
            deleted_documents=counts.deleted_documents,
            dry_run=counts.dry_run,
        )
