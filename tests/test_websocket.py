"""The original envoy's WebSocket push route, `GET /ws/{agent_id}`, served through the Subscribe RPC."""

from __future__ import annotations

import asyncio
import base64
import os
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from support import Server, wait_for

TIMEOUT = 5.0


async def agents(server: Server, count: int) -> list[str]:
    """Register `count` root agents id1..idN; return their tokens."""
    return [(await server.register(f"agent-{n}"))["token"] for n in range(count)]


async def send(server: Server, token: str, to: str, text: str) -> dict[str, Any]:
    status, message = await server.request(
        "POST", "/messages", {"type": "direct", "to": to, "parts": [{"text": text}]}, token=token
    )
    assert status == 201, message
    return dict(message)


def connect(server: Server, agent_id: str, token: str | None = None, query: str = "") -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return server.http.ws_connect(f"{server.base_url}/ws/{agent_id}{query}", headers=headers)


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    frame = await asyncio.wait_for(ws.receive_json(), TIMEOUT)
    assert isinstance(frame, dict)
    return frame


async def connected(ws: aiohttp.ClientWebSocketResponse, agent_id: str) -> None:
    assert await receive(ws) == {"event": "agent_connected", "data": {"agent_id": agent_id}}


async def open_streams(server: Server, agent_id: str) -> int:
    return server.running.registry._open_streams.get(agent_id, 0)


def handshake_headers(token: str | None = None) -> dict[str, str]:
    """The headers of a WebSocket upgrade, for reading the error body a refused handshake carries."""
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
    }
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers


async def refused(server: Server, path: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    async with server.http.get(server.base_url + path, headers=handshake_headers(token)) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        return response.status, await response.json()


async def test_a_message_sent_after_connecting_is_pushed(server: Server) -> None:
    sender, receiver = await agents(server, 2)

    async with connect(server, "id2", receiver) as ws:
        await connected(ws, "id2")
        sent = await send(server, sender, "id2", "the build is green")
        frame = await receive(ws)

    assert frame["event"] == "message"
    assert frame["data"]["message_id"] == sent["message_id"]
    assert frame["data"]["from"] == "id1"
    assert frame["data"]["parts"] == [{"text": "the build is green"}]
    assert frame["data"]["sequence_id"] == 1
    assert frame["data"]["delivery_attempt"] == 1


async def test_unacknowledged_messages_are_replayed_first_then_new_ones_pushed(server: Server) -> None:
    sender, receiver = await agents(server, 2)
    for n in range(3):
        await send(server, sender, "id2", f"before-{n}")
    status, _ = await server.request("POST", "/messages/2/ack", {}, token=receiver)
    assert status == 200

    async with connect(server, "id2", receiver) as ws:
        await connected(ws, "id2")
        replayed = [await receive(ws), await receive(ws)]
        await send(server, sender, "id2", "live")
        live = await receive(ws)

    assert [f["data"]["parts"][0]["text"] for f in replayed] == ["before-0", "before-2"]
    assert [f["data"]["sequence_id"] for f in replayed] == [1, 3]
    assert (live["data"]["parts"][0]["text"], live["data"]["sequence_id"]) == ("live", 4)


async def test_after_sequence_resumes_after_that_point(server: Server) -> None:
    sender, receiver = await agents(server, 2)
    for n in range(3):
        await send(server, sender, "id2", f"m{n}")

    async with connect(server, "id2", receiver, "?after_sequence=2") as ws:
        await connected(ws, "id2")
        first = await receive(ws)

    assert (first["data"]["sequence_id"], first["data"]["parts"]) == (3, [{"text": "m2"}])


async def test_a_bad_after_sequence_is_refused_before_the_upgrade(server: Server) -> None:
    _, receiver = await agents(server, 2)

    not_a_number = await refused(server, "/ws/id2?after_sequence=soon", receiver)
    negative = await refused(server, "/ws/id2?after_sequence=-1", receiver)

    assert not_a_number[0] == 422  # as on every other route
    assert not_a_number[1]["error"]["code"] == "FIELD_TYPE"
    assert negative[0] == 400
    assert negative[1]["error"]["status"] == "INVALID_ARGUMENT"


async def test_ping_gets_pong_and_other_frames_are_ignored(server: Server) -> None:
    _, receiver = await agents(server, 2)

    async with connect(server, "id2", receiver) as ws:
        await connected(ws, "id2")
        await ws.send_str("not json")
        await ws.send_str("[1, 2]")
        await ws.send_json({"type": "subscribe", "data": {}})
        await ws.send_bytes(b"\x00\x01")
        await ws.send_json({"type": "ping"})
        pong = await receive(ws)
        await ws.send_json({"type": "ping"})
        again = await receive(ws)

    assert pong == again == {"type": "pong"}


async def test_a_heartbeat_frame_updates_the_agents_status(server: Server) -> None:
    _, receiver = await agents(server, 2)

    async with connect(server, "id2", receiver) as ws:
        await connected(ws, "id2")
        await ws.send_json(
            {"type": "heartbeat", "data": {"state": "working", "working_on": "the login test"}}
        )
        ack = await receive(ws)
    status, agent = await server.request("GET", "/agents/id2", token=receiver)

    assert ack["type"] == "heartbeat_ack"
    assert ack["data"]["accepted"] is True
    assert datetime.fromisoformat(ack["data"]["timestamp"].replace("Z", "+00:00")).utcoffset() is not None
    assert ack["data"]["timestamp"].endswith("Z")
    assert status == 200
    assert agent["status"]["state"] == "working"
    assert agent["status"]["working_on"] == "the login test"
    assert agent["last_heartbeat_at"] is not None


async def test_a_bad_heartbeat_frame_gets_an_error_frame_and_the_socket_stays_open(server: Server) -> None:
    _, receiver = await agents(server, 2)

    async with connect(server, "id2", receiver) as ws:
        await connected(ws, "id2")
        await ws.send_json({"type": "heartbeat", "data": {"state": "dancing"}})
        bad_state = await receive(ws)
        await ws.send_json({"type": "heartbeat", "data": "working"})
        not_an_object = await receive(ws)
        await ws.send_json({"type": "ping"})
        pong = await receive(ws)

    assert bad_state["type"] == "error"
    assert bad_state["data"]["status"] == "INVALID_ARGUMENT"
    assert "state" in bad_state["data"]["message"]
    assert not_an_object["type"] == "error"
    assert not_an_object["data"]["code"] == "FIELD_TYPE"
    assert pong == {"type": "pong"}


async def test_an_ack_frame_acknowledges_the_message(server: Server) -> None:
    sender, receiver = await agents(server, 2)
    await send(server, sender, "id2", "ack me over the socket")

    async with connect(server, "id2", receiver) as ws:
        await connected(ws, "id2")
        pushed = await receive(ws)
        await ws.send_json({"type": "ack", "message_id": pushed["data"]["message_id"]})
        acked = await receive(ws)
        await ws.send_json({"type": "ack", "message_id": 1})  # a number works too; acks are idempotent
        again = await receive(ws)
    status, pending = await server.request("GET", "/agents/id2/messages/pending", token=receiver)

    assert acked == {"type": "ack_ack", "data": {"message_id": "1", "acked_by": ["id2"]}}
    assert again == acked
    assert status == 200
    assert pending == {"count": 0, "messages": []}


async def test_acking_a_message_that_is_not_yours_gets_an_error_frame(server: Server) -> None:
    sender, receiver, _ = await agents(server, 3)
    await send(server, sender, "id3", "not for id2")

    async with connect(server, "id2", receiver) as ws:
        await connected(ws, "id2")
        await ws.send_json({"type": "ack", "message_id": "1"})
        refusal = await receive(ws)
        await ws.send_json({"type": "ack", "message_id": "999"})
        unknown = await receive(ws)
        await ws.send_json({"type": "ack"})
        missing = await receive(ws)

    assert refusal["type"] == "error"
    assert (refusal["data"]["status"], refusal["data"]["code"]) == ("PERMISSION_DENIED", "NOT_A_RECIPIENT")
    assert (unknown["type"], unknown["data"]["code"]) == ("error", "MESSAGE_NOT_FOUND")
    assert missing["type"] == "error"
    assert missing["data"]["status"] == "INVALID_ARGUMENT"


async def test_the_token_may_be_given_in_the_query(server: Server) -> None:
    sender, receiver = await agents(server, 2)

    async with connect(server, "id2", query=f"?token={receiver}") as ws:
        await connected(ws, "id2")
        await send(server, sender, "id2", "hello browser")
        frame = await receive(ws)
        await ws.send_json({"type": "heartbeat", "data": {"state": "idle"}})
        ack = await receive(ws)

    assert frame["data"]["parts"] == [{"text": "hello browser"}]
    assert ack["type"] == "heartbeat_ack"


async def test_a_missing_or_bad_token_is_a_401_json_error_before_the_upgrade(server: Server) -> None:
    await agents(server, 2)

    missing = await refused(server, "/ws/id2")
    bad = await refused(server, "/ws/id2", token="not-a-token")
    bad_query = await refused(server, "/ws/id2?token=not-a-token")
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        async with connect(server, "id2"):
            pass

    assert missing[0] == 401
    assert missing[1]["error"]["status"] == "UNAUTHENTICATED"
    assert (bad[0], bad[1]["error"]["code"]) == (401, "INVALID_TOKEN")
    assert (bad_query[0], bad_query[1]["error"]["code"]) == (401, "INVALID_TOKEN")
    assert raised.value.status == 401
    assert await open_streams(server, "id2") == 0


async def test_another_agents_token_is_a_403_before_the_upgrade(server: Server) -> None:
    stranger, _ = await agents(server, 2)

    status, body = await refused(server, "/ws/id2", token=stranger)
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        async with connect(server, "id2", query=f"?token={stranger}"):
            pass

    assert status == 403
    assert body["error"]["status"] == "PERMISSION_DENIED"
    assert raised.value.status == 403


async def test_a_plain_get_is_told_to_upgrade(server: Server) -> None:
    _, receiver = await agents(server, 2)

    status, body = await server.request("GET", "/ws/id2", token=receiver)

    assert status == 426
    assert body["error"]["code"] == "WEBSOCKET_UPGRADE_REQUIRED"
    assert await open_streams(server, "id2") == 0


async def test_every_socket_of_an_agent_receives_every_message(server: Server) -> None:
    sender, receiver = await agents(server, 2)

    async with connect(server, "id2", receiver) as first, connect(server, "id2", receiver) as second:
        await connected(first, "id2")
        await connected(second, "id2")
        await send(server, sender, "id2", "to both sockets")
        frames = [await receive(first), await receive(second)]

    assert [f["data"]["parts"] for f in frames] == [[{"text": "to both sockets"}]] * 2
    assert [f["data"]["sequence_id"] for f in frames] == [1, 1]


async def test_closing_the_socket_ends_the_subscription(server: Server) -> None:
    _, receiver = await agents(server, 2)

    async with connect(server, "id2", receiver) as ws:
        await connected(ws, "id2")
        assert await open_streams(server, "id2") == 1

    await wait_for(lambda: server.running.registry._open_streams.get("id2", 0) == 0, TIMEOUT)


async def test_server_shutdown_closes_the_socket_promptly_with_an_error_event(server: Server) -> None:
    _, receiver = await agents(server, 2)

    async with connect(server, "id2", receiver) as ws:
        await connected(ws, "id2")
        stopping = asyncio.create_task(server.running.stop(10.0))
        error = await receive(ws)
        closing = await asyncio.wait_for(ws.receive(), TIMEOUT)
        await asyncio.wait_for(stopping, 3.0)  # far less than the 10 s grace: the socket did not hold it up

    assert error["event"] == "error"
    assert (error["data"]["status"], error["data"]["code"]) == ("UNAVAILABLE", "SHUTTING_DOWN")
    assert "after_sequence" in error["data"]["message"]
    assert closing.type == aiohttp.WSMsgType.CLOSE
    assert closing.data == aiohttp.WSCloseCode.GOING_AWAY


async def test_the_route_is_in_the_index_and_the_openapi_document(server: Server) -> None:
    _, index = await server.request("GET", "/")
    _, document = await server.request("GET", "/openapi.json")

    assert {
        "method": "GET",
        "path": "/ws/{agent_id}",
        "rpc": "envoy.v1.MessageService/Subscribe",
        "streaming": True,
        "websocket": True,
    } in index["routes"]
    operation = document["paths"]["/ws/{agent_id}"]["get"]
    assert "WebSocket" in operation["description"]
    assert {p["name"] for p in operation["parameters"]} == {"agent_id", "after_sequence", "token"}
    assert "/agents/{agent_id}/messages/stream" in document["paths"]


async def test_a_stream_ended_by_the_server_sends_its_error_and_closes_going_away(server: Server) -> None:
    """As a gateway in front of a remote server sees it: the server ends the stream, the gateway stays."""
    _, receiver = await agents(server, 2)

    async with connect(server, "id2", receiver) as ws:
        await connected(ws, "id2")
        server.running.messaging.bus.close_all()  # what the server's shutdown does to its streams
        error = await receive(ws)
        closing = await asyncio.wait_for(ws.receive(), TIMEOUT)

    assert error["event"] == "error"
    assert (error["data"]["status"], error["data"]["code"]) == ("UNAVAILABLE", "SHUTTING_DOWN")
    assert closing.type == aiohttp.WSMsgType.CLOSE
    assert closing.data == aiohttp.WSCloseCode.GOING_AWAY
    await wait_for(lambda: server.running.registry._open_streams.get("id2", 0) == 0, TIMEOUT)


async def test_a_token_that_cannot_be_sent_to_grpc_is_a_401_not_a_500(server: Server) -> None:
    await agents(server, 2)

    status, body = await refused(server, "/ws/id2?token=%C3%A9t%C3%A9%0A")

    assert (status, body["error"]["code"]) == (401, "INVALID_TOKEN")


async def test_with_auth_trust_the_x_agent_id_header_is_forwarded(server_factory: Any) -> None:
    server: Server = await server_factory(auth="trust")
    await agents(server, 2)

    url = f"{server.base_url}/ws/id2"
    async with server.http.ws_connect(url, headers={"X-Agent-Id": "id2"}) as ws:
        await connected(ws, "id2")
        await ws.send_json({"type": "heartbeat", "data": {"state": "idle"}})
        ack = await receive(ws)
    status, body = await refused(server, "/ws/id2")

    assert ack["type"] == "heartbeat_ack"
    assert (status, body["error"]["status"]) == (401, "UNAUTHENTICATED")
