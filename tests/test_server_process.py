"""The server as a process: reflection, health, restarts, signals, ports, and refused settings."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from support import Server, ServerProcess, auth

from envoy_grpc.gen.envoy.v1 import agents_pb2, agents_pb2_grpc

EXPECTED_SERVICES = {
    "envoy.v1.AgentService",
    "envoy.v1.MessageService",
    "envoy.v1.SessionService",
    "envoy.v1.ProjectEventService",
    "envoy.v1.KnowledgeService",
    "envoy.v1.GraphService",
    "envoy.v1.CodeService",
    "envoy.v1.HookService",
    "envoy.v1.SystemService",
    "envoy.v1.LeaseService",
    "envoy.v1.TaskService",
    "envoy.v1.DependencyService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
}


def http_json(
    url: str, body: Any = None, token: str | None = None, headers: dict[str, str] | None = None
) -> Any:
    """The JSON body of a successful request; raises HttpStatusError (already closed) otherwise."""
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode())
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            raise HttpStatusError(error.code) from None


class HttpStatusError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"HTTP {code}")
        self.code = code


async def test_reflection_lists_every_service(server: Server) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(server.channel)

    async def requests() -> Any:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names: list[str] = []
    async for response in stub.ServerReflectionInfo(requests()):
        names = [s.name for s in response.list_services_response.service]

    assert sorted(names) == sorted(EXPECTED_SERVICES)


async def test_reflection_describes_methods(server: Server) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(server.channel)

    async def requests() -> Any:
        yield reflection_pb2.ServerReflectionRequest(file_containing_symbol="envoy.v1.AgentService")

    responses = [r async for r in stub.ServerReflectionInfo(requests())]

    assert responses[0].file_descriptor_response.file_descriptor_proto


async def test_health_check_per_service(server: Server) -> None:
    health = health_pb2_grpc.HealthStub(server.channel)

    overall = await health.Check(health_pb2.HealthCheckRequest(service=""))
    agents = await health.Check(health_pb2.HealthCheckRequest(service="envoy.v1.AgentService"))

    assert overall.status == health_pb2.HealthCheckResponse.SERVING
    assert agents.status == health_pb2.HealthCheckResponse.SERVING


async def test_health_watch_reports_shutdown(server: Server) -> None:
    health = health_pb2_grpc.HealthStub(server.channel)
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
    first = await watch.read()

    stopping = asyncio.create_task(server.running.stop(1.0))
    second = await watch.read()
    await stopping

    assert first.status == health_pb2.HealthCheckResponse.SERVING
    assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_restart_keeps_agents_and_tokens(spawn_server: Any) -> None:
    first = spawn_server()
    root = http_json(first.base_url + "/agents", {"name": "claude-main", "kind": "claude"})
    child = http_json(
        first.base_url + "/agents", {"name": "sub", "kind": "claude", "parent_id": "id1"}, root["token"]
    )
    assert first.stop() == 0

    second: ServerProcess = spawn_server(data_dir=first.data_dir)
    again = http_json(second.base_url + "/agents", {"name": "claude-main", "kind": "claude"})
    shown = http_json(second.base_url + "/agents/id1", token=root["token"])
    next_child = http_json(
        second.base_url + "/agents", {"name": "sub2", "kind": "claude", "parent_id": "id1"}, root["token"]
    )
    async with grpc.aio.insecure_channel(second.grpc_target) as channel:
        over_grpc = await agents_pb2_grpc.AgentServiceStub(channel).GetAgent(
            agents_pb2.GetAgentRequest(agent_id="id1.1"), metadata=auth(child["token"])
        )

    assert (again["agent_id"], again["is_new"]) == ("id1", False)
    assert shown["children"] == ["id1.1"]
    assert next_child["agent_id"] == "id1.2"
    assert over_grpc.name == "sub"


async def test_sigterm_with_an_open_stream_exits_cleanly_within_the_grace(spawn_server: Any) -> None:
    process: ServerProcess = spawn_server()
    async with grpc.aio.insecure_channel(process.grpc_target) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING

        started = time.monotonic()
        process.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.process.wait, 15)
        elapsed = time.monotonic() - started

    assert code == 0
    assert elapsed < 2.0 + 1.5  # --shutdown-grace 2, plus the time to close the database
    assert not any("Traceback" in line for line in process.log), "".join(process.log)


def test_a_second_server_on_the_same_port_fails_clearly(spawn_server: Any, tmp_path: Path) -> None:
    first: ServerProcess = spawn_server()

    second: ServerProcess = spawn_server(
        "--grpc-port", str(first.grpc_port), data_dir=tmp_path / "other", wait=False
    )
    code = second.process.wait(20)
    time.sleep(0.1)  # let the reader thread collect the last lines

    assert code == 1
    assert any(f"cannot listen for gRPC on 127.0.0.1:{first.grpc_port}" in line for line in second.log)


def test_a_busy_http_port_fails_clearly(spawn_server: Any, tmp_path: Path) -> None:
    first: ServerProcess = spawn_server()

    second: ServerProcess = spawn_server(
        "--http-port", str(first.http_port), data_dir=tmp_path / "other", wait=False
    )
    code = second.process.wait(20)
    time.sleep(0.1)

    assert code == 1
    assert any("cannot listen for HTTP" in line for line in second.log)


def test_trust_mode_is_refused_off_loopback(spawn_server: Any) -> None:
    process: ServerProcess = spawn_server("--auth", "trust", "--host", "0.0.0.0", wait=False)

    code = process.process.wait(20)
    time.sleep(0.1)

    assert code == 1
    assert any("--auth=trust" in line and "loopback" in line for line in process.log)


def test_trust_mode_believes_x_agent_id_on_loopback(spawn_server: Any) -> None:
    process: ServerProcess = spawn_server("--auth", "trust")
    http_json(process.base_url + "/agents", {"name": "a", "kind": "k"})

    agent = http_json(process.base_url + "/agents/id1", headers={"X-Agent-Id": "id1"})
    with pytest.raises(HttpStatusError) as missing:
        http_json(process.base_url + "/agents/id1")

    assert agent["agent_id"] == "id1"
    assert missing.value.code == 401


def test_closed_registration_needs_the_operator(spawn_server: Any) -> None:
    process: ServerProcess = spawn_server("--registration", "operator")
    token = (process.data_dir / "operator.token").read_text().strip()

    with pytest.raises(HttpStatusError) as refused:
        http_json(process.base_url + "/agents", {"name": "a", "kind": "k"})
    allowed = http_json(process.base_url + "/agents", {"name": "a", "kind": "k"}, token)

    assert refused.value.code == 403
    assert allowed["agent_id"] == "id1"


async def test_reflection_resolves_a_method_to_its_file(server: Server) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(server.channel)

    async def requests() -> Any:
        yield reflection_pb2.ServerReflectionRequest(file_containing_symbol="envoy.v1.AgentService.GetAgent")

    responses = [r async for r in stub.ServerReflectionInfo(requests())]

    assert responses[0].WhichOneof("message_response") == "file_descriptor_response"
