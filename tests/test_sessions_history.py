"""Who changed this file and why (write + tool call + prompt + handover + commit), and subagent trust:
a handover is verified only by passing evidence, and says why not otherwise."""

from __future__ import annotations

from typing import Any

from support import Server

ROOT = "9a8b7c6d-1111-2222-3333-444455556666"
SUB = f"{ROOT}.a1b2c3"
PATH = "/home/ada/envoy/src/main.rs"


async def post(server: Server, path: str, body: dict[str, Any], token: str, expect: int = 200) -> Any:
    status, answer = await server.request("POST", path, body, token=token)
    assert status == expect, answer
    return answer


async def session(server: Server, token: str, session_id: str, **fields: Any) -> None:
    body = {"session_id": session_id, "agent": "claude-9a8b7c6d", "project": "envoy", **fields}
    await post(server, "/atheneum/sessions", body, token, expect=201)


async def write(server: Server, token: str, session_id: str, path: str = PATH, **fields: Any) -> Any:
    return await post(
        server, "/atheneum/file-writes", {"session_id": session_id, "file_path": path, **fields}, token
    )


async def test_file_history_joins_write_tool_call_prompt_handover_and_commit(server: Server) -> None:
    root = await server.register("claude-9a8b7c6d")
    child = await server.register("a1b2c3", parent_id=root["agent_id"], token=root["token"])
    await session(server, root["token"], ROOT)
    await session(server, child["token"], SUB, parent_session_id=ROOT, trigger="subagent")
    prompt = {"session_id": ROOT, "role": "user", "input_hash": "h1", "input_summary": "fix the retry bug"}
    await post(server, "/atheneum/prompts", prompt, root["token"])
    edit = {
        "session_id": SUB,
        "tool_name": "Edit",
        "exit_status": "success",
        "tool_use_id": "toolu_edit",
        "input_summary": f"write {PATH}",
        "tool_category": "file_write",
        "file_paths": [PATH],
    }
    await post(server, "/atheneum/tool-calls", edit, child["token"])
    await write(server, child["token"], SUB, tool_use_id="toolu_edit", write_type="edit", lines_added=3)
    await post(server, f"/atheneum/sessions/{SUB}/handover", {"summary": "retry fixed"}, child["token"])
    commit = {
        "session_id": ROOT,
        "commit_sha": "c0ffee1",
        "message": "Fix retry",
        "author": "Ada",
        "commit_type": "fix",
        "file_paths": ["src/main.rs", "README.md"],
    }
    await post(server, "/atheneum/commits", commit, root["token"])

    status, history = await server.request(
        "GET", "/atheneum/files/history?path=src/main.rs&project=envoy", token=root["token"]
    )

    assert status == 200
    assert history["path"] == "src/main.rs" and history["next_page_token"] == ""
    (change,) = history["changes"]
    assert change["write"]["file_path"] == PATH and change["write"]["lines_added"] == 3
    assert change["write"]["session_id"] == SUB
    assert (change["project"], change["agent"], change["agent_id"]) == ("envoy", "claude-9a8b7c6d", "id1.1")
    assert change["tool_call"]["tool_use_id"] == "toolu_edit"
    assert change["tool_call"]["input_summary"] == f"write {PATH}"
    # The subagent's session records no prompts: the reason is its parent's prompt.
    assert change["prompt"]["input_summary"] == "fix the retry bug"
    assert change["prompt"]["session_id"] == ROOT
    assert change["handover"]["summary"] == "retry fixed"
    assert change["handover"]["files_changed"] == [PATH]
    assert change["commit"]["commit_sha"] == "c0ffee1"


async def test_without_tool_use_id_the_nearest_preceding_call_naming_the_file_is_used(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await session(server, token, ROOT)
    call = {"session_id": ROOT, "tool_name": "Write", "exit_status": "success", "file_paths": [PATH]}
    await post(server, "/atheneum/tool-calls", {**call, "input_summary": "first"}, token)
    await post(server, "/atheneum/tool-calls", {**call, "input_summary": "second"}, token)
    await post(
        server,
        "/atheneum/tool-calls",
        {**call, "file_paths": ["/elsewhere.txt"], "input_summary": "no"},
        token,
    )
    await write(server, token, ROOT)
    await post(server, "/atheneum/tool-calls", {**call, "input_summary": "later"}, token)

    _, history = await server.request("GET", f"/atheneum/files/history?path={PATH}", token=token)

    (change,) = history["changes"]
    assert change["tool_call"]["input_summary"] == "second"
    assert change["prompt"] is None and change["handover"] is None and change["commit"] is None


async def test_file_history_matches_paths_and_projects_and_pages(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await session(server, token, "s1")
    await session(server, token, "s2", project="other")
    for n in range(5):
        await write(server, token, "s1", write_type=f"edit{n}")
    await write(server, token, "s2")
    await write(server, token, "s1", "/home/ada/envoy/xsrc/main.rs")
    await write(server, token, "s1", "src/main.rs")

    _, everything = await server.request("GET", "/atheneum/files/history?path=src/main.rs", token=token)
    _, absolute = await server.request(
        "GET", f"/atheneum/files/history?path={PATH}&project_id=envoy", token=token
    )
    _, page1 = await server.request(
        "GET", "/atheneum/files/history?file_path=main.rs&project=envoy&page_size=4", token=token
    )
    _, page2 = await server.request(
        "GET",
        f"/atheneum/files/history?file_path=main.rs&project=envoy&page_size=4&page_token={page1['next_page_token']}",
        token=token,
    )
    status, mismatch = await server.request(
        "GET", f"/atheneum/files/history?path=other.rs&page_token={page1['next_page_token']}", token=token
    )
    _, nothing = await server.request("GET", "/atheneum/files/history?path=never.rs", token=token)

    assert [c["write"]["file_path"] for c in everything["changes"]] == ["src/main.rs", PATH] + [PATH] * 5
    assert [c["write"]["write_type"] for c in absolute["changes"]] == [f"edit{n}" for n in (4, 3, 2, 1, 0)]
    assert len(page1["changes"]) == 4 and page1["next_page_token"]
    ids1 = [c["write"]["file_write_id"] for c in page1["changes"]]
    ids2 = [c["write"]["file_write_id"] for c in page2["changes"]]
    assert ids1 == sorted(ids1, reverse=True) and max(ids2) < min(ids1)
    assert len(ids1) + len(ids2) == 7 and page2["next_page_token"] == ""
    assert status == 400 and "page_token" in mismatch["error"]["message"]
    assert nothing == {"path": "never.rs", "changes": [], "next_page_token": "", "leases": []}


async def test_handover_without_evidence_is_not_verified(server: Server) -> None:
    root = await server.register("claude-9a8b7c6d")
    child = await server.register("a1b2c3", parent_id=root["agent_id"], token=root["token"])
    await session(server, root["token"], ROOT)
    await session(server, child["token"], SUB, parent_session_id=ROOT)
    await write(server, child["token"], SUB, "/a.py")
    await write(server, child["token"], SUB, "/b.py")
    await write(server, child["token"], SUB, "/a.py")

    answer = await post(server, f"/atheneum/sessions/{SUB}/handover", {"summary": "done"}, child["token"])
    _, parent = await server.request("GET", f"/atheneum/sessions/{ROOT}", token=root["token"])

    assert answer == {
        "recorded": True,
        "handover_id": 1,
        "session_id": SUB,
        "to_agent": "id1",
        "to_session_id": ROOT,
        "verified": False,
        "verification_reasons": ["no test run, gate or verify event was recorded"],
    }
    (handover,) = parent["handovers"]
    assert handover["files_changed"] == ["/a.py", "/b.py"]
    assert handover["outcome"] == "complete" and handover["agent_id"] == "id1.1"
    assert handover["verified"] is False


async def test_handover_is_verified_by_passing_tests_and_gates(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await session(server, token, ROOT)
    run = {"session_id": ROOT, "test_name": "pytest tests/", "result": "failed"}
    await post(server, "/atheneum/test-runs", run, token)
    await post(server, "/atheneum/test-runs", {**run, "result": "passed"}, token)
    gate = {"project": "envoy", "gates_total": 3, "gates_passed": 2, "failures": ["ruff: 2 errors"]}
    await post(server, "/events/gate", gate, token, expect=201)
    await post(server, "/events/gate", {**gate, "gates_passed": 3, "failures": []}, token, expect=201)

    answer = await post(server, f"/atheneum/sessions/{ROOT}/handover", {"summary": "all green"}, token)

    assert answer["verified"] is True
    assert answer["verification_reasons"] == []
    assert answer["to_agent"] == "" and answer["to_session_id"] is None


async def test_handover_is_not_verified_when_anything_failed_or_blocked(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await session(server, token, ROOT)
    await session(server, token, "unrelated")
    await post(
        server, "/atheneum/test-runs", {"session_id": ROOT, "test_name": "unit", "result": "passed"}, token
    )
    await post(
        server, "/atheneum/test-runs", {"session_id": ROOT, "test_name": "e2e", "result": "failed"}, token
    )
    await post(
        server, "/atheneum/test-runs", {"session_id": ROOT, "test_name": "lint", "result": "skipped"}, token
    )
    gate = {"project": "envoy", "gates_total": 4, "gates_passed": 3, "failures": ["stub-check: 1 stub"]}
    await post(server, "/events/gate", {**gate, "session_id": ROOT}, token, expect=201)
    hook = {"project": "envoy", "hook_name": "stub-check", "exit_code": 2, "output": "stub found"}
    await post(server, "/events/hook", hook, token, expect=201)
    verify = {"project": "envoy", "agent_id": "id1", "task_type": "bugfix", "passed": 2, "failed": 1}
    await post(
        server, "/events/verify", {**verify, "failures": ["no test"], "session_id": ROOT}, token, expect=201
    )
    # Events naming another session do not count for this one.
    await post(
        server, "/events/gate", {**gate, "gates_passed": 0, "session_id": "unrelated"}, token, expect=201
    )

    answer = await post(server, f"/atheneum/sessions/{ROOT}/handover", {"summary": "done"}, token)

    assert answer["verified"] is False
    assert answer["verification_reasons"] == [
        'test "e2e" failed at its last run',
        'test "lint" did not pass at its last run (result: skipped)',
        "the latest gate run passed 3 of 4 gates: stub-check: 1 stub",
        'hook "stub-check" blocked (exit code 2)',
        "verification of the bugfix deliverable of id1 failed 1 of 3 checks: no test",
    ]


async def test_project_events_before_the_session_or_after_it_ended_do_not_count(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    hook = {"project": "envoy", "hook_name": "gate", "exit_code": 2}
    await post(server, "/events/hook", hook, token, expect=201)
    await session(server, token, ROOT)
    await post(
        server, "/atheneum/test-runs", {"session_id": ROOT, "test_name": "unit", "result": "passed"}, token
    )
    await post(server, "/events/hook", {**hook, "project": "other"}, token, expect=201)
    await server.request("PATCH", f"/atheneum/sessions/{ROOT}", {"exit_status": "complete"}, token=token)
    await post(server, "/events/hook", hook, token, expect=201)

    answer = await post(server, f"/atheneum/sessions/{ROOT}/handover", {"summary": "done"}, token)

    assert answer["verified"] is True, answer


async def test_only_skipped_tests_are_no_passing_evidence(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    await session(server, token, ROOT)
    await post(server, "/events/gate", {"project": "envoy", "session_id": ROOT}, token, expect=201)

    answer = await post(server, f"/atheneum/sessions/{ROOT}/handover", {"summary": "done"}, token)

    assert answer["verified"] is False
    assert answer["verification_reasons"] == ["no test run, gate or verify event passed"]
