"""The shapes of session accountability: what a caller records (`New*`) and what the store returns (`*Row`).

Plain frozen dataclasses, shared by the store, the core (`envoy_grpc.core.sessions`, also called
directly by the hook adapter) and the servicers. Field names follow the proto, so conversions are
one-to-one. A `*Row` is built from a plain SQL tuple whose columns are in field order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# -- what callers record -----------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    session_id: str
    agent: str
    project: str
    tool: str = ""  # empty means "unknown"
    trigger: str = ""  # empty means "cli"
    model: str | None = None
    git_branch: str | None = None
    git_head: str | None = None
    parent_session_id: str | None = None


@dataclass(frozen=True)
class SessionEnd:
    session_id: str
    exit_status: str
    # None keeps what is recorded (the sum over the prompts, or an earlier EndSession's total).
    total_input_tokens: int | None = None
    total_output_tokens: int | None = None
    total_cost_usd: float | None = None


@dataclass(frozen=True)
class NewPrompt:
    session_id: str
    role: str
    input_hash: str
    sequence: int = 0  # 0: the next number in the session
    input_summary: str = ""
    input_tokens: int | None = None
    output_hash: str = ""
    output_tokens: int | None = None
    latency_ms: int | None = None
    model: str = ""
    cost_usd: float | None = None


@dataclass(frozen=True)
class NewToolCall:
    session_id: str
    tool_name: str
    exit_status: str
    tool_use_id: str = ""  # the idempotency key when given
    tool_version: str = ""
    input_hash: str = ""
    input_summary: str = ""
    output_hash: str = ""
    output_summary: str = ""
    latency_ms: int | None = None
    input_tokens_est: int | None = None
    tool_category: str = ""
    file_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewFileWrite:
    session_id: str
    file_path: str
    file_id: str = ""
    before_hash: str = ""
    after_hash: str = ""
    lines_added: int | None = None
    lines_deleted: int | None = None
    lines_changed: int | None = None
    write_type: str = ""
    tool_use_id: str = ""  # links the write to its tool call, and makes it idempotent


@dataclass(frozen=True)
class NewCommit:
    session_id: str
    commit_sha: str
    message: str
    author: str
    commit_type: str
    parent_sha: str | None = None
    files_changed: int = 0
    lines_inserted: int = 0
    lines_deleted: int = 0
    feature_tag: str | None = None
    file_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewTestRun:
    session_id: str
    test_name: str
    result: str  # only "passed" counts as passing
    test_suite: str = ""
    test_command: str = ""
    duration_ms: int | None = None
    logs_summary: str = ""
    commit_sha: str | None = None
    tool_use_id: str = ""  # the idempotency key when given


@dataclass(frozen=True)
class NewFixChain:
    session_id: str
    bug_commit_sha: str
    fix_commit_sha: str
    fix_type: str
    severity: str
    cycles_to_fix: int | None = None
    time_to_fix_ms: int | None = None


@dataclass(frozen=True)
class NewBenchRun:
    session_id: str
    bench_name: str
    mean_ns: int | None = None
    median_ns: int | None = None
    p95_ns: int | None = None
    is_regression: bool = False


@dataclass(frozen=True)
class NewHandover:
    session_id: str
    summary: str
    files_changed: tuple[str, ...] = ()  # empty: the files the session's writes name
    outcome: str = ""  # empty means "complete"
    last_assistant_message: str | None = None
    transcript_path: str | None = None
    to_agent: str = ""  # empty: the parent of the session's agent
    to_session_id: str = ""  # empty: the session's parent_session_id


@dataclass(frozen=True)
class NewEvent:
    session_id: str
    event_type: str
    entity_id: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewProjectEvent:
    """A project event as the core derived it (type, severity, source, message and data)."""

    project: str
    event_type: str
    severity: str
    source: str
    message: str
    data: dict[str, Any]
    session_id: str | None = None
    agent_id: str = ""
    task_id: str | None = None


# -- what the store returns --------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    agent: str
    agent_id: str
    project: str
    tool: str
    trigger: str
    model: str | None
    git_branch: str | None
    git_head: str | None
    parent_session_id: str | None
    started_at: float
    ended_at: float | None
    exit_status: str | None
    prompt_count: int
    tool_call_count: int
    file_write_count: int
    commit_count: int
    test_run_count: int
    event_count: int
    last_tool: str | None
    last_tool_summary: str | None
    total_input_tokens: int
    total_output_tokens: int
    total_cost_usd: float


@dataclass(frozen=True)
class SessionCreated:
    session: SessionRow
    is_new: bool


@dataclass(frozen=True)
class Recorded:
    """The answer to recording one piece of evidence."""

    session_id: str
    record_id: int
    # False when an idempotency key (tool_use_id, commit SHA, ...) matched an earlier record.
    is_new: bool = True
    # The record's position in its session (prompts and tool calls); 0 for other records.
    sequence: int = 0


@dataclass(frozen=True)
class EventRecorded:
    session_id: str
    event_id: int
    relations_added: int


@dataclass(frozen=True)
class EventRow:
    event_id: int
    session_id: str
    event_type: str
    entity_id: str
    payload_json: str
    agent_id: str
    created_at: float

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.payload_json)
        return parsed


@dataclass(frozen=True)
class PromptRow:
    prompt_id: int
    session_id: str
    agent_id: str
    sequence: int
    role: str
    input_hash: str
    input_summary: str
    output_hash: str
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: int | None
    model: str
    cost_usd: float | None
    created_at: float


@dataclass(frozen=True)
class ToolCallRow:
    tool_call_id: int
    session_id: str
    agent_id: str
    tool_use_id: str
    sequence: int
    tool_name: str
    tool_version: str
    tool_category: str
    exit_status: str
    input_hash: str
    input_summary: str
    output_hash: str
    output_summary: str
    latency_ms: int | None
    input_tokens_est: int | None
    file_paths_json: str
    created_at: float

    @property
    def file_paths(self) -> list[str]:
        parsed: list[str] = json.loads(self.file_paths_json)
        return parsed


@dataclass(frozen=True)
class FileWriteRow:
    file_write_id: int
    session_id: str
    project: str
    agent_id: str
    tool_use_id: str
    file_path: str
    file_id: str
    before_hash: str
    after_hash: str
    lines_added: int | None
    lines_deleted: int | None
    lines_changed: int | None
    write_type: str
    created_at: float


@dataclass(frozen=True)
class CommitRow:
    commit_id: int
    session_id: str
    commit_sha: str
    parent_sha: str | None
    message: str
    author: str
    commit_type: str
    files_changed: int
    lines_inserted: int
    lines_deleted: int
    file_paths_json: str
    feature_tag: str | None
    created_at: float

    @property
    def file_paths(self) -> list[str]:
        parsed: list[str] = json.loads(self.file_paths_json)
        return parsed


@dataclass(frozen=True)
class HandoverRow:
    handover_id: int
    session_id: str
    agent_id: str
    to_agent: str
    to_session_id: str | None
    summary: str
    files_changed_json: str
    outcome: str
    last_assistant_message: str | None
    transcript_path: str | None
    verified: bool
    verification_reasons_json: str
    created_at: float

    @property
    def files_changed(self) -> list[str]:
        parsed: list[str] = json.loads(self.files_changed_json)
        return parsed

    @property
    def verification_reasons(self) -> list[str]:
        parsed: list[str] = json.loads(self.verification_reasons_json)
        return parsed


@dataclass(frozen=True)
class ProjectEventRow:
    event_id: int
    project: str
    event_type: str
    severity: str
    source: str
    message: str
    data_json: str
    session_id: str | None
    agent_id: str
    task_id: str | None
    created_at: float

    @property
    def data(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.data_json)
        return parsed


@dataclass(frozen=True)
class SessionDetail:
    """GetSession: the session, its newest tool calls and events, and its handovers."""

    session: SessionRow
    tool_calls: list[EventRow]
    events: list[EventRow]
    handovers: list[HandoverRow]


@dataclass(frozen=True)
class FileChange:
    """One write to a file with who made it and why (GetFileHistory)."""

    write: FileWriteRow
    agent: str
    tool_call: ToolCallRow | None
    prompt: PromptRow | None
    handover: HandoverRow | None
    commit: CommitRow | None


@dataclass(frozen=True)
class FileHistory:
    path: str
    changes: list[FileChange]
    next_page_token: str


@dataclass(frozen=True)
class VerificationEvidence:
    """What a session recorded that judges its work: the input of the handover verdict."""

    # The latest result of each test the session ran: (test_name, result).
    latest_tests: list[tuple[str, str]]
    # Gate, hook and verify events counting for the session, oldest first.
    project_events: list[ProjectEventRow]
