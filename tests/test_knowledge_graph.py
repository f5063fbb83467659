"""Knowledge in the graph: every discovery, memory and handoff is an entity whose ID is the record's,
with the edges knowledge.proto lists; names stay unique; replacing a memory relinks it; Navigate
finds knowledge through full-text search."""

from __future__ import annotations

from typing import Any

from support import Server

TARGET = "/home/ada/envoy/src/parser.rs"


async def post(server: Server, token: str, path: str, body: dict[str, Any], status: int = 201) -> Any:
    got, answer = await server.request("POST", path, body, token=token)
    assert got == status, answer
    return answer


async def edges_of(server: Server, token: str, entity_id: int) -> set[tuple[str, str, str, str]]:
    """(direction, label, other end's kind, other end's name) of every edge of an entity."""
    status, found = await server.request(
        "GET", f"/atheneum/graph/entities/{entity_id}/neighbors", token=token
    )
    assert status == 200, found
    edges = set()
    for direction in ("outgoing", "incoming"):
        for edge in found[direction]:
            other = edge["to_id"] if direction == "outgoing" else edge["from_id"]
            _, entity = await server.request("GET", f"/atheneum/graph/entities/{other}", token=token)
            edges.add((direction, edge["edge_type"], entity["kind"], entity["name"]))
    return edges


async def test_a_discovery_is_an_entity_with_its_edges(server: Server) -> None:
    token = (await server.register("alice"))["token"]
    await post(
        server, token, "/atheneum/sessions", {"session_id": "s-1", "agent": "alice", "project": "envoy"}
    )
    read = {"session_id": "s-1", "tool_name": "Read", "exit_status": "success", "file_paths": [TARGET]}
    await post(server, token, "/atheneum/tool-calls", read, 200)
    await server.running.graph.catch_up()  # the File entity exists once the projector has run
    body = {
        "agent": "claude",
        "discovery_type": "Bug",
        "target": TARGET,
        "metadata": {"why": "recursion"},
        "project_id": "envoy",
        "session_id": "s-1",
    }

    first = await post(server, token, "/atheneum/discoveries", body)
    second = await post(server, token, "/atheneum/discoveries", {**body, "metadata": {"why": "and more"}})
    status, entity = await server.request(
        "GET", f"/atheneum/graph/entities/{first['discovery_id']}", token=token
    )
    _, other = await server.request("GET", f"/atheneum/graph/entities/{second['discovery_id']}", token=token)
    edges = await edges_of(server, token, first["discovery_id"])

    assert status == 200 and entity["kind"] == "Discovery" and entity["name"] == f"claude: {TARGET}"
    assert entity["data"]["why"] == "recursion" and entity["data"]["session_id"] == "s-1"
    assert other["name"] == f"claude: {TARGET} #2"
    assert edges == {
        ("outgoing", "belongs_to_project", "Project", "envoy"),
        ("outgoing", "observed_in", "Session", "s-1"),
        ("outgoing", "explains", "File", TARGET),
        ("incoming", "created", "Agent", "claude"),
    }


async def test_memories_and_handoffs_are_entities_and_relinked(server: Server) -> None:
    token = (await server.register("alice"))["token"]
    await post(
        server, token, "/atheneum/sessions", {"session_id": "s-1", "agent": "alice", "project": "envoy"}
    )
    note = {
        "key": "style",
        "scope": "project",
        "project": "envoy",
        "content": "ruff",
        "target": "pyproject.toml",
        "provenance": {"agent": "claude", "session_id": "s-1"},
    }
    memory = await post(server, token, "/atheneum/memories", note)
    before = await edges_of(server, token, memory["id"])
    replaced = await post(
        server,
        token,
        "/atheneum/memories",
        {**note, "content": "black", "provenance": {"agent": "codex"}},
        200,
    )
    after = await edges_of(server, token, memory["id"])
    _, entity = await server.request("GET", f"/atheneum/graph/entities/{memory['id']}", token=token)
    handoff = await post(
        server,
        token,
        "/atheneum/handoffs",
        {
            "from_agent": "claude",
            "to_agent": "codex",
            "manifest": {"todo": "lexer"},
            "project_id": "envoy",
            "session_id": "s-1",
        },
    )
    await post(server, token, f"/atheneum/handoffs/{handoff['handoff_id']}/claim", {}, 200)
    handoff_edges = await edges_of(server, token, handoff["handoff_id"])
    _, claimed = await server.request("GET", f"/atheneum/graph/entities/{handoff['handoff_id']}", token=token)

    assert before == {
        ("outgoing", "belongs_to_project", "Project", "envoy"),
        ("outgoing", "observed_in", "Session", "s-1"),
        ("incoming", "created", "Agent", "claude"),
    }
    assert replaced["id"] == memory["id"]
    assert after == {
        ("outgoing", "belongs_to_project", "Project", "envoy"),
        ("incoming", "created", "Agent", "codex"),
    }
    assert entity["kind"] == "Memory" and entity["name"] == "project:envoy:style"
    assert entity["data"]["content"] == "black"
    assert handoff_edges == {
        ("outgoing", "belongs_to_project", "Project", "envoy"),
        ("outgoing", "observed_in", "Session", "s-1"),
        ("outgoing", "assigned_to", "Agent", "codex"),
        ("incoming", "created", "Agent", "claude"),
    }
    assert claimed["name"] == "handoff:claude:codex" and claimed["data"]["claimed"] is True


async def test_navigate_finds_knowledge_by_its_words(server: Server) -> None:
    token = (await server.register("alice"))["token"]
    body = {
        "agent": "claude",
        "discovery_type": "Bug",
        "target": "lexer.rs",
        "metadata": {"why": "quadratic backtracking"},
        "project_id": "envoy",
    }
    created = await post(server, token, "/atheneum/discoveries", body)

    status, navigated = await server.request(
        "GET", "/atheneum/graph/navigate?q=backtracking&depth=1", token=token
    )

    assert status == 200, navigated
    assert [s["entry"]["id"] for s in navigated["subgraphs"]] == [created["discovery_id"]]
    assert {e["kind"] for e in navigated["subgraphs"][0]["entities"]} == {"Discovery", "Project", "Agent"}
