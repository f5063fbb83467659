"""Dependencies between agents: the original's routes and aliases, duplicates, self-dependencies,
unknown agents, who may declare and resolve, and the notice the dependent receives."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from coordination_support import dependencies, error_info, next_kind, subscribe
from support import Server, auth

from envoy_grpc.gen.envoy.v1 import dependencies_pb2, messages_pb2


async def depend(
    server: Server, token: str, dependent: str, blocker: str, reason: str = "needs the API"
) -> tuple[int, Any]:
    body = {"dependent_agent": dependent, "blocker_agent": blocker, "reason": reason}
    return await server.request("POST", "/dependencies", body, token=token)


async def test_create_and_list_through_every_alias(server: Server) -> None:
    frontend = await server.register("frontend")
    backend = await server.register("backend")

    status, created = await depend(server, frontend["token"], frontend["agent_id"], backend["agent_id"])
    routes = {
        route: (await server.request("GET", route, token=frontend["token"]))[1]
        for route in (
            f"/dependencies/blocker/{backend['agent_id']}",
            f"/dependencies/blocking/{backend['agent_id']}",
            f"/dependencies/dependent/{frontend['agent_id']}",
            f"/dependencies/blocked-by/{frontend['agent_id']}",
        )
    }
    _, nothing = await server.request(
        "GET", f"/dependencies/blocker/{frontend['agent_id']}", token=frontend["token"]
    )
    _, fetched = await server.request(
        "GET", f"/dependencies/{created['dependency_id']}", token=frontend["token"]
    )

    assert status == 201
    assert (
        created["dependent_agent"] == frontend["agent_id"] and created["blocker_agent"] == backend["agent_id"]
    )
    assert (
        created["reason"] == "needs the API"
        and created["resolved"] is False
        and created["resolved_at"] is None
    )
    assert created["dependency_id"].isdigit()
    for route, listed in routes.items():
        assert listed == {"dependencies": [created], "count": 1}, route
    assert nothing == {"dependencies": [], "count": 0}
    assert fetched == created


async def test_duplicates_self_and_unknown_agents_are_refused(server: Server) -> None:
    frontend = await server.register("frontend")
    backend = await server.register("backend")
    _, first = await depend(server, frontend["token"], frontend["agent_id"], backend["agent_id"])

    duplicate_status, duplicate = await depend(
        server, frontend["token"], frontend["agent_id"], backend["agent_id"]
    )
    self_status, itself = await depend(server, frontend["token"], frontend["agent_id"], frontend["agent_id"])
    unknown_status, unknown = await depend(server, frontend["token"], frontend["agent_id"], "id99")
    missing_status, missing = await server.request(
        "POST", "/dependencies", {"dependent_agent": frontend["agent_id"]}, token=frontend["token"]
    )

    assert duplicate_status == 409 and duplicate["error"]["code"] == "DUPLICATE_DEPENDENCY"
    assert first["dependency_id"] in duplicate["error"]["message"]
    assert (
        self_status == 400 and itself["error"]["details"][1]["fieldViolations"][0]["field"] == "blocker_agent"
    )
    assert unknown_status == 404 and unknown["error"]["code"] == "AGENT_NOT_FOUND"
    assert "blocker_agent" in unknown["error"]["message"]
    assert missing_status == 422 and "blocker_agent" in missing["error"]["message"]


async def test_only_the_dependent_or_its_ancestors_declare(server: Server) -> None:
    lead = await server.register("lead")
    child = await server.register("child", parent_id=lead["agent_id"], token=lead["token"])
    backend = await server.register("backend")

    foreign_status, foreign = await depend(server, backend["token"], child["agent_id"], lead["agent_id"])
    parent_status, _ = await depend(server, lead["token"], child["agent_id"], backend["agent_id"])

    assert foreign_status == 403 and foreign["error"]["status"] == "PERMISSION_DENIED"
    assert parent_status == 201


async def test_resolving_notifies_the_dependent_once(server: Server) -> None:
    frontend = await server.register("frontend")
    backend = await server.register("backend")
    outsider = await server.register("outsider")
    _, created = await depend(server, frontend["token"], frontend["agent_id"], backend["agent_id"])
    dependency_id = created["dependency_id"]
    stream = subscribe(server, frontend)
    try:
        outsider_status, _ = await server.request(
            "POST", f"/dependencies/{dependency_id}/resolve", {}, token=outsider["token"]
        )
        status, resolved = await server.request(
            "POST", f"/dependencies/{dependency_id}/resolve", {}, token=backend["token"]
        )
        message, data = await next_kind(stream, "dependency_resolved")
        again_status, again = await server.request(
            "POST", f"/dependencies/{dependency_id}/resolve", {}, token=backend["token"]
        )
    finally:
        stream.cancel()
    _, listed = await server.request(
        "GET", f"/dependencies/dependent/{frontend['agent_id']}", token=frontend["token"]
    )
    _, pending = await server.request(
        "GET", f"/agents/{frontend['agent_id']}/messages/pending", token=frontend["token"]
    )
    recreate_status, _ = await depend(server, frontend["token"], frontend["agent_id"], backend["agent_id"])
    missing_status, missing = await server.request(
        "POST", "/dependencies/999/resolve", {}, token=backend["token"]
    )

    assert outsider_status == 403
    assert status == 200 and resolved["resolved"] is True and resolved["resolved_at"] is not None
    assert (
        message.type == messages_pb2.MESSAGE_TYPE_SYSTEM and getattr(message, "from") == backend["agent_id"]
    )
    assert data["dependency_id"] == dependency_id and data["dependency"]["resolved"] is True
    assert again_status == 200 and again["resolved_at"] == resolved["resolved_at"]
    assert listed["count"] == 0
    notices = [m for m in pending["messages"] if m["type"] == "system"]
    assert len(notices) == 1  # the repeat sent nothing
    assert recreate_status == 201  # a resolved dependency no longer counts as a duplicate
    assert missing_status == 404 and missing["error"]["code"] == "DEPENDENCY_NOT_FOUND"


async def test_grpc_duplicate_is_already_exists(server: Server) -> None:
    frontend = await server.register("frontend")
    backend = await server.register("backend")
    stub = dependencies(server)
    request = dependencies_pb2.CreateDependencyRequest(
        dependent_agent=frontend["agent_id"], blocker_agent=backend["agent_id"], reason="schema"
    )
    first = await stub.CreateDependency(request, metadata=auth(frontend["token"]))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateDependency(request, metadata=auth(frontend["token"]))

    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_info(raised.value).metadata["dependencyId"] == first.dependency_id
