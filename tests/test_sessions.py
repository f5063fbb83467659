"""Sessions over HTTP: the article's examples, idempotency, counters computed by the server, 404s, 422s,
ending a session, reading one back with its tool calls and events, and the rest of the evidence."""

from __future__ import annotations

from typing import Any

from support import Server

SID = "3f2a9c1d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


async def create(server: Server, token: str, session_id: str = SID, **fields: Any) -> dict[str, Any]:
    body = {"session_id": session_id, "agent": "claude-3f2a9c1d", "project": "envoy", **fields}
    status, created = await server.request("POST", "/atheneum/sessions", body, token=token)
    assert status == 201, created
    return dict(created)


async def tool_call(server: Server, token: str, session_id: str = SID, **fields: Any) -> dict[str, Any]:
    body = {"session_id": session_id, "tool_name": "Read", "exit_status": "success", **fields}
    status, recorded = await server.request("POST", "/atheneum/tool-calls", body, token=token)
    assert status == 200, recorded
    return dict(recorded)


async def test_seed_session_tool_call_and_listing(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]

    created = await create(server, token, git_branch="main")
    first = await tool_call(
        server,
        token,
        tool_name="read_file",
        input_summary="read src/main.rs",
        output_summary="42 lines",
        latency_ms=150,
    )
    await server.request(
        "POST",
        "/atheneum/file-writes",
        {"session_id": SID, "file_path": "/home/ada/envoy/src/main.rs", "write_type": "edit"},
        token=token,
    )
    await tool_call(
        server, token, tool_name="cargo test", input_summary="all 34 tests passed", output_summary="ok"
    )
    status, listed = await server.request("GET", "/atheneum/sessions?project=envoy&last=1", token=token)

    assert created == {"session_id": SID, "recorded": True, "is_new": True}
    assert first == {"recorded": True, "session_id": SID, "tool_call_id": 1, "sequence": 1, "is_new": True}
    assert status == 200
    assert isinstance(listed, list) and len(listed) == 1
    session = listed[0]
    assert session["session_id"] == SID
    assert session["project"] == "envoy"
    assert session["git_branch"] == "main"
    assert session["tool_call_count"] == 2
    assert session["file_write_count"] == 1
    assert session["last_tool"] == "cargo test"
    assert session["last_tool_summary"] == "all 34 tests passed"
    assert session["agent_id"] == agent["agent_id"]
    assert (session["tool"], session["trigger"]) == ("unknown", "cli")
    assert session["ended_at"] is None and session["exit_status"] is None
    assert session["model"] is None and session["parent_session_id"] is None


async def test_repeat_create_is_200_and_changes_nothing(server: Server) -> None:
    agent = await server.register("claude-main")
    await create(server, agent["token"], model="opus")

    body = {"session_id": SID, "agent": "someone-else", "project": "other", "model": "haiku"}
    status, again = await server.request("POST", "/atheneum/sessions", body, token=agent["token"])
    _, listed = await server.request("GET", "/atheneum/sessions?last=10", token=agent["token"])

    assert status == 200
    assert again == {"session_id": SID, "recorded": True, "is_new": False}
    assert len(listed) == 1
    assert (listed[0]["agent"], listed[0]["project"], listed[0]["model"]) == (
        "claude-3f2a9c1d",
        "envoy",
        "opus",
    )


async def test_repeat_tool_use_id_records_once(server: Server) -> None:
    agent = await server.register("claude-main")
    await create(server, agent["token"])

    first = await tool_call(server, agent["token"], tool_use_id="toolu_01", input_summary="read a")
    again = await tool_call(server, agent["token"], tool_use_id="toolu_01", input_summary="read a")
    other = await tool_call(server, agent["token"], tool_use_id="toolu_02")
    _, listed = await server.request("GET", "/atheneum/sessions", token=agent["token"])

    assert (first["is_new"], again["is_new"], other["is_new"]) == (True, False, True)
    assert again["tool_call_id"] == first["tool_call_id"] and again["sequence"] == 1
    assert other["sequence"] == 2
    assert listed[0]["tool_call_count"] == 2


async def test_counters_ignore_what_the_client_claims(server: Server) -> None:
    agent = await server.register("claude-main")
    await create(server, agent["token"])
    await tool_call(server, agent["token"])

    status, ended = await server.request(
        "PATCH",
        f"/atheneum/sessions/{SID}",
        {"exit_status": "complete", "tool_call_count": 99, "file_write_count": 42, "prompt_count": 7},
        token=agent["token"],
    )

    assert status == 200
    assert (ended["tool_call_count"], ended["file_write_count"], ended["prompt_count"]) == (1, 0, 0)


async def test_unknown_sessions_are_404_everywhere(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    calls = [
        ("GET", "/atheneum/sessions/nope", None),
        ("PATCH", "/atheneum/sessions/nope", {"exit_status": "stop"}),
        ("POST", "/atheneum/sessions/nope/handover", {"summary": "done"}),
        ("POST", "/atheneum/prompts", {"session_id": "nope", "role": "user", "input_hash": "h"}),
        (
            "POST",
            "/atheneum/tool-calls",
            {"session_id": "nope", "tool_name": "Read", "exit_status": "success"},
        ),
        ("POST", "/atheneum/file-writes", {"session_id": "nope", "file_path": "/a"}),
        (
            "POST",
            "/atheneum/commits",
            {"session_id": "nope", "commit_sha": "abc", "message": "m", "author": "a", "commit_type": "fix"},
        ),
        ("POST", "/atheneum/test-runs", {"session_id": "nope", "test_name": "t", "result": "passed"}),
        (
            "POST",
            "/atheneum/fix-chains",
            {
                "session_id": "nope",
                "bug_commit_sha": "a",
                "fix_commit_sha": "b",
                "fix_type": "logic",
                "severity": "low",
            },
        ),
        ("POST", "/atheneum/bench-runs", {"session_id": "nope", "bench_name": "b"}),
        (
            "POST",
            "/atheneum/events",
            {"session_id": "nope", "event_type": "x", "entity_id": "e", "payload": {}},
        ),
    ]
    for method, path, body in calls:
        status, error = await server.request(method, path, body, token=token)
        assert status == 404, (path, error)
        assert error["error"]["code"] == "SESSION_NOT_FOUND", (path, error)
        assert "nope" in error["error"]["message"]

    _, events = await server.request("GET", "/atheneum/events?session_id=nope", token=token)
    assert events == {"events": []}


async def test_missing_required_fields_are_422_and_named(server: Server) -> None:
    agent = await server.register("claude-main")
    await create(server, agent["token"])
    cases = [
        ("POST", "/atheneum/sessions", {"session_id": "s", "project": "p"}, "agent"),
        (
            "POST",
            "/atheneum/tool-calls",
            {"session_id": SID, "tool": "Read", "exit_status": "ok"},
            "tool_name",
        ),
        ("POST", "/atheneum/tool-calls", {"session_id": SID, "tool_name": "Read"}, "exit_status"),
        ("PATCH", f"/atheneum/sessions/{SID}", {}, "exit_status"),
        ("POST", "/atheneum/prompts", {"session_id": SID, "role": "user"}, "input_hash"),
        ("POST", f"/atheneum/sessions/{SID}/handover", {"outcome": "complete"}, "summary"),
        ("POST", "/atheneum/events", {"session_id": SID, "event_type": "x", "entity_id": "e"}, "payload"),
        ("GET", "/atheneum/files/history", None, "path"),
    ]
    for method, path, body, field in cases:
        status, error = await server.request(method, path, body, token=agent["token"])
        assert status == 422, (path, error)
        assert error["error"]["code"] == "FIELD_REQUIRED"
        assert field in error["error"]["message"], (path, error)


async def test_evidence_needs_a_token(server: Server) -> None:
    status, error = await server.request("GET", "/atheneum/sessions")

    assert status == 401
    assert error["error"]["code"] == "UNAUTHENTICATED"


async def test_end_session_returns_it_with_totals_and_is_repeatable(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await create(server, token)
    for tokens_in, cost in ((100, 0.25), (50, 0.5)):
        status, _ = await server.request(
            "POST",
            "/atheneum/prompts",
            {
                "session_id": SID,
                "role": "user",
                "input_hash": "h",
                "input_tokens": tokens_in,
                "cost_usd": cost,
            },
            token=token,
        )
        assert status == 200

    _, ended = await server.request(
        "PATCH", f"/atheneum/sessions/{SID}", {"exit_status": "stop"}, token=token
    )
    _, again = await server.request(
        "PATCH",
        f"/atheneum/sessions/{SID}",
        {"exit_status": "complete", "total_input_tokens": 1000, "total_output_tokens": 10},
        token=token,
    )

    assert ended["exit_status"] == "stop" and ended["ended_at"] is not None
    assert (ended["total_input_tokens"], ended["total_output_tokens"], ended["total_cost_usd"]) == (
        150,
        0,
        0.75,
    )
    assert ended["prompt_count"] == 2
    assert again["exit_status"] == "complete"
    assert again["ended_at"] == ended["ended_at"]
    assert (again["total_input_tokens"], again["total_output_tokens"], again["total_cost_usd"]) == (
        1000,
        10,
        0.75,
    )


async def test_get_session_with_tool_calls_events_and_counts(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await create(server, token)
    for n in range(3):
        await tool_call(server, token, tool_name=f"T{n}", input_summary=f"input {n}", latency_ms=n)
    await server.request(
        "POST",
        "/atheneum/events",
        {"session_id": SID, "event_type": "tool_relation", "entity_id": "x", "payload": {"k": [1, "v"]}},
        token=token,
    )

    status, got = await server.request("GET", f"/atheneum/sessions/{SID}?limit=2", token=token)

    assert status == 200
    assert got["session"]["session_id"] == SID
    assert (got["event_count"], got["tool_call_count"]) == (5, 3)
    assert [e["payload"]["tool_name"] for e in got["tool_calls"]] == ["T2", "T1"]
    assert got["tool_calls"][0]["event_type"] == "tool_call"
    assert got["tool_calls"][0]["entity_id"] == f"{SID}:T2:3"
    assert got["tool_calls"][0]["payload"]["input_summary"] == "input 2"
    assert got["tool_calls"][0]["payload"]["latency_ms"] == 2
    assert got["tool_calls"][0]["agent_id"] == agent["agent_id"]
    assert [e["event_type"] for e in got["events"]] == ["tool_relation", "tool_call"]
    assert got["events"][0]["payload"] == {"k": [1, "v"]}
    assert got["handovers"] == []


async def test_list_events_filters_and_recent_tool_calls_counts_usage(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await create(server, token)
    await create(server, token, "other-session")
    for name in ("Read", "Bash", "Read"):
        await tool_call(server, token, tool_name=name)
    await tool_call(server, token, "other-session", tool_name="Edit")

    _, everything = await server.request("GET", "/atheneum/events", token=token)
    _, starts = await server.request("GET", "/atheneum/events?event_type=session_start", token=token)
    _, one = await server.request("GET", f"/atheneum/events?session_id={SID}&limit=2", token=token)
    _, recent = await server.request("GET", f"/atheneum/tool-calls/recent?session_id={SID}", token=token)
    _, all_recent = await server.request("GET", "/atheneum/tool-calls/recent?limit=2", token=token)

    assert len(everything["events"]) == 6
    assert [e["session_id"] for e in starts["events"]] == ["other-session", SID]
    assert [e["event_type"] for e in one["events"]] == ["tool_call", "tool_call"]
    assert recent["count"] == 3
    assert recent["usage"] == [{"tool_name": "Read", "count": 2}, {"tool_name": "Bash", "count": 1}]
    assert [e["payload"]["tool_name"] for e in all_recent["events"]] == ["Edit", "Read"]


async def test_list_sessions_newest_first_by_project_and_parent(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await create(server, token, "root")
    await create(server, token, "root.a1", parent_session_id="root", trigger="subagent")
    await create(server, token, "root.a2", parent_session_id="root", trigger="subagent")
    await create(server, token, "elsewhere", project="other")

    _, newest = await server.request("GET", "/atheneum/sessions", token=token)
    _, envoy = await server.request("GET", "/atheneum/sessions?project=envoy&last=10", token=token)
    _, children = await server.request("GET", "/atheneum/sessions?parent_id=root", token=token)
    status, bad = await server.request("GET", "/atheneum/sessions?last=-1", token=token)

    assert [s["session_id"] for s in newest] == ["elsewhere", "root.a2", "root.a1", "root"]
    assert [s["session_id"] for s in envoy] == ["root.a2", "root.a1", "root"]
    assert [s["session_id"] for s in children] == ["root.a2", "root.a1"]
    assert children[0]["parent_session_id"] == "root" and children[0]["trigger"] == "subagent"
    assert status == 400 and "last" in bad["error"]["message"]


async def test_prompts_are_numbered_in_their_session(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await create(server, token)
    body = {"session_id": SID, "role": "user", "input_hash": "h"}

    answers = [(await server.request("POST", "/atheneum/prompts", body, token=token))[1] for _ in range(2)]
    _, explicit = await server.request("POST", "/atheneum/prompts", {**body, "sequence": 10}, token=token)
    _, after = await server.request("POST", "/atheneum/prompts", body, token=token)

    assert [a["sequence"] for a in answers] == [1, 2]
    assert answers[0]["recorded"] is True and answers[0]["session_id"] == SID
    assert explicit["sequence"] == 10
    assert after["sequence"] == 11


async def post(server: Server, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    status, answer = await server.request("POST", path, body, token=token)
    assert status == 200, answer
    return dict(answer)


async def test_a_fix_chain_placeholder_is_completed_by_its_commit(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await create(server, token)
    commit = {
        "session_id": SID,
        "commit_sha": "abc1234",
        "message": "fix",
        "author": "ada",
        "commit_type": "fix",
    }
    chain = {
        "bug_commit_sha": "bad0001",
        "fix_commit_sha": "abc1234",
        "fix_type": "logic",
        "severity": "high",
    }

    fix = await post(server, "/atheneum/fix-chains", {"session_id": SID, **chain}, token)
    first = await post(server, "/atheneum/commits", commit, token)
    again = await post(server, "/atheneum/commits", commit, token)
    _, session = await server.request("GET", f"/atheneum/sessions/{SID}", token=token)

    assert fix == {"recorded": True, "session_id": SID, "fix_chain_id": 1}
    # The fix chain left placeholders for both SHAs; recording abc1234 completes its placeholder.
    assert first["is_new"] is True and again["is_new"] is False and again["commit_id"] == first["commit_id"]
    assert first["commit_id"] == 2
    assert session["session"]["commit_count"] == 1
    assert [e["event_type"] for e in session["events"]] == ["commit", "fix_linked", "session_start"]


async def test_test_runs_link_commits_and_bench_regressions_are_failures(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await create(server, token)
    commit = {
        "session_id": SID,
        "commit_sha": "abc1234",
        "message": "m",
        "author": "ada",
        "commit_type": "fix",
    }
    first = await post(server, "/atheneum/commits", commit, token)
    run = {"session_id": SID, "test_name": "pytest", "result": "passed", "tool_use_id": "t1"}

    recorded = await post(server, "/atheneum/test-runs", {**run, "commit_sha": "abc1234"}, token)
    again = await post(server, "/atheneum/test-runs", run, token)
    bench = await post(
        server,
        "/atheneum/bench-runs",
        {"session_id": SID, "bench_name": "send", "is_regression": True},
        token,
    )
    _, events = await server.request("GET", f"/atheneum/events?session_id={SID}", token=token)
    _, session = await server.request("GET", f"/atheneum/sessions/{SID}", token=token)

    assert (
        recorded["is_new"] is True
        and again["is_new"] is False
        and again["test_run_id"] == recorded["test_run_id"]
    )
    assert bench == {"recorded": True, "session_id": SID, "bench_run_id": 1}
    assert [e["event_type"] for e in events["events"]] == [
        "failure",
        "bench",
        "test",
        "commit",
        "session_start",
    ]
    assert events["events"][0]["entity_id"] == "bench:send"
    assert events["events"][2]["payload"]["commit_id"] == first["commit_id"]
    assert session["session"]["test_run_count"] == 1


async def test_record_event_validates_relation_hints(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await create(server, token)
    good = {
        "from": {"kind": "Session", "name": SID},
        "to": {"kind": "File", "name": "src/main.rs", "file_path": "src/main.rs"},
        "edge_type": "accessed",
    }
    body = {"session_id": SID, "event_type": "tool_relation", "entity_id": f"{SID}:Read:src/main.rs:accessed"}

    status, recorded = await server.request(
        "POST", "/atheneum/events", {**body, "payload": {"relations": [good]}}, token=token
    )
    bad_label, unknown = await server.request(
        "POST",
        "/atheneum/events",
        {**body, "payload": {"relations": [good, {**good, "edge_type": "likes"}]}},
        token=token,
    )
    bad_shape, shape = await server.request(
        "POST", "/atheneum/events", {**body, "payload": {"relations": [{**good, "to": "File"}]}}, token=token
    )
    _, events = await server.request("GET", f"/atheneum/events?session_id={SID}", token=token)

    assert status == 200
    assert recorded == {
        "recorded": True,
        "session_id": SID,
        "event_id": recorded["event_id"],
        "relations_added": 0,
    }
    assert bad_label == 400 and unknown["error"]["code"] == "UNKNOWN_EDGE_TYPE"
    assert "payload.relations[1].edge_type" in unknown["error"]["message"]
    assert bad_shape == 400 and "payload.relations[0].to" in shape["error"]["message"]
    assert len(events["events"]) == 2  # session_start and the one good event: nothing else was recorded


async def test_too_long_a_session_id_or_a_slash_is_400(server: Server) -> None:
    agent = await server.register("claude-main")
    body = {"agent": "a", "project": "p"}

    long_status, long = await server.request(
        "POST", "/atheneum/sessions", {**body, "session_id": "x" * 201}, token=agent["token"]
    )
    slash_status, slash = await server.request(
        "POST", "/atheneum/sessions", {**body, "session_id": "a/b"}, token=agent["token"]
    )

    assert long_status == 400 and "at most 200" in long["error"]["message"]
    assert slash_status == 400 and "'/'" in slash["error"]["message"]
