"""Pure rules of session accountability: input validation and the handover verdict.

Validation returns a normalised copy of the input (defaults filled in, summaries clipped to their
limits) or raises an `EnvoyError` naming the field. Keys and identifiers that are too long are
refused rather than clipped, because clipping two different keys could make them collide; free-text
summaries are clipped, because losing the tail of a summary is better than losing the record.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from envoy_grpc import errors
from envoy_grpc.store.graph import KNOWN_LABELS
from envoy_grpc.store.session_types import (
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
    SessionEnd,
    VerificationEvidence,
)

MAX_NAME = 200
MAX_SUMMARY = 500
MAX_PATH = 4096
MAX_FILE_PATHS = 100
MAX_HANDOVER_SUMMARY = 10_000
MAX_MESSAGE_BYTES = 1024 * 1024
MAX_EVENT_TYPE = 100
MAX_ENTITY_ID = 1000
MAX_LOGS_SUMMARY = 2000
# The knowledge graph's closed set of edge labels (graph.proto), defined once by the graph store.
EDGE_LABELS = KNOWN_LABELS


def required(field_path: str, value: str, limit: int = MAX_NAME) -> str:
    """A required text field: present, not blank, at most `limit` characters."""
    if not value or not value.strip():
        raise errors.missing_fields([field_path])
    if len(value) > limit:
        raise errors.invalid_argument(field_path, f"must be at most {limit} characters, got {len(value)}")
    return value


def optional(field_path: str, value: str | None, limit: int = MAX_NAME) -> str | None:
    if value is not None and len(value) > limit:
        raise errors.invalid_argument(field_path, f"must be at most {limit} characters, got {len(value)}")
    return value


def clip(value: str, limit: int = MAX_SUMMARY) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def not_negative(field_path: str, value: float | None) -> None:
    if value is not None and value < 0:
        raise errors.invalid_argument(field_path, f"must be 0 or more, got {value}")


def session_id(value: str, field_path: str = "session_id") -> str:
    required(field_path, value)
    if "/" in value:
        raise errors.invalid_argument(
            field_path, "must not contain '/' (it is a path segment of the HTTP routes)"
        )
    return value


def limit(field_path: str, value: int, default: int, maximum: int) -> int:
    if value < 0:
        raise errors.invalid_argument(field_path, f"must be 0 (the default, {default}) or positive")
    return min(value or default, maximum)


# -- inputs ------------------------------------------------------------------------------------


def new_session(new: NewSession) -> NewSession:
    session_id(new.session_id)
    required("agent", new.agent)
    required("project", new.project)
    if new.parent_session_id:
        session_id(new.parent_session_id, "parent_session_id")
    return replace(
        new,
        tool=optional("tool", new.tool) or "unknown",
        trigger=optional("trigger", new.trigger) or "cli",
        model=optional("model", new.model),
        git_branch=optional("git_branch", new.git_branch, MAX_PATH),
        git_head=optional("git_head", new.git_head),
        parent_session_id=new.parent_session_id or None,
    )


def session_end(end: SessionEnd) -> SessionEnd:
    session_id(end.session_id)
    required("exit_status", end.exit_status)
    not_negative("total_input_tokens", end.total_input_tokens)
    not_negative("total_output_tokens", end.total_output_tokens)
    not_negative("total_cost_usd", end.total_cost_usd)
    return end


def new_prompt(new: NewPrompt) -> NewPrompt:
    session_id(new.session_id)
    required("role", new.role)
    required("input_hash", new.input_hash, MAX_SUMMARY)
    for name in ("sequence", "input_tokens", "output_tokens", "latency_ms", "cost_usd"):
        not_negative(name, getattr(new, name))
    return replace(new, input_summary=clip(new.input_summary), model=optional("model", new.model) or "")


def new_tool_call(new: NewToolCall) -> NewToolCall:
    session_id(new.session_id)
    required("tool_name", new.tool_name)
    required("exit_status", new.exit_status)
    optional("tool_use_id", new.tool_use_id)
    if len(new.file_paths) > MAX_FILE_PATHS:
        raise errors.invalid_argument(
            "file_paths", f"at most {MAX_FILE_PATHS} paths are allowed, got {len(new.file_paths)}"
        )
    for index, path in enumerate(new.file_paths):
        required(f"file_paths[{index}]", path, MAX_PATH)
    not_negative("latency_ms", new.latency_ms)
    not_negative("input_tokens_est", new.input_tokens_est)
    return replace(
        new,
        input_summary=clip(new.input_summary),
        output_summary=clip(new.output_summary),
        input_hash=clip(new.input_hash),
        output_hash=clip(new.output_hash),
    )


def new_file_write(new: NewFileWrite) -> NewFileWrite:
    session_id(new.session_id)
    required("file_path", new.file_path, MAX_PATH)
    optional("tool_use_id", new.tool_use_id)
    for name in ("lines_added", "lines_deleted", "lines_changed"):
        not_negative(name, getattr(new, name))
    return new


def new_commit(new: NewCommit) -> NewCommit:
    session_id(new.session_id)
    required("commit_sha", new.commit_sha)
    required("message", new.message, MAX_MESSAGE_BYTES)
    required("author", new.author)
    required("commit_type", new.commit_type)
    for index, path in enumerate(new.file_paths):
        required(f"file_paths[{index}]", path, MAX_PATH)
    for name in ("files_changed", "lines_inserted", "lines_deleted"):
        not_negative(name, getattr(new, name))
    return new


def new_test_run(new: NewTestRun) -> NewTestRun:
    session_id(new.session_id)
    required("test_name", new.test_name, MAX_SUMMARY)
    required("result", new.result)
    optional("tool_use_id", new.tool_use_id)
    not_negative("duration_ms", new.duration_ms)
    return replace(
        new,
        logs_summary=clip(new.logs_summary, MAX_LOGS_SUMMARY),
        test_command=clip(new.test_command, MAX_LOGS_SUMMARY),
        commit_sha=new.commit_sha or None,
    )


def new_fix_chain(new: NewFixChain) -> NewFixChain:
    session_id(new.session_id)
    for name in ("bug_commit_sha", "fix_commit_sha", "fix_type", "severity"):
        required(name, getattr(new, name))
    not_negative("cycles_to_fix", new.cycles_to_fix)
    not_negative("time_to_fix_ms", new.time_to_fix_ms)
    return new


def new_bench_run(new: NewBenchRun) -> NewBenchRun:
    session_id(new.session_id)
    required("bench_name", new.bench_name)
    return new


def new_handover(new: NewHandover) -> NewHandover:
    session_id(new.session_id)
    required("summary", new.summary, MAX_HANDOVER_SUMMARY)
    optional("last_assistant_message", new.last_assistant_message, MAX_MESSAGE_BYTES)
    optional("transcript_path", new.transcript_path, MAX_PATH)
    for index, path in enumerate(new.files_changed):
        required(f"files_changed[{index}]", path, MAX_PATH)
    return replace(new, outcome=optional("outcome", new.outcome) or "complete")


def new_event(new: NewEvent) -> NewEvent:
    session_id(new.session_id)
    required("event_type", new.event_type, MAX_EVENT_TYPE)
    required("entity_id", new.entity_id, MAX_ENTITY_ID)
    size = len(json.dumps(new.payload, separators=(",", ":")).encode())
    if size > MAX_MESSAGE_BYTES:
        raise errors.invalid_argument("payload", f"is {size} bytes of JSON; the limit is {MAX_MESSAGE_BYTES}")
    relations = new.payload.get("relations")
    if relations is not None:
        check_relations(relations)
    return new


def check_relations(relations: Any) -> None:
    """Relation hints: `[{"from": {kind, name, file_path?, data?}, "to": {…}, "edge_type", "data"?}]`."""
    if not isinstance(relations, list):
        raise errors.invalid_argument("payload.relations", "must be an array of relation hints")
    for index, item in enumerate(relations):
        path = f"payload.relations[{index}]"
        if not isinstance(item, dict):
            raise errors.invalid_argument(path, "must be an object with from, to and edge_type")
        for end in ("from", "to"):
            _check_endpoint(f"{path}.{end}", item.get(end))
        label = item.get("edge_type")
        if not isinstance(label, str) or not label:
            raise errors.missing_fields([f"{path}.edge_type"])
        if label not in EDGE_LABELS:
            raise errors.invalid_argument(
                f"{path}.edge_type",
                f"{label!r} is not a knowledge-graph label; use one of {', '.join(sorted(EDGE_LABELS))}",
                reason="UNKNOWN_EDGE_TYPE",
            )
        if "data" in item and not isinstance(item["data"], dict | type(None)):
            raise errors.invalid_argument(f"{path}.data", "must be an object")


def _check_endpoint(path: str, endpoint: Any) -> None:
    if not isinstance(endpoint, dict):
        raise errors.invalid_argument(path, "must be an object with kind and name")
    for key in ("kind", "name"):
        value = endpoint.get(key)
        if not isinstance(value, str) or not value.strip():
            raise errors.missing_fields([f"{path}.{key}"])
    if not isinstance(endpoint.get("file_path", ""), str | type(None)):
        raise errors.invalid_argument(f"{path}.file_path", "must be a string")
    if not isinstance(endpoint.get("data", {}), dict | type(None)):
        raise errors.invalid_argument(f"{path}.data", "must be an object")


# -- the handover verdict ----------------------------------------------------------------------

NO_EVIDENCE = "no test run, gate or verify event was recorded"
NOTHING_PASSED = "no test run, gate or verify event passed"


def judge(evidence: VerificationEvidence) -> tuple[bool, list[str]]:
    """Verified only with at least one passing check and nothing failed or blocked; else the reasons."""
    reasons: list[str] = []
    passing = False
    for name, result in evidence.latest_tests:
        if result == "passed":
            passing = True
        elif result == "failed":
            reasons.append(f'test "{name}" failed at its last run')
        else:
            reasons.append(f'test "{name}" did not pass at its last run (result: {result})')
    gates = [e for e in evidence.project_events if e.event_type == "gate_result"]
    if gates:
        data = gates[-1].data
        passed, total = int(data.get("gates_passed", 0)), int(data.get("gates_total", 0))
        if passed < total:
            failures = "; ".join(str(f) for f in data.get("failures") or ())
            reasons.append(
                f"the latest gate run passed {passed} of {total} gates"
                + (f": {failures}" if failures else "")
            )
        elif total > 0:
            passing = True
    for event in evidence.project_events:
        data = event.data
        if event.event_type == "task_verify":
            failed, passed = int(data.get("failed", 0)), int(data.get("passed", 0))
            if failed > 0:
                failures = "; ".join(str(f) for f in data.get("failures") or ())
                reasons.append(
                    f"verification of the {data.get('task_type', '')} deliverable of {data.get('agent_id', '')} "
                    f"failed {failed} of {passed + failed} checks" + (f": {failures}" if failures else "")
                )
            elif passed > 0:
                passing = True
        elif event.event_type == "hook_result" and int(data.get("exit_code", 0)) == 2:
            reasons.append(f'hook "{data.get("hook_name", "")}" blocked (exit code 2)')
    has_evidence = bool(evidence.latest_tests or gates) or any(
        e.event_type == "task_verify" for e in evidence.project_events
    )
    if not has_evidence:
        reasons.insert(0, NO_EVIDENCE)
    elif not passing and not reasons:
        reasons.append(NOTHING_PASSED)
    return not reasons, reasons
