"""The task board over HTTP and gRPC: proposing, the claim-next race, blocked-by, the state machine,
releasing, the audit trail, notifications on a live Subscribe stream, and stale claims reclaimed."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from coordination_support import error_info, next_kind, subscribe, subscribe_project, tasks
from support import Server, auth, wait_for

from envoy_grpc.gen.envoy.v1 import messages_pb2, tasks_pb2


async def propose(server: Server, agent: dict[str, Any], description: str, **fields: Any) -> dict[str, Any]:
    body = {"project": "envoy", "description": description, **fields}
    status, task = await server.request("POST", "/tasks/propose", body, token=agent["token"])
    assert status == 201, task
    return dict(task)


async def move(
    server: Server, agent: dict[str, Any], task_id: str, state: str, **fields: Any
) -> tuple[int, Any]:
    return await server.request(
        "POST", f"/tasks/{task_id}/state", {"state": state, **fields}, token=agent["token"]
    )


async def test_a_proposed_task_has_the_original_shape(server: Server) -> None:
    lead = await server.register("lead")

    task = await propose(server, lead, "Split the parser module", title="parser split")
    status, fetched = await server.request("GET", f"/tasks/{task['id']}", token=lead["token"])
    _, listed = await server.request("GET", "/tasks?project=envoy&state=proposed", token=lead["token"])
    _, none_claimed = await server.request("GET", "/tasks?project=envoy&state=claimed", token=lead["token"])

    assert task["id"].isdigit() and task["state"] == "proposed" and task["project"] == "envoy"
    assert task["claimed_by"] is None and task["checkpoint"] is None and task["blocked_by"] == []
    assert task["title"] == "parser split" and task["proposed_by"] == lead["agent_id"]
    assert status == 200 and fetched == task
    assert listed["count"] == 1 and listed["tasks"][0]["id"] == task["id"]
    assert none_claimed == {"tasks": [], "count": 0, "next_page_token": ""}


async def test_twenty_agents_race_claim_next_on_ten_tasks(server: Server) -> None:
    lead = await server.register("lead")
    workers = [await server.register(f"worker-{n}") for n in range(20)]
    proposed = [await propose(server, lead, f"task number {n}") for n in range(10)]
    stub = tasks(server)

    async def claim(worker: dict[str, Any]) -> tasks_pb2.Task | grpc.aio.AioRpcError:
        try:
            return await stub.ClaimNextTask(
                tasks_pb2.ClaimNextTaskRequest(project="envoy"), metadata=auth(worker["token"])
            )
        except grpc.aio.AioRpcError as error:
            return error

    outcomes = await asyncio.gather(*(claim(w) for w in workers))

    claimed = [o for o in outcomes if isinstance(o, tasks_pb2.Task)]
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert sorted(t.id for t in claimed) == sorted(t["id"] for t in proposed)  # each task exactly once
    assert len({t.claimed_by for t in claimed}) == 10  # by ten different agents
    assert all(t.state == tasks_pb2.TASK_STATE_CLAIMED for t in claimed)
    assert len(refused) == 10
    assert all(e.code() == grpc.StatusCode.NOT_FOUND for e in refused)
    assert all(error_info(e).reason == "NO_CLAIMABLE_TASK" for e in refused)
    _, board = await server.request("GET", "/tasks?project=envoy&state=claimed", token=lead["token"])
    assert board["count"] == 10


async def test_claim_next_takes_the_oldest_unblocked_task(server: Server) -> None:
    lead = await server.register("lead")
    worker = await server.register("worker")
    first = await propose(server, lead, "write the schema")
    blocked = await propose(server, lead, "use the schema", blocked_by=[first["id"]])
    later = await propose(server, lead, "independent chore")

    status, got = await server.request(
        "POST", "/tasks/claim-next", {"project": "envoy"}, token=worker["token"]
    )
    status2, got2 = await server.request(
        "POST", "/tasks/claim-next", {"project": "envoy"}, token=worker["token"]
    )
    none_status, none = await server.request(
        "POST", "/tasks/claim-next", {"project": "envoy"}, token=worker["token"]
    )
    direct_status, direct = await server.request(
        "POST", f"/tasks/{blocked['id']}/claim", {}, token=worker["token"]
    )

    assert blocked["blocked_by"] == [first["id"]]
    assert (status, got["id"], got["claimed_by"]) == (201, first["id"], worker["agent_id"])
    assert (status2, got2["id"]) == (201, later["id"])  # the blocked task is skipped
    assert none_status == 404 and none["error"]["code"] == "NO_CLAIMABLE_TASK"
    assert "1 proposed task(s) all wait for unfinished blockers" in none["error"]["message"]
    assert direct_status == 409 and direct["error"]["code"] == "TASK_BLOCKED"
    assert first["id"] in direct["error"]["message"]

    for state in ("in_progress", "waiting_review", "done"):
        moved_status, _ = await move(server, worker, first["id"], state)
        assert moved_status == 200
    unblocked_status, unblocked = await server.request(
        "POST", "/tasks/claim-next", {"project": "envoy"}, token=worker["token"]
    )
    assert unblocked_status == 201 and unblocked["id"] == blocked["id"]


async def test_the_state_machine_allows_the_documented_moves_only(server: Server) -> None:
    lead = await server.register("lead")
    worker = await server.register("worker")
    task = await propose(server, lead, "fix the flaky test")
    task_id = task["id"]

    skip_status, skip = await move(server, worker, task_id, "in_progress")
    claim_status, claimed = await move(server, worker, task_id, "claimed")
    progress_status, progress = await move(
        server, worker, task_id, "in_progress", checkpoint="found the race"
    )
    same_status, same = await move(server, worker, task_id, "in_progress", checkpoint="fixed, testing")
    done_early_status, done_early = await move(server, worker, task_id, "done")
    review_status, _ = await move(server, worker, task_id, "waiting_review")
    back_status, back = await move(server, worker, task_id, "in_progress")
    await move(server, worker, task_id, "waiting_review")
    done_status, done = await move(server, worker, task_id, "done")
    again_status, again = await move(server, worker, task_id, "in_progress")
    bad_status, bad = await move(server, worker, task_id, "finished")
    _, audit = await server.request("GET", f"/tasks/{task_id}/audit", token=lead["token"])

    assert skip_status == 409 and skip["error"]["code"] == "INVALID_TASK_STATE"
    assert "from proposed to in_progress" in skip["error"]["message"]
    assert claim_status == 200 and claimed["claimed_by"] == worker["agent_id"]
    assert progress_status == 200 and progress["checkpoint"] == "found the race"
    assert same_status == 200 and same["checkpoint"] == "fixed, testing" and same["state"] == "in_progress"
    assert done_early_status == 409 and "from in_progress to done" in done_early["error"]["message"]
    assert review_status == 200 and back_status == 200 and back["state"] == "in_progress"
    assert done_status == 200 and done["state"] == "done" and done["claimed_by"] == worker["agent_id"]
    assert again_status == 409 and again["error"]["status"] == "FAILED_PRECONDITION"
    assert bad_status == 422 and "state" in bad["error"]["message"]
    events = [(e["event"], e["from_state"], e["to_state"]) for e in reversed(audit["events"])]
    assert events == [
        ("task_proposed", None, "proposed"),
        ("task_claimed", "proposed", "claimed"),
        ("task_state_changed", "claimed", "in_progress"),
        ("task_state_changed", "in_progress", "in_progress"),
        ("task_state_changed", "in_progress", "waiting_review"),
        ("task_state_changed", "waiting_review", "in_progress"),
        ("task_state_changed", "in_progress", "waiting_review"),
        ("task_state_changed", "waiting_review", "done"),
    ]
    assert audit["count"] == 8 and audit["events"][0]["agent_id"] == worker["agent_id"]


async def test_only_the_claimant_moves_a_claimed_task_and_release_returns_it(server: Server) -> None:
    lead = await server.register("lead")
    worker = await server.register("worker")
    rival = await server.register("rival")
    task = await propose(server, lead, "rename the module")
    await server.request("POST", f"/tasks/{task['id']}/claim", {}, token=worker["token"])

    repeat_status, repeat = await server.request(
        "POST", f"/tasks/{task['id']}/claim", {}, token=worker["token"]
    )
    taken_status, taken = await server.request("POST", f"/tasks/{task['id']}/claim", {}, token=rival["token"])
    moved_status, moved = await move(server, rival, task["id"], "in_progress")
    impersonate_status, _ = await server.request(
        "POST", f"/tasks/{task['id']}/claim", {"agent_id": worker["agent_id"]}, token=rival["token"]
    )
    named_status, named = await move(server, rival, task["id"], "in_progress", agent_id=worker["agent_id"])
    own_name_status, _ = await move(server, worker, task["id"], "claimed", agent_id=worker["agent_id"])
    foreign_release, _ = await server.request(
        "POST", f"/tasks/{task['id']}/release", {}, token=rival["token"]
    )
    release_status, released = await server.request(
        "POST", f"/tasks/{task['id']}/release", {}, token=worker["token"]
    )
    rival_status, rival_claim = await server.request(
        "POST", f"/tasks/{task['id']}/claim", {}, token=rival["token"]
    )

    assert repeat_status == 200 and repeat["claimed_by"] == worker["agent_id"]
    assert taken_status == 409 and taken["error"]["code"] == "TASK_ALREADY_CLAIMED"
    assert worker["agent_id"] in taken["error"]["message"]
    assert moved_status == 403 and moved["error"]["code"] == "NOT_TASK_CLAIMANT"
    assert impersonate_status == 403 and foreign_release == 403
    assert named_status == 403 and named["error"]["code"] == "NOT_THE_CALLER"
    assert own_name_status == 200  # setting the current state again only touches the checkpoint
    assert release_status == 200 and released["state"] == "proposed" and released["claimed_by"] is None
    assert rival_status == 200 and rival_claim["claimed_by"] == rival["agent_id"]


async def test_unknown_tasks_and_blockers_are_404(server: Server) -> None:
    lead = await server.register("lead")

    get_status, got = await server.request("GET", "/tasks/404", token=lead["token"])
    word_status, _ = await server.request("GET", "/tasks/abc", token=lead["token"])
    blocker_status, blocker = await server.request(
        "POST",
        "/tasks/propose",
        {"project": "envoy", "description": "x", "blocked_by": ["77"]},
        token=lead["token"],
    )
    missing_status, missing = await server.request(
        "POST", "/tasks/propose", {"project": "envoy"}, token=lead["token"]
    )
    list_status, _ = await server.request("GET", "/tasks", token=lead["token"])

    assert get_status == 404 and got["error"]["code"] == "TASK_NOT_FOUND" and word_status == 404
    assert blocker_status == 404 and "blocked_by[0]" in blocker["error"]["message"]
    assert missing_status == 422 and "description" in missing["error"]["message"]
    assert list_status == 422


async def test_subscribers_are_told_of_every_change(server: Server) -> None:
    watcher = await server.register("watcher")
    lead = await server.register("lead")
    worker = await server.register("worker")
    await subscribe_project(server, watcher, "envoy")
    stream = subscribe(server, watcher)
    try:
        task = await propose(server, lead, "document the leases")
        _, proposed = await next_kind(stream, "task_proposed")
        await server.request("POST", "/tasks/claim-next", {"project": "envoy"}, token=worker["token"])
        claimed_message, claimed = await next_kind(stream, "task_claimed")
        await move(server, worker, task["id"], "in_progress", checkpoint="half way")
        _, changed = await next_kind(stream, "task_state_changed")
    finally:
        stream.cancel()

    assert proposed["task"]["id"] == task["id"] and proposed["task"]["state"] == "proposed"
    assert claimed_message.topic == "project.envoy" and getattr(claimed_message, "from") == worker["agent_id"]
    assert claimed["task"]["claimed_by"] == worker["agent_id"]
    assert changed["task"]["state"] == "in_progress" and changed["task"]["checkpoint"] == "half way"
    _, audit = await server.request("GET", f"/audit?task_id={task['id']}", token=lead["token"])
    assert [e["source"] for e in audit["events"]] == ["task_claimed"]


async def finish(server: Server, agent: dict[str, Any], task_id: str) -> None:
    for state in ("claimed", "in_progress", "waiting_review", "done"):
        status, body = await move(server, agent, task_id, state)
        assert status == 200, body


async def test_done_tells_the_claimants_of_blocked_tasks(server: Server) -> None:
    lead = await server.register("lead")
    builder = await server.register("builder")
    waiter = await server.register("waiter")
    schema = await propose(server, lead, "write the schema")
    api = await propose(server, lead, "write the API")
    docs = await propose(server, lead, "write the docs", blocked_by=[schema["id"], api["id"]])
    await finish(server, builder, schema["id"])
    await finish(server, builder, api["id"])
    await server.request("POST", f"/tasks/{docs['id']}/claim", {}, token=waiter["token"])
    # Review found problems in both blockers: they are reopened while the docs are being written.
    await move(server, builder, schema["id"], "proposed")
    await move(server, builder, api["id"], "proposed")
    stream = subscribe(server, waiter)
    try:
        await finish(server, builder, schema["id"])
        first, one = await next_kind(stream, "dependency_resolved")
        await finish(server, builder, api["id"])
        _, two = await next_kind(stream, "dependency_resolved")
    finally:
        stream.cancel()

    assert first.type == messages_pb2.MESSAGE_TYPE_SYSTEM and getattr(first, "from") == "envoy"
    assert (one["task_id"], one["resolved_task_id"]) == (docs["id"], schema["id"])
    assert one["remaining_blockers"] == [api["id"]]
    assert (two["resolved_task_id"], two["remaining_blockers"]) == (api["id"], [])
    assert "still waiting for" in first.parts[0].text


async def test_a_silent_claimant_loses_its_task(server_factory: Any) -> None:
    server: Server = await server_factory(task_claim_timeout=0.5, coordination_sweep_interval=0.2)
    lead = await server.register("lead")
    sleeper = await server.register("sleeper")
    task = await propose(server, lead, "something slow")
    stream = subscribe(server, sleeper)
    try:
        await server.request("POST", "/tasks/claim-next", {"project": "envoy"}, token=sleeper["token"])
        notice, data = await next_kind(stream, "task_reclaimed")
    finally:
        stream.cancel()

    async def proposed_again() -> bool:
        _, found = await server.request("GET", f"/tasks/{task['id']}", token=lead["token"])
        return found["state"] == "proposed"

    await wait_for(proposed_again, timeout=10)
    _, found = await server.request("GET", f"/tasks/{task['id']}", token=lead["token"])
    _, audit = await server.request("GET", f"/tasks/{task['id']}/audit", token=lead["token"])
    assert notice.type == messages_pb2.MESSAGE_TYPE_SYSTEM and data["task_id"] == task["id"]
    assert found["claimed_by"] is None
    assert audit["events"][0]["event"] == "task_reclaimed" and audit["events"][0]["from_state"] == "claimed"


async def test_a_heartbeating_claimant_keeps_its_task(server_factory: Any) -> None:
    server: Server = await server_factory(task_claim_timeout=1.0, coordination_sweep_interval=0.2)
    lead = await server.register("lead")
    worker = await server.register("worker")
    task = await propose(server, lead, "long job")
    await server.request("POST", f"/tasks/{task['id']}/claim", {}, token=worker["token"])

    for _ in range(6):  # 1.8 s of heartbeats, longer than the timeout
        await server.request("POST", "/heartbeat", {"agent_id": worker["agent_id"]}, token=worker["token"])
        await asyncio.sleep(0.3)
    await server.running.tasks.sweep()
    _, found = await server.request("GET", f"/tasks/{task['id']}", token=lead["token"])

    assert found["state"] == "claimed" and found["claimed_by"] == worker["agent_id"]


async def test_a_retired_claimants_task_is_reclaimed(server: Server) -> None:
    lead = await server.register("lead")
    worker = await server.register("worker")
    task = await propose(server, lead, "orphaned work")
    await server.request("POST", f"/tasks/{task['id']}/claim", {}, token=worker["token"])
    await server.request("POST", f"/agents/{worker['agent_id']}/retire", {}, token=worker["token"])

    reclaimed = await server.running.tasks.sweep()

    assert [str(t.task_id) for t in reclaimed] == [task["id"]]


async def test_grpc_errors_name_the_states(server: Server) -> None:
    lead = await server.register("lead")
    task = await tasks(server).ProposeTask(
        tasks_pb2.ProposeTaskRequest(project="envoy", description="x"), metadata=auth(lead["token"])
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await tasks(server).SetTaskState(
            tasks_pb2.SetTaskStateRequest(task_id=task.id, state=tasks_pb2.TASK_STATE_DONE),
            metadata=auth(lead["token"]),
        )

    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(raised.value)
    assert info.reason == "INVALID_TASK_STATE"
    assert (info.metadata["fromState"], info.metadata["toState"]) == ("proposed", "done")
