"""The lease, task and dependency queries use indexes: every statement their stores run for a realistic
workload is explained, and none reads a whole table."""

from __future__ import annotations

from typing import Any

import pytest
from query_plans import explain_reads, record
from support import Server

from envoy_grpc.core.auth import OPERATOR
from envoy_grpc.store import dependencies, leases, notices, tasks
from envoy_grpc.store.coordination_types import LeaseFilter


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    return record(monkeypatch, (leases, tasks, dependencies, notices), leases.cursor)


async def exercise(server: Server) -> None:
    running = server.running
    a, b = [(await running.registry.register(OPERATOR, n, "claude", None)).agent.agent_id for n in "ab"]
    held, _ = await running.leases.create(OPERATOR, "envoy", "src/a.py", agent_id=a, reason="r")
    await running.leases.create(OPERATOR, "envoy", "docs/*", agent_id=b, mode="shared")
    await running.leases.renew(OPERATOR, str(held.lease_id), 60)
    for where in (LeaseFilter(), LeaseFilter(project="envoy"), LeaseFilter(agent_id=a, include_ended=True)):
        await running.leases.list_leases(OPERATOR, where, "", 1, "")
    await running.leases.release(OPERATOR, str(held.lease_id))
    await running.leases.sweep()
    await running.leases.release_retired([b])
    await running.leases.load()
    await running.leases.covering("/home/dev/envoy/src/a.py", ["envoy"])
    first = await running.tasks.propose(OPERATOR, "envoy", "one")
    second = await running.tasks.propose(OPERATOR, "envoy", "two", blocked_by=[str(first.task_id)])
    await running.tasks.claim_next(OPERATOR, "envoy", a)
    await running.tasks.claim(OPERATOR, str(first.task_id), a)
    for state in ("in_progress", "waiting_review", "done"):
        await running.tasks.set_state(OPERATOR, str(first.task_id), state)
    await running.tasks.claim(OPERATOR, str(second.task_id), b)
    await running.tasks.list_tasks(OPERATOR, "envoy", "", 0, "")
    await running.tasks.list_tasks(OPERATOR, "envoy", "claimed", 0, "")
    await running.tasks.events(OPERATOR, str(first.task_id))
    await running.tasks.release(OPERATOR, str(second.task_id))
    await running.tasks.claim(OPERATOR, str(second.task_id), b)
    await running.registry.retire(OPERATOR, b)
    await running.tasks.sweep()
    dependency = await running.dependencies.create(OPERATOR, a, b, "waits")
    await running.dependencies.by_blocker(OPERATOR, b)
    await running.dependencies.by_dependent(OPERATOR, a)
    await running.dependencies.resolve(OPERATOR, str(dependency.dependency_id))


async def test_every_coordination_statement_uses_an_index(
    server: Server, statements: list[tuple[str, tuple[Any, ...]]]
) -> None:
    await exercise(server)
    plans = await explain_reads(server.running.db, statements)

    assert len(plans) > 20
    for sql, plan in plans:
        for line in plan.splitlines():
            assert not line.startswith("SCAN ") or " USING " in line, (sql, plan)
    by_index = "\n".join(plan for _, plan in plans)
    for index in (
        "lease_active_project",
        "lease_agent",
        "lease_active_expiry",
        "task_project_state",
        "task_project",
        "task_held",
        "task_blocker_blocker",
        "task_event_task",
        "dependency_open_pair",
        "dependency_open_blocker",
    ):
        assert index in by_index, index
