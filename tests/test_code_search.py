"""Cross-project code search: the project registry, IndexProject, CrossSearch and CrossNavigate
over real sockets, with this repository's own `envoy_grpc/`, small fixture projects, a
magellan-layout database made here, and projects whose index is missing or corrupt."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner
from google.protobuf import field_mask_pb2
from support import Server, auth

from envoy_grpc import cli
from envoy_grpc.gen.envoy.v1 import agents_pb2, code_pb2, code_pb2_grpc

REPO = Path(__file__).resolve().parent.parent

ROUTER = '''"""Routing."""

ROUTE_LIMIT = 3


def build_router() -> int:
    return make_routes()


def make_routes() -> int:
    return helper_x()


def helper_x() -> int:
    return 1


def buildxrouter() -> int:
    return 0


def route() -> int:
    return 2


def router_table() -> int:
    return 3


def make_route_map() -> int:
    return 4
'''

CONSUMER = '''"""Uses the router of another project."""

from somewhere_else import build_router


def run_consumer() -> int:
    return build_router()
'''


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def magellan_db(path: Path, root: Path) -> Path:
    """A database in magellan's own layout (no meta table, absolute file paths, display_fqn)."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE graph_entities (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL,
                                     file_path TEXT, data TEXT NOT NULL);
        CREATE TABLE graph_edges (id INTEGER PRIMARY KEY, from_id INTEGER NOT NULL, to_id INTEGER NOT NULL,
                                  edge_type TEXT NOT NULL, data TEXT NOT NULL);
        """
    )
    lib = str(root / "src" / "lib.rs")

    def symbol(name: str, kind: str, line: int) -> str:
        return json.dumps(
            {
                "kind": kind,
                "byte_start": 0,
                "byte_end": 9,
                "start_line": line,
                "start_col": 4,
                "end_line": line + 2,
                "end_col": 1,
                "display_fqn": f"mg::{name}",
            }
        )

    entities = [
        (1, "File", lib, lib, "{}"),
        (2, "Symbol", "common_func", lib, symbol("common_func", "Function", 3)),
        (3, "Symbol", "operator%=", lib, symbol("operator%=", "Method", 10)),
        (4, "Symbol", "a_b", lib, symbol("a_b", "Function", 20)),
        (5, "Symbol", "axb", lib, symbol("axb", "Function", 30)),
        (
            6,
            "Call",
            "common_func calls axb",
            lib,
            json.dumps({"caller": "common_func", "callee": "axb", "file": lib}),
        ),
        (7, "Reference", "a_b", lib, json.dumps({"line": 5, "col": 2})),
    ]
    edges = [
        (1, 1, 2, "DEFINES", "{}"),
        (2, 1, 3, "DEFINES", "{}"),
        (3, 1, 4, "DEFINES", "{}"),
        (4, 1, 5, "DEFINES", "{}"),
        (5, 2, 6, "CALLER", "{}"),
        (6, 6, 5, "CALLS", "{}"),
        (7, 7, 4, "REFERENCES", "{}"),
        (8, 2, 999, "CALLS", "{}"),  # an edge to an entity the index lacks
    ]
    conn.executemany("INSERT INTO graph_entities VALUES (?, ?, ?, ?, ?)", entities)
    conn.executemany("INSERT INTO graph_edges VALUES (?, ?, ?, ?, ?)", edges)
    conn.commit()
    conn.close()
    return path


def stub(server: Server) -> code_pb2_grpc.CodeServiceStub:
    return code_pb2_grpc.CodeServiceStub(server.channel)


async def register(
    server: Server, name: str, root: Path, index_path: Path | None = None, languages: tuple[str, ...] = ()
) -> code_pb2.Project:
    request = code_pb2.RegisterProjectRequest(name=name, root_path=str(root), languages=list(languages))
    if index_path is not None:
        request.index_path = str(index_path)
    project: code_pb2.Project = await stub(server).RegisterProject(
        request, metadata=auth(server.operator_token)
    )
    return project


async def index(server: Server, name: str) -> code_pb2.IndexProjectResponse:
    response: code_pb2.IndexProjectResponse = await stub(server).IndexProject(
        code_pb2.IndexProjectRequest(name=name), metadata=auth(server.operator_token), timeout=120
    )
    return response


async def search(server: Server, q: str, **fields: Any) -> code_pb2.CrossSearchResponse:
    response: code_pb2.CrossSearchResponse = await stub(server).CrossSearch(
        code_pb2.CrossSearchRequest(q=q, **fields), metadata=auth(server.operator_token)
    )
    return response


async def navigate(server: Server, q: str, **fields: Any) -> code_pb2.CrossNavigateResponse:
    response: code_pb2.CrossNavigateResponse = await stub(server).CrossNavigate(
        code_pb2.CrossNavigateRequest(q=q, **fields), metadata=auth(server.operator_token)
    )
    return response


def assert_no_dangling(view: code_pb2.CodeView) -> None:
    present = {(e.project, e.id) for e in view.entities}
    for edge in view.edges:
        assert (edge.from_project, edge.from_id) in present, edge
        assert (edge.to_project, edge.to_id) in present, edge


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if line.startswith(text))


@pytest.fixture
def fixture_root(tmp_path: Path) -> Path:
    return write(tmp_path / "fixture", {"app/__init__.py": "", "app/router.py": ROUTER})


async def test_this_repository_and_a_fixture_are_indexed_and_searched(
    server: Server, fixture_root: Path
) -> None:
    envoy = await register(server, "envoy", REPO / "envoy_grpc")
    await register(server, "fixture", fixture_root)

    indexed = await index(server, "envoy")
    await index(server, "fixture")
    found = await search(server, "index_project", project="envoy")
    again = await index(server, "envoy")

    assert envoy.symbol_count == 0 and not envoy.external_index
    assert envoy.index_path == str(server.running.config.data_dir / "code" / "envoy.db")
    assert indexed.files > 50 and indexed.symbols > 500 and indexed.calls > 500 and indexed.imports > 100
    assert again.files == 0 and again.skipped == indexed.files  # nothing changed: nothing parsed
    top = found.results[0]
    assert (top.project, top.name, top.kind, top.file_path, top.score) == (
        "envoy",
        "index_project",
        "Function",
        "code/indexer.py",
        1.0,
    )
    assert top.line == line_of(REPO / "envoy_grpc/code/indexer.py", "def index_project(")
    assert top.column == 1
    assert top.qualified_name == "envoy_grpc.code.indexer.index_project"
    project = await stub(server).GetProject(
        code_pb2.GetProjectRequest(name="envoy"), metadata=auth(server.operator_token)
    )
    assert project.symbol_count == indexed.symbols and project.HasField("last_indexed_at")
    assert list(project.languages) == ["python"]


async def test_search_ranks_exact_prefix_substring_case_insensitively(
    server: Server, fixture_root: Path
) -> None:
    await register(server, "fixture", fixture_root)
    await index(server, "fixture")

    ranked = await search(server, "ROUTE", k=20)
    short = await search(server, "ro", k=20)
    literal = await search(server, "build_router", k=20)

    names = [(r.name, r.score) for r in ranked.results]
    assert names[0] == ("route", 1.0)
    # Prefixes, shorter names first (`router` is the module app/router.py).
    assert names[1:4] == [("router", 0.75), ("ROUTE_LIMIT", 0.75), ("router_table", 0.75)]
    assert {n for n, s in names[4:]} == {"build_router", "buildxrouter", "make_route_map", "make_routes"}
    assert all(s == 0.5 for _, s in names[4:])
    assert [(r.name, r.score) for r in short.results[:4]] == [
        ("route", 0.75),
        ("router", 0.75),
        ("ROUTE_LIMIT", 0.75),
        ("router_table", 0.75),
    ]
    # `_` is not a wildcard: `buildxrouter` is only a near miss (one letter replaced), ranked last.
    assert [(r.name, r.score) for r in literal.results] == [("build_router", 1.0), ("buildxrouter", 0.3)]
    assert (await search(server, "%")).results == []
    assert (await search(server, "b%r")).results == []


async def test_one_and_two_letter_queries_also_match_inside_names(server: Server, tmp_path: Path) -> None:
    root = write(
        tmp_path / "short",
        {
            "short.py": "def ox() -> int:\n    return 1\n\n\ndef helper_x() -> int:\n    return ox()\n\n\n"
            "def buildxrouter() -> int:\n    return 0\n\n\ndef route() -> int:\n    return 2\n"
        },
    )
    await register(server, "short", root)
    await index(server, "short")

    one = await search(server, "X", k=20)
    two = await search(server, "te", k=20)

    # `x` starts no name, so every hit holds it inside, the two-letter `ox` included; shorter first.
    assert [(r.name, r.score) for r in one.results] == [("ox", 0.5), ("helper_x", 0.5), ("buildxrouter", 0.5)]
    assert [(r.name, r.score) for r in two.results] == [("route", 0.5), ("buildxrouter", 0.5)]
    assert [r.name for r in (await search(server, "x", k=1)).results] == ["ox"]


async def test_near_misses_fill_the_list_when_fewer_than_k_match(server: Server, fixture_root: Path) -> None:
    await register(server, "fixture", fixture_root)
    await index(server, "fixture")

    swapped = await search(server, "biuld_router", k=5)
    dropped = await search(server, "helpr_x", k=5)
    short = await search(server, "rotue", k=5)

    # Up to 8 letters one mistake is allowed, from 9 letters two; fewer mistakes rank first.
    assert [(r.name, r.score) for r in swapped.results] == [("build_router", 0.3), ("buildxrouter", 0.2)]
    assert [(r.name, r.score) for r in dropped.results] == [("helper_x", 0.3)]
    assert [(r.name, r.score) for r in short.results] == [("route", 0.3)]
    # Three letters are too few to guess at, and near misses never push out a real match.
    assert (await search(server, "rot", k=5)).results == []
    assert [r.name for r in (await search(server, "make_routes", k=1)).results] == ["make_routes"]


async def test_navigate_walks_a_call_chain_and_across_projects(
    server: Server, tmp_path: Path, fixture_root: Path
) -> None:
    await register(server, "fixture", fixture_root)
    await register(server, "consumer", write(tmp_path / "consumer", {"main.py": CONSUMER}))
    await index(server, "fixture")
    await index(server, "consumer")

    chain = await navigate(server, "build_router", project="fixture", k=1, depth=4)
    across = await navigate(server, "run_consumer", project="consumer", k=1, depth=2)

    view = chain.views[0]
    assert view.entities[0].name == "build_router" and view.entities[0].score == 1.0
    symbols = {e.name for e in view.entities if e.kind == "Function"}
    assert {"build_router", "make_routes", "helper_x"} <= symbols
    kinds = {e.kind for e in view.edges}
    assert {"DEFINES", "CALLER", "CALLS"} <= kinds
    assert_no_dangling(view)
    cross = [e for e in across.views[0].edges if e.from_project != e.to_project]
    assert len(cross) == 1
    assert (cross[0].kind, cross[0].id, cross[0].from_project, cross[0].to_project) == (
        "CALLS",
        0,
        "consumer",
        "fixture",
    )
    target = next(e for e in across.views[0].entities if e.project == "fixture")
    assert target.name == "build_router" and target.id == cross[0].to_id
    assert_no_dangling(across.views[0])


async def test_twelve_projects_with_a_magellan_index_a_missing_and_a_corrupt_one(
    server: Server, tmp_path: Path
) -> None:
    for i in range(9):
        root = write(
            tmp_path / f"p{i}",
            {
                f"mod{i}.py": f"def common_func() -> int:\n    return {i}\n\n\ndef only_{i}() -> int:\n    return common_func()\n"
            },
        )
        await register(server, f"p{i:02d}", root)
        await index(server, f"p{i:02d}")
    mg_root = tmp_path / "mg"
    mg_root.mkdir()
    await register(server, "magellan", mg_root, magellan_db(tmp_path / "mg.db", mg_root), languages=("rust",))
    gone = magellan_db(tmp_path / "gone.db", mg_root)
    await register(server, "missing", mg_root, gone)
    gone.unlink()
    broken = write(tmp_path / "broken", {"b.py": "def common_func() -> int:\n    return 0\n"})
    await register(server, "corrupt", broken)
    await index(server, "corrupt")
    (server.running.config.data_dir / "code" / "corrupt.db").write_bytes(b"this is not a database" * 100)

    found = await search(server, "common_func", k=50)
    navigated = await navigate(server, "common_func", k=50, depth=2)
    weird = await search(server, "operator%")
    rust_only = await search(server, "a_b", language="rust")

    assert sorted({r.project for r in found.results}) == ["magellan", *(f"p{i:02d}" for i in range(9))]
    assert [(w.project, w.code) for w in found.warnings] == [
        ("corrupt", "INDEX_CORRUPT"),
        ("missing", "INDEX_MISSING"),
    ]
    assert all(str(tmp_path) in w.message or "corrupt.db" in w.message for w in found.warnings)
    assert len(navigated.views) == 10
    assert [(w.project, w.code) for w in navigated.warnings] == [
        ("corrupt", "INDEX_CORRUPT"),
        ("missing", "INDEX_MISSING"),
    ]
    for view in navigated.views:
        assert_no_dangling(view)
    mg = next(v for v in navigated.views if v.project == "magellan")
    assert {e.name for e in mg.entities} >= {"common_func", "src/lib.rs", "common_func calls axb"}
    mg_hit = next(r for r in found.results if r.project == "magellan")
    assert (mg_hit.file_path, mg_hit.line, mg_hit.column, mg_hit.qualified_name) == (
        "src/lib.rs",
        3,
        5,
        "mg::common_func",
    )
    assert [r.name for r in weird.results] == ["operator%="]
    assert [r.name for r in rust_only.results] == ["a_b"]
    assert len(server.running.code.pool.cached()) <= 8
    # The pool stays warm across requests: asking again opens nothing new for cached projects.
    opened = server.running.code.pool.opened
    await search(server, "common_func", project="p08")
    await navigate(server, "common_func", project="p08", depth=1)
    await navigate(server, "common_func", project="p08", depth=1)
    assert server.running.code.pool.opened <= opened + 1


async def test_bad_paths_are_refused_with_a_clear_error(
    server: Server, tmp_path: Path, fixture_root: Path
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not sqlite")
    empty_db = tmp_path / "empty.db"
    sqlite3.connect(empty_db).execute("CREATE TABLE t (x)").connection.close()

    cases = [
        ({"root_path": "../../etc"}, "root_path", "INVALID_PATH"),
        ({"root_path": f"{fixture_root}/../fixture"}, "root_path", "INVALID_PATH"),
        ({"root_path": str(tmp_path / "nope")}, "root_path", "INVALID_PATH"),
        ({"root_path": str(text)}, "root_path", "INVALID_PATH"),
        ({"index_path": "../../etc"}, "index_path", "INVALID_PATH"),
        ({"index_path": str(text)}, "index_path", "INVALID_INDEX"),
        ({"index_path": str(empty_db)}, "index_path", "INVALID_INDEX"),
        ({"index_path": str(tmp_path / "none.db")}, "index_path", "INVALID_INDEX"),
        ({"name": "../x"}, "name", "INVALID_ARGUMENT"),
    ]
    for fields, field, reason in cases:
        body = {"name": "bad", "root_path": str(fixture_root), **fields}
        status, answer = await server.request("POST", "/projects", body, token=server.operator_token)
        assert status == 400, (fields, answer)
        assert answer["error"]["code"] == reason, answer
        assert field in answer["error"]["message"], answer
    status, answer = await server.request(
        "POST",
        "/projects",
        {"name": "bad", "root_path": str(fixture_root), "index_path": str(text)},
        token=server.operator_token,
    )
    assert "not a readable SQLite file" in answer["error"]["message"]


async def test_registry_over_http_operator_only_and_idempotent(
    server: Server, tmp_path: Path, fixture_root: Path
) -> None:
    agent = await server.agents.RegisterAgent(agents_pb2.RegisterAgentRequest(name="a", kind="k"))
    body = {"name": "fixture", "root_path": str(fixture_root), "languages": ["Python"]}

    denied, refused = await server.request("POST", "/projects", body, token=agent.token)
    created, project = await server.request("POST", "/projects", body, token=server.operator_token)
    repeated, same = await server.request("POST", "/projects", body, token=server.operator_token)
    other = {**body, "root_path": str(tmp_path)}
    conflict, clash = await server.request("POST", "/projects", other, token=server.operator_token)
    listed, page = await server.request("GET", "/projects?language=python", token=agent.token)
    disabled, patched = await server.request(
        "PATCH", "/projects/fixture", {"enabled": False}, token=agent.token
    )
    with pytest.raises(grpc.aio.AioRpcError) as moved:
        await stub(server).UpdateProject(
            code_pb2.UpdateProjectRequest(
                name="fixture",
                project=code_pb2.Project(root_path=str(tmp_path)),
                update_mask=field_mask_pb2.FieldMask(paths=["root_path"]),
            ),
            metadata=auth(agent.token),
        )
    with pytest.raises(grpc.aio.AioRpcError) as bad_mask:
        await stub(server).UpdateProject(
            code_pb2.UpdateProjectRequest(
                name="fixture",
                project=code_pb2.Project(name="fixture"),
                update_mask=field_mask_pb2.FieldMask(paths=["name"]),
            ),
            metadata=auth(server.operator_token),
        )
    for rpc, request in (
        ("IndexProject", code_pb2.IndexProjectRequest(name="fixture")),
        ("DeleteProject", code_pb2.DeleteProjectRequest(name="fixture")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await getattr(stub(server), rpc)(request, metadata=auth(agent.token))
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    await index(server, "fixture")
    hidden = await search(server, "build_router")
    deleted, gone = await server.request("DELETE", "/projects/fixture", token=server.operator_token)
    missing, not_found = await server.request("GET", "/projects/fixture", token=agent.token)
    again, allowed = await server.request(
        "DELETE", "/projects/fixture?allow_missing=true", token=server.operator_token
    )

    assert denied == 403, refused
    assert created == 201 and project["languages"] == ["python"] and project["enabled"] is True
    assert repeated == 200 and same == project
    assert conflict == 409 and clash["error"]["code"] == "PROJECT_ALREADY_EXISTS"
    assert listed == 200 and [p["name"] for p in page["projects"]] == ["fixture"]
    assert disabled == 200 and patched["enabled"] is False
    assert moved.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert bad_mask.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "update_mask" in (bad_mask.value.details() or "")
    assert hidden.results == []  # disabled projects are left out
    assert deleted == 200 and gone == {"name": "fixture", "deleted": True}
    assert missing == 404 and not_found["error"]["code"] == "PROJECT_NOT_FOUND"
    assert again == 200 and allowed["deleted"] is False
    assert not (server.running.config.data_dir / "code" / "fixture.db").exists()
    assert fixture_root.exists()


async def test_search_validates_its_arguments_over_http(server: Server) -> None:
    empty, _ = await server.request("GET", "/atheneum/cross/search?q=", token=server.operator_token)
    long, _ = await server.request(
        "GET", "/atheneum/cross/search?q=" + "x" * 201, token=server.operator_token
    )
    negative, answer = await server.request(
        "GET", "/atheneum/cross/search?q=x&k=-1", token=server.operator_token
    )
    nav, nav_answer = await server.request(
        "GET", "/atheneum/cross/navigate?q=x&depth=-1", token=server.operator_token
    )
    ok, result = await server.request("GET", "/atheneum/cross/search?q=x", token=server.operator_token)

    assert (empty, long, negative, nav) == (422, 400, 400, 400)
    assert "k" in answer["error"]["message"] and "depth" in nav_answer["error"]["message"]
    assert ok == 200 and result["count"] == 0


async def test_cli_projects_and_index(
    server: Server, fixture_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVOY_URL", server.base_url)
    monkeypatch.setenv("ENVOY_HOME", str(server.running.config.data_dir))
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli.cli, list(args), catch_exceptions=False)

    added = await asyncio.to_thread(
        run, "projects", "add", "fixture", str(fixture_root), "--language", "python"
    )
    indexed = await asyncio.to_thread(run, "index", str(fixture_root), "--project", "fixture")
    listed = await asyncio.to_thread(run, "projects", "list")
    disabled = await asyncio.to_thread(run, "projects", "disable", "fixture")
    enabled = await asyncio.to_thread(run, "projects", "enable", "fixture")
    removed = await asyncio.to_thread(run, "projects", "remove", "fixture")

    assert added.exit_code == 0, added.output
    assert indexed.exit_code == 0 and '"symbols"' in indexed.output, indexed.output
    assert listed.exit_code == 0 and "fixture" in listed.output
    assert disabled.exit_code == 0 and enabled.exit_code == 0 and removed.exit_code == 0
    assert (
        await stub(server).ListProjects(code_pb2.ListProjectsRequest(), metadata=auth(server.operator_token))
    ).projects == []


async def test_an_update_mask_in_the_query_string_uses_our_field_names(
    server: Server, fixture_root: Path
) -> None:
    body = {"name": "fixture", "root_path": str(fixture_root)}
    await server.request("POST", "/projects", body, token=server.operator_token)

    status, project = await server.request(
        "PATCH", "/projects/fixture?update_mask=enabled", {"enabled": False}, token=server.operator_token
    )

    assert status == 200, project
    assert project["enabled"] is False


async def test_knowledge_about_a_symbol_links_to_it_in_every_project(
    server: Server, tmp_path: Path, fixture_root: Path
) -> None:
    await register(server, "fixture", fixture_root)
    await index(server, "fixture")
    agent = await server.agents.RegisterAgent(agents_pb2.RegisterAgentRequest(name="a", kind="k"))
    body = {"agent": "claude", "discovery_type": "Bug", "target": "build_router", "metadata": {"why": "slow"}}

    status, discovery = await server.request("POST", "/atheneum/discoveries", body, token=agent.token)
    _, neighbours = await server.request(
        "GET", f"/atheneum/graph/entities/{discovery['discovery_id']}/neighbors", token=agent.token
    )

    assert status == 201
    explained = [e for e in neighbours["outgoing"] if e["edge_type"] == "explains"]
    assert len(explained) == 1
    _, symbol = await server.request(
        "GET", f"/atheneum/graph/entities/{explained[0]['to_id']}", token=agent.token
    )
    assert (symbol["kind"], symbol["project"]) == ("Symbol", "fixture")
    assert symbol["name"].endswith("build_router")
