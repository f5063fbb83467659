"""The hook adapter: one raw hook payload in, the records it implies, hook output out.

It speaks Claude Code's payloads; Codex's are the same shape, and Cursor's are translated to it first
(core/harness_payloads.py). `HookEvent.harness` carries what differs: agent names, kinds, the session's
tool.

Each event becomes what it means (peers.md §4): SessionStart opens the session and its agent;
UserPromptSubmit records the prompt; PostToolUse records the tool call, the file writes of
Write/Edit/MultiEdit and the test runs of test commands; PostToolUseFailure records the failure;
SubagentStart opens the subagent's own session and child agent; SubagentStop records the subagent's
handover to its parent (and sends the parent a handoff message); Stop ends the turn's session (the
next prompt reopens it); SessionEnd ends the session and retires its agents. PreCompact and
Notification land in the session's event log.

Push into the session: SessionStart, UserPromptSubmit, PostToolUse and SubagentStart answer with the
agent's unread messages as `hookSpecificOutput.additionalContext`, marking them surfaced. An urgent
message keeps a Stop from ending the turn (`decision: block`), unless Stop is already the result of
such a block (`stop_hook_active`).

PreToolUse asks `pre_tool_check` whether the call may run; Codex's notify (`agent-turn-complete`) records
the turn's prompt unless its UserPromptSubmit already did, and ends the turn as Stop does.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from envoy_grpc import errors
from envoy_grpc.core import hook_payloads as hp
from envoy_grpc.core.auth import OPERATOR, Caller
from envoy_grpc.core.hook_identity import HookIdentities, HookIdentity
from envoy_grpc.core.lease_guard import LeaseGuard
from envoy_grpc.core.messaging import Messaging, Outgoing
from envoy_grpc.core.sessions import Sessions
from envoy_grpc.store.messages import DeliveryView
from envoy_grpc.store.session_types import (
    NewEvent,
    NewFileWrite,
    NewHandover,
    NewPrompt,
    NewSession,
    NewTestRun,
    NewToolCall,
    SessionEnd,
)

SURFACE_LIMIT = 20
CONTEXT_EVENTS = {"SessionStart", "UserPromptSubmit", "PostToolUse", "SubagentStart"}
# How many (session, turn) pairs with a recorded prompt to remember, so notify does not record it again.
PROMPTED_TURNS = 4096
Output = dict[str, Any]


@dataclass(frozen=True)
class ToolVerdict:
    """An objection to a tool call, from `HookAdapter.pre_tool_check`: the call is denied with `reason`."""

    reason: str


def message_text(delivery: DeliveryView) -> str:
    """One line per message, as a coding agent reads it."""
    message = delivery.message
    origin = f"from {message.sender}"
    if message.type == "topic":
        origin += f" on topic {message.topic}"
    elif message.type != "direct":
        origin += f" ({message.type})"
    pieces = []
    for part in message.parts:
        kind, value = next(iter(part.items()))
        pieces.append(value if kind != "data" else json.dumps(value, separators=(",", ":")))
    line = f"- [message {message.message_id}] {origin}: {hp.short(' '.join(map(str, pieces)), 2000)}"
    if message.require_ack:
        line += f" (needs an ack: POST /messages/{message.message_id}/ack)"
    return line


def context_block(agent_id: str, deliveries: list[DeliveryView]) -> str:
    if not deliveries:
        return ""
    plural = "s" if len(deliveries) > 1 else ""
    lines = [f"envoy-grpc: {len(deliveries)} new message{plural} for you ({agent_id}) from other agents:"]
    lines += [message_text(d) for d in deliveries]
    return "\n".join(lines)


def with_context(event_name: str, text: str) -> Output:
    if not text:
        return {}
    return {"hookSpecificOutput": {"hookEventName": event_name, "additionalContext": text}}


class HarnessSessions:
    """The latest top-level hook session seen from each harness process (memory only: every hook
    call reports its harness again, so the map refills itself after a restart)."""

    def __init__(self) -> None:
        self._by_pid: dict[int, tuple[HookIdentity, str]] = {}

    def seen(self, pid: int, identity: HookIdentity, project: str, ended: bool) -> None:
        if ended:
            if (current := self._by_pid.get(pid)) and current[0].session_id == identity.session_id:
                del self._by_pid[pid]
            return
        self._by_pid[pid] = (identity, project)

    def get(self, pid: int) -> tuple[HookIdentity, str] | None:
        return self._by_pid.get(pid)


class HookAdapter:
    def __init__(
        self,
        sessions: Sessions,
        messaging: Messaging,
        identities: HookIdentities,
        lease_guard: LeaseGuard | None = None,
    ) -> None:
        self.sessions = sessions
        self.messaging = messaging
        self.identities = identities
        self.lease_guard = lease_guard
        self.harnesses = HarnessSessions()
        # Sessions this process has opened (or found open): no write to check them again.
        self._open: set[str] = set()
        # Codex turns whose prompt UserPromptSubmit recorded (payload `turn_id`), oldest first.
        self._prompted: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._handlers: dict[str, Callable[[Caller, hp.HookEvent, HookIdentity], Awaitable[Output]]] = {
            "SessionStart": self._session_start,
            "UserPromptSubmit": self._prompt,
            "PreToolUse": self._pre_tool_use,
            "PostToolUse": self._tool_used,
            "PostToolUseFailure": self._tool_failed,
            "SubagentStart": self._subagent_start,
            "SubagentStop": self._subagent_stop,
            "Stop": self._stop,
            "SessionEnd": self._session_end,
            "PreCompact": self._logged("pre_compact", ("trigger", "custom_instructions")),
            "Notification": self._logged("notification", ("message", "title", "notification_type")),
            hp.TURN_COMPLETE: self._turn_complete,
            hp.SURFACE_ONLY: self._surface_only,
        }

    @staticmethod
    def authorize(caller: Caller) -> None:
        if not (caller.is_operator or caller.role == "hook"):
            raise errors.permission_denied(
                "hook payloads are accepted only with the hook token (hook.token in the data directory)",
                reason="HOOK_TOKEN_REQUIRED",
            )

    async def handle(
        self,
        caller: Caller,
        payload: dict[str, Any],
        harness_pid: int | None = None,
        harness: hp.Harness = hp.CLAUDE,
    ) -> Output:
        self.authorize(caller)
        event = hp.parse(payload, harness)
        missing = [
            f"payload.{k}"
            for k, v in (("session_id", event.session_id), ("hook_event_name", event.name))
            if not v
        ]
        if missing:
            raise errors.missing_fields(missing)
        handler = self._handlers.get(event.name)
        if handler is None:  # an event this version does not use: nothing to record, nothing to say
            return {}
        identity = await self.identities.resolve(event)
        if harness_pid is not None and not identity.parent_session_id:
            self.harnesses.seen(harness_pid, identity, event.project, ended=event.name == "SessionEnd")
        return await handler(caller, event, identity)

    async def resolve_harness(self, caller: Caller, harness_pid: int) -> tuple[HookIdentity, str, str]:
        """(identity, project, a new token) of the session last seen from a harness process."""
        if not (caller.is_operator or caller.role == "hook"):
            raise errors.permission_denied(
                "only the hook token or the operator may look up a hook session's agent",
                reason="HOOK_TOKEN_REQUIRED",
            )
        if harness_pid <= 0:
            raise errors.invalid_argument("harness_pid", "must be a process ID (a positive number)")
        found = self.harnesses.get(harness_pid)
        if found is None:
            raise errors.not_found(
                "HOOK_SESSION_NOT_FOUND",
                f"no hook call from process {harness_pid} since the server started; are the hooks installed "
                "in the command form (`envoy-grpc hooks install`) and has the session started?",
                harness_pid=str(harness_pid),
            )
        identity, project = found
        token = await self.identities.registry.rotate_token(OPERATOR, identity.agent_id)
        return identity, project, token

    # -- sessions ------------------------------------------------------------------------------

    async def _ensure_session(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> None:
        if identity.session_id in self._open:
            return
        if identity.parent_session_id:
            await self._ensure_session(
                caller, event, HookIdentity(identity.root_id, identity.root_id, event.session_id, None)
            )
        await self.sessions.create_session(
            caller,
            NewSession(
                session_id=identity.session_id,
                agent=event.harness.tool
                if not identity.parent_session_id
                else event.subagent_type or "subagent",
                project=event.project,
                tool=event.harness.tool,
                trigger=event.text("source") or ("subagent" if identity.parent_session_id else "cli"),
                model=event.text("model") or None,
                parent_session_id=identity.parent_session_id,
            ),
            agent_id=identity.agent_id,
        )
        await self.sessions.reopen_session(caller, identity.session_id, agent_id=identity.agent_id)
        self._open.add(identity.session_id)

    async def _surface(self, event: hp.HookEvent, identity: HookIdentity) -> Output:
        if event.name not in CONTEXT_EVENTS or event.raw.get(hp.UNSEEN) is True:
            return {}
        deliveries = await self.messaging.surface(identity.agent_id, SURFACE_LIMIT)
        return with_context(event.name, context_block(identity.agent_id, deliveries))

    async def _session_start(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
        self._open.discard(identity.session_id)  # resume, clear, compact: make sure it is open again
        await self._ensure_session(caller, event, identity)
        deliveries = await self.messaging.surface(identity.agent_id, SURFACE_LIMIT)
        intro = (
            f"envoy-grpc: you are agent {identity.agent_id} (session {event.session_id}). Other agents can "
            "message you; new messages appear here."
        )
        return with_context(
            event.name, "\n".join(filter(None, [intro, context_block(identity.agent_id, deliveries)]))
        )

    async def _prompt(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
        await self._record_prompt(caller, event, identity)
        return await self._surface(event, identity)

    async def _record_prompt(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> None:
        await self._ensure_session(caller, event, identity)
        prompt = event.text("prompt")
        await self.sessions.record_prompt(
            caller,
            NewPrompt(
                session_id=identity.session_id,
                role="user",
                input_hash=hp.digest(prompt),
                input_summary=hp.short(prompt),
            ),
            agent_id=identity.agent_id,
        )
        turn_id = event.text("turn_id")
        if turn_id:
            self._prompted[(identity.session_id, turn_id)] = None
            while len(self._prompted) > PROMPTED_TURNS:
                self._prompted.popitem(last=False)

    # -- tools ---------------------------------------------------------------------------------

    async def _record_tool(
        self, caller: Caller, event: hp.HookEvent, identity: HookIdentity, response: Any, failed: bool
    ) -> None:
        await self._ensure_session(caller, event, identity)
        tool_name = event.text("tool_name") or "unknown"
        tool_input = event.mapping("tool_input")
        tool_use_id = event.text("tool_use_id")
        paths = tuple(hp.file_paths(tool_input))
        await self.sessions.record_tool_call(
            caller,
            NewToolCall(
                session_id=identity.session_id,
                tool_name=tool_name,
                exit_status="error" if failed else "success",
                tool_use_id=tool_use_id,
                input_hash=hp.digest(tool_input),
                input_summary=hp.input_summary(tool_name, tool_input),
                output_hash=hp.digest(response),
                output_summary=hp.output_summary(response),
                tool_category=hp.category(tool_name),
                file_paths=paths,
                input_tokens_est=hp.tokens_estimate(response)
                if hp.category(tool_name) == "file_read" and not failed
                else None,
            ),
            agent_id=identity.agent_id,
        )
        for path, write_type in [] if failed else hp.file_writes(tool_name, tool_input):
            await self.sessions.record_file_write(
                caller,
                NewFileWrite(
                    session_id=identity.session_id,
                    file_path=path,
                    write_type=write_type,
                    tool_use_id=tool_use_id,
                ),
                agent_id=identity.agent_id,
            )
        command = str(tool_input.get("command", "")) if tool_name == "Bash" else ""
        suite = hp.test_suite(command) if command else None
        if suite:
            await self.sessions.record_test_run(
                caller,
                NewTestRun(
                    session_id=identity.session_id,
                    test_name=hp.short(command),
                    result="failed" if failed else "passed",
                    test_suite=suite,
                    test_command=command,
                    logs_summary=hp.output_summary(response),
                    tool_use_id=tool_use_id,
                ),
                agent_id=identity.agent_id,
            )

    async def pre_tool_check(
        self, caller: Caller, event: hp.HookEvent, identity: HookIdentity
    ) -> ToolVerdict | None:
        """Whether the tool call a PreToolUse announces may run: None lets it, a verdict denies it.

        Edit/Write-like calls on a file another agent leased exclusively are denied (`LeaseGuard`).
        """
        if self.lease_guard is None:
            return None
        reason = await self.lease_guard.check(event, identity.agent_id)
        return None if reason is None else ToolVerdict(reason)

    async def _pre_tool_use(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
        verdict = await self.pre_tool_check(caller, event, identity)
        if verdict is None:
            return {}  # no opinion: the harness's own permission rules decide
        return {
            "hookSpecificOutput": {
                "hookEventName": event.name,
                "permissionDecision": "deny",
                "permissionDecisionReason": verdict.reason,
            }
        }

    async def _tool_used(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
        response = event.raw.get("tool_response", event.raw.get("tool_result"))
        await self._record_tool(caller, event, identity, response, hp.failed(response))
        return await self._surface(event, identity)

    async def _surface_only(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
        await self._ensure_session(caller, event, identity)
        return await self._surface(replace(event, name="PostToolUse"), identity)

    async def _tool_failed(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
        await self._record_tool(caller, event, identity, event.raw.get("error") or "failed", True)
        return {}

    # -- subagents -----------------------------------------------------------------------------

    async def _subagent_start(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
        await self._ensure_session(caller, event, identity)
        return await self._surface(event, identity)

    async def _subagent_stop(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
        await self._ensure_session(caller, event, identity)
        last = event.text("last_assistant_message")
        handover = await self.sessions.record_handover(
            caller,
            NewHandover(
                session_id=identity.session_id,
                summary=hp.short(last, 300) or "the subagent stopped without a final message",
                last_assistant_message=last or None,
                transcript_path=event.text("agent_transcript_path") or None,
                to_agent=identity.root_id,
                to_session_id=event.session_id,
            ),
            agent_id=identity.agent_id,
        )
        await self.sessions.end_session(
            caller, SessionEnd(identity.session_id, "complete"), agent_id=identity.agent_id
        )
        self._open.discard(identity.session_id)
        verdict = (
            "verified" if handover.verified else "NOT verified: " + "; ".join(handover.verification_reasons)
        )
        await self.messaging.send(
            Caller("agent", identity.agent_id),
            Outgoing(
                type="handoff",
                sender=identity.agent_id,
                to=identity.root_id,
                topic="",
                task_id=None,
                context_id=identity.session_id,
                parts=[
                    {"text": f"Subagent {identity.agent_id} handed back ({verdict}): {handover.summary}"},
                    {
                        "data": {
                            "handover_id": handover.handover_id,
                            "files_changed": list(handover.files_changed),
                        }
                    },
                ],
                idempotency_key=f"handover-{handover.handover_id}",
                ttl_seconds=0,
                require_ack=False,
                urgent=False,
            ),
        )
        return {}

    # -- turns and ends ------------------------------------------------------------------------

    async def _stop(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
        if not event.raw.get("stop_hook_active"):
            urgent = await self.messaging.surface(identity.agent_id, SURFACE_LIMIT, urgent_only=True)
            if urgent:
                reason = context_block(identity.agent_id, urgent) + "\nRead and act on these before you stop."
                return {"decision": "block", "reason": reason}
        await self._ensure_session(caller, event, identity)
        await self.sessions.end_session(
            caller, SessionEnd(identity.session_id, "stop"), agent_id=identity.agent_id
        )
        self._open.discard(identity.session_id)
        return {}

    async def _turn_complete(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
        """Codex's notify: the turn's prompt (unless UserPromptSubmit recorded it), then the end of the turn."""
        if event.text("prompt") and (identity.session_id, event.text("turn_id")) not in self._prompted:
            await self._record_prompt(caller, event, identity)
        await self._ensure_session(caller, event, identity)
        await self.sessions.end_session(
            caller, SessionEnd(identity.session_id, "stop"), agent_id=identity.agent_id
        )
        self._open.discard(identity.session_id)
        return {}

    async def _session_end(self, caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
        await self._ensure_session(caller, event, identity)
        reason = event.text("reason") or "other"
        await self.sessions.end_session(
            caller, SessionEnd(identity.session_id, reason), agent_id=identity.agent_id
        )
        self._open.discard(identity.session_id)
        if not identity.parent_session_id:
            await self.identities.retire(identity.root_id)
        return {}

    def _logged(
        self, event_type: str, keys: tuple[str, ...]
    ) -> Callable[[Caller, hp.HookEvent, HookIdentity], Awaitable[Output]]:
        async def record(caller: Caller, event: hp.HookEvent, identity: HookIdentity) -> Output:
            await self._ensure_session(caller, event, identity)
            payload = {key: event.raw[key] for key in keys if key in event.raw}
            await self.sessions.record_event(
                caller,
                NewEvent(
                    session_id=identity.session_id,
                    event_type=event_type,
                    entity_id=identity.session_id,
                    payload=payload,
                ),
                agent_id=identity.agent_id,
            )
            return {}

        return record
