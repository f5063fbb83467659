"""The MCP server (`envoy-grpc mcp`) driven by the MCP SDK's own client over stdio, against a live
server: the tool list is small, every tool works, identity comes from the coding session the hooks
opened in the same harness process (here: this test process), never from a tool argument."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
from click.testing import CliRunner
from hook_payloads import session_start, write
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from support import Server, auth
from test_code_search import ROUTER, index, register

from envoy_grpc import cli
from envoy_grpc.gen.envoy.v1 import common_pb2, messages_pb2

TOOLS = {
    "whoami",
    "send_message",
    "read_inbox",
    "ack_message",
    "search_knowledge",
    "record_discovery",
    "find_symbol",
    "file_history",
    "lease_file",
    "claim_task",
}


async def hook(server: Server, payload: dict[str, Any]) -> dict[str, Any]:
    """Run `envoy-grpc hook` as Claude Code would: a child of the harness (this process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVOY_")}
    env |= {
        "ENVOY_URL": server.base_url,
        "ENVOY_HOME": str(server.running.config.data_dir),
        "ENVOY_HOOK_DEBUG": "1",
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "envoy_grpc", "hook"],
        input=json.dumps(payload).encode(),
        env=env,
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert result.stdout, result.stderr.decode()
    return json.loads(result.stdout)


def mcp_server(server: Server, **env: str) -> StdioServerParameters:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ENVOY_")}
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "envoy_grpc", "mcp", "--grpc", server.running.grpc_target],
        env=clean | {"ENVOY_HOME": str(server.running.config.data_dir)} | env,
    )


@contextlib.asynccontextmanager
async def claude_session(server: Server) -> AsyncIterator[tuple[Client, str]]:
    """An MCP client connected to `envoy-grpc mcp` inside a Claude Code session opened by the hooks.
    (A context manager, not a fixture: the SDK's client must be closed by the task that opened it.)"""
    opened = await hook(server, session_start("sess-mcp-1"))
    agent_id = opened["hookSpecificOutput"]["additionalContext"].split("you are agent ")[1].split(" ")[0]
    async with Client(mcp_server(server)) as client:
        yield client, agent_id


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content


async def test_a_small_tool_set_with_short_descriptions_and_no_identity_arguments(server: Server) -> None:
    async with claude_session(server) as (client, _):
        tools = (await client.list_tools()).tools

    assert {t.name for t in tools} == TOOLS and len(tools) <= 10
    assert all(t.description and len(t.description) <= 120 for t in tools)
    for tool in tools:  # who the agent is never comes from the model
        assert not {"agent_id", "from", "agent", "token"} & set(tool.input_schema.get("properties", {}))


async def test_whoami_is_the_session_the_hooks_opened(server: Server) -> None:
    async with claude_session(server) as (client, agent_id):
        me = await call(client, "whoami")

    assert me == {
        "agent_id": agent_id,
        "session_id": "sess-mcp-1",
        "project": "envoy",
        "found_by": "hook session",
    }


async def test_messages_out_and_in_through_the_tools(server: Server) -> None:
    peer = await server.register("peer")
    async with claude_session(server) as (client, agent_id):
        sent = await call(client, "send_message", to=peer["agent_id"], text="I am refactoring the router")
        pending = await server.messages.ListPendingMessages(
            messages_pb2.ListPendingMessagesRequest(agent_id=peer["agent_id"]), metadata=auth(peer["token"])
        )
        request = messages_pb2.SendMessageRequest(
            to=agent_id, parts=[common_pb2.Part(text="ok, I keep off it")]
        )
        plain = await server.messages.SendMessage(request, metadata=auth(peer["token"]))
        request.require_ack = True
        request.parts[0].text = "confirm when merged"
        needs_ack = await server.messages.SendMessage(request, metadata=auth(peer["token"]))
        inbox = await call(client, "read_inbox")
        again = await call(client, "read_inbox")
        acked = await call(client, "ack_message", message_id=needs_ack.message_id)

    assert [m.message_id for m in pending.messages] == [sent["message_id"]]
    assert getattr(pending.messages[0], "from") == agent_id
    assert [m["message_id"] for m in inbox["messages"]] == [plain.message_id, needs_ack.message_id]
    assert inbox["messages"][0]["parts"] == [{"text": "ok, I keep off it"}]
    assert again["count"] == 0  # surfaced messages are not shown twice
    assert acked["acked_by"] == [agent_id]


async def test_knowledge_code_and_file_history_through_the_tools(server: Server, tmp_path: Path) -> None:
    project = tmp_path / "routing"
    (project / "app").mkdir(parents=True)
    (project / "app" / "router.py").write_text(ROUTER)
    await register(server, "routing", project)
    await index(server, "routing")
    async with claude_session(server) as (client, agent_id):
        await hook(server, write("sess-mcp-1", "/home/dev/projects/envoy/src/router.py", "toolu_mcp_1"))

        recorded = await call(
            client,
            "record_discovery",
            target="build_router",
            discovery_type="Bug",
            summary="drops trailing slashes",
        )
        found = await call(client, "search_knowledge", query="trailing slashes")
        symbols = await call(client, "find_symbol", name="build_router")
        history = await call(client, "file_history", path="/home/dev/projects/envoy/src/router.py")

    assert recorded["is_new"] and recorded["project"] == "envoy"
    assert (found["results"][0]["kind"], found["results"][0]["id"]) == ("Discovery", recorded["discovery_id"])
    assert symbols["results"][0] == {
        "project": "routing",
        "name": "build_router",
        "kind": "Function",
        "file_path": "app/router.py",
        "line": 6,
        "qualified_name": "router.build_router",
        "score": 1.0,
    }
    assert [c["agent_id"] for c in history["changes"]] == [agent_id]


async def test_errors_come_back_as_tool_errors_naming_the_problem(server: Server) -> None:
    async with claude_session(server) as (client, _):
        result = await client.call_tool("send_message", {"to": "id999", "text": "anyone?"})

    assert result.is_error
    assert "NOT_FOUND" in result.content[0].text and "id999" in result.content[0].text


async def test_without_a_hook_session_the_environment_or_a_new_agent_is_used(server: Server) -> None:
    runner = await server.register("runner")

    async with Client(
        mcp_server(server, ENVOY_AGENT_ID=runner["agent_id"], ENVOY_TOKEN=runner["token"])
    ) as client:
        named = await call(client, "whoami")
    async with Client(mcp_server(server)) as client:
        fresh = await call(client, "whoami")

    assert (named["agent_id"], named["found_by"]) == (runner["agent_id"], "environment")
    assert fresh["found_by"] == "registered" and fresh["agent_id"] != runner["agent_id"]


async def test_resolving_a_session_agent_needs_the_hook_token_and_a_known_harness(server: Server) -> None:
    owner, agent = await server.register("owner"), await server.register("nosy")
    hook_token = (server.running.config.data_dir / "hook.token").read_text().strip()

    refused, _ = await server.request("GET", "/hooks/agents/1234", token=agent["token"])
    unknown, body = await server.request("GET", "/hooks/agents/1234", token=hook_token)
    bad, problem = await server.request("GET", "/hooks/agents/0", token=hook_token)
    other_inbox, _ = await server.request(
        "POST", f"/agents/{owner['agent_id']}/messages/surface", {}, token=agent["token"]
    )

    assert refused == 403 and unknown == 404 and body["error"]["code"] == "HOOK_SESSION_NOT_FOUND"
    assert bad == 422 and "harness_pid" in problem["error"]["message"]  # 0 is no process at all
    assert other_inbox == 403


def test_install_adds_the_server_to_claude_codes_config_keeping_the_others(tmp_path: Path) -> None:
    config = tmp_path / ".mcp.json"
    config.write_text(json.dumps({"mcpServers": {"other": {"command": "other-mcp"}}}))
    runner = CliRunner()

    first = runner.invoke(cli.cli, ["mcp", "install", "--project", str(tmp_path)])
    written = json.loads(config.read_text())
    again = runner.invoke(cli.cli, ["mcp", "install", "--project", str(tmp_path)])
    removed = runner.invoke(cli.cli, ["mcp", "uninstall", "--project", str(tmp_path)])

    assert first.exit_code == 0 and "added" in first.output
    assert "codex mcp add envoy-grpc" in first.output and ".cursor/mcp.json" in first.output
    entry = written["mcpServers"]["envoy-grpc"]
    assert entry["args"] == ["mcp"] and Path(entry["command"]).name == "envoy-grpc"
    assert written["mcpServers"]["other"] == {"command": "other-mcp"}
    assert "nothing changed" in again.output
    assert removed.exit_code == 0 and json.loads(config.read_text()) == {
        "mcpServers": {"other": {"command": "other-mcp"}}
    }


async def test_leases_and_tasks_through_the_tools(server: Server) -> None:
    peer = await server.register("peer")
    async with claude_session(server) as (client, agent_id):
        leased = await call(client, "lease_file", path="src/router.py", reason="splitting it")
        _, check = await server.request(
            "GET",
            f"/leases/check?project=envoy&path=src/router.py&agent_id={peer['agent_id']}",
            token=peer["token"],
        )
        released = await call(client, "lease_file", path="./src/router.py", release=True)
        await server.request(
            "POST",
            "/tasks/propose",
            {"project": "envoy", "description": "fix the router"},
            token=peer["token"],
        )
        claimed = await call(client, "claim_task")
        none_left = await client.call_tool("claim_task", {})

    assert leased["path"] == "src/router.py" and leased["mode"] == "exclusive"
    assert check["allowed"] is False and check["conflicts"][0]["agent_id"] == agent_id
    assert released == {"released": [leased["lease_id"]]}
    assert (claimed["description"], claimed["state"], claimed["claimed_by"]) == (
        "fix the router",
        "claimed",
        agent_id,
    )
    assert none_left.is_error and "NOT_FOUND" in none_left.content[0].text


async def test_the_tools_over_streamable_http_on_the_gateway_act_as_the_token(server: Server) -> None:
    agent, peer = await server.register("web-agent"), await server.register("peer")
    headers = {"Authorization": f"Bearer {agent['token']}", "X-Envoy-Project": "envoy"}

    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(f"{server.base_url}/mcp", http_client=http)) as client,
    ):
        tools = (await client.list_tools()).tools
        me = await call(client, "whoami")
        sent = await call(client, "send_message", to=peer["agent_id"], text="over HTTP")
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {server.operator_token}"}) as http,
        Client(streamable_http_client(f"{server.base_url}/mcp", http_client=http)) as client,
    ):
        as_operator = await client.call_tool("whoami", {})
    pending = await server.messages.ListPendingMessages(
        messages_pb2.ListPendingMessagesRequest(agent_id=peer["agent_id"]), metadata=auth(peer["token"])
    )

    assert {t.name for t in tools} == TOOLS
    assert me == {"agent_id": agent["agent_id"], "session_id": "", "project": "envoy", "found_by": "token"}
    assert [m.message_id for m in pending.messages] == [sent["message_id"]]
    assert as_operator.is_error and "act as an agent" in as_operator.content[0].text
