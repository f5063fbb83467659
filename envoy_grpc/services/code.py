"""CodeService: a thin servicer over `envoy_grpc.core.code`.

Each method parses the request, makes one core call as the current caller and builds the response.
A repeated RegisterProject that found the project already registered says so through the response
metadata, so the gateway answers 200 instead of 201.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from envoy_grpc import errors
from envoy_grpc.core.auth import current_caller
from envoy_grpc.core.code import Code
from envoy_grpc.gen.envoy.v1 import code_pb2 as pb
from envoy_grpc.gen.envoy.v1 import code_pb2_grpc
from envoy_grpc.services import code_convert as convert
from envoy_grpc.services.code_progress import stream_index
from envoy_grpc.services.metadata import mark_existing


class CodeService(code_pb2_grpc.CodeServiceServicer):
    def __init__(self, code: Code) -> None:
        self.code = code

    async def RegisterProject(
        self, request: pb.RegisterProjectRequest, context: grpc.aio.ServicerContext
    ) -> pb.Project:
        row, is_new = await self.code.register_project(current_caller(), convert.new_project(request))
        if not is_new:
            mark_existing(context)
        return convert.project(row)

    async def ListProjects(
        self, request: pb.ListProjectsRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.ListProjectsResponse:
        rows, token = await self.code.list_projects(
            current_caller(),
            request.language,
            request.enabled if request.HasField("enabled") else None,
            request.page_size,
            request.page_token,
        )
        return pb.ListProjectsResponse(projects=[convert.project(r) for r in rows], next_page_token=token)

    async def GetProject(
        self, request: pb.GetProjectRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Project:
        return convert.project(await self.code.get_project(current_caller(), request.name))

    async def UpdateProject(
        self, request: pb.UpdateProjectRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.Project:
        if request.project.name and request.project.name != request.name:
            raise errors.invalid_argument("project.name", f"must equal name ({request.name!r}) when set")
        change, mask = convert.project_change(request)
        return convert.project(await self.code.update_project(current_caller(), request.name, change, mask))

    async def DeleteProject(
        self, request: pb.DeleteProjectRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.DeleteProjectResponse:
        deleted = await self.code.delete_project(current_caller(), request.name, request.allow_missing)
        return pb.DeleteProjectResponse(name=request.name, deleted=deleted)

    async def IndexProject(
        self, request: pb.IndexProjectRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.IndexProjectResponse:
        result = await self.code.index_project(current_caller(), request.name, request.full)
        return convert.index_response(result)

    async def IndexProjectWithProgress(
        self, request: pb.IndexProjectWithProgressRequest, unused_context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.IndexProgress]:
        caller = current_caller()
        runs = stream_index(
            request.name,
            lambda progress: self.code.index_project(caller, request.name, request.full, progress),
        )
        async for report in runs:
            yield report

    async def CrossSearch(
        self, request: pb.CrossSearchRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.CrossSearchResponse:
        found = await self.code.search(
            current_caller(), request.q, request.language, request.k, request.kind, request.project
        )
        response = pb.CrossSearchResponse(
            query=request.q,
            count=len(found.hits),
            results=[convert.entity(e) for e in found.hits],
            warnings=[convert.warning(w) for w in found.warnings],
        )
        if request.language:
            response.language = request.language
        return response

    async def CrossNavigate(
        self, request: pb.CrossNavigateRequest, unused_context: grpc.aio.ServicerContext
    ) -> pb.CrossNavigateResponse:
        found = await self.code.navigate(
            current_caller(),
            request.q,
            request.language,
            request.k,
            request.depth,
            request.max_nodes,
            request.project,
        )
        response = pb.CrossNavigateResponse(
            query=request.q,
            count=len(found.views),
            views=[convert.view(v) for v in found.views],
            warnings=[convert.warning(w) for w in found.warnings],
        )
        if request.language:
            response.language = request.language
        return response
