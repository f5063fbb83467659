"""The session queries use indexes: every statement the store runs for a realistic session (records,
listings, GetSession, file history, handover verdict, project events, audit) is explained, and none
reads a whole table."""

from __future__ import annotations

from typing import Any

import pytest
from query_plans import explain_reads, record
from support import Server

from envoy_grpc.core.auth import HOOK, OPERATOR
from envoy_grpc.core.project_events import GateResult, HookResult
from envoy_grpc.store import project_events, session_evidence, session_history, sessions
from envoy_grpc.store.session_types import (
    NewCommit,
    NewEvent,
    NewFileWrite,
    NewHandover,
    NewPrompt,
    NewSession,
    NewTestRun,
    NewToolCall,
    SessionEnd,
)

STORE_MODULES = (sessions, session_evidence, session_history, project_events)
# Small tables whose full read is the point: topic patterns are matched in Python, as for topic sends.
ALLOWED_SCANS = ("SCAN s",)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    return record(monkeypatch, STORE_MODULES, sessions.cursor)


async def exercise(server: Server) -> None:
    """Everything the session area stores and reads, once or twice."""
    core = server.running.sessions
    await core.create_session(HOOK, NewSession("root", "claude", "envoy"), "id1")
    await core.create_session(HOOK, NewSession("root.a", "sub", "envoy", parent_session_id="root"), "id1.1")
    await core.record_prompt(HOOK, NewPrompt("root", "user", "h", input_summary="why"), "id1")
    for n in range(2):
        call = NewToolCall("root.a", "Edit", "success", tool_use_id=f"t{n}", file_paths=("/p/a.py",))
        await core.record_tool_call(HOOK, call, "id1.1")
        await core.record_tool_call(HOOK, call, "id1.1")
        await core.record_file_write(HOOK, NewFileWrite("root.a", "/p/a.py", tool_use_id=f"t{n}"), "id1.1")
        await core.record_file_write(HOOK, NewFileWrite("root.a", "/p/a.py", tool_use_id=f"t{n}"), "id1.1")
    await core.record_file_write(HOOK, NewFileWrite("root.a", "/p/b.py"), "id1.1")
    await core.record_test_run(HOOK, NewTestRun("root.a", "pytest", "passed", tool_use_id="t9"), "id1.1")
    await core.record_test_run(HOOK, NewTestRun("root.a", "pytest", "passed", tool_use_id="t9"), "id1.1")
    await core.record_gate_event(HOOK, GateResult("envoy", 1, 1, session_id="root.a"))
    await core.record_hook_event(HOOK, HookResult("envoy", "stub-check"))
    await core.record_event(HOOK, NewEvent("root.a", "tool_relation", "e", {"k": 1}), "id1.1")
    await core.record_handover(HOOK, NewHandover("root.a", "done"), "id1.1")
    commit = NewCommit("root", "abc", "msg", "ada", "fix", file_paths=("a.py",))
    await core.record_commit(HOOK, commit, "id1")
    await core.record_commit(HOOK, commit, "id1")
    await core.end_session(HOOK, SessionEnd("root.a", "complete"), "id1.1")
    await core.reopen_session(HOOK, "root.a", "id1.1")
    await core.get_session(OPERATOR, "root.a")
    await core.list_sessions(OPERATOR, project="envoy")
    await core.list_sessions(OPERATOR, parent_id="root", open_only=True)
    await core.list_events(OPERATOR, session_id="root.a")
    await core.list_events(OPERATOR, session_id="root.a", event_type="tool_call")
    await core.list_events(OPERATOR, event_type="tool_call")
    await core.file_history(OPERATOR, "/p/a.py")
    await core.file_history(OPERATOR, "/p/b.py")
    await core.file_history(OPERATOR, "a.py", project="envoy")
    await core.project_events.list_project_events(OPERATOR, "envoy", since=1.0)
    for filters in ({"agent_id": "id1"}, {"operation": "session_started"}, {"task_id": "t"}, {}):
        await core.project_events.list_audit_events(OPERATOR, **filters)


async def test_every_session_statement_uses_an_index(
    server: Server, statements: list[tuple[str, tuple[Any, ...]]]
) -> None:
    await exercise(server)
    db = server.running.db
    plans = await explain_reads(db, statements)

    assert len(plans) > 30
    for sql, plan in plans:
        for line in plan.splitlines():
            if line.startswith("SCAN ") and " USING " not in line:
                assert line.startswith(ALLOWED_SCANS) and "topic_subscription" in sql, (sql, plan)
    by_index = "\n".join(plan for _, plan in plans)
    for index in (
        "session_tool_call_use",
        "session_tool_call_session_created",
        "session_file_write_use",
        "session_test_run_use",
        "session_file_write_path",
        "session_file_write_project_path",
        "session_event_session_type",
        "session_prompt_session_created",
        "session_handover_session_created",
        "session_commit_session_created",
        "session_test_run_session_name",
        "project_event_session",
        "project_event_project_created",
        "project_event_audit_agent",
        "project_event_audit_source",
        "project_event_audit_task",
    ):
        assert index in by_index, index
