"""The task board: propose, claim (one task or the next one), move through states, release, and the
sweep that takes tasks back from claimants who stopped answering.

Each change is one unit of work on the writer thread: the rule checks, the row update, the task
event, and the announcements (a topic message on `project.<name>`, and direct `system` notices) all
commit together, and the deliveries are published only after COMMIT. Because the writer runs units
one after another, claim-next's "find the oldest claimable task and claim it" cannot interleave
with another claim: two agents never get the same task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from envoy_grpc import errors
from envoy_grpc.core import coordination_checks as checks
from envoy_grpc.core import task_notices, task_states
from envoy_grpc.core.agents import AgentRegistry
from envoy_grpc.core.auth import Caller
from envoy_grpc.core.bus import Bus
from envoy_grpc.core.sweeper import Sweeper
from envoy_grpc.store import notices
from envoy_grpc.store import project_events as events_store
from envoy_grpc.store import tasks as store
from envoy_grpc.store.coordination_types import TASK_STATES, TaskEventRow, TaskRow
from envoy_grpc.store.db import Database
from envoy_grpc.store.messages import DeliveryView

MAX_TITLE = 200
MAX_TEXT = 10_000
MAX_BLOCKERS = 100
EVENTS_SHOWN = 50


@dataclass(frozen=True)
class TaskSettings:
    claim_timeout: float = 600.0
    sweep_interval: float = 15.0


@dataclass(frozen=True)
class TaskPage:
    tasks: list[TaskRow]
    next_page_token: str


def _not_claimant(task: TaskRow, caller: Caller) -> errors.EnvoyError:
    return errors.permission_denied(
        f"task {task.task_id} is held by {task.claimed_by}; only it, one of its ancestors or the operator "
        f"may change it (the caller is {caller.describe()!r})",
        reason="NOT_TASK_CLAIMANT",
        taskId=str(task.task_id),
        claimedBy=task.claimed_by or "",
    )


class Tasks:
    def __init__(
        self,
        db: Database,
        registry: AgentRegistry,
        bus: Bus,
        settings: TaskSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.registry = registry
        self.bus = bus
        self.settings = settings
        self._now = clock
        self._sweeper = Sweeper("task sweep", self.settings.sweep_interval, self.sweep)

    def start(self) -> None:
        self._sweeper.start()

    async def close(self) -> None:
        await self._sweeper.close()

    async def _commit(self, unit: Callable[[], tuple[TaskRow, list[DeliveryView]]]) -> TaskRow:
        task, deliveries = await self.db.write(unit)
        self.bus.publish(deliveries)
        return task

    def _agent(self, caller: Caller, agent_id: str) -> str:
        acting = checks.acting_agent(caller, agent_id)
        if not self.registry.get(acting).active:
            raise errors.failed_precondition("AGENT_OFFLINE", f"agent {acting!r} (agent_id) is retired")
        return acting

    # -- writes --------------------------------------------------------------------------------

    async def propose(
        self, caller: Caller, project: str, description: str, title: str = "", blocked_by: Sequence[str] = ()
    ) -> TaskRow:
        project = checks.project(project)
        description = checks.text("description", description, MAX_TEXT, required=True)
        title = checks.text("title", title.strip(), MAX_TITLE)
        if len(blocked_by) > MAX_BLOCKERS:
            raise errors.invalid_argument(
                "blocked_by", f"at most {MAX_BLOCKERS} blockers, got {len(blocked_by)}"
            )
        blockers = [
            checks.number(b, store.task_not_found(b, f"blocked_by[{i}]")) for i, b in enumerate(blocked_by)
        ]
        proposer = caller.agent_id or ""

        def unit() -> tuple[TaskRow, list[DeliveryView]]:
            now = self._now()
            task = store.insert(project, title, description, sorted(set(blockers)), proposer, now)
            store.add_event(task.task_id, "task_proposed", None, "proposed", proposer, None, now)
            text = f"task {task.task_id} proposed: {task_notices.label(task)}"
            return task, task_notices.announce("task_proposed", task, proposer, text, now)

        return await self._commit(unit)

    async def claim_next(self, caller: Caller, project: str, agent_id: str = "") -> TaskRow:
        project = checks.project(project)
        claimant = self._agent(caller, agent_id)

        def unit() -> tuple[TaskRow, list[DeliveryView]]:
            task_id = store.next_claimable(project)
            if task_id is None:
                waiting = store.proposed_count(project)
                why = (
                    f"its {waiting} proposed task(s) all wait for unfinished blockers"
                    if waiting
                    else "it has no proposed tasks"
                )
                raise errors.not_found(
                    "NO_CLAIMABLE_TASK",
                    f"no task to claim in project {project!r}: {why}; try again later",
                    project=project,
                    proposed=str(waiting),
                )
            return self._claim(store.existing(task_id), claimant, self._now())

        return await self._commit(unit)

    def _claim(self, task: TaskRow, claimant: str, now: float) -> tuple[TaskRow, list[DeliveryView]]:
        """Claim a proposed task in the current transaction (blockers already known to be done)."""
        claimed = store.update(task.task_id, "claimed", claimant, now, task.checkpoint, now)
        store.add_event(task.task_id, "task_claimed", task.state, "claimed", claimant, None, now)
        audit = {"task_id": str(task.task_id), "project": task.project}
        events_store.audit(
            "task_claimed",
            f"task {task.task_id} claimed by {claimant}",
            audit,
            claimant,
            now,
            task_id=str(task.task_id),
        )
        text = f"task {task.task_id} claimed by {claimant}: {task_notices.label(claimed)}"
        return claimed, task_notices.announce("task_claimed", claimed, claimant, text, now)

    def _claim_checked(self, task: TaskRow, claimant: str, now: float) -> tuple[TaskRow, list[DeliveryView]]:
        if task.claimed_by == claimant and task.state in ("claimed", "in_progress", "waiting_review"):
            return task, []  # already theirs: a repeat changes nothing
        if task.state != "proposed":
            if task.state == "done":
                task_states.check_move(task.task_id, task.state, "claimed")
            raise errors.failed_precondition(
                "TASK_ALREADY_CLAIMED",
                f"task {task.task_id} is already claimed by {task.claimed_by} ({task.state}); "
                "claim another one, for example with POST /tasks/claim-next",
                taskId=str(task.task_id),
                claimedBy=task.claimed_by or "",
            )
        unfinished = store.unfinished_blockers(task.task_id)
        if unfinished:
            names = ", ".join(str(b) for b in unfinished)
            raise errors.failed_precondition(
                "TASK_BLOCKED",
                f"task {task.task_id} is blocked by unfinished task(s) {names}; it can be claimed once they are done",
                taskId=str(task.task_id),
                blockedBy=names,
            )
        return self._claim(task, claimant, now)

    async def claim(self, caller: Caller, task_id: str, agent_id: str = "") -> TaskRow:
        number = checks.number(task_id, store.task_not_found(task_id))
        claimant = self._agent(caller, agent_id)
        return await self._commit(lambda: self._claim_checked(store.existing(number), claimant, self._now()))

    async def set_state(
        self, caller: Caller, task_id: str, state: str, checkpoint: str | None = None, agent_id: str = ""
    ) -> TaskRow:
        number = checks.number(task_id, store.task_not_found(task_id))
        if state not in TASK_STATES:
            raise errors.invalid_argument("state", f"must be one of {', '.join(TASK_STATES)}, got {state!r}")
        if checkpoint is not None:
            checks.text("checkpoint", checkpoint, MAX_TEXT)
        # A named agent must be the caller (or one the hook or operator acts for), whatever the move.
        acting = self._agent(caller, agent_id) if state == "claimed" or agent_id else ""

        def unit() -> tuple[TaskRow, list[DeliveryView]]:
            task = store.existing(number)
            now = self._now()
            if task.state == "proposed" and state == "claimed":
                return self._claim_checked(task, acting, now)
            task_states.check_move(task.task_id, task.state, state)
            if task.claimed_by is not None and not checks.may_act_for(caller, task.claimed_by):
                raise _not_claimant(task, caller)
            return self._move(task, state, checkpoint, acting or caller.agent_id or "", now)

        return await self._commit(unit)

    async def release(self, caller: Caller, task_id: str) -> TaskRow:
        number = checks.number(task_id, store.task_not_found(task_id))

        def unit() -> tuple[TaskRow, list[DeliveryView]]:
            task = store.existing(number)
            if task.state == "proposed":
                return task, []
            if task.state == "done":
                raise errors.failed_precondition(
                    "INVALID_TASK_STATE",
                    f"task {task.task_id} is done, so there is no claim to release; to reopen it, "
                    "set its state to proposed",
                    taskId=str(task.task_id),
                    fromState="done",
                    toState="proposed",
                )
            if task.claimed_by is not None and not checks.may_act_for(caller, task.claimed_by):
                raise _not_claimant(task, caller)
            return self._move(task, "proposed", None, caller.agent_id or "", self._now())

        return await self._commit(unit)

    def _move(
        self, task: TaskRow, state: str, checkpoint: str | None, actor: str, now: float
    ) -> tuple[TaskRow, list[DeliveryView]]:
        """Apply an allowed move: the row, its event, the announcement, and on done the notices."""
        back = state == "proposed"
        kept_checkpoint = checkpoint if checkpoint is not None else task.checkpoint
        moved = store.update(
            task.task_id,
            state,
            None if back else task.claimed_by,
            None if back else task.claimed_at,
            kept_checkpoint,
            now,
        )
        store.add_event(
            task.task_id, task_states.event_name(task.state, state), task.state, state, actor, checkpoint, now
        )
        who = f" by {actor}" if actor else ""
        deliveries = task_notices.announce(
            "task_state_changed", moved, actor, f"task {task.task_id} {task.state} → {state}{who}", now
        )
        if state == "done" and task.state != "done":
            deliveries += self._dependents_told(moved, now)
        return moved, deliveries

    def _dependents_told(self, done: TaskRow, now: float) -> list[DeliveryView]:
        """`dependency_resolved` to the claimant of each task that `done` was blocking."""
        deliveries: list[DeliveryView] = []
        for task in store.claimed_tasks_blocked_by(done.task_id):
            remaining = store.unfinished_blockers(task.task_id)
            still = (
                f"; still waiting for {', '.join(map(str, remaining))}"
                if remaining
                else "; nothing blocks it now"
            )
            parts = notices.notice_parts(
                f"[{task.project}] task {done.task_id} is done, which task {task.task_id} was waiting for{still}",
                "dependency_resolved",
                task_id=str(task.task_id),
                resolved_task_id=str(done.task_id),
                remaining_blockers=[str(b) for b in remaining],
            )
            deliveries += notices.send(task.claimed_by or "", parts, now)
        return deliveries

    # -- stale claims --------------------------------------------------------------------------

    def _stale(self, task: TaskRow, now: float) -> bool:
        claimant = task.claimed_by or ""
        if not self.registry.is_active(claimant):
            return True
        heartbeat = self.registry.get(claimant).last_heartbeat_at
        signs = [self.registry.last_seen(claimant), heartbeat, task.claimed_at, task.updated_at]
        return now - max(s for s in signs if s is not None) > self.settings.claim_timeout

    async def sweep(self) -> list[TaskRow]:
        """Give tasks held by silent or retired agents back to the board; return them."""
        now = self._now()
        stale = [t for t in await self.db.read(store.held) if self._stale(t, now)]
        if not stale:
            return []

        def unit() -> tuple[list[TaskRow], list[DeliveryView]]:
            reclaimed, deliveries = [], []
            for seen in stale:
                task = store.get(seen.task_id)
                if task is None or (task.state, task.claimed_by, task.updated_at) != (
                    seen.state,
                    seen.claimed_by,
                    seen.updated_at,
                ):
                    continue  # it moved since we looked: whoever moved it is alive
                row, sent = self._reclaim(task, now)
                reclaimed.append(row)
                deliveries += sent
            return reclaimed, deliveries

        reclaimed, deliveries = await self.db.write(unit)
        self.bus.publish(deliveries)
        return reclaimed

    def _reclaim(self, task: TaskRow, now: float) -> tuple[TaskRow, list[DeliveryView]]:
        former = task.claimed_by or ""
        row = store.update(task.task_id, "proposed", None, None, task.checkpoint, now)
        store.add_event(task.task_id, "task_reclaimed", task.state, "proposed", "", None, now)
        text = f"task {task.task_id} reclaimed from {former}, who stopped responding; it is proposed again"
        deliveries = task_notices.announce("task_reclaimed", row, "", text, now)
        if former not in {d.agent_id for d in deliveries}:
            parts = notices.notice_parts(
                f"[{task.project}] {text}",
                "task_reclaimed",
                task_id=str(task.task_id),
                task=task_notices.task_json(row),
            )
            deliveries += notices.send(former, parts, now)
        return row, deliveries

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, unused_caller: Caller, task_id: str) -> TaskRow:
        number = checks.number(task_id, store.task_not_found(task_id))
        task = await self.db.read(lambda: store.get(number))
        if task is None:
            raise store.task_not_found(task_id)
        return task

    async def list_tasks(
        self, unused_caller: Caller, project: str, state: str, page_size: int, page_token: str
    ) -> TaskPage:
        project = checks.project(project)
        size = checks.page_size(page_size)
        after = checks.page_after(page_token, "task")
        rows = await self.db.read(lambda: store.list_tasks(project, state, after, size + 1))
        more = len(rows) > size
        rows = rows[:size]
        return TaskPage(rows, checks.page_token("task", rows[-1].task_id) if more else "")

    async def events(self, caller: Caller, task_id: str) -> list[TaskEventRow]:
        task = await self.get(caller, task_id)
        return await self.db.read(lambda: store.events(task.task_id, EVENTS_SHOWN))
