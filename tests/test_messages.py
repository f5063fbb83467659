"""Messaging over HTTP: the article's examples, recipients, topics, acks, idempotency and bad input."""

from __future__ import annotations

from typing import Any

from support import Server


async def pair(server: Server) -> tuple[dict[str, Any], dict[str, Any]]:
    return await server.register("sender"), await server.register("receiver")


def text(body: str) -> list[dict[str, str]]:
    return [{"text": body}]


async def send(server: Server, token: str, **fields: Any) -> dict[str, Any]:
    status, message = await server.request("POST", "/messages", {"type": "direct", **fields}, token=token)
    assert status == 201, message
    return dict(message)


async def test_seed_send_poll_and_ack(server: Server) -> None:
    sender, receiver = await pair(server)

    status, sent = await server.request(
        "POST",
        "/messages",
        {"type": "direct", "from": "id1", "to": "id2", "parts": [{"text": "hey, the build is green"}]},
        token=sender["token"],
    )
    assert status == 201
    assert sent["message_id"] == "1"
    assert (sent["from"], sent["to"], sent["type"]) == ("id1", "id2", "direct")
    assert sent["parts"] == [{"text": "hey, the build is green"}]

    status, pending = await server.request("GET", "/agents/id2/messages/pending", token=receiver["token"])
    assert status == 200
    assert pending["count"] == 1
    assert pending["messages"][0]["message_id"] == "1"
    assert pending["messages"][0]["from"] == "id1"
    assert pending["messages"][0]["parts"] == [{"text": "hey, the build is green"}]
    assert pending["messages"][0]["sequence_id"] == 1

    status, acked = await server.request(
        "POST", "/messages/1/ack", {"agent_id": "id2"}, token=receiver["token"]
    )
    assert status == 200
    assert acked == {"acked_by": ["id2"], "message_id": "1"}

    _, after = await server.request("GET", "/agents/id2/messages/pending", token=receiver["token"])
    assert after == {"count": 0, "messages": []}


async def test_parts_keep_their_json_shapes(server: Server) -> None:
    sender, receiver = await pair(server)
    parts = [
        {"text": "t"},
        {"data": {"n": 3, "f": 1.5, "list": [1, "x", None, True]}},
        {"url": "https://example.org/a"},
    ]

    await send(server, sender["token"], to="id2", parts=parts)

    _, pending = await server.request("GET", "/agents/id2/messages/pending", token=receiver["token"])
    assert pending["messages"][0]["parts"] == parts


async def test_ack_is_idempotent_and_pending_excludes_acked(server: Server) -> None:
    sender, receiver = await pair(server)
    for n in range(3):
        await send(server, sender["token"], to="id2", parts=text(f"m{n}"))

    await server.request("POST", "/messages/2/ack", {}, token=receiver["token"])
    status, again = await server.request("POST", "/messages/2/ack", {}, token=receiver["token"])

    assert status == 200
    assert again["acked_by"] == ["id2"]
    _, pending = await server.request("GET", "/agents/id2/messages/pending", token=receiver["token"])
    assert [m["message_id"] for m in pending["messages"]] == ["1", "3"]


async def test_poll_since_with_latest_sequence_and_include_acked(server: Server) -> None:
    sender, receiver = await pair(server)
    for n in range(4):
        await send(server, sender["token"], to="id2", parts=text(f"m{n}"))
    await server.request("POST", "/messages/1/ack", {}, token=receiver["token"])

    _, first = await server.request("GET", "/messages?to=id2&limit=2", token=receiver["token"])
    _, rest = await server.request(
        "GET", f"/messages?to=id2&since={first['latest_sequence']}", token=receiver["token"]
    )
    _, everything = await server.request("GET", "/messages?to=id2&include=acked", token=receiver["token"])
    _, none_left = await server.request("GET", "/messages?to=id2&since=4", token=receiver["token"])

    assert [m["sequence_id"] for m in first["messages"]] == [2, 3]
    assert first["latest_sequence"] == 3
    assert [m["sequence_id"] for m in rest["messages"]] == [4]
    assert [m["sequence_id"] for m in everything["messages"]] == [1, 2, 3, 4]
    assert none_left == {"messages": [], "latest_sequence": 4}


async def test_sequences_are_per_recipient(server: Server) -> None:
    sender = await server.register("sender")
    await server.register("b")
    await server.register("c")

    await send(server, sender["token"], to="id2", parts=text("to b"))
    await send(server, sender["token"], to="id3", parts=text("to c"))
    await send(server, sender["token"], to="id2", parts=text("to b again"))

    _, b = await server.request("GET", "/messages?to=id2", token=server.operator_token)
    _, c = await server.request("GET", "/messages?to=id3", token=server.operator_token)
    assert [m["sequence_id"] for m in b["messages"]] == [1, 2]
    assert [m["sequence_id"] for m in c["messages"]] == [1]


async def test_get_message_is_for_sender_recipients_and_operator_only(server: Server) -> None:
    sender, receiver = await pair(server)
    stranger = await server.register("stranger")
    await send(server, sender["token"], to="id2", parts=text("secret"))

    statuses = [
        (await server.request("GET", "/messages/1", token=t))[0]
        for t in (sender["token"], receiver["token"], server.operator_token, stranger["token"])
    ]
    _, as_recipient = await server.request("GET", "/messages/1", token=receiver["token"])

    assert statuses == [200, 200, 200, 404]
    assert as_recipient["sequence_id"] == 1


async def test_an_idempotency_key_makes_a_retry_safe(server: Server) -> None:
    sender, receiver = await pair(server)
    body = {"type": "direct", "to": "id2", "parts": text("once"), "idempotency_key": "k-1"}

    first_status, first = await server.request("POST", "/messages", body, token=sender["token"])
    again_status, again = await server.request("POST", "/messages", body, token=sender["token"])
    clash_status, clash = await server.request(
        "POST", "/messages", {**body, "parts": text("different")}, token=sender["token"]
    )

    assert (first_status, again_status) == (201, 200)
    assert again["message_id"] == first["message_id"]
    assert clash_status == 409
    assert clash["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    _, pending = await server.request("GET", "/agents/id2/messages/pending", token=receiver["token"])
    assert pending["count"] == 1


async def test_broadcast_reaches_every_active_agent_but_the_sender(server: Server) -> None:
    root = await server.register("root")
    await server.register("child", parent_id="id1", token=root["token"])
    other = await server.register("other")
    retired = await server.register("retired")
    await server.request("POST", "/agents/id3/retire", {}, token=retired["token"])

    status, message = await server.request(
        "POST", "/messages", {"type": "broadcast", "parts": text("all hands")}, token=other["token"]
    )

    assert status == 201
    assert message["recipients"] == ["id1", "id1.1"]
    assert message["to"] == ""


async def test_broadcast_to_a_subtree(server: Server) -> None:
    root = await server.register("root")
    child = await server.register("child", parent_id="id1", token=root["token"])
    await server.register("grandchild", parent_id="id1.1", token=child["token"])
    await server.register("outsider")

    status, message = await server.request(
        "POST", "/messages", {"type": "broadcast", "to": "id1", "parts": text("team")}, token=root["token"]
    )

    assert status == 201
    assert message["recipients"] == ["id1.1", "id1.1.1"]


async def test_topic_messages_reach_matching_subscribers(server: Server) -> None:
    publisher = await server.register("ci")
    ci_all = await server.register("watcher")
    envoy_only = await server.register("envoy-dev")
    await server.register("bystander")
    await server.request("POST", "/agents/id2/topics", {"pattern": "ci.>"}, token=ci_all["token"])
    await server.request("POST", "/agents/id3/topics", {"pattern": "ci.*.envoy"}, token=envoy_only["token"])

    _, build = await server.request(
        "POST",
        "/messages",
        {"type": "topic", "topic": "ci.build.envoy", "parts": text("green")},
        token=publisher["token"],
    )
    _, lint = await server.request(
        "POST",
        "/messages",
        {"type": "topic", "topic": "ci.lint", "parts": text("red")},
        token=publisher["token"],
    )
    _, nobody = await server.request(
        "POST",
        "/messages",
        {"type": "topic", "topic": "deploy.prod", "parts": text("x")},
        token=publisher["token"],
    )

    assert build["recipients"] == ["id2", "id3"]
    assert build["topic"] == "ci.build.envoy"
    assert lint["recipients"] == ["id2"]
    assert nobody["recipients"] == []


async def test_topic_subscriptions_can_be_listed_and_removed(server: Server) -> None:
    agent = await server.register("agent")
    token = agent["token"]
    status, created = await server.request(
        "POST", "/agents/id1/topics", {"pattern": "project.envoy.*"}, token=token
    )
    again_status, _ = await server.request(
        "POST", "/agents/id1/topics", {"pattern": "project.envoy.*"}, token=token
    )

    _, listed = await server.request("GET", "/agents/id1/topics", token=token)
    delete_status, _ = await server.request("DELETE", "/agents/id1/topics/project.envoy.*", token=token)
    missing_status, missing = await server.request(
        "DELETE", "/agents/id1/topics/project.envoy.*", token=token
    )

    assert (status, again_status) == (201, 201)
    assert created["pattern"] == "project.envoy.*"
    assert [s["pattern"] for s in listed["subscriptions"]] == ["project.envoy.*"]
    assert delete_status == 200
    assert missing_status == 404
    assert missing["error"]["code"] == "SUBSCRIPTION_NOT_FOUND"


async def test_original_project_subscriptions_map_to_topics(server: Server) -> None:
    publisher = await server.register("publisher")
    agent = await server.register("agent")

    status, body = await server.request(
        "POST", "/subscriptions", {"agent_id": "id2", "project_id": "envoy"}, token=agent["token"]
    )
    _, listed = await server.request("GET", "/subscriptions/id2", token=agent["token"])
    _, news = await server.request(
        "POST",
        "/messages",
        {"type": "topic", "topic": "project.envoy", "parts": text("release")},
        token=publisher["token"],
    )
    delete_status, deleted = await server.request("DELETE", "/subscriptions/id2/envoy", token=agent["token"])

    assert status == 201
    assert body == {"subscribed": True, "agent_id": "id2", "project": "envoy"}
    assert listed == {"agent_id": "id2", "subscriptions": ["envoy"]}
    assert news["recipients"] == ["id2"]
    assert (delete_status, deleted) == (200, {"unsubscribed": True})


async def test_bad_patterns_and_topics_are_400(server: Server) -> None:
    agent = await server.register("agent")

    pattern_status, pattern = await server.request(
        "POST", "/agents/id1/topics", {"pattern": "a.>.b"}, token=agent["token"]
    )
    topic_status, topic = await server.request(
        "POST", "/messages", {"type": "topic", "topic": "ci.*", "parts": text("x")}, token=agent["token"]
    )

    assert pattern_status == 400
    assert "'>'" in pattern["error"]["message"]
    assert topic_status == 400
    assert "topic" in topic["error"]["message"]


async def test_nak_term_and_in_progress(server: Server) -> None:
    sender, receiver = await pair(server)
    await send(server, sender["token"], to="id2", parts=text("job"))
    await send(server, sender["token"], to="id2", parts=text("poison"))
    token = receiver["token"]

    nak_status, nak = await server.request("POST", "/messages/1/nak", {"delay_seconds": 60}, token=token)
    progress_status, progress = await server.request("POST", "/messages/1/in-progress", {}, token=token)
    term_status, term = await server.request("POST", "/messages/2/term", {}, token=token)
    _, pending = await server.request("GET", "/agents/id2/messages/pending", token=token)
    await server.request("POST", "/messages/1/ack", {}, token=token)
    late_status, late = await server.request("POST", "/messages/1/nak", {}, token=token)

    assert nak_status == 200 and nak["next_attempt_at"] is not None
    assert progress_status == 200 and progress["state"] == "delivered"
    assert term_status == 200 and term["state"] == "terminated"
    assert [m["message_id"] for m in pending["messages"]] == ["1"]
    assert late_status == 400
    assert late["error"]["code"] == "DELIVERY_NOT_PENDING"


async def test_the_sender_sees_each_recipients_delivery(server: Server) -> None:
    sender = await server.register("sender")
    b = await server.register("b")
    await server.register("c")
    await server.request(
        "POST", "/messages", {"type": "broadcast", "parts": text("hi")}, token=sender["token"]
    )
    await server.request("POST", "/messages/1/ack", {}, token=b["token"])

    status, body = await server.request("GET", "/messages/1/deliveries", token=sender["token"])
    recipient_status, _ = await server.request("GET", "/messages/1/deliveries", token=b["token"])

    assert status == 200
    assert [(d["agent_id"], d["state"]) for d in body["deliveries"]] == [("id2", "acked"), ("id3", "stored")]
    assert recipient_status == 403


async def test_impersonation_is_refused(server: Server) -> None:
    sender, _ = await pair(server)
    stranger = await server.register("stranger")
    await send(server, sender["token"], to="id2", parts=text("x"))

    as_other_status, as_other = await server.request(
        "POST",
        "/messages",
        {"type": "direct", "from": "id2", "to": "id3", "parts": text("x")},
        token=sender["token"],
    )
    foreign_ack_status, foreign_ack = await server.request(
        "POST", "/messages/1/ack", {}, token=stranger["token"]
    )
    named_ack_status, _ = await server.request(
        "POST", "/messages/1/ack", {"agent_id": "id2"}, token=stranger["token"]
    )
    foreign_poll_status, _ = await server.request(
        "GET", "/agents/id2/messages/pending", token=stranger["token"]
    )
    foreign_stream_status, _ = await server.request(
        "GET", "/agents/id2/messages/stream", token=stranger["token"]
    )

    assert as_other_status == 403
    assert as_other["error"]["code"] == "NOT_THE_SENDER"
    assert foreign_ack_status == 403
    assert foreign_ack["error"]["code"] == "NOT_A_RECIPIENT"
    assert named_ack_status == 403
    assert foreign_poll_status == 403
    assert foreign_stream_status == 403


async def test_bad_messages_name_the_problem(server: Server) -> None:
    sender, receiver = await pair(server)
    token = sender["token"]
    retired = await server.register("retired")
    await server.request("POST", "/agents/id3/retire", {}, token=retired["token"])
    cases = [
        ({"to": "id2", "parts": [{"text": "x"}] * 21}, 400, "TOO_MANY_PARTS"),
        ({"to": "id2", "parts": []}, 422, "FIELD_REQUIRED"),
        ({"to": "id2"}, 422, "FIELD_REQUIRED"),
        ({"parts": text("x")}, 422, "FIELD_REQUIRED"),
        ({"to": "id1", "parts": text("x")}, 400, "INVALID_MESSAGE"),
        ({"to": "id9", "parts": text("x")}, 404, "AGENT_NOT_FOUND"),
        ({"to": "id3", "parts": text("x")}, 409, "AGENT_OFFLINE"),
        ({"to": "id2", "parts": [{}]}, 400, "INVALID_MESSAGE"),
        ({"to": "id2", "parts": [{"url": "javascript:alert(1)"}]}, 400, "INVALID_MESSAGE"),
        ({"to": "id2", "parts": text("x"), "type": "shout"}, 422, "FIELD_TYPE"),
        ({"to": "id2", "parts": text("x"), "ttl_seconds": -1}, 400, "INVALID_ARGUMENT"),
    ]
    for body, expected_status, reason in cases:
        status, error = await server.request("POST", "/messages", {"type": "direct", **body}, token=token)
        assert (status, error["error"]["code"]) == (expected_status, reason), body
    _, pending = await server.request("GET", "/agents/id2/messages/pending", token=receiver["token"])
    assert pending["count"] == 0


async def test_a_part_over_1_mib_is_message_too_large(server_factory: Any) -> None:
    server = await server_factory(max_body=3 * 1024 * 1024)
    sender, _ = await pair(server)

    status, error = await server.request(
        "POST",
        "/messages",
        {"type": "direct", "to": "id2", "parts": text("x" * (1024 * 1024 + 1))},
        token=sender["token"],
    )

    assert status == 400
    assert error["error"]["code"] == "MESSAGE_TOO_LARGE"
    assert "parts[0].text" in error["error"]["message"]


async def test_unknown_messages_are_404(server: Server) -> None:
    _, receiver = await pair(server)

    for path in ("/messages/999", "/messages/abc"):
        status, body = await server.request("GET", path, token=receiver["token"])
        assert status == 404
        assert body["error"]["code"] == "MESSAGE_NOT_FOUND"
    ack_status, _ = await server.request("POST", "/messages/999/ack", {}, token=receiver["token"])
    assert ack_status == 404


async def test_stats_count_messages(server: Server) -> None:
    sender, _ = await pair(server)
    for _ in range(3):
        await send(server, sender["token"], to="id2", parts=text("x"))

    _, stats = await server.request("GET", "/stats")

    assert stats["messages_total"] == 3
