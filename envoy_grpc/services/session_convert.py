"""Conversions between the session area's protos and the core's dataclasses.

Rows become protos by keyword: a None value is left unset, so optional fields print `null` over HTTP
and timestamps that are not set are absent. Requests become the core's input dataclasses field by
field, with `optional` proto fields turned into None when absent.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from google.protobuf import json_format, message, struct_pb2

from envoy_grpc import errors
from envoy_grpc.core.project_events import CiStatus, DocSync, GateResult, HookResult, VerifyResult
from envoy_grpc.gen.envoy.v1 import sessions_pb2 as pb
from envoy_grpc.services.convert import timestamp
from envoy_grpc.services.message_convert import plain_json
from envoy_grpc.store.session_types import (
    CommitRow,
    EventRow,
    FileChange,
    FileWriteRow,
    HandoverRow,
    NewBenchRun,
    NewCommit,
    NewEvent,
    NewFileWrite,
    NewFixChain,
    NewHandover,
    NewPrompt,
    NewSession,
    NewTestRun,
    NewToolCall,
    ProjectEventRow,
    PromptRow,
    SessionEnd,
    SessionRow,
    ToolCallRow,
)

EVENT_TYPES = {
    "ci_status": pb.PROJECT_EVENT_TYPE_CI_STATUS,
    "hook_result": pb.PROJECT_EVENT_TYPE_HOOK_RESULT,
    "gate_result": pb.PROJECT_EVENT_TYPE_GATE_RESULT,
    "doc_sync": pb.PROJECT_EVENT_TYPE_DOC_SYNC,
    "task_handoff": pb.PROJECT_EVENT_TYPE_TASK_HANDOFF,
    "gate_block": pb.PROJECT_EVENT_TYPE_GATE_BLOCK,
    "graph_refresh": pb.PROJECT_EVENT_TYPE_GRAPH_REFRESH,
    "task_verify": pb.PROJECT_EVENT_TYPE_TASK_VERIFY,
    "audit_log": pb.PROJECT_EVENT_TYPE_AUDIT_LOG,
}
SEVERITIES = {
    "info": pb.PROJECT_EVENT_SEVERITY_INFO,
    "warning": pb.PROJECT_EVENT_SEVERITY_WARNING,
    "blocking": pb.PROJECT_EVENT_SEVERITY_BLOCKING,
}


def _present(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _opt(request: message.Message, name: str) -> Any:
    """An `optional` field's value, or None when it was not sent."""
    return getattr(request, name) if request.HasField(name) else None


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def struct_to_dict(value: struct_pb2.Struct) -> dict[str, Any]:
    converted: dict[str, Any] = plain_json(json_format.MessageToDict(value))
    return converted


def seconds(request: message.Message, name: str) -> float | None:
    """A Timestamp field as float seconds, or None when it was not sent; an invalid one is the caller's mistake."""
    if not request.HasField(name):
        return None
    try:
        return float(getattr(request, name).ToMicroseconds()) / 1e6
    except ValueError as error:  # nanos outside 0..999,999,999 or seconds outside years 1..9999
        raise errors.invalid_argument(name, f"must be a valid timestamp ({error})") from None


# -- rows to protos ----------------------------------------------------------------------------


def session(row: SessionRow) -> pb.Session:
    return pb.Session(
        **_present(
            session_id=row.session_id,
            agent=row.agent,
            agent_id=row.agent_id,
            project=row.project,
            tool=row.tool,
            trigger=row.trigger,
            model=row.model,
            git_branch=row.git_branch,
            git_head=row.git_head,
            parent_session_id=row.parent_session_id,
            started_at=timestamp(row.started_at),
            ended_at=timestamp(row.ended_at) if row.ended_at is not None else None,
            exit_status=row.exit_status,
            prompt_count=row.prompt_count,
            tool_call_count=row.tool_call_count,
            file_write_count=row.file_write_count,
            commit_count=row.commit_count,
            test_run_count=row.test_run_count,
            last_tool=row.last_tool,
            last_tool_summary=row.last_tool_summary,
            total_input_tokens=row.total_input_tokens,
            total_output_tokens=row.total_output_tokens,
            total_cost_usd=row.total_cost_usd,
        )
    )


def event(row: EventRow) -> pb.SessionEvent:
    return pb.SessionEvent(
        event_id=row.event_id,
        event_type=row.event_type,
        entity_id=row.entity_id,
        session_id=row.session_id,
        payload=struct(row.payload),
        timestamp=timestamp(row.created_at),
        agent_id=row.agent_id,
    )


def tool_usage(rows: list[EventRow]) -> list[pb.ToolUsage]:
    """Use per tool among `rows`, most used first, then by name."""
    counts = Counter(str(row.payload.get("tool_name", "")) for row in rows)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [pb.ToolUsage(tool_name=name, count=count) for name, count in ranked]


def prompt(row: PromptRow) -> pb.Prompt:
    return pb.Prompt(
        **_present(**{k: v for k, v in row.__dict__.items() if k not in ("agent_id", "created_at")}),
        created_at=timestamp(row.created_at),
    )


def tool_call(row: ToolCallRow) -> pb.ToolCall:
    fields = {k: v for k, v in row.__dict__.items() if k not in ("file_paths_json", "created_at")}
    return pb.ToolCall(**_present(**fields), file_paths=row.file_paths, created_at=timestamp(row.created_at))


def file_write(row: FileWriteRow) -> pb.FileWrite:
    fields = {k: v for k, v in row.__dict__.items() if k not in ("project", "created_at")}
    return pb.FileWrite(**_present(**fields), created_at=timestamp(row.created_at))


def commit(row: CommitRow) -> pb.Commit:
    fields = {k: v for k, v in row.__dict__.items() if k not in ("file_paths_json", "created_at")}
    return pb.Commit(**_present(**fields), file_paths=row.file_paths, created_at=timestamp(row.created_at))


def handover(row: HandoverRow) -> pb.Handover:
    skipped = ("files_changed_json", "verification_reasons_json", "created_at")
    fields = {k: v for k, v in row.__dict__.items() if k not in skipped}
    return pb.Handover(
        **_present(**fields),
        files_changed=row.files_changed,
        verification_reasons=row.verification_reasons,
        created_at=timestamp(row.created_at),
    )


def file_change(change: FileChange) -> pb.FileChange:
    return pb.FileChange(
        **_present(
            write=file_write(change.write),
            project=change.write.project,
            agent=change.agent,
            agent_id=change.write.agent_id,
            tool_call=tool_call(change.tool_call) if change.tool_call else None,
            prompt=prompt(change.prompt) if change.prompt else None,
            handover=handover(change.handover) if change.handover else None,
            commit=commit(change.commit) if change.commit else None,
        )
    )


def project_event(row: ProjectEventRow) -> pb.ProjectEvent:
    return pb.ProjectEvent(
        **_present(
            id=str(row.event_id),
            project=row.project,
            event_type=EVENT_TYPES.get(row.event_type, pb.PROJECT_EVENT_TYPE_UNSPECIFIED),
            severity=SEVERITIES.get(row.severity, pb.PROJECT_EVENT_SEVERITY_UNSPECIFIED),
            source=row.source,
            message=row.message,
            data=struct(row.data),
            timestamp=timestamp(row.created_at),
            session_id=row.session_id,
            agent_id=row.agent_id,
        )
    )


# -- requests to inputs ------------------------------------------------------------------------


def new_session(r: pb.CreateSessionRequest) -> NewSession:
    return NewSession(
        session_id=r.session_id,
        agent=r.agent,
        project=r.project,
        tool=r.tool,
        trigger=r.trigger,
        model=_opt(r, "model"),
        git_branch=_opt(r, "git_branch"),
        git_head=_opt(r, "git_head"),
        parent_session_id=_opt(r, "parent_session_id"),
    )


def session_end(r: pb.EndSessionRequest) -> SessionEnd:
    return SessionEnd(
        session_id=r.session_id,
        exit_status=r.exit_status,
        total_input_tokens=_opt(r, "total_input_tokens"),
        total_output_tokens=_opt(r, "total_output_tokens"),
        total_cost_usd=_opt(r, "total_cost_usd"),
    )


def new_prompt(r: pb.RecordPromptRequest) -> NewPrompt:
    return NewPrompt(
        session_id=r.session_id,
        role=r.role,
        input_hash=r.input_hash,
        sequence=r.sequence,
        input_summary=r.input_summary,
        input_tokens=_opt(r, "input_tokens"),
        output_hash=r.output_hash,
        output_tokens=_opt(r, "output_tokens"),
        latency_ms=_opt(r, "latency_ms"),
        model=r.model,
        cost_usd=_opt(r, "cost_usd"),
    )


def new_tool_call(r: pb.RecordToolCallRequest) -> NewToolCall:
    return NewToolCall(
        session_id=r.session_id,
        tool_name=r.tool_name,
        exit_status=r.exit_status,
        tool_use_id=r.tool_use_id,
        tool_version=r.tool_version,
        input_hash=r.input_hash,
        input_summary=r.input_summary,
        output_hash=r.output_hash,
        output_summary=r.output_summary,
        latency_ms=_opt(r, "latency_ms"),
        input_tokens_est=_opt(r, "input_tokens_est"),
        tool_category=r.tool_category,
        file_paths=tuple(r.file_paths),
    )


def new_file_write(r: pb.RecordFileWriteRequest) -> NewFileWrite:
    return NewFileWrite(
        session_id=r.session_id,
        file_path=r.file_path,
        file_id=r.file_id,
        before_hash=r.before_hash,
        after_hash=r.after_hash,
        lines_added=_opt(r, "lines_added"),
        lines_deleted=_opt(r, "lines_deleted"),
        lines_changed=_opt(r, "lines_changed"),
        write_type=r.write_type,
        tool_use_id=r.tool_use_id,
    )


def new_commit(r: pb.RecordCommitRequest) -> NewCommit:
    return NewCommit(
        session_id=r.session_id,
        commit_sha=r.commit_sha,
        message=r.message,
        author=r.author,
        commit_type=r.commit_type,
        parent_sha=_opt(r, "parent_sha"),
        files_changed=r.files_changed,
        lines_inserted=r.lines_inserted,
        lines_deleted=r.lines_deleted,
        feature_tag=_opt(r, "feature_tag"),
        file_paths=tuple(r.file_paths),
    )


def new_test_run(r: pb.RecordTestRunRequest) -> NewTestRun:
    return NewTestRun(
        session_id=r.session_id,
        test_name=r.test_name,
        result=r.result,
        test_suite=r.test_suite,
        test_command=r.test_command,
        duration_ms=_opt(r, "duration_ms"),
        logs_summary=r.logs_summary,
        commit_sha=_opt(r, "commit_sha"),
        tool_use_id=r.tool_use_id,
    )


def new_fix_chain(r: pb.RecordFixChainRequest) -> NewFixChain:
    return NewFixChain(
        session_id=r.session_id,
        bug_commit_sha=r.bug_commit_sha,
        fix_commit_sha=r.fix_commit_sha,
        fix_type=r.fix_type,
        severity=r.severity,
        cycles_to_fix=_opt(r, "cycles_to_fix"),
        time_to_fix_ms=_opt(r, "time_to_fix_ms"),
    )


def new_bench_run(r: pb.RecordBenchRunRequest) -> NewBenchRun:
    return NewBenchRun(
        session_id=r.session_id,
        bench_name=r.bench_name,
        mean_ns=_opt(r, "mean_ns"),
        median_ns=_opt(r, "median_ns"),
        p95_ns=_opt(r, "p95_ns"),
        is_regression=r.is_regression,
    )


def new_handover(r: pb.RecordHandoverRequest) -> NewHandover:
    return NewHandover(
        session_id=r.session_id,
        summary=r.summary,
        files_changed=tuple(r.files_changed),
        outcome=r.outcome,
        last_assistant_message=_opt(r, "last_assistant_message"),
        transcript_path=_opt(r, "transcript_path"),
        to_agent=r.to_agent,
        to_session_id=r.to_session_id,
    )


def new_event(r: pb.RecordEventRequest) -> NewEvent:
    return NewEvent(r.session_id, r.event_type, r.entity_id, struct_to_dict(r.payload))


def gate_result(r: pb.RecordGateEventRequest) -> GateResult:
    return GateResult(r.project, r.gates_passed, r.gates_total, tuple(r.failures), _opt(r, "session_id"))


def hook_result(r: pb.RecordHookEventRequest) -> HookResult:
    return HookResult(r.project, r.hook_name, r.exit_code, r.output, _opt(r, "session_id"))


def ci_status(r: pb.RecordCiEventRequest) -> CiStatus:
    return CiStatus(r.project, r.run_id, r.status, _opt(r, "conclusion"), r.head_branch, r.display_title)


def doc_sync(r: pb.RecordDocEventRequest) -> DocSync:
    return DocSync(r.project, tuple(r.doc_files), r.last_updated_seconds)


def verify_result(r: pb.RecordVerifyEventRequest) -> VerifyResult:
    return VerifyResult(
        project=r.project,
        agent_id=r.agent_id,
        task_type=r.task_type,
        claimed_files=tuple(r.claimed_files),
        passed=r.passed,
        failed=r.failed,
        failures=tuple(r.failures),
        session_id=_opt(r, "session_id"),
    )
