"""Project events (gate, hook, CI, doc and verify results) and the audit log.

Each Record method derives the event's type, severity, source, message and data from the request
with the original envoy's rules (envoy-api.md §1.4), stores it with an `event_ingested` audit entry,
and announces it, in the same transaction, as a topic message on `project.<name>` to every agent
subscribed to the project. The announcement is published to live streams only after COMMIT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from envoy_grpc import errors
from envoy_grpc.core import session_checks as checks
from envoy_grpc.core import topics
from envoy_grpc.core.auth import Caller
from envoy_grpc.core.bus import Bus
from envoy_grpc.store import project_events as store
from envoy_grpc.store.db import Database
from envoy_grpc.store.messages import DeliveryView
from envoy_grpc.store.session_types import NewProjectEvent, ProjectEventRow

DOC_STALE_SECONDS = 86_400
PREVIEW = 200
# The original envoy's WebSocket event names, kept in the announcement so old clients recognise it.
ANNOUNCED_AS = {
    "gate_result": "gate_event",
    "hook_result": "hook_event",
    "ci_status": "ci_event",
    "doc_sync": "doc_event",
    "task_verify": "verify_event",
}


@dataclass(frozen=True)
class GateResult:
    project: str
    gates_passed: int = 0
    gates_total: int = 0
    failures: tuple[str, ...] = ()
    session_id: str | None = None


@dataclass(frozen=True)
class HookResult:
    project: str
    hook_name: str
    exit_code: int = 0
    output: str = ""
    session_id: str | None = None


@dataclass(frozen=True)
class CiStatus:
    project: str
    run_id: str
    status: str
    conclusion: str | None = None
    head_branch: str = ""
    display_title: str = ""


@dataclass(frozen=True)
class DocSync:
    project: str
    doc_files: tuple[str, ...] = ()
    last_updated_seconds: int = 0


@dataclass(frozen=True)
class VerifyResult:
    project: str
    agent_id: str  # whose deliverable was verified; need not be the caller
    task_type: str
    claimed_files: tuple[str, ...] = ()
    passed: int = 0
    failed: int = 0
    failures: tuple[str, ...] = ()
    session_id: str | None = None


# -- the original's rules, as pure functions ---------------------------------------------------


def gate_event(r: GateResult) -> NewProjectEvent:
    if r.gates_passed < 0 or r.gates_passed > r.gates_total:
        raise errors.invalid_argument(
            "gates_passed", f"must be between 0 and gates_total ({r.gates_total}), got {r.gates_passed}"
        )
    return NewProjectEvent(
        project=r.project,
        event_type="gate_result",
        severity="warning" if r.gates_passed < r.gates_total else "info",
        source="gate:quality",
        message=f"{r.gates_passed}/{r.gates_total} passed",
        data={"gates_passed": r.gates_passed, "gates_total": r.gates_total, "failures": list(r.failures)},
        session_id=r.session_id or None,
    )


def hook_event(r: HookResult) -> NewProjectEvent:
    checks.required("hook_name", r.hook_name)
    severity = "info" if r.exit_code == 0 else "blocking" if r.exit_code == 2 else "warning"
    return NewProjectEvent(
        project=r.project,
        event_type="hook_result",
        severity=severity,
        source=f"hook:{r.hook_name}",
        message=f"Hook {r.hook_name} exited {r.exit_code}",
        data={"hook_name": r.hook_name, "exit_code": r.exit_code, "output_preview": r.output[:PREVIEW]},
        session_id=r.session_id or None,
    )


def ci_event(r: CiStatus) -> NewProjectEvent:
    checks.required("run_id", r.run_id)
    checks.required("status", r.status)
    return NewProjectEvent(
        project=r.project,
        event_type="ci_status",
        severity="blocking" if r.conclusion == "failure" else "info",
        source="ci:github",
        message=f"CI {r.run_id}: {r.conclusion or 'in_progress'}",
        data={
            "run_id": r.run_id,
            "status": r.status,
            "conclusion": r.conclusion,
            "head_branch": r.head_branch,
            "display_title": r.display_title,
        },
    )


def doc_event(r: DocSync) -> NewProjectEvent:
    return NewProjectEvent(
        project=r.project,
        event_type="doc_sync",
        severity="warning" if r.last_updated_seconds > DOC_STALE_SECONDS else "info",
        source="doc:wiki",
        message=f"Docs last updated {r.last_updated_seconds}s ago",
        data={"doc_files": list(r.doc_files), "last_updated_seconds": r.last_updated_seconds},
    )


def verify_event(r: VerifyResult) -> NewProjectEvent:
    checks.required("agent_id", r.agent_id)
    checks.required("task_type", r.task_type)
    checks.not_negative("passed", r.passed)
    checks.not_negative("failed", r.failed)
    return NewProjectEvent(
        project=r.project,
        event_type="task_verify",
        severity="warning" if r.failed > 0 else "info",
        source=f"verify:{r.task_type}",
        message=f"Deliverable verify: {r.passed}/{r.passed + r.failed} passed for {r.task_type}",
        data={
            "agent_id": r.agent_id,
            "task_type": r.task_type,
            "claimed_files": list(r.claimed_files),
            "passed": r.passed,
            "failed": r.failed,
            "failures": list(r.failures),
        },
        session_id=r.session_id or None,
        agent_id=r.agent_id,
    )


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def event_json(row: ProjectEventRow) -> dict[str, Any]:
    """The event as the HTTP API shows it (ProjectEvent), for the announcement's data part."""
    return {
        "id": str(row.event_id),
        "project": row.project,
        "event_type": row.event_type,
        "severity": row.severity,
        "source": row.source,
        "message": row.message,
        "data": row.data,
        "timestamp": rfc3339(row.created_at),
        "session_id": row.session_id,
        "agent_id": row.agent_id,
    }


def attribution(caller: Caller, agent_id: str | None) -> str:
    """The envoy agent a record is attributed to: the caller's own, or, for the hook adapter and the
    operator (who act for others), the one they name."""
    if not agent_id:
        return caller.agent_id or ""
    if caller.agent_id is not None and agent_id != caller.agent_id:
        raise errors.permission_denied(
            f"agent_id is {agent_id!r} but the caller is {caller.agent_id!r}; an agent records as itself",
            reason="NOT_THE_RECORDER",
        )
    return agent_id


class ProjectEvents:
    def __init__(self, db: Database, bus: Bus, clock: Callable[[], float]) -> None:
        self.db = db
        self.bus = bus
        self._now = clock

    async def record_gate_event(
        self, caller: Caller, result: GateResult, agent_id: str | None = None
    ) -> ProjectEventRow:
        return await self._record(caller, gate_event(result), agent_id)

    async def record_hook_event(
        self, caller: Caller, result: HookResult, agent_id: str | None = None
    ) -> ProjectEventRow:
        return await self._record(caller, hook_event(result), agent_id)

    async def record_ci_event(
        self, caller: Caller, status: CiStatus, agent_id: str | None = None
    ) -> ProjectEventRow:
        return await self._record(caller, ci_event(status), agent_id)

    async def record_doc_event(
        self, caller: Caller, sync: DocSync, agent_id: str | None = None
    ) -> ProjectEventRow:
        return await self._record(caller, doc_event(sync), agent_id)

    async def record_verify_event(
        self, caller: Caller, result: VerifyResult, agent_id: str | None = None
    ) -> ProjectEventRow:
        """The event is about `result.agent_id`; `agent_id` names who recorded it (the announcement's sender)."""
        return await self._record(caller, verify_event(result), agent_id)

    async def _record(self, caller: Caller, new: NewProjectEvent, agent_id: str | None) -> ProjectEventRow:
        checks.required("project", new.project)
        if new.session_id:
            checks.session_id(new.session_id)
        recorder = attribution(caller, agent_id)
        if new.event_type != "task_verify":
            new = replace(new, agent_id=recorder)
        topic = topics.project_topic(new.project)
        announce = topics.subject_problem(topic) is None

        def unit() -> tuple[ProjectEventRow, list[DeliveryView]]:
            now = self._now()
            row = store.insert(new, now)
            audit = {"event_id": str(row.event_id), "project": row.project, "event_type": row.event_type}
            store.audit("event_ingested", f"{row.event_type} event for {row.project}", audit, recorder, now)
            if not announce:
                return row, []
            kind = ANNOUNCED_AS.get(row.event_type, row.event_type)
            parts: list[dict[str, Any]] = [
                {"text": f"[{row.project}] {row.message}"},
                {"data": {"kind": kind, "event": event_json(row)}},
            ]
            return row, store.announce(recorder or "envoy", topic, parts, now)

        row, deliveries = await self.db.write(unit)
        self.bus.publish(deliveries)
        return row

    async def list_project_events(
        self, unused_caller: Caller, project: str, since: float | None = None, limit: int = 0
    ) -> list[ProjectEventRow]:
        checks.required("project", project)
        size = checks.limit("limit", limit, default=50, maximum=100)
        return await self.db.read(lambda: store.list_project(project, since, size))

    async def list_audit_events(
        self,
        unused_caller: Caller,
        agent_id: str = "",
        operation: str = "",
        task_id: str = "",
        since: float | None = None,
        limit: int = 0,
    ) -> list[ProjectEventRow]:
        size = checks.limit("limit", limit, default=50, maximum=100)
        return await self.db.read(lambda: store.list_audit(agent_id, operation, task_id, since, size))
