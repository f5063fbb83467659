"""Session accountability: sessions, their evidence, handovers with a verdict, and file histories.

The servicers (SessionService, ProjectEventService) and the Claude Code hook adapter both call this
API directly. Every method takes the `Caller` first; record methods also take `agent_id`, the envoy
agent the record is attributed to: None (or "") means the caller's own agent (empty for the hook and
operator tokens); the hook and operator tokens may name any agent, an agent token only itself.
Inputs are the frozen dataclasses of `envoy_grpc.store.session_types` (and of
`envoy_grpc.core.project_events` for project events). Errors are `EnvoyError`s: SESSION_NOT_FOUND,
FIELD_REQUIRED and INVALID_ARGUMENT naming the field.

    sessions = running.sessions                      # a Sessions, on RunningServer

    await sessions.create_session(caller, NewSession(...), agent_id=None) -> SessionCreated  # idempotent
    await sessions.reopen_session(caller, session_id, agent_id=None) -> SessionRow          # no-op if open
    await sessions.end_session(caller, SessionEnd(...), agent_id=None) -> SessionRow         # repeatable
    await sessions.record_prompt(caller, NewPrompt(...), agent_id=None) -> Recorded
    await sessions.record_tool_call(caller, NewToolCall(...), agent_id=None) -> Recorded     # by tool_use_id
    await sessions.record_file_write(caller, NewFileWrite(...), agent_id=None) -> Recorded   # by tool_use_id
    await sessions.record_test_run(caller, NewTestRun(...), agent_id=None) -> Recorded       # by tool_use_id
    await sessions.record_commit(caller, NewCommit(...), agent_id=None) -> Recorded          # by commit_sha
    await sessions.record_fix_chain(caller, NewFixChain(...), agent_id=None) -> Recorded
    await sessions.record_bench_run(caller, NewBenchRun(...), agent_id=None) -> Recorded
    await sessions.record_handover(caller, NewHandover(...), agent_id=None) -> HandoverRow   # with verdict
    await sessions.record_event(caller, NewEvent(...), agent_id=None) -> EventRecorded
    await sessions.record_gate_event(caller, GateResult(...), agent_id=None) -> ProjectEventRow
        (and record_hook_event, record_ci_event, record_doc_event, record_verify_event)
    await sessions.get_session(caller, session_id, limit=0) -> SessionDetail
    await sessions.list_sessions(caller, project="", last=0, parent_id="", open_only=False) -> list[SessionRow]
    await sessions.list_events(caller, session_id="", event_type="", limit=0) -> list[EventRow]
    await sessions.recent_tool_calls(caller, session_id="", limit=0) -> list[EventRow]
    await sessions.file_history(caller, path, project="", page_size=0, page_token="") -> FileHistory

`Recorded.is_new` is False when an idempotency key matched an earlier record (nothing was written).
Every record commits before the method returns, and times are taken on the writer thread from a
clock that never repeats, so "before" and "after" (the prompt before a change, the handover after
it) follow commit order exactly.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from envoy_grpc import errors
from envoy_grpc.core import ids
from envoy_grpc.core import session_checks as checks
from envoy_grpc.core.auth import Caller
from envoy_grpc.core.bus import Bus
from envoy_grpc.core.project_events import (
    CiStatus,
    DocSync,
    GateResult,
    HookResult,
    ProjectEvents,
    VerifyResult,
    attribution,
)
from envoy_grpc.store import project_events as events_store
from envoy_grpc.store import session_evidence as evidence
from envoy_grpc.store import session_history as history
from envoy_grpc.store import sessions as store
from envoy_grpc.store.db import Database
from envoy_grpc.store.session_types import (
    EventRecorded,
    EventRow,
    FileHistory,
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
    Recorded,
    SessionCreated,
    SessionDetail,
    SessionEnd,
    SessionRow,
)

T = TypeVar("T")
New = TypeVar("New")


class StrictClock:
    """Wall-clock seconds that strictly increase from one call to the next (by at least 1 µs).

    Values are whole microseconds, the resolution of the API's timestamps, so a time read back from a
    response (such as `since` in ListProjectEvents) compares equal to the stored one.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self._last = round(max(self._clock(), self._last + 1e-6), 6)
            return self._last


class Sessions:
    def __init__(self, db: Database, bus: Bus, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._now = StrictClock(clock)
        self.project_events = ProjectEvents(db, bus, self._now)

    async def _write(self, unit: Callable[[float], T]) -> T:
        """Run `unit(now)` on the writer thread, `now` taken there (see the module docstring)."""
        return await self.db.write(lambda: unit(self._now()))

    # -- sessions ------------------------------------------------------------------------------

    async def create_session(
        self, caller: Caller, new: NewSession, agent_id: str | None = None
    ) -> SessionCreated:
        new = checks.new_session(new)
        agent = attribution(caller, agent_id)

        def unit(now: float) -> SessionCreated:
            created = store.create_session(new, agent, now)
            if created.is_new:
                data = {
                    "session_id": new.session_id,
                    "project": new.project,
                    "agent": new.agent,
                    "tool": new.tool,
                }
                message = f"session {new.session_id} started in {new.project}"
                events_store.audit("session_started", message, data, agent, now, session_id=new.session_id)
            return created

        return await self._write(unit)

    async def reopen_session(
        self, caller: Caller, session_id: str, agent_id: str | None = None
    ) -> SessionRow:
        """Reopen a session a Stop ended (the hook adapter's next prompt does this); a no-op if it is open."""
        checks.session_id(session_id)
        agent = attribution(caller, agent_id)
        session, _ = await self._write(lambda now: store.reopen_session(session_id, agent, now))
        return session

    async def end_session(self, caller: Caller, end: SessionEnd, agent_id: str | None = None) -> SessionRow:
        end = checks.session_end(end)
        agent = attribution(caller, agent_id)

        def unit(now: float) -> SessionRow:
            session = store.end_session(end, agent, now)
            data = {"session_id": end.session_id, "project": session.project, "exit_status": end.exit_status}
            message = f"session {end.session_id} ended: {end.exit_status}"
            events_store.audit("session_ended", message, data, agent, now, session_id=end.session_id)
            return session

        return await self._write(unit)

    async def get_session(self, unused_caller: Caller, session_id: str, limit: int = 0) -> SessionDetail:
        size = checks.limit("limit", limit, default=20, maximum=1000)
        detail = await self.db.read(lambda: store.session_detail(session_id, size))
        if detail is None:
            raise store.session_not_found(session_id)
        return detail

    async def list_sessions(
        self,
        unused_caller: Caller,
        project: str = "",
        last: int = 0,
        parent_id: str = "",
        open_only: bool = False,
    ) -> list[SessionRow]:
        size = checks.limit("last", last, default=5, maximum=1000)
        return await self.db.read(lambda: store.list_sessions(project, parent_id, size, open_only))

    # -- evidence ------------------------------------------------------------------------------

    async def _record(
        self,
        caller: Caller,
        new: New,
        agent_id: str | None,
        check: Callable[[New], New],
        write: Callable[[New, str, float], T],
    ) -> T:
        checked, agent = check(new), attribution(caller, agent_id)
        return await self._write(lambda now: write(checked, agent, now))

    async def record_prompt(self, caller: Caller, new: NewPrompt, agent_id: str | None = None) -> Recorded:
        return await self._record(caller, new, agent_id, checks.new_prompt, store.record_prompt)

    async def record_tool_call(
        self, caller: Caller, new: NewToolCall, agent_id: str | None = None
    ) -> Recorded:
        return await self._record(caller, new, agent_id, checks.new_tool_call, store.record_tool_call)

    async def record_file_write(
        self, caller: Caller, new: NewFileWrite, agent_id: str | None = None
    ) -> Recorded:
        return await self._record(caller, new, agent_id, checks.new_file_write, evidence.record_file_write)

    async def record_test_run(self, caller: Caller, new: NewTestRun, agent_id: str | None = None) -> Recorded:
        return await self._record(caller, new, agent_id, checks.new_test_run, evidence.record_test_run)

    async def record_commit(self, caller: Caller, new: NewCommit, agent_id: str | None = None) -> Recorded:
        return await self._record(caller, new, agent_id, checks.new_commit, evidence.record_commit)

    async def record_fix_chain(
        self, caller: Caller, new: NewFixChain, agent_id: str | None = None
    ) -> Recorded:
        return await self._record(caller, new, agent_id, checks.new_fix_chain, evidence.record_fix_chain)

    async def record_bench_run(
        self, caller: Caller, new: NewBenchRun, agent_id: str | None = None
    ) -> Recorded:
        return await self._record(caller, new, agent_id, checks.new_bench_run, evidence.record_bench_run)

    async def record_event(self, caller: Caller, new: NewEvent, agent_id: str | None = None) -> EventRecorded:
        """Append to the event log. Relation hints in `payload.relations` are validated and kept in the
        payload; the knowledge graph that turns them into edges is not built yet, so none are added."""
        return await self._record(caller, new, agent_id, checks.new_event, store.record_event)

    async def record_handover(
        self, caller: Caller, new: NewHandover, agent_id: str | None = None
    ) -> HandoverRow:
        """Record a handover with its verdict, judged from the session's evidence at this moment."""
        new = checks.new_handover(new)
        agent = attribution(caller, agent_id)

        def unit(now: float) -> HandoverRow:
            session = store.session_or_error(new.session_id)
            verdict = checks.judge(history.verification_evidence(session, now))
            sender = session.agent_id or agent
            settled = replace(
                new,
                files_changed=new.files_changed or tuple(evidence.files_written(session.session_id)),
                to_agent=new.to_agent or ids.parent_of(sender) or "",
                to_session_id=new.to_session_id or session.parent_session_id or "",
            )
            row = evidence.insert_handover(settled, session, verdict, agent, now)
            data = {"session_id": row.session_id, "handover_id": row.handover_id, "verified": row.verified}
            message = f"session {row.session_id} handed over to {row.to_agent or 'no one'}"
            events_store.audit(
                "handover_recorded", message, data, row.agent_id, now, session_id=row.session_id
            )
            return row

        return await self._write(unit)

    # -- reading the record --------------------------------------------------------------------

    async def list_events(
        self, unused_caller: Caller, session_id: str = "", event_type: str = "", limit: int = 0
    ) -> list[EventRow]:
        size = checks.limit("limit", limit, default=100, maximum=1000)
        return await self.db.read(lambda: store.list_events(session_id, event_type, size))

    async def recent_tool_calls(self, caller: Caller, session_id: str = "", limit: int = 0) -> list[EventRow]:
        """The newest `tool_call` events, of one session or of all."""
        return await self.list_events(caller, session_id, "tool_call", limit)

    async def file_history(
        self, unused_caller: Caller, path: str, project: str = "", page_size: int = 0, page_token: str = ""
    ) -> FileHistory:
        checks.required("path", path, checks.MAX_PATH)
        size = checks.limit("page_size", page_size, default=50, maximum=500)
        fingerprint = _fingerprint(path, project)
        before = _decode_page_token(page_token, fingerprint)
        changes, more = await self.db.read(lambda: history.file_history(path, project, before, size))
        token = _encode_page_token(changes[-1].write.file_write_id, fingerprint) if more and changes else ""
        return FileHistory(path, changes, token)

    # -- project events (see envoy_grpc.core.project_events) ------------------------------------

    async def record_gate_event(
        self, caller: Caller, result: GateResult, agent_id: str | None = None
    ) -> ProjectEventRow:
        return await self.project_events.record_gate_event(caller, result, agent_id)

    async def record_hook_event(
        self, caller: Caller, result: HookResult, agent_id: str | None = None
    ) -> ProjectEventRow:
        return await self.project_events.record_hook_event(caller, result, agent_id)

    async def record_ci_event(
        self, caller: Caller, status: CiStatus, agent_id: str | None = None
    ) -> ProjectEventRow:
        return await self.project_events.record_ci_event(caller, status, agent_id)

    async def record_doc_event(
        self, caller: Caller, sync: DocSync, agent_id: str | None = None
    ) -> ProjectEventRow:
        return await self.project_events.record_doc_event(caller, sync, agent_id)

    async def record_verify_event(
        self, caller: Caller, result: VerifyResult, agent_id: str | None = None
    ) -> ProjectEventRow:
        return await self.project_events.record_verify_event(caller, result, agent_id)


def _fingerprint(*fields: Any) -> str:
    return hashlib.sha256("\0".join(str(f) for f in fields).encode()).hexdigest()[:16]


def _encode_page_token(last_id: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"history:{last_id}:{fingerprint}".encode()).decode()


def _decode_page_token(token: str, fingerprint: str) -> int | None:
    if not token:
        return None
    try:
        kind, last_id, stamp = base64.urlsafe_b64decode(token.encode()).decode().split(":")
    except (ValueError, UnicodeDecodeError):
        kind, last_id, stamp = "", "", ""
    if kind != "history" or not (last_id.isascii() and last_id.isdigit()):
        raise errors.invalid_argument(
            "page_token", "is not a token returned by a previous GetFileHistory call"
        )
    if stamp != fingerprint:
        raise errors.invalid_argument(
            "page_token", "was returned for another path or project; ask again without it"
        )
    return int(last_id)
