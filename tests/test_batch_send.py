"""BatchSendMessages: all or none, numbered in order, each recipient's sequence gap-free."""

from __future__ import annotations

from support import Server


async def test_a_batch_is_stored_in_order_with_gap_free_sequences(server: Server) -> None:
    sender = await server.register("sender")
    b = await server.register("b")
    await server.register("c")
    batch = [
        {"type": "direct", "to": "id2" if n % 3 else "id3", "parts": [{"text": f"m{n}"}]} for n in range(30)
    ]
    batch.append({"type": "broadcast", "parts": [{"text": "all"}]})

    status, body = await server.request("POST", "/messages/batch", {"messages": batch}, token=sender["token"])

    assert status == 201
    assert [m["message_id"] for m in body["messages"]] == [str(n) for n in range(1, 32)]
    assert body["messages"][-1]["recipients"] == ["id2", "id3"]
    _, pending = await server.request("GET", "/agents/id2/messages/pending?limit=100", token=b["token"])
    assert [m["sequence_id"] for m in pending["messages"]] == list(range(1, 22))
    assert pending["messages"][-1]["parts"] == [{"text": "all"}]


async def test_one_bad_message_rejects_the_whole_batch(server: Server) -> None:
    sender = await server.register("sender")
    b = await server.register("b")
    batch = [{"to": "id2", "parts": [{"text": "fine"}]}, {"to": "id9", "parts": [{"text": "nobody"}]}]

    status, body = await server.request("POST", "/messages/batch", {"messages": batch}, token=sender["token"])

    assert status == 404
    assert body["error"]["code"] == "AGENT_NOT_FOUND"
    _, pending = await server.request("GET", "/agents/id2/messages/pending", token=b["token"])
    assert pending["count"] == 0
    status, later = await server.request(
        "POST", "/messages", {"to": "id2", "parts": [{"text": "x"}]}, token=sender["token"]
    )
    assert later["message_id"] == "1"


async def test_a_batch_with_idempotency_keys_is_safe_to_retry(server: Server) -> None:
    sender = await server.register("sender")
    b = await server.register("b")
    batch = [{"to": "id2", "parts": [{"text": f"m{n}"}], "idempotency_key": f"k{n}"} for n in range(3)]

    await server.request("POST", "/messages/batch", {"messages": batch}, token=sender["token"])
    status, again = await server.request(
        "POST", "/messages/batch", {"messages": batch}, token=sender["token"]
    )

    assert status == 201
    assert [m["message_id"] for m in again["messages"]] == ["1", "2", "3"]
    _, pending = await server.request("GET", "/agents/id2/messages/pending", token=b["token"])
    assert pending["count"] == 3


async def test_a_bad_field_in_a_batch_names_its_index(server: Server) -> None:
    sender = await server.register("sender")
    await server.register("b")
    batch = [{"to": "id2", "parts": [{"text": "ok"}]}, {"to": "id2", "parts": [{"text": "x"}] * 21}]

    status, body = await server.request("POST", "/messages/batch", {"messages": batch}, token=sender["token"])

    assert status == 400
    assert "messages[1].parts" in body["error"]["message"]
