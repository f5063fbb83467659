"""File leases over HTTP and gRPC: who holds what and why, exclusive against shared, globs, other
projects, renew, release, expiry by server time, retirement, and the paths and identities refused."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from coordination_support import error_info, http_error_info, leases
from support import Server, auth, make_config, wait_for

from envoy_grpc.core.auth import OPERATOR
from envoy_grpc.gen.envoy.v1 import agents_pb2, leases_pb2
from envoy_grpc.server.app import start


async def lease(server: Server, agent: dict[str, Any], path: str, **fields: Any) -> tuple[int, Any]:
    body = {"project": "envoy", "path": path, "reason": f"{agent['name']} edits {path}", **fields}
    return await server.request("POST", "/leases", body, token=agent["token"])


async def check(server: Server, agent: dict[str, Any], path: str, project: str = "envoy") -> dict[str, Any]:
    status, body = await server.request(
        "GET",
        f"/leases/check?project={project}&path={path}&agent_id={agent['agent_id']}",
        token=agent["token"],
    )
    assert status == 200, body
    return dict(body)


async def test_a_lease_is_201_and_a_conflict_names_holder_lease_and_reason(server: Server) -> None:
    alice = await server.register("alice")
    bob = await server.register("bob")

    status, held = await lease(server, alice, "src/a.py", reason="refactoring the parser")
    conflict_status, conflict = await lease(server, bob, "src/a.py")

    assert status == 201
    assert held["agent_id"] == alice["agent_id"] and held["path"] == "src/a.py"
    assert (held["mode"], held["state"], held["reason"]) == ("exclusive", "active", "refactoring the parser")
    assert held["renewed_at"] is None and held["ended_at"] is None and held["lease_id"].isdigit()
    assert conflict_status == 409
    error = conflict["error"]
    assert error["code"] == "LEASE_CONFLICT" and error["status"] == "ALREADY_EXISTS"
    assert alice["agent_id"] in error["message"] and "refactoring the parser" in error["message"]
    assert f"lease {held['lease_id']}" in error["message"]
    info = http_error_info(conflict)["metadata"]
    assert info["holder"] == alice["agent_id"] and info["leaseId"] == held["lease_id"]
    assert (info["path"], info["leaseReason"], info["mode"]) == (
        "src/a.py",
        "refactoring the parser",
        "exclusive",
    )


async def test_grpc_conflict_carries_the_holder_in_error_info(server: Server) -> None:
    alice = await server.register("alice")
    bob = await server.register("bob")
    stub = leases(server)
    held = await stub.CreateLease(
        leases_pb2.CreateLeaseRequest(project="envoy", path="src/*", reason="moving modules"),
        metadata=auth(alice["token"]),
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CreateLease(
            leases_pb2.CreateLeaseRequest(
                project="envoy", path="src/deep/b.py", mode=leases_pb2.LEASE_MODE_SHARED
            ),
            metadata=auth(bob["token"]),
        )

    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
    info = error_info(raised.value)
    assert info.reason == "LEASE_CONFLICT"
    assert info.metadata["holder"] == alice["agent_id"] and info.metadata["leaseId"] == held.lease_id
    assert info.metadata["path"] == "src/*" and info.metadata["leaseReason"] == "moving modules"
    assert "moving modules" in (raised.value.details() or "")


async def test_shared_leases_coexist_but_not_with_an_exclusive_one(server: Server) -> None:
    alice, bob, carol = [await server.register(n) for n in ("alice", "bob", "carol")]

    first, _ = await lease(server, alice, "docs/api.md", mode="shared")
    second, _ = await lease(server, bob, "docs/api.md", mode="shared")
    exclusive, refused = await lease(server, carol, "docs/api.md")
    carol_elsewhere, _ = await lease(server, carol, "docs/other.md")
    shared_on_exclusive, _ = await lease(server, alice, "docs/other.md", mode="shared")

    assert (first, second) == (201, 201)
    assert exclusive == 409 and refused["error"]["code"] == "LEASE_CONFLICT"
    assert carol_elsewhere == 201 and shared_on_exclusive == 409


async def test_globs_overlap_paths_and_globs_but_not_other_directories_or_projects(server: Server) -> None:
    alice = await server.register("alice")
    bob = await server.register("bob")
    await lease(server, alice, "src/*.py")

    inside, _ = await lease(server, bob, "src/parser.py")
    subtree, _ = await lease(server, bob, "src/pkg/*")
    other_suffix, _ = await lease(server, bob, "src/*.md")
    other_dir, _ = await lease(server, bob, "docs/*")
    other_project, _ = await lease(server, bob, "src/parser.py", project="other")
    own_overlap, _ = await lease(server, alice, "src/parser.py")

    assert inside == 409  # the glob matches the path
    assert subtree == 409  # `*` crosses `/`: src/pkg/x.py is in both
    assert other_suffix == 201  # no path ends in both .py and .md
    assert other_dir == 201 and other_project == 201
    assert own_overlap == 201  # an agent never conflicts with itself


async def test_check_path_says_who_blocks_an_edit(server: Server) -> None:
    alice, bob, carol, dave = [await server.register(n) for n in ("alice", "bob", "carol", "dave")]
    await lease(server, alice, "src/a.py", reason="fixing the tokenizer")
    await lease(server, bob, "lib/*", mode="shared", reason="reading around")
    await lease(server, carol, "lib/util.py", mode="shared", reason="adding a helper")

    for_carol = await check(server, carol, "src/a.py")
    for_alice = await check(server, alice, "src/a.py")
    shared_only = await check(server, dave, "lib/util.py")
    for_carol_shared = await check(server, carol, "lib/util.py")
    free = await check(server, carol, "README.md")
    dotted = await check(server, carol, "./src//a.py")

    assert for_carol["allowed"] is False and for_carol["path"] == "src/a.py"
    assert [c["agent_id"] for c in for_carol["conflicts"]] == [alice["agent_id"]]
    assert alice["agent_id"] in for_carol["message"] and "fixing the tokenizer" in for_carol["message"]
    assert for_alice["allowed"] is True and for_alice["conflicts"] == []
    assert shared_only["allowed"] is True  # shared leases are listed but do not refuse an edit
    assert [c["agent_id"] for c in shared_only["conflicts"]] == [bob["agent_id"], carol["agent_id"]]
    assert [c["agent_id"] for c in for_carol_shared["conflicts"]] == [bob["agent_id"]]
    assert free == {"allowed": True, "conflicts": [], "path": "README.md", "message": ""}
    assert dotted["path"] == "src/a.py" and dotted["allowed"] is False
    in_process = server.running.leases.check("envoy", "src/a.py", dave["agent_id"])
    assert [x.agent_id for x in in_process] == [alice["agent_id"]]


async def test_repeating_a_lease_renews_it_with_200(server: Server) -> None:
    alice = await server.register("alice")
    _, first = await lease(server, alice, "src/a.py", ttl_seconds=60)

    status, again = await lease(
        server, alice, "src/a.py", ttl_seconds=600, reason="still on it", mode="shared"
    )

    assert status == 200
    assert again["lease_id"] == first["lease_id"] and again["reason"] == "still on it"
    assert again["mode"] == "shared" and again["expires_at"] > first["expires_at"]
    assert again["renewed_at"] is not None


async def test_renew_and_release_by_the_holder_only(server: Server) -> None:
    alice = await server.register("alice")
    bob = await server.register("bob")
    _, held = await lease(server, alice, "src/a.py", ttl_seconds=60)
    lease_id = held["lease_id"]

    renew_status, renewed = await server.request(
        "POST", f"/leases/{lease_id}/renew", {"ttl_seconds": 3600}, token=alice["token"]
    )
    foreign_status, foreign = await server.request("DELETE", f"/leases/{lease_id}", token=bob["token"])
    release_status, released = await server.request("DELETE", f"/leases/{lease_id}", token=alice["token"])
    again_status, again = await server.request("DELETE", f"/leases/{lease_id}", token=alice["token"])
    renew_ended_status, renew_ended = await server.request(
        "POST", f"/leases/{lease_id}/renew", {}, token=alice["token"]
    )
    taken_status, _ = await lease(server, bob, "src/a.py")
    missing_status, missing = await server.request("GET", "/leases/999", token=bob["token"])

    assert renew_status == 200 and renewed["expires_at"] > held["expires_at"] and renewed["renewed_at"]
    assert foreign_status == 403 and alice["agent_id"] in foreign["error"]["message"]
    assert release_status == 200 and released["state"] == "released" and released["ended_at"] is not None
    assert again_status == 200 and again["ended_at"] == released["ended_at"]
    assert renew_ended_status == 409 and renew_ended["error"]["code"] == "LEASE_ENDED"
    assert taken_status == 201
    assert missing_status == 404 and missing["error"]["code"] == "LEASE_NOT_FOUND"


async def test_an_ancestor_or_the_operator_may_release(server: Server) -> None:
    parent = await server.register("lead")
    child = await server.register("worker", parent_id=parent["agent_id"], token=parent["token"])
    _, by_child = await lease(server, child, "src/a.py")
    _, second = await lease(server, child, "src/b.py")

    parent_status, _ = await server.request(
        "DELETE", f"/leases/{by_child['lease_id']}", token=parent["token"]
    )
    operator_status, _ = await server.request(
        "DELETE", f"/leases/{second['lease_id']}", token=server.operator_token
    )

    assert (parent_status, operator_status) == (200, 200)


async def test_an_expired_lease_stops_counting_then_is_swept(server_factory: Any) -> None:
    server: Server = await server_factory(coordination_sweep_interval=0.2)
    alice = await server.register("alice")
    bob = await server.register("bob")
    _, held = await lease(server, alice, "src/a.py", ttl_seconds=1)
    blocked = await check(server, bob, "src/a.py")

    async def free() -> bool:
        return bool((await check(server, bob, "src/a.py"))["allowed"])

    await wait_for(free, timeout=10)

    async def swept() -> bool:
        _, found = await server.request("GET", f"/leases/{held['lease_id']}", token=bob["token"])
        return found["ended_at"] is not None

    await wait_for(swept, timeout=10)
    _, found = await server.request("GET", f"/leases/{held['lease_id']}", token=bob["token"])
    _, active = await server.request("GET", "/leases?project=envoy", token=bob["token"])
    _, everything = await server.request(
        "GET", "/leases?project=envoy&include_ended=true", token=bob["token"]
    )
    taken_status, _ = await lease(server, bob, "src/a.py")

    assert blocked["allowed"] is False
    assert found["state"] == "expired"
    assert active["count"] == 0 and [x["lease_id"] for x in everything["leases"]] == [held["lease_id"]]
    assert taken_status == 201


async def test_retiring_an_agent_releases_its_leases(server: Server) -> None:
    alice = await server.register("alice")
    bob = await server.register("bob")
    _, held = await lease(server, alice, "src/*")

    await server.agents.RetireAgent(
        agents_pb2.RetireAgentRequest(agent_id=alice["agent_id"]), metadata=auth(alice["token"])
    )
    _, found = await server.request("GET", f"/leases/{held['lease_id']}", token=bob["token"])
    allowed = await check(server, bob, "src/a.py")

    assert found["state"] == "released" and found["ended_at"] is not None
    assert allowed["allowed"] is True


async def test_list_filters_by_project_holder_and_path(server: Server) -> None:
    alice = await server.register("alice")
    bob = await server.register("bob")
    await lease(server, alice, "src/a.py")
    await lease(server, bob, "docs/*")
    await lease(server, bob, "src/b.py", project="other")

    _, envoy = await server.request("GET", "/leases?project=envoy", token=bob["token"])
    _, mine = await server.request("GET", f"/leases?agent_id={bob['agent_id']}", token=bob["token"])
    _, docs = await server.request("GET", "/leases?project=envoy&path=docs/x.md", token=bob["token"])
    _, paged = await server.request("GET", "/leases?page_size=2", token=bob["token"])
    _, rest = await server.request(
        "GET", f"/leases?page_size=2&page_token={paged['next_page_token']}", token=bob["token"]
    )

    assert [x["path"] for x in envoy["leases"]] == ["src/a.py", "docs/*"]
    assert [x["path"] for x in mine["leases"]] == ["docs/*", "src/b.py"]
    assert [x["path"] for x in docs["leases"]] == ["docs/*"]
    assert paged["count"] == 2 and rest["count"] == 1 and rest["next_page_token"] == ""


async def test_a_lease_for_another_agent_is_refused(server: Server) -> None:
    alice = await server.register("alice")
    bob = await server.register("bob")

    status, body = await lease(server, alice, "src/a.py", agent_id=bob["agent_id"])
    hook_status, hook = await server.request(
        "POST",
        "/leases",
        {"project": "envoy", "path": "x.py", "agent_id": bob["agent_id"]},
        token=server.operator_token,
    )
    nobody_status, nobody = await server.request(
        "POST", "/leases", {"project": "envoy", "path": "x.py"}, token=server.operator_token
    )

    assert status == 403 and body["error"]["code"] == "NOT_THE_CALLER"
    assert (
        hook_status == 201 and hook["agent_id"] == bob["agent_id"]
    )  # the operator acts for the agent it names
    assert nobody_status == 400 and "agent_id" in nobody["error"]["message"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../secrets.txt", "PATH_TRAVERSAL"),
        ("src/../../etc/passwd", "PATH_TRAVERSAL"),
        ("/etc/passwd", "PATH_NOT_RELATIVE"),
        ("C:\\Windows\\win.ini", "PATH_NOT_RELATIVE"),
        ("~/.ssh/id_rsa", "PATH_NOT_RELATIVE"),
    ],
)
async def test_paths_outside_the_project_are_refused(server: Server, path: str, reason: str) -> None:
    alice = await server.register("alice")

    status, body = await lease(server, alice, path)
    check_status, checked = await server.request(
        "GET", f"/leases/check?project=envoy&path={path}", token=alice["token"]
    )

    assert status == 400 and body["error"]["code"] == reason
    assert body["error"]["details"][1]["fieldViolations"][0]["field"] == "path"
    assert check_status == 400 and checked["error"]["code"] == reason


async def test_bad_ttl_and_missing_fields_are_named(server: Server) -> None:
    alice = await server.register("alice")

    too_long, long_body = await lease(server, alice, "a.py", ttl_seconds=90_000)
    negative, _ = await lease(server, alice, "a.py", ttl_seconds=-1)
    missing, missing_body = await server.request(
        "POST", "/leases", {"project": "envoy"}, token=alice["token"]
    )

    assert too_long == 400 and "ttl_seconds" in long_body["error"]["message"]
    assert negative == 400
    assert (
        missing == 422
        and missing_body["error"]["code"] == "FIELD_REQUIRED"
        and "path" in missing_body["error"]["message"]
    )


async def test_active_leases_survive_a_restart(tmp_path: Any) -> None:
    first = await start(make_config(tmp_path / "data", http=False))
    try:
        holder = (await first.registry.register(OPERATOR, "alice", "claude", None)).agent.agent_id
        await first.leases.create(OPERATOR, "envoy", "src/*", agent_id=holder, reason="kept across restarts")
        short, _ = await first.leases.create(OPERATOR, "envoy", "tmp.txt", agent_id=holder, ttl_seconds=3600)
        await first.leases.release(OPERATOR, str(short.lease_id))
    finally:
        await first.stop(0)
    second = await start(make_config(tmp_path / "data", http=False))
    try:
        blocking = second.leases.check("envoy", "src/a.py", None)
        released = second.leases.check("envoy", "tmp.txt", None)
    finally:
        await second.stop(0)

    assert [lease.reason for lease in blocking] == ["kept across restarts"]
    assert released == []
