"""Property: any sequence of registrations and retirements yields unique, never-reused, well-formed,
hierarchical agent IDs. Runs the real registry on a real SQLite file, then reloads it from disk."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envoy_grpc.core import ids
from envoy_grpc.core.agents import AgentRegistry
from envoy_grpc.core.auth import OPERATOR
from envoy_grpc.core.circuit import CircuitBreakers
from envoy_grpc.store.db import Database

# An operation: ("root", name index) registers a root; ("child", parent pick) registers a child of
# the picked existing agent; ("retire", pick) retires the picked agent.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("root"), st.integers(0, 3)),
        st.tuples(st.just("child"), st.integers(0, 1000)),
        st.tuples(st.just("retire"), st.integers(0, 1000)),
    ),
    min_size=1,
    max_size=40,
)


async def _replay(path: Path, steps: list[tuple[str, int]]) -> tuple[list[str], set[str], list[str]]:
    db = Database(path / "envoy.db", readers=1)
    await db.open()
    registry = AgentRegistry(db, CircuitBreakers())
    created: list[str] = []
    retired: set[str] = set()
    for kind, pick in steps:
        if kind == "root":
            result = await registry.register(OPERATOR, f"name-{pick}", "k", None)
            if result.is_new:
                created.append(result.agent.agent_id)
            else:
                assert result.agent.agent_id not in retired
        elif created and kind == "child":
            parent = created[pick % len(created)]
            if parent not in retired:
                result = await registry.register(OPERATOR, "child", "k", parent)
                created.append(result.agent.agent_id)
        elif created and kind == "retire":
            retired.update(await registry.retire(OPERATOR, created[pick % len(created)]))
    await db.close()
    reopened = Database(path / "envoy.db", readers=1)
    await reopened.open()
    reloaded = AgentRegistry(reopened, CircuitBreakers())
    await reloaded.load()
    stored = [row.agent_id for row in reloaded.list_agents(page_size=1000).agents]
    await reopened.close()
    return created, retired, stored


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_agent_ids_are_unique_wellformed_hierarchical_and_never_reused(steps: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        created, retired, stored = asyncio.run(_replay(Path(tmp), steps))

    assert len(created) == len(set(created)), "an ID was handed out twice"
    assert all(ids.is_agent_id(agent_id) for agent_id in created)
    for agent_id in created:
        parent = ids.parent_of(agent_id)
        assert parent is None or parent in created, f"{agent_id} has no parent {parent}"
    roots = [int(a[2:]) for a in created if ids.parent_of(a) is None]
    assert roots == sorted(roots) and roots == list(range(1, len(roots) + 1)), "root numbers skip or repeat"
    for parent in set(created):
        numbers = [int(a.rsplit(".", 1)[1]) for a in created if ids.parent_of(a) == parent]
        assert numbers == list(range(1, len(numbers) + 1)), f"children of {parent} skip or repeat"
    for agent_id in retired:
        for other in created:
            if ids.is_ancestor(agent_id, other):
                assert other in retired, f"retiring {agent_id} left descendant {other} active"
    assert sorted(stored, key=ids.sort_key) == sorted(created, key=ids.sort_key), (
        "the store lost or invented agents"
    )


def test_sort_key_orders_numerically_and_parents_first() -> None:
    unordered = ["id10", "id2", "id1.10", "id1.2", "id1", "id1.2.1"]

    assert sorted(unordered, key=ids.sort_key) == ["id1", "id1.2", "id1.2.1", "id1.10", "id2", "id10"]


def test_ancestry_is_by_whole_segments() -> None:
    assert ids.is_ancestor("id1", "id1.2.3")
    assert not ids.is_ancestor("id1", "id12")
    assert not ids.is_ancestor("id1", "id1")
