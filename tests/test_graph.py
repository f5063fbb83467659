"""The knowledge graph built from what agents record: a replayed Claude Code session becomes exactly the
expected entities and edges, replaying it again or projecting it again adds nothing, and messages,
project events and relation hints land in the graph too."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import hook_payloads as hooks
import pytest
from support import Server, auth, make_config, wait_for
from test_hooks import SID, replay

from envoy_grpc.core import graph_mapping
from envoy_grpc.core.hook_payloads import digest as prompt_digest
from envoy_grpc.core.hook_payloads import short
from envoy_grpc.gen.envoy.v1 import graph_pb2, graph_pb2_grpc
from envoy_grpc.server.app import start
from envoy_grpc.store import graph as store

Node = tuple[str, str]
Link = tuple[Node, str, Node]
MAIN, FIRST, SECOND = SID, f"{SID}.a1b2c3d4", f"{SID}.e5f6a7b8"
PROJECT: Node = ("Project", "envoy")


def graph_stub(server: Server) -> graph_pb2_grpc.GraphServiceStub:
    return graph_pb2_grpc.GraphServiceStub(server.channel)


async def everything(server: Server) -> tuple[set[Node], set[Link]]:
    """Every entity as (kind, name) and every edge between them, straight from the store."""

    def read() -> tuple[list[Any], list[Any]]:
        cur = store.cursor()
        entities = cur.execute("SELECT id, kind, name FROM graph_entity").fetchall()
        edges = cur.execute("SELECT from_id, label, to_id FROM graph_edge").fetchall()
        return entities, edges

    entities, edges = await server.running.db.read(read)
    names = {row[0]: (row[1], row[2]) for row in entities}
    assert len(names) == len(set(names.values())), "two entities for the same thing"
    links = {(names[a], label, names[b]) for a, label, b in edges}
    assert len(links) == len(edges), "parallel duplicate edges"
    return set(names.values()), links


def session_links(session: str, agent: str, parent: str | None = None) -> set[Link]:
    node = ("Session", session)
    links = {(("Agent", agent), "performed_by", node), (node, "belongs_to_project", PROJECT)}
    if parent:
        links.add((node, "depends_on", ("Session", parent)))
    return links


def tool_links(session: str, call: str) -> set[Link]:
    node = ("ToolCall", f"{session}:{call}")
    return {(node, "observed_in", ("Session", session)), (("Session", session), "handled_by_tool", node)}


def run_links(session: str, run: int) -> set[Link]:
    node = ("TestRun", f"{session}:test:{run}")
    return {(node, "observed_in", ("Session", session)), (("Session", session), "verified_by", node)}


def handover(session: str, message: str) -> Node:
    return ("Handover", f"{session}:handover:{graph_mapping.digest(short(message, 300))}")


def prompt(session: str, text: str) -> Node:
    return ("ReasoningLog", f"{session}:prompt:{prompt_digest(text)}")


def expected_whole_session() -> tuple[set[Node], set[Link]]:
    login, helpers = ("File", "src/login.py"), ("File", "src/helpers.py")
    handover_a = handover(FIRST, "Added src/helpers.py with slugify(); all 12 tests pass.")
    handover_b = handover(SECOND, "Tried to simplify login(); the test now fails.")
    prompts = [
        prompt(MAIN, "Fix the failing login test and add a helper"),
        prompt(MAIN, "Revert the second change"),
    ]
    calls = {
        MAIN: ["Read:1", "Edit:2", "Bash:3", "Edit:4"],
        FIRST: ["Write:1", "Bash:2"],
        SECOND: ["Edit:1", "Bash:2"],
    }
    runs = {MAIN: 1, FIRST: 2, SECOND: 3}
    entities = {
        PROJECT,
        ("Agent", "id1"),
        ("Agent", "id1.1"),
        ("Agent", "id1.2"),
        *(("Session", s) for s in calls),
        *(("ToolCall", f"{s}:{c}") for s, cs in calls.items() for c in cs),
        *(("TestRun", f"{s}:test:{n}") for s, n in runs.items()),
        login,
        helpers,
        handover_a,
        handover_b,
        *prompts,
    }
    links = (
        session_links(MAIN, "id1")
        | session_links(FIRST, "id1.1", MAIN)
        | session_links(SECOND, "id1.2", MAIN)
    )
    for session, names in calls.items():
        for call in names:
            links |= tool_links(session, call)
    for session, run in runs.items():
        links |= run_links(session, run)
    links |= {(node, "observed_in", ("Session", MAIN)) for node in prompts}
    links |= {
        (login, "belongs_to_project", PROJECT),
        (helpers, "belongs_to_project", PROJECT),
        (("Session", MAIN), "accessed", login),
        (("Session", MAIN), "modified", login),
        (("Session", FIRST), "modified", helpers),
        (("Session", SECOND), "modified", login),
        (handover_a, "observed_in", ("Session", FIRST)),
        (handover_b, "observed_in", ("Session", SECOND)),
        (("Session", MAIN), "derived_from", handover_a),
        (("Session", MAIN), "derived_from", handover_b),
        (handover_a, "mentions", helpers),
        (handover_b, "mentions", login),
    }
    return entities, links


async def check_stats(server: Server, entities: set[Node], links: set[Link]) -> None:
    stats = await graph_stub(server).GetGraphStats(
        graph_pb2.GetGraphStatsRequest(), metadata=auth(server.operator_token)
    )
    kinds = {str(pair[0]): int(pair[1]) for pair in stats.entity_counts}
    labels = {str(pair[0]): int(pair[1]) for pair in stats.edge_counts}
    assert stats.total_entities == len(entities) == sum(kinds.values())
    assert stats.total_edges == len(links) == sum(labels.values())
    assert kinds == Counter(kind for kind, _ in entities)
    assert labels == Counter(label for _, label, _ in links)
    counts = [int(pair[1]) for pair in stats.entity_counts]
    assert counts == sorted(counts, reverse=True)


async def test_a_replayed_hook_session_becomes_exactly_this_graph(server: Server) -> None:
    await replay(server, hooks.whole_session(SID))
    await server.running.graph.catch_up()

    entities, links = await everything(server)

    want_entities, want_links = expected_whole_session()
    assert entities == want_entities
    assert links == want_links
    await check_stats(server, entities, links)


async def test_replaying_or_projecting_again_adds_nothing(server: Server) -> None:
    await replay(server, hooks.whole_session(SID))
    await server.running.graph.catch_up()
    first = await everything(server)

    # The second replay registers new agents (IDs are never reused) and records the prompts and
    # handovers again; none of it is a new thing for the graph.
    projector = server.running.graph.projector
    read_before = projector.rows_projected
    await replay(server, hooks.whole_session(SID))
    await server.running.graph.catch_up()
    assert projector.rows_projected > read_before
    second = await everything(server)
    assert await projector.reproject() > 0
    third = await everything(server)

    assert first == second == third == expected_whole_session()
    await check_stats(server, *third)


async def test_the_graph_follows_records_by_itself_within_a_second(server: Server) -> None:
    await replay(server, hooks.whole_session(SID)[:3])

    async def projected() -> bool:
        stats = await graph_stub(server).GetGraphStats(
            graph_pb2.GetGraphStatsRequest(), metadata=auth(server.operator_token)
        )
        return stats.total_edges > 0 and ("ToolCall", 1) in {(str(k), int(n)) for k, n in stats.entity_counts}

    await wait_for(projected, timeout=2.0)


async def test_a_project_entity_walks_to_the_whole_session_over_grpc(server: Server) -> None:
    await replay(server, hooks.whole_session(SID))
    await server.running.graph.catch_up()

    (project_id,) = await server.running.db.read(lambda: store.entity_ids_for("Project", "envoy"))
    walk = await graph_stub(server).GetSubgraph(
        graph_pb2.GetSubgraphRequest(entity_id=project_id, depth=10, max_nodes=10_000),
        metadata=auth(server.operator_token),
    )

    names = {entity.id: (entity.kind, entity.name) for entity in walk.entities}
    assert (walk.entry.kind, walk.entry.name) == PROJECT
    assert not walk.truncated
    want_entities, want_links = expected_whole_session()
    assert set(names.values()) == want_entities
    assert {(names[e.from_id], e.edge_type, names[e.to_id]) for e in walk.edges} == want_links
    assert [e.id for e in walk.edges] == sorted(e.id for e in walk.edges)


async def record_session(server: Server, session_id: str, project: str = "envoy") -> None:
    body = {"session_id": session_id, "agent": "claude", "project": project}
    status, _ = await server.request("POST", "/atheneum/sessions", body, token=server.operator_token)
    assert status == 201


async def test_messages_and_project_events_become_entities(server: Server) -> None:
    sender, receiver = await server.register("lead"), await server.register("worker")
    await record_session(server, "s1")
    await server.request(
        "POST", "/subscriptions", {"agent_id": "id2", "project": "envoy"}, token=receiver["token"]
    )
    body = {"to": "id2", "parts": [{"text": "please rebase"}], "context_id": "s1"}
    status, _ = await server.request("POST", "/messages", body, token=sender["token"])
    assert status == 201
    gate = {"project": "envoy", "gates_passed": 1, "gates_total": 2, "failures": ["lint"], "session_id": "s1"}
    status, _ = await server.request("POST", "/events/gate", gate, token=server.operator_token)
    assert status == 201
    await server.running.graph.catch_up()

    entities, links = await everything(server)

    (event,) = [node for node in entities if node[0] == "Event"]
    message = ("Message", "1")
    assert event[1].startswith("gate_result:")
    assert {node for node in entities if node[0] in ("Message", "Event", "Agent")} == {
        message,
        event,
        ("Agent", "id1"),
        ("Agent", "id2"),
        ("Agent", "claude"),  # the session's label: it was recorded with the operator token
    }
    assert {
        (("Agent", "id1"), "created", message),
        (message, "assigned_to", ("Agent", "id2")),
        (message, "mentions", ("Session", "s1")),
        (event, "belongs_to_project", PROJECT),
        (event, "observed_in", ("Session", "s1")),
    } <= links
    # The gate event's announcement to the subscriber (message 2) is that Event, not another entity.
    assert ("Message", "2") not in entities


async def test_a_message_entity_holds_its_addressing_and_first_text_clipped(server: Server) -> None:
    lead, first, second = (
        await server.register("lead"),
        await server.register("a"),
        await server.register("b"),
    )
    long_text = "é" * 600  # clipped by characters, not bytes
    sends = [
        {
            "to": "id2",
            "parts": [{"data": {"k": 1}}, {"text": long_text}, {"text": "second"}],
            "task_id": "t9",
        },
        {"type": "broadcast", "parts": [{"url": "https://example.com/x"}]},
    ]
    for body in sends:
        status, _ = await server.request("POST", "/messages", body, token=lead["token"])
        assert status == 201
    await server.running.graph.catch_up()

    def read() -> list[dict[str, Any]]:
        return [
            store.get_entity(store.entity_ids_for("Message", name, "")[0]).data  # type: ignore[union-attr]
            for name in ("1", "2")
        ]

    direct, broadcast = await server.running.db.read(read)
    _, links = await everything(server)

    assert direct == {
        "message_id": 1,
        "type": "direct",
        "sender": "id1",
        "to": "id2",
        "task_id": "t9",
        "text": "é" * 499 + "…",
    }
    assert broadcast == {"message_id": 2, "type": "broadcast", "sender": "id1", "text": ""}
    assert {(m, label, a) for m, label, a in links if label in ("created", "assigned_to")} == {
        (("Agent", "id1"), "created", ("Message", "1")),
        (("Message", "1"), "assigned_to", ("Agent", "id2")),
        (("Agent", "id1"), "created", ("Message", "2")),
        (("Message", "2"), "assigned_to", ("Agent", "id2")),
        (("Message", "2"), "assigned_to", ("Agent", "id3")),
    }
    assert (first["agent_id"], second["agent_id"]) == ("id2", "id3")
    # Projecting the same messages again adds nothing, and the running counts match the rows.
    before = await everything(server)
    await server.running.graph.projector.reproject()
    after = await everything(server)
    assert after == before
    await check_stats(server, *after)


async def test_relation_hints_become_edges_once(server: Server) -> None:
    await record_session(server, "s1")
    relation = {
        "from": {"kind": "Discovery", "name": "login is flaky", "data": {"why": "timing"}},
        "to": {"kind": "File", "name": "src/login.py", "file_path": "src/login.py"},
        "edge_type": "explains",
        "data": {"confidence": 0.9},
    }
    event = {
        "session_id": "s1",
        "event_type": "tool_relation",
        "entity_id": "e1",
        "payload": {"relations": [relation]},
    }
    for _ in range(2):
        status, _ = await server.request("POST", "/atheneum/events", event, token=server.operator_token)
        assert status == 200
    await server.running.graph.catch_up()

    entities, links = await everything(server)

    discovery, file = ("Discovery", "login is flaky"), ("File", "src/login.py")
    assert {discovery, file} <= entities
    assert [link for link in links if link[0] == discovery] == [(discovery, "explains", file)]

    def edge_data() -> tuple[Any, Any]:
        edge_id = store.cursor().execute("SELECT id FROM graph_edge WHERE label = 'explains'").fetchone()[0]
        entity_id = store.entity_ids_for("Discovery", "login is flaky", "envoy")[0]
        return store.get_edge(edge_id), store.get_entity(entity_id)

    edge, entity = await server.running.db.read(edge_data)
    assert edge is not None and edge.data == {"confidence": 0.9}
    assert entity is not None and entity.data == {"why": "timing"} and entity.project == "envoy"


async def test_a_relation_with_an_unknown_label_is_refused_naming_it(server: Server) -> None:
    await record_session(server, "s1")
    relation = {"from": {"kind": "A", "name": "a"}, "to": {"kind": "B", "name": "b"}, "edge_type": "CALLS"}
    event = {"session_id": "s1", "event_type": "x", "entity_id": "e", "payload": {"relations": [relation]}}

    status, body = await server.request("POST", "/atheneum/events", event, token=server.operator_token)

    assert status == 400
    assert body["error"]["code"] == "UNKNOWN_EDGE_TYPE"
    assert "payload.relations[0].edge_type" in body["error"]["message"]
    assert "'CALLS'" in body["error"]["message"]


async def test_a_row_that_cannot_be_projected_is_skipped(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await server.running.graph.projector.stop()

    def broken(*unused: Any) -> None:
        raise RuntimeError("a bug in the projection of commits")

    monkeypatch.setitem(graph_mapping.HANDLERS, "commit", broken)
    await record_session(server, "s1")
    commit = {"session_id": "s1", "commit_sha": "abc123", "message": "m", "author": "a", "commit_type": "fix"}
    await server.request("POST", "/atheneum/commits", commit, token=server.operator_token)
    write = {"session_id": "s1", "file_path": "src/a.py"}
    await server.request("POST", "/atheneum/file-writes", write, token=server.operator_token)

    await server.running.graph.catch_up()

    entities, links = await everything(server)
    assert ("File", "src/a.py") in entities
    assert (("Session", "s1"), "modified", ("File", "src/a.py")) in links
    assert not any(kind == "Commit" for kind, _ in entities)
    assert await server.running.graph.catch_up() == 0  # the bad row is behind the cursor


async def test_what_was_recorded_while_the_projector_was_stopped_is_projected_at_the_next_start(
    server: Server,
) -> None:
    projector = server.running.graph.projector
    await projector.stop()
    await replay(server, hooks.whole_session(SID))
    assert await everything(server) == (set(), set())

    projector.start()
    await wait_for(lambda: projector.rows_projected > 0, timeout=3.0)
    await server.running.graph.catch_up()

    assert await everything(server) == expected_whole_session()


async def test_unknown_entities_and_edges_are_not_found(server: Server) -> None:
    stub, metadata = graph_stub(server), auth(server.operator_token)
    calls = [
        stub.GetEntity(graph_pb2.GetEntityRequest(entity_id=42), metadata=metadata),
        stub.GetEdge(graph_pb2.GetEdgeRequest(edge_id=42), metadata=metadata),
        stub.GetSubgraph(graph_pb2.GetSubgraphRequest(entity_id=-3), metadata=metadata),
        stub.ListNeighbors(graph_pb2.ListNeighborsRequest(entity_id=42), metadata=metadata),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert "no graph e" in str(caught.value.details())
    status, body = await server.request("GET", "/atheneum/graph/entities/42", token=server.operator_token)
    assert (status, body["error"]["code"]) == (404, "ENTITY_NOT_FOUND")
    status, body = await server.request("GET", "/atheneum/graph/edges/7", token=server.operator_token)
    assert (status, body["error"]["code"]) == (404, "EDGE_NOT_FOUND")


async def test_a_restarted_server_neither_loses_nor_repeats_the_projection(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    running = await start(config)
    handle = Server(running, grpc.aio.insecure_channel(running.grpc_target), aiohttp.ClientSession(), "")
    try:
        handle.operator_token = (config.data_dir / "operator.token").read_text().strip()
        await replay(handle, hooks.whole_session(SID))
        await running.graph.catch_up()
        before = await everything(handle)
    finally:
        await handle.http.close()
        await handle.channel.close()
        await running.stop(0)

    again = await start(config)
    try:
        assert await again.graph.catch_up() == 0
        handle.running = again
        assert await everything(handle) == before == expected_whole_session()
    finally:
        await again.stop(0)
