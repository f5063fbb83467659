"""SessionService and ProjectEventService: thin servicers over `envoy_grpc.core.sessions`.

Each method parses the request, makes one core call as the current caller (records are attributed to
the caller's own agent; the hook adapter calls the core directly to attribute them to others) and
builds the response.
"""

from __future__ import annotations

import grpc

from envoy_grpc.core.auth import current_caller
from envoy_grpc.core.leases import Leases
from envoy_grpc.core.sessions import Sessions
from envoy_grpc.gen.envoy.v1 import sessions_pb2 as pb
from envoy_grpc.gen.envoy.v1 import sessions_pb2_grpc
from envoy_grpc.services import coordination_convert
from envoy_grpc.services import session_convert as convert
from envoy_grpc.services.metadata import mark_existing


class SessionService(sessions_pb2_grpc.SessionServiceServicer):
    def __init__(self, sessions: Sessions, leases: Leases | None = None) -> None:
        self.sessions = sessions
        # A file's history also lists the leases that cover it.
        self.leases = leases

    async def CreateSession(
        self, request: pb.CreateSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateSessionResponse:
        created = await self.sessions.create_session(current_caller(), convert.new_session(request))
        if not created.is_new:
            mark_existing(context)
        return pb.CreateSessionResponse(session_id=request.session_id, recorded=True, is_new=created.is_new)

    async def ListSessions(
        self, request: pb.ListSessionsRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListSessionsResponse:
        rows = await self.sessions.list_sessions(
            current_caller(), request.project, request.last, request.parent_id
        )
        return pb.ListSessionsResponse(sessions=[convert.session(row) for row in rows])

    async def GetSession(
        self, request: pb.GetSessionRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.GetSessionResponse:
        detail = await self.sessions.get_session(current_caller(), request.session_id, request.limit)
        return pb.GetSessionResponse(
            session=convert.session(detail.session),
            event_count=detail.session.event_count,
            tool_call_count=detail.session.tool_call_count,
            tool_calls=[convert.event(row) for row in detail.tool_calls],
            events=[convert.event(row) for row in detail.events],
            handovers=[convert.handover(row) for row in detail.handovers],
        )

    async def EndSession(
        self, request: pb.EndSessionRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Session:
        return convert.session(
            await self.sessions.end_session(current_caller(), convert.session_end(request))
        )

    async def RecordHandover(
        self, request: pb.RecordHandoverRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.RecordHandoverResponse:
        row = await self.sessions.record_handover(current_caller(), convert.new_handover(request))
        response = pb.RecordHandoverResponse(
            recorded=True,
            handover_id=row.handover_id,
            session_id=row.session_id,
            to_agent=row.to_agent,
            verified=row.verified,
            verification_reasons=row.verification_reasons,
        )
        if row.to_session_id is not None:
            response.to_session_id = row.to_session_id
        return response

    async def RecordPrompt(
        self, request: pb.RecordPromptRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.RecordPromptResponse:
        done = await self.sessions.record_prompt(current_caller(), convert.new_prompt(request))
        return pb.RecordPromptResponse(
            recorded=True, session_id=done.session_id, prompt_id=done.record_id, sequence=done.sequence
        )

    async def RecordToolCall(
        self, request: pb.RecordToolCallRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.RecordToolCallResponse:
        done = await self.sessions.record_tool_call(current_caller(), convert.new_tool_call(request))
        return pb.RecordToolCallResponse(
            recorded=True,
            session_id=done.session_id,
            tool_call_id=done.record_id,
            sequence=done.sequence,
            is_new=done.is_new,
        )

    async def ListRecentToolCalls(
        self, request: pb.ListRecentToolCallsRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListRecentToolCallsResponse:
        rows = await self.sessions.recent_tool_calls(current_caller(), request.session_id, request.limit)
        return pb.ListRecentToolCallsResponse(
            count=len(rows), usage=convert.tool_usage(rows), events=[convert.event(row) for row in rows]
        )

    async def RecordFileWrite(
        self, request: pb.RecordFileWriteRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.RecordFileWriteResponse:
        done = await self.sessions.record_file_write(current_caller(), convert.new_file_write(request))
        return pb.RecordFileWriteResponse(
            recorded=True, session_id=done.session_id, file_write_id=done.record_id, is_new=done.is_new
        )

    async def RecordCommit(
        self, request: pb.RecordCommitRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.RecordCommitResponse:
        done = await self.sessions.record_commit(current_caller(), convert.new_commit(request))
        return pb.RecordCommitResponse(
            recorded=True, session_id=done.session_id, commit_id=done.record_id, is_new=done.is_new
        )

    async def RecordTestRun(
        self, request: pb.RecordTestRunRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.RecordTestRunResponse:
        done = await self.sessions.record_test_run(current_caller(), convert.new_test_run(request))
        return pb.RecordTestRunResponse(
            recorded=True, session_id=done.session_id, test_run_id=done.record_id, is_new=done.is_new
        )

    async def RecordFixChain(
        self, request: pb.RecordFixChainRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.RecordFixChainResponse:
        done = await self.sessions.record_fix_chain(current_caller(), convert.new_fix_chain(request))
        return pb.RecordFixChainResponse(
            recorded=True, session_id=done.session_id, fix_chain_id=done.record_id
        )

    async def RecordBenchRun(
        self, request: pb.RecordBenchRunRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.RecordBenchRunResponse:
        done = await self.sessions.record_bench_run(current_caller(), convert.new_bench_run(request))
        return pb.RecordBenchRunResponse(
            recorded=True, session_id=done.session_id, bench_run_id=done.record_id
        )

    async def RecordEvent(
        self, request: pb.RecordEventRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.RecordEventResponse:
        done = await self.sessions.record_event(current_caller(), convert.new_event(request))
        return pb.RecordEventResponse(
            recorded=True,
            session_id=done.session_id,
            event_id=done.event_id,
            relations_added=done.relations_added,
        )

    async def ListEvents(
        self, request: pb.ListEventsRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListEventsResponse:
        rows = await self.sessions.list_events(
            current_caller(), request.session_id, request.event_type, request.limit
        )
        return pb.ListEventsResponse(events=[convert.event(row) for row in rows])

    async def GetFileHistory(
        self, request: pb.GetFileHistoryRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.GetFileHistoryResponse:
        found = await self.sessions.file_history(
            current_caller(), request.path, request.project, request.page_size, request.page_token
        )
        response = pb.GetFileHistoryResponse(
            path=found.path,
            changes=[convert.file_change(change) for change in found.changes],
            next_page_token=found.next_page_token,
        )
        if self.leases is not None and not request.page_token:
            projects = (
                [request.project]
                if request.project
                else [c.write.project for c in found.changes if c.write.project]
            )
            covering = await self.leases.covering(request.path, projects)
            response.leases.extend(coordination_convert.lease(row, self.leases.now()) for row in covering)
        return response


class ProjectEventService(sessions_pb2_grpc.ProjectEventServiceServicer):
    def __init__(self, sessions: Sessions) -> None:
        self.events = sessions.project_events

    async def RecordGateEvent(
        self, request: pb.RecordGateEventRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ProjectEvent:
        return convert.project_event(
            await self.events.record_gate_event(current_caller(), convert.gate_result(request))
        )

    async def RecordHookEvent(
        self, request: pb.RecordHookEventRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ProjectEvent:
        return convert.project_event(
            await self.events.record_hook_event(current_caller(), convert.hook_result(request))
        )

    async def RecordCiEvent(
        self, request: pb.RecordCiEventRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ProjectEvent:
        return convert.project_event(
            await self.events.record_ci_event(current_caller(), convert.ci_status(request))
        )

    async def RecordDocEvent(
        self, request: pb.RecordDocEventRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ProjectEvent:
        return convert.project_event(
            await self.events.record_doc_event(current_caller(), convert.doc_sync(request))
        )

    async def RecordVerifyEvent(
        self, request: pb.RecordVerifyEventRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ProjectEvent:
        return convert.project_event(
            await self.events.record_verify_event(current_caller(), convert.verify_result(request))
        )

    async def ListProjectEvents(
        self, request: pb.ListProjectEventsRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListProjectEventsResponse:
        rows = await self.events.list_project_events(
            current_caller(), request.project, convert.seconds(request, "since"), request.limit
        )
        return pb.ListProjectEventsResponse(
            events=[convert.project_event(row) for row in rows], count=len(rows)
        )

    async def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListAuditEventsResponse:
        rows = await self.events.list_audit_events(
            current_caller(),
            request.agent_id,
            request.operation,
            request.task_id,
            convert.seconds(request, "since"),
            request.limit,
        )
        return pb.ListAuditEventsResponse(
            events=[convert.project_event(row) for row in rows], count=len(rows)
        )
