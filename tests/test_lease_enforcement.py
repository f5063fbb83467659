"""File leases enforced at edit time: two simulated Claude Code sessions in one project. Session A
leases src/a.py; session B's PreToolUse for an Edit of it is denied naming A and A's reason (http and
command hook forms), A is told; after A releases, B's edit is allowed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from typing import Any

from hook_payloads import CWD, edit, pre_edit, session_start
from support import Server

A_PID, B_PID = "4101", "4202"  # two harness processes, as `envoy-grpc hook` reports them


async def hook(server: Server, payload: dict[str, Any], harness: str) -> dict[str, Any]:
    token = (server.running.config.data_dir / "hook.token").read_text().strip()
    status, output = await server.request(
        "POST", "/hooks/claude", payload, token=token, headers={"X-Envoy-Harness-Pid": harness}
    )
    assert status == 200, output
    return dict(output)


async def session_agent(server: Server, session_id: str, harness: str) -> tuple[str, str]:
    """Open a session through the hooks; return its agent and a token for it (as the MCP server gets one)."""
    await hook(server, session_start(session_id), harness)
    hook_token = (server.running.config.data_dir / "hook.token").read_text().strip()
    _, found = await server.request("GET", f"/hooks/agents/{harness}", token=hook_token)
    return found["agent_id"], found["token"]


def decision(output: dict[str, Any]) -> tuple[str, str]:
    specific = output.get("hookSpecificOutput", {})
    return specific.get("permissionDecision", "allow"), specific.get("permissionDecisionReason", "")


async def test_an_exclusive_lease_stops_another_sessions_edit_until_it_is_released(server: Server) -> None:
    a_id, a_token = await session_agent(server, "aaaa1111-lease", A_PID)
    b_id, _ = await session_agent(server, "bbbb2222-lease", B_PID)
    status, lease = await server.request(
        "POST",
        "/leases",
        {"project": "envoy", "path": "src/a.py", "reason": "splitting the router"},
        token=a_token,
    )

    denied = await hook(server, pre_edit("bbbb2222-lease", f"{CWD}/src/a.py", "toolu_b1"), B_PID)
    other_file = await hook(server, pre_edit("bbbb2222-lease", f"{CWD}/src/b.py", "toolu_b2"), B_PID)
    own = await hook(server, pre_edit("aaaa1111-lease", f"{CWD}/src/a.py", "toolu_a1", tool="Write"), A_PID)
    _, inbox = await server.request("POST", f"/agents/{a_id}/messages/surface", {}, token=a_token)
    released, _ = await server.request("DELETE", f"/leases/{lease['lease_id']}", token=a_token)
    allowed = await hook(server, pre_edit("bbbb2222-lease", f"{CWD}/src/a.py", "toolu_b3"), B_PID)

    assert status == 201
    verdict, reason = decision(denied)
    assert verdict == "deny"
    assert a_id in reason and "splitting the router" in reason and "'src/a.py'" in reason
    assert decision(other_file)[0] == "allow" and decision(own)[0] == "allow"
    [notice] = inbox["messages"]
    assert notice["from"] == "envoy" and b_id in notice["parts"][0]["text"]
    assert notice["parts"][1]["data"] | {} == {
        "kind": "lease_conflict",
        "lease_id": lease["lease_id"],
        "path": "src/a.py",
        "project": "envoy",
        "agent_id": b_id,
        "tool": "Edit",
    }
    assert released == 200 and allowed == {}


async def test_the_command_hook_denies_too_and_a_retry_does_not_flood_the_holder(server: Server) -> None:
    a_id, a_token = await session_agent(server, "cccc3333-lease", A_PID)
    await session_agent(server, "dddd4444-lease", B_PID)
    await server.request(
        "POST",
        "/leases",
        {"project": "envoy", "path": "src/*.py", "reason": "renaming modules"},
        token=a_token,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVOY_")}
    env |= {"ENVOY_URL": server.base_url, "ENVOY_HOME": str(server.running.config.data_dir)}
    payload = json.dumps(
        pre_edit("dddd4444-lease", f"{CWD}/src/models.py", "toolu_d1", tool="MultiEdit")
    ).encode()

    runs = [
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "envoy_grpc", "hook"],
            input=payload,
            env=env,
            capture_output=True,
            timeout=30,
        )
        for _ in range(3)
    ]
    _, inbox = await server.request("POST", f"/agents/{a_id}/messages/surface", {}, token=a_token)

    for run in runs:
        assert run.returncode == 0
        verdict, reason = decision(json.loads(run.stdout))
        assert verdict == "deny" and "renaming modules" in reason and "'src/*.py'" in reason
    assert inbox["count"] == 1  # three attempts, one notice


async def test_leases_appear_in_the_history_of_the_file(server: Server) -> None:
    a_id, a_token = await session_agent(server, "eeee5555-lease", A_PID)
    await session_agent(server, "ffff6666-lease", B_PID)
    _, lease = await server.request(
        "POST",
        "/leases",
        {"project": "envoy", "path": "src/a.py", "reason": "splitting the router"},
        token=a_token,
    )
    await server.request("DELETE", f"/leases/{lease['lease_id']}", token=a_token)
    await hook(server, edit("ffff6666-lease", f"{CWD}/src/a.py", "toolu_f1"), B_PID)
    _, unrelated = await server.request(
        "POST", "/leases", {"project": "envoy", "path": "docs/*", "reason": "docs"}, token=a_token
    )

    _, history = await server.request("GET", f"/atheneum/files/history?path={CWD}/src/a.py", token=a_token)

    assert len(history["changes"]) == 1
    [shown] = history["leases"]
    assert (shown["lease_id"], shown["agent_id"], shown["reason"], shown["state"]) == (
        lease["lease_id"],
        a_id,
        "splitting the router",
        "released",
    )
    assert unrelated["lease_id"] != shown["lease_id"]
