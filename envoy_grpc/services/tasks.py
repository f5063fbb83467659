"""TaskService: a thin servicer over `envoy_grpc.core.tasks`."""

from __future__ import annotations

import grpc

from envoy_grpc.core.auth import current_caller
from envoy_grpc.core.tasks import Tasks
from envoy_grpc.gen.envoy.v1 import tasks_pb2 as pb
from envoy_grpc.gen.envoy.v1 import tasks_pb2_grpc
from envoy_grpc.services import coordination_convert as convert


class TaskService(tasks_pb2_grpc.TaskServiceServicer):
    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks

    async def ProposeTask(
        self, request: pb.ProposeTaskRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Task:
        row = await self.tasks.propose(
            current_caller(), request.project, request.description, request.title, list(request.blocked_by)
        )
        return convert.task(row)

    async def ClaimNextTask(
        self, request: pb.ClaimNextTaskRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Task:
        return convert.task(await self.tasks.claim_next(current_caller(), request.project, request.agent_id))

    async def ClaimTask(
        self, request: pb.ClaimTaskRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Task:
        return convert.task(await self.tasks.claim(current_caller(), request.task_id, request.agent_id))

    async def SetTaskState(
        self, request: pb.SetTaskStateRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Task:
        row = await self.tasks.set_state(
            current_caller(),
            request.task_id,
            convert.task_state_name(request.state),
            request.checkpoint if request.HasField("checkpoint") else None,
            request.agent_id,
        )
        return convert.task(row)

    async def ReleaseTask(
        self, request: pb.ReleaseTaskRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Task:
        return convert.task(await self.tasks.release(current_caller(), request.task_id))

    async def ListTasks(
        self, request: pb.ListTasksRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListTasksResponse:
        page = await self.tasks.list_tasks(
            current_caller(),
            request.project,
            convert.task_state_name(request.state),
            request.page_size,
            request.page_token,
        )
        return pb.ListTasksResponse(
            tasks=[convert.task(row) for row in page.tasks],
            count=len(page.tasks),
            next_page_token=page.next_page_token,
        )

    async def GetTask(self, request: pb.GetTaskRequest, unused_context: grpc.aio.ServicerContext) -> pb.Task:
        return convert.task(await self.tasks.get(current_caller(), request.task_id))

    async def ListTaskEvents(
        self, request: pb.ListTaskEventsRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListTaskEventsResponse:
        rows = await self.tasks.events(current_caller(), request.task_id)
        return pb.ListTaskEventsResponse(events=[convert.task_event(row) for row in rows], count=len(rows))
