"""Dependencies between agents: who waits for whom, and telling the waiting agent when it is over.

Both agents must be registered (the original envoy did not check); an agent cannot wait for itself
(the original answered 500). Resolving sends the dependent a `dependency_resolved` system message in
the same transaction, published after COMMIT.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from envoy_grpc import errors
from envoy_grpc.core import coordination_checks as checks
from envoy_grpc.core.agents import AgentRegistry
from envoy_grpc.core.auth import Caller
from envoy_grpc.core.bus import Bus
from envoy_grpc.store import dependencies as store
from envoy_grpc.store import notices
from envoy_grpc.store.coordination_types import DependencyRow
from envoy_grpc.store.db import Database
from envoy_grpc.store.messages import DeliveryView


def dependency_json(dependency: DependencyRow) -> dict[str, object]:
    return {
        "dependency_id": str(dependency.dependency_id),
        "dependent_agent": dependency.dependent_agent,
        "blocker_agent": dependency.blocker_agent,
        "reason": dependency.reason,
        "resolved": dependency.resolved,
    }


class Dependencies:
    def __init__(
        self, db: Database, registry: AgentRegistry, bus: Bus, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.registry = registry
        self.bus = bus
        self._now = clock

    async def create(self, caller: Caller, dependent: str, blocker: str, reason: str) -> DependencyRow:
        reason = checks.text("reason", reason, checks.MAX_REASON, required=True)
        self.registry.get(dependent, "dependent_agent")
        self.registry.get(blocker, "blocker_agent")
        if dependent == blocker:
            raise errors.invalid_argument(
                "blocker_agent",
                f"must be another agent than the dependent ({dependent}); an agent cannot wait for itself",
            )
        if not checks.may_act_for(caller, dependent):
            raise errors.permission_denied(
                f"only {dependent}, one of its ancestors or the operator may say what {dependent} waits for; "
                f"the caller is {caller.describe()!r}",
                agentId=dependent,
            )
        return await self.db.write(lambda: store.create(dependent, blocker, reason, self._now()))

    async def resolve(self, caller: Caller, dependency_id: str) -> DependencyRow:
        number = checks.number(dependency_id, store.dependency_not_found(dependency_id))
        found = await self.db.read(lambda: store.get(number))
        if found is None:
            raise store.dependency_not_found(dependency_id)
        if not (
            checks.may_act_for(caller, found.dependent_agent)
            or checks.may_act_for(caller, found.blocker_agent)
        ):
            raise errors.permission_denied(
                f"only {found.dependent_agent}, {found.blocker_agent}, their ancestors or the operator may resolve "
                f"dependency {number}; the caller is {caller.describe()!r}",
                dependencyId=str(number),
            )
        sender = caller.agent_id or notices.SERVER

        def unit() -> tuple[DependencyRow, list[DeliveryView]]:
            now = self._now()
            dependency, resolved_now = store.resolve(number, now)
            if not resolved_now:
                return dependency, []
            parts = notices.notice_parts(
                f"{dependency.blocker_agent} no longer blocks you (dependency {number}: {dependency.reason})",
                "dependency_resolved",
                dependency_id=str(number),
                message=f"dependency on {dependency.blocker_agent} resolved",
                dependency=dependency_json(dependency),
            )
            return dependency, notices.send(dependency.dependent_agent, parts, now, sender=sender)

        dependency, deliveries = await self.db.write(unit)
        self.bus.publish(deliveries)
        return dependency

    async def get(self, unused_caller: Caller, dependency_id: str) -> DependencyRow:
        number = checks.number(dependency_id, store.dependency_not_found(dependency_id))
        found = await self.db.read(lambda: store.get(number))
        if found is None:
            raise store.dependency_not_found(dependency_id)
        return found

    async def by_blocker(self, unused_caller: Caller, agent_id: str) -> list[DependencyRow]:
        return await self.db.read(lambda: store.unresolved("blocker_agent", agent_id))

    async def by_dependent(self, unused_caller: Caller, agent_id: str) -> list[DependencyRow]:
        return await self.db.read(lambda: store.unresolved("dependent_agent", agent_id))
