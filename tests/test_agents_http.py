"""Agent identity over the HTTP gateway, starting with the original envoy's article examples."""

from __future__ import annotations

from support import Server


async def test_seed_register_returns_id_token_and_is_new(server: Server) -> None:
    status, agent = await server.request("POST", "/agents", {"name": "claude-main", "kind": "claude"})

    assert status == 201
    assert agent["agent_id"] == "id1"
    assert agent["name"] == "claude-main"
    assert agent["kind"] == "claude"
    assert agent["is_new"] is True
    assert agent["parent_id"] is None
    assert agent["lifecycle"] == "active"
    assert agent["status"] is None
    assert agent["last_heartbeat_at"] is None
    assert agent["online"] is True
    assert agent["token"].startswith("envoy_")


async def test_seed_subagent_gets_dotted_id(server: Server) -> None:
    parent = await server.register("claude-main")

    status, child = await server.request(
        "POST",
        "/agents",
        {"name": "sub-agent-1", "kind": "claude", "parent_id": "id1"},
        token=parent["token"],
    )

    assert status == 201
    assert child["agent_id"] == "id1.1"
    assert child["name"] == "sub-agent-1"
    assert child["parent_id"] == "id1"


async def test_seed_retire_cascades_to_children(server: Server) -> None:
    parent = await server.register("claude-main")
    await server.register("sub-agent-1", parent_id="id1", token=parent["token"])

    status, body = await server.request(
        "POST", "/agents/id1/retire", {"agent_id": "id1"}, token=parent["token"]
    )

    assert status == 200
    assert body == {"affected": ["id1", "id1.1"], "retired": True, "disconnected": True}


async def test_children_of_children_nest_and_numbers_are_per_parent(server: Server) -> None:
    root = await server.register("root")
    first = await server.register("a", parent_id="id1", token=root["token"])
    await server.register("b", parent_id="id1", token=root["token"])
    grandchild = await server.register("c", parent_id="id1.1", token=first["token"])
    await server.register("other-root")

    assert grandchild["agent_id"] == "id1.1.1"
    status, agent = await server.request("GET", "/agents/id1", token=root["token"])
    assert status == 200
    assert agent["children"] == ["id1.1", "id1.2"]


async def test_registering_an_active_root_name_again_returns_it_without_a_token(server: Server) -> None:
    first = await server.register("claude-main")

    status, again = await server.request("POST", "/agents", {"name": "claude-main", "kind": "claude"})

    assert status == 200
    assert again["agent_id"] == first["agent_id"]
    assert again["is_new"] is False
    assert again["token"] == ""


async def test_retired_ids_are_never_reused_and_retired_names_register_anew(server: Server) -> None:
    first = await server.register("worker")
    await server.request("POST", "/agents/id1/retire", {}, token=first["token"])

    second = await server.register("worker")

    assert second["agent_id"] == "id2"
    status, old = await server.request("GET", "/agents/id1", token=second["token"])
    assert status == 200
    assert old["lifecycle"] == "retired"
    assert old["retired_at"] is not None


async def test_delete_is_the_same_as_retire(server: Server) -> None:
    agent = await server.register("worker")

    status, body = await server.request("DELETE", "/agents/id1", token=agent["token"])

    assert status == 200
    assert body["affected"] == ["id1"]
    assert body["disconnected"] is True


async def test_retiring_revokes_the_token(server: Server) -> None:
    agent = await server.register("worker")
    await server.request("POST", "/agents/id1/retire", {}, token=agent["token"])

    status, body = await server.request("GET", "/agents/id1", token=agent["token"])

    assert status == 401
    assert body["error"]["code"] == "INVALID_TOKEN"


async def test_rotating_a_token_replaces_it(server: Server) -> None:
    agent = await server.register("worker")

    status, rotated = await server.request("POST", "/agents/id1/token", {}, token=agent["token"])

    assert status == 200
    assert rotated["agent_id"] == "id1"
    assert rotated["token"] != agent["token"]
    old_status, _ = await server.request("GET", "/agents/id1", token=agent["token"])
    new_status, _ = await server.request("GET", "/agents/id1", token=rotated["token"])
    assert (old_status, new_status) == (401, 200)


async def test_the_operator_can_rotate_any_token(server: Server) -> None:
    await server.register("worker")

    status, rotated = await server.request("POST", "/agents/id1/token", {}, token=server.operator_token)

    assert status == 200
    assert rotated["token"].startswith("envoy_")


async def test_list_agents_filters_and_pages_in_id_order(server: Server) -> None:
    root = await server.register("root", kind="claude")
    for index in range(11):
        await server.register(f"child-{index}", kind="codex", parent_id="id1", token=root["token"])

    status, page = await server.request("GET", "/agents?parent=id1&page_size=5", token=root["token"])
    assert status == 200
    assert [a["agent_id"] for a in page["agents"]] == ["id1.1", "id1.2", "id1.3", "id1.4", "id1.5"]
    seen = [a["agent_id"] for a in page["agents"]]
    while page["next_page_token"]:
        status, page = await server.request(
            "GET",
            f"/agents?parent_id=id1&page_size=5&page_token={page['next_page_token']}",
            token=root["token"],
        )
        seen += [a["agent_id"] for a in page["agents"]]
    assert seen == [f"id1.{n}" for n in range(1, 12)]

    status, claude = await server.request("GET", "/agents?kind=claude", token=root["token"])
    assert [a["agent_id"] for a in claude["agents"]] == ["id1"]


async def test_list_agents_by_lifecycle(server: Server) -> None:
    first = await server.register("a")
    await server.register("b")
    await server.request("POST", "/agents/id1/retire", {}, token=first["token"])

    _, retired = await server.request("GET", "/agents?lifecycle=retired", token=server.operator_token)
    _, active = await server.request("GET", "/agents?lifecycle=active", token=server.operator_token)

    assert [a["agent_id"] for a in retired["agents"]] == ["id1"]
    assert [a["agent_id"] for a in active["agents"]] == ["id2"]


async def test_a_bad_page_token_is_refused(server: Server) -> None:
    status, body = await server.request("GET", "/agents?page_token=garbage", token=server.operator_token)

    assert status == 400
    assert body["error"]["details"][1]["fieldViolations"][0]["field"] == "page_token"


async def test_heartbeat_records_status_and_counts_the_agent_online(server: Server) -> None:
    agent = await server.register("worker")

    status, body = await server.request(
        "POST",
        "/heartbeat",
        {
            "agent_id": "id1",
            "status": {"state": "blocked", "working_on": "tests", "blocked_reason": "CI down"},
        },
        token=agent["token"],
    )

    assert status == 200
    assert body == {"accepted": True, "nudges": []}
    _, shown = await server.request("GET", "/agents/id1", token=agent["token"])
    assert shown["status"] == {
        "state": "blocked",
        "working_on": "tests",
        "task_id": None,
        "blocked_reason": "CI down",
        "waiting_on_agent": None,
        "checkpoint": None,
    }
    assert shown["last_heartbeat_at"] is not None
    _, health = await server.request("GET", "/health")
    assert health["agents_online"] == 1


async def test_a_heartbeat_without_status_defaults_to_working(server: Server) -> None:
    agent = await server.register("worker")

    status, _ = await server.request("POST", "/heartbeat", {}, token=agent["token"])

    assert status == 200
    _, shown = await server.request("GET", "/agents/id1", token=agent["token"])
    assert shown["status"]["state"] == "working"


async def test_a_bad_heartbeat_state_names_the_field_and_the_choices(server: Server) -> None:
    agent = await server.register("worker")

    status, body = await server.request(
        "POST", "/heartbeat", {"status": {"state": "napping"}}, token=agent["token"]
    )

    assert status == 422
    assert body["error"]["code"] == "FIELD_TYPE"
    assert "status.state" in body["error"]["message"]
    assert "'waiting_review'" in body["error"]["message"]


async def test_health_reports_numbers(server: Server) -> None:
    status, health = await server.request("GET", "/health")

    assert status == 200
    assert health["status"] == "ok"
    assert isinstance(health["uptime_seconds"], int)
    assert health["agents_online"] == 0


async def test_stats_count_agents(server: Server) -> None:
    first = await server.register("a")
    await server.register("b")
    await server.request("POST", "/agents/id1/retire", {}, token=first["token"])

    status, stats = await server.request("GET", "/stats")

    assert status == 200
    assert stats["agents_registered"] == 2
    assert stats["agents_active"] == 1
    assert stats["messages_total"] == 0


async def test_circuit_opens_after_five_failures_and_a_heartbeat_closes_it(server: Server) -> None:
    agent = await server.register("worker")
    token = agent["token"]
    status, circuit = await server.request("GET", "/agents/id1/circuit", token=token)
    assert status == 200
    assert circuit == {"agent_id": "id1", "state": "closed", "failure_count": 0, "opened_at": None}

    for count in range(1, 6):
        status, circuit = await server.request("POST", "/agents/id1/circuit/failure", token=token)
        assert status == 200
        assert circuit["failure_count"] == count
    assert circuit["state"] == "open"
    assert circuit["opened_at"] is not None

    await server.request("POST", "/heartbeat", {}, token=token)
    _, circuit = await server.request("GET", "/agents/id1/circuit", token=token)
    assert circuit == {"agent_id": "id1", "state": "closed", "failure_count": 0, "opened_at": None}


async def test_circuit_of_an_unknown_agent_is_404(server: Server) -> None:
    agent = await server.register("worker")

    status, body = await server.request("GET", "/agents/id9/circuit", token=agent["token"])

    assert status == 404
    assert body["error"]["code"] == "AGENT_NOT_FOUND"
    assert "id9" in body["error"]["message"]
