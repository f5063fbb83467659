"""The graph's hot queries use indexes: every statement the projection, the reads and the walks run is
explained, and none reads all of graph_entity, graph_edge or a table the projector follows."""

from __future__ import annotations

from typing import Any

import hook_payloads as hooks
import pytest
from query_plans import explain_reads, record
from support import Server
from test_hooks import SID, replay

from envoy_grpc.store import graph, graph_feed, graph_walk, sessions

MODULES = (graph, graph_walk, graph_feed, sessions)
# Full reads that are the point: the JSON arrays of IDs a statement is handed, the rows of a subquery
# it has just built, and the per-kind and per-label counts (a few dozen rows) GetGraphStats returns.
ALLOWED_SCANS = ("SCAN json_each", "SCAN (subquery", "SCAN graph_count", "SCAN CONSTANT ROW")


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    return record(monkeypatch, MODULES, sessions.cursor)


def read_everything(session_id: str) -> None:
    """Every read of the store, at least once, with and without a label filter."""
    (project,) = graph.entity_ids_for("Project", "envoy", "envoy")
    (session,) = graph.entity_ids_for("Session", session_id)
    graph.get_entity(session)
    graph.get_edge(1)
    graph.entities_by_id([project, session])
    graph.edges_by_id([1, 2, 3])
    for outgoing in (True, False):
        for label in ("", "observed_in"):
            graph.incident_edges(session, outgoing, label, 0, 100)
    for direction in ("both", "outgoing", "incoming"):
        for label in ("", "observed_in"):
            graph_walk.subgraph(session, 3, 500, label, direction)  # type: ignore[arg-type]
            graph_walk.shortest_path(project, session + 5, 6, label, direction)  # type: ignore[arg-type]
    graph.stats()
    graph.name_prefix_matches("src/", 5)
    graph.name_prefix_matches("src/", 5, "envoy")
    graph_feed.latest_ids()
    graph_feed.cursors()


async def test_every_graph_statement_uses_an_index(
    server: Server, statements: list[tuple[str, tuple[Any, ...]]]
) -> None:
    await replay(server, hooks.whole_session(SID))
    await server.running.graph.catch_up()
    db = server.running.db
    await db.read(lambda: read_everything(SID))
    await db.write(lambda: graph.delete_entities(graph.entity_ids_for("File", "src/login.py")))
    plans = await explain_reads(db, statements)

    assert len(plans) > 25
    for sql, plan in plans:
        for line in plan.splitlines():
            if line.startswith("SCAN ") and " USING " not in line:
                assert line.startswith(ALLOWED_SCANS), (sql, plan)
    by_index = "\n".join(plan for _, plan in plans)
    for index in ("graph_entity_key", "graph_entity_name", "graph_edge_out", "graph_edge_in"):
        assert index in by_index, index
    walks = [plan for sql, plan in plans if "json_each(?1)" in sql and "graph_edge" in sql]
    assert walks and all("graph_edge_out" in plan or "graph_edge_in" in plan for plan in walks)
