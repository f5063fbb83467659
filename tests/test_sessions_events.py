"""Project events (gate, hook, CI, doc, verify): the original's severities and shapes, listing with
filters, the audit log, and the announcement of each event to the project's subscribers."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from support import Server, auth
from test_sessions_core import reason_and_fields

from envoy_grpc.gen.envoy.v1 import sessions_pb2, sessions_pb2_grpc


async def record(server: Server, kind: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    status, event = await server.request("POST", f"/events/{kind}", {"project": "envoy", **body}, token=token)
    assert status == 201, event
    return dict(event)


async def test_gate_event_shape_and_severity(server: Server) -> None:
    agent = await server.register("ci")

    warning = await record(
        server, "gate", {"gates_passed": 2, "gates_total": 3, "failures": ["ruff"]}, agent["token"]
    )
    info = await record(server, "gate", {"gates_passed": 3, "gates_total": 3}, agent["token"])

    assert warning["id"] == "1"
    assert warning["event_type"] == "gate_result" and warning["source"] == "gate:quality"
    assert warning["severity"] == "warning" and warning["message"] == "2/3 passed"
    assert warning["data"] == {"gates_passed": 2, "gates_total": 3, "failures": ["ruff"]}
    assert warning["project"] == "envoy" and warning["agent_id"] == agent["agent_id"]
    assert warning["session_id"] is None and warning["timestamp"].endswith("Z")
    assert info["severity"] == "info"


@pytest.mark.parametrize(
    ("exit_code", "severity"), [(0, "info"), (1, "warning"), (2, "blocking"), (127, "warning")]
)
async def test_hook_event_severity_follows_the_exit_code(
    server: Server, exit_code: int, severity: str
) -> None:
    agent = await server.register("hooks")

    event = await record(
        server,
        "hook",
        {"hook_name": "stub-check", "exit_code": exit_code, "output": "x" * 300},
        agent["token"],
    )

    assert event["severity"] == severity
    assert event["source"] == "hook:stub-check" and event["message"] == f"Hook stub-check exited {exit_code}"
    assert event["data"] == {"hook_name": "stub-check", "exit_code": exit_code, "output_preview": "x" * 200}


async def test_ci_doc_and_verify_events(server: Server) -> None:
    agent = await server.register("ci")
    token = agent["token"]

    failed = await record(
        server, "ci", {"run_id": "42", "status": "completed", "conclusion": "failure"}, token
    )
    running = await record(
        server, "ci", {"run_id": "43", "status": "in_progress", "head_branch": "main"}, token
    )
    stale = await record(server, "doc", {"doc_files": ["README.md"], "last_updated_seconds": 90_000}, token)
    fresh = await record(server, "doc", {"last_updated_seconds": 60}, token)
    verify = await record(
        server,
        "verify",
        {"agent_id": "id7.1", "task_type": "bugfix", "claimed_files": ["a.py"], "passed": 3, "failed": 1},
        token,
    )

    assert (failed["severity"], failed["message"], failed["source"]) == (
        "blocking",
        "CI 42: failure",
        "ci:github",
    )
    assert (running["severity"], running["message"]) == ("info", "CI 43: in_progress")
    assert running["data"]["conclusion"] is None and running["data"]["head_branch"] == "main"
    assert (stale["severity"], stale["message"]) == ("warning", "Docs last updated 90000s ago")
    assert stale["event_type"] == "doc_sync" and fresh["severity"] == "info"
    assert verify["event_type"] == "task_verify" and verify["source"] == "verify:bugfix"
    assert verify["severity"] == "warning"
    assert verify["message"] == "Deliverable verify: 3/4 passed for bugfix"
    assert verify["agent_id"] == "id7.1"  # the agent whose work was verified, not the caller
    assert verify["data"]["claimed_files"] == ["a.py"]


async def test_bad_project_events_are_refused(server: Server) -> None:
    agent = await server.register("ci")
    token = agent["token"]

    too_many, gate = await server.request(
        "POST", "/events/gate", {"project": "envoy", "gates_passed": 4, "gates_total": 3}, token=token
    )
    no_hook, hook = await server.request("POST", "/events/hook", {"project": "envoy"}, token=token)
    no_project, missing = await server.request("POST", "/events/doc", {}, token=token)
    no_list_project, listing = await server.request("GET", "/events", token=token)

    assert too_many == 400 and "gates_passed" in gate["error"]["message"]
    assert no_hook == 422 and "hook_name" in hook["error"]["message"]
    assert no_project == 422 and "project" in missing["error"]["message"]
    assert no_list_project == 422 and "project" in listing["error"]["message"]


async def test_list_project_events_newest_first_with_since_and_limit(server: Server) -> None:
    agent = await server.register("ci")
    token = agent["token"]
    first = await record(server, "gate", {"gates_passed": 1, "gates_total": 1}, token)
    for n in range(3):
        await record(server, "hook", {"hook_name": f"h{n}"}, token)
    await record(server, "hook", {"project": "other", "hook_name": "elsewhere"}, token)

    _, everything = await server.request("GET", "/events?project=envoy", token=token)
    _, limited = await server.request("GET", "/events?project_id=envoy&limit=2", token=token)
    _, since = await server.request("GET", f"/events?project=envoy&since={first['timestamp']}", token=token)

    assert everything["count"] == 4
    assert [e["source"] for e in everything["events"]] == ["hook:h2", "hook:h1", "hook:h0", "gate:quality"]
    assert [e["source"] for e in limited["events"]] == ["hook:h2", "hook:h1"] and limited["count"] == 2
    assert [e["source"] for e in since["events"]] == ["hook:h2", "hook:h1", "hook:h0"]


async def test_audit_log_records_sessions_handovers_and_ingested_events(server: Server) -> None:
    agent = await server.register("claude-main")
    token = agent["token"]
    body = {"session_id": "s1", "agent": "claude", "project": "envoy"}
    await server.request("POST", "/atheneum/sessions", body, token=token)
    await server.request("POST", "/atheneum/sessions", body, token=token)  # a repeat is not audited again
    await server.request("POST", "/atheneum/sessions/s1/handover", {"summary": "done"}, token=token)
    await server.request("PATCH", "/atheneum/sessions/s1", {"exit_status": "complete"}, token=token)
    await record(server, "gate", {"gates_passed": 1, "gates_total": 1}, token)

    _, audit = await server.request("GET", "/audit", token=token)
    _, ended = await server.request("GET", "/audit?operation=session_ended", token=token)
    _, mine = await server.request("GET", f"/audit?agent_id={agent['agent_id']}&limit=2", token=token)
    _, nobody = await server.request("GET", "/audit?agent_id=id99", token=token)

    assert [e["source"] for e in audit["events"]] == [
        "event_ingested",
        "session_ended",
        "handover_recorded",
        "session_started",
    ]
    assert all(e["event_type"] == "audit_log" and e["project"] == "_envoy_audit" for e in audit["events"])
    assert audit["events"][3]["session_id"] == "s1" and audit["events"][3]["data"]["project"] == "envoy"
    assert ended["count"] == 1 and ended["events"][0]["data"]["exit_status"] == "complete"
    assert mine["count"] == 2
    assert nobody == {"events": [], "count": 0}


async def test_project_subscribers_receive_each_event_once_committed(server: Server) -> None:
    watcher = await server.register("watcher")
    other = await server.register("other")
    recorder = await server.register("ci")
    status, _ = await server.request(
        "POST",
        "/subscriptions",
        {"agent_id": watcher["agent_id"], "project": "envoy"},
        token=watcher["token"],
    )
    assert status == 201

    event = await record(server, "gate", {"gates_passed": 1, "gates_total": 2}, recorder["token"])
    _, pending = await server.request(
        "GET", f"/agents/{watcher['agent_id']}/messages/pending", token=watcher["token"]
    )
    _, nothing = await server.request(
        "GET", f"/agents/{other['agent_id']}/messages/pending", token=other["token"]
    )

    (message,) = pending["messages"]
    assert message["type"] == "topic" and message["topic"] == "project.envoy"
    assert message["from"] == recorder["agent_id"]
    assert message["parts"][0] == {"text": "[envoy] 1/2 passed"}
    assert message["parts"][1]["data"]["kind"] == "gate_event"
    assert message["parts"][1]["data"]["event"]["id"] == event["id"]
    assert message["parts"][1]["data"]["event"]["severity"] == "warning"
    assert nothing["count"] == 0


async def test_project_events_over_grpc_use_enums_and_rich_errors(server: Server) -> None:
    agent = await server.register("ci")
    events = sessions_pb2_grpc.ProjectEventServiceStub(server.channel)

    event = await events.RecordHookEvent(
        sessions_pb2.RecordHookEventRequest(project="envoy", hook_name="h", exit_code=2),
        metadata=auth(agent["token"]),
    )
    listed = await events.ListProjectEvents(
        sessions_pb2.ListProjectEventsRequest(project="envoy"), metadata=auth(agent["token"])
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await events.RecordGateEvent(
            sessions_pb2.RecordGateEventRequest(project="envoy", gates_passed=-1),
            metadata=auth(agent["token"]),
        )

    assert event.event_type == sessions_pb2.PROJECT_EVENT_TYPE_HOOK_RESULT
    assert event.severity == sessions_pb2.PROJECT_EVENT_SEVERITY_BLOCKING
    assert listed.count == 1 and listed.events[0].id == event.id
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_and_fields(raised.value) == ("INVALID_ARGUMENT", ["gates_passed"])
