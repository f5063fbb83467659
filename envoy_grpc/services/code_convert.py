"""Conversions between the code area's rows and protos."""

from __future__ import annotations

from google.protobuf import duration_pb2

from envoy_grpc.core.code import IndexResult, NewProject, ProjectChange
from envoy_grpc.core.code_search import Edge, Entity, View, Warning_
from envoy_grpc.gen.envoy.v1 import code_pb2 as pb
from envoy_grpc.services.convert import timestamp
from envoy_grpc.services.session_convert import struct
from envoy_grpc.store.code import ProjectRow


def new_project(r: pb.RegisterProjectRequest) -> NewProject:
    return NewProject(
        name=r.name,
        root_path=r.root_path,
        languages=list(r.languages),
        index_path=r.index_path if r.HasField("index_path") else None,
        enabled=r.enabled if r.HasField("enabled") else None,
    )


def project_change(r: pb.UpdateProjectRequest) -> tuple[ProjectChange, list[str] | None]:
    p = r.project
    change = ProjectChange(
        enabled=p.enabled if p.HasField("enabled") else None,
        languages=tuple(p.languages),
        root_path=p.root_path,
        index_path=p.index_path,
    )
    return change, list(r.update_mask.paths) if r.HasField("update_mask") else None


def project(row: ProjectRow) -> pb.Project:
    proto = pb.Project(
        name=row.name,
        root_path=row.root_path,
        languages=row.languages,
        index_path=row.index_path,
        enabled=row.enabled,
        external_index=row.external,
        file_count=row.file_count,
        symbol_count=row.symbol_count,
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
    )
    if row.last_indexed_at is not None:
        proto.last_indexed_at.CopyFrom(timestamp(row.last_indexed_at))
    return proto


def index_response(result: IndexResult) -> pb.IndexProjectResponse:
    elapsed = duration_pb2.Duration()
    elapsed.FromMicroseconds(round(result.seconds * 1_000_000))
    return pb.IndexProjectResponse(
        project=result.project,
        files=result.files,
        skipped=result.skipped,
        removed=result.removed,
        symbols=result.symbols,
        calls=result.calls,
        imports=result.imports,
        references=result.references,
        elapsed=elapsed,
    )


def entity(e: Entity) -> pb.CodeEntity:
    proto = pb.CodeEntity(
        project=e.project,
        id=e.id,
        kind=e.kind,
        name=e.name,
        line=e.line,
        column=e.column,
        qualified_name=e.qualified_name,
        score=e.score,
        data=struct(e.data),
    )
    if e.file_path is not None:
        proto.file_path = e.file_path
    return proto


def edge(e: Edge) -> pb.CodeEdge:
    return pb.CodeEdge(
        id=e.id,
        kind=e.kind,
        from_id=e.from_id,
        to_id=e.to_id,
        data=struct(e.data),
        from_project=e.from_project,
        to_project=e.to_project,
    )


def warning(w: Warning_) -> pb.ProjectWarning:
    return pb.ProjectWarning(project=w.project, code=w.code, message=w.message)


def view(v: View) -> pb.CodeView:
    return pb.CodeView(
        project=v.project,
        entry_id=v.entry_id,
        entities=[entity(e) for e in v.entities],
        edges=[edge(e) for e in v.edges],
        truncated=v.truncated,
    )
