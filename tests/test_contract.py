"""The proto is the single source of truth: generated code is fresh, every RPC has a route and a
comment, and /openapi.json describes every route."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

from google.api import annotations_pb2
from support import Server

from envoy_grpc.server import methods
from gateway.openapi import _comments

ROOT = Path(__file__).resolve().parent.parent


def test_generated_code_matches_the_proto(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), str(tmp_path)],
        check=True,
        capture_output=True,
    )

    committed = ROOT / "envoy_grpc" / "gen"
    comparison = filecmp.dircmp(committed / "envoy" / "v1", tmp_path / "envoy" / "v1", ignore=["__pycache__"])
    assert not comparison.diff_files, f"stale generated files (run make proto): {comparison.diff_files}"
    assert not comparison.left_only and not comparison.right_only
    assert (committed / "envoy_v1.binpb").read_bytes() == (tmp_path / "envoy_v1.binpb").read_bytes()


def test_every_rpc_has_an_http_route_and_a_comment() -> None:
    comments = _comments()
    for info in methods.method_table().values():
        method = info.descriptor
        assert method.GetOptions().HasExtension(annotations_pb2.http), f"{info.path} has no google.api.http"
        assert comments.get(f"{method.containing_service.full_name}.{method.name}"), (
            f"{info.path} has no comment"
        )


def test_every_message_and_field_has_a_comment() -> None:
    comments = _comments()
    for module in methods.FILES:
        for message in module.DESCRIPTOR.message_types_by_name.values():
            assert message.full_name in comments, f"{message.full_name} has no comment"
            for field in message.fields:
                assert f"{message.full_name}.{field.name}" in comments, f"{message.full_name}.{field.name}"


async def test_openapi_lists_every_route(server: Server) -> None:
    status, document = await server.request("GET", "/openapi.json")

    assert status == 200
    assert document["openapi"].startswith("3.")
    operations = {(verb.upper(), path) for path, item in document["paths"].items() for verb in item}
    for route in server.running.gateway.table.routes:  # type: ignore[union-attr]
        assert (route.verb, route.template) in operations
    register = document["paths"]["/agents"]["post"]
    assert set(register["responses"]) >= {"201", "200", "default"}
    schema = document["components"]["schemas"]["envoy.v1.RegisterAgentRequest"]
    assert schema["required"] == ["name", "kind"]
    assert document["paths"]["/agents/{agent_id}"]["get"]["description"].startswith("Returns one agent")


async def test_the_index_lists_routes(server: Server) -> None:
    status, index = await server.request("GET", "/")

    assert status == 200
    assert {
        "method": "POST",
        "path": "/agents",
        "rpc": "envoy.v1.AgentService/RegisterAgent",
        "streaming": False,
    } in (index["routes"])


def test_serve_help_explains_every_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "envoy_grpc", "serve", "--help"], capture_output=True, text=True, check=True
    )
    for flag in (
        "--host",
        "--grpc-port",
        "--http-port",
        "--data-dir",
        "--auth",
        "--registration",
        "--max-body",
        "--socket",
        "--shutdown-grace",
        "--log-format",
    ):
        assert flag in result.stdout
    assert "ENVOY_HOME" in result.stdout and "ENVOY_GRPC_PORT" in result.stdout
