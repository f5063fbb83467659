"""Who the MCP server acts for, decided once and never taken from a tool argument.

In order: `ENVOY_AGENT_ID` with `ENVOY_TOKEN` (a custom runner says who it is); else the coding
session the hooks opened in the same harness process (`HookService.ResolveHookAgent` with the hook
token, the credentials the hooks use); else, when that harness has no hook session, a new agent of
its own (`mcp-<project>-<pid>`), registered where registration is open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from envoy_grpc.gen.envoy.v1 import agents_pb2, agents_pb2_grpc, hooks_pb2, hooks_pb2_grpc
from envoy_grpc.harness_pid import harness_pid


@dataclass(frozen=True)
class Identity:
    agent_id: str
    token: str
    # How it was found: "environment", "hook session" or "registered".
    source: str
    session_id: str = ""
    project: str = ""


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def project_name() -> str:
    directory = os.environ.get("CLAUDE_PROJECT_DIR") or os.getcwd()
    return os.path.basename(directory.rstrip("/")) or "unknown"


async def resolve(channel: grpc.aio.Channel, data_dir: Path) -> Identity:
    agent_id, token = os.environ.get("ENVOY_AGENT_ID", ""), os.environ.get("ENVOY_TOKEN", "")
    if agent_id and token:
        return Identity(agent_id, token, "environment", project=project_name())
    hook_token = _hook_token(data_dir)
    if hook_token:
        try:
            found = await hooks_pb2_grpc.HookServiceStub(channel).ResolveHookAgent(
                hooks_pb2.ResolveHookAgentRequest(harness_pid=harness_pid()), metadata=_bearer(hook_token)
            )
            return Identity(found.agent_id, found.token, "hook session", found.session_id, found.project)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
    registered = await agents_pb2_grpc.AgentServiceStub(channel).RegisterAgent(
        agents_pb2.RegisterAgentRequest(name=f"mcp-{project_name()}-{os.getpid()}", kind="mcp")
    )
    return Identity(registered.agent_id, registered.token, "registered", project=project_name())


def _hook_token(data_dir: Path) -> str:
    token = os.environ.get("ENVOY_HOOK_TOKEN", "")
    if token:
        return token
    try:
        return (data_dir / "hook.token").read_text().strip()
    except OSError:
        return ""
