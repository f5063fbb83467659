"""`GET /ws/{agent_id}`: the original envoy's WebSocket push route, on top of the Subscribe RPC.

The socket is one `envoy.v1.MessageService/Subscribe` call over the gateway's gRPC channel, so auth,
replay-then-live, redelivery, the circuit breaker and shutdown are exactly those of gRPC and SSE
clients; nothing here keeps its own subscription state.

Frames follow the original: pushes use the key `event` (`agent_connected` first, then `message` with
the envelope, `error` before an abnormal close), replies to the client use `type`. The client may
send `{"type":"ping"}` (→ `pong`), `{"type":"heartbeat","data":{<AgentStatus>}}` (→ `heartbeat_ack`,
via the Heartbeat RPC) and, our addition so that a browser needs no second connection,
`{"type":"ack","message_id":"6751"}` (→ `ack_ack`, via AckMessage). Anything else is ignored, as the
original did.

Browsers cannot set headers on a WebSocket, so `?token=` is accepted as well as the
`Authorization` header (the header wins when both are sent). The gateway writes no access log, so
the token in the URL is not logged here; a proxy in front may log it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from typing import Any

import grpc
from aiohttp import WSCloseCode, WSMsgType, web
from google.protobuf import message as _message
from google.protobuf import timestamp_pb2

from envoy_grpc import errors as domain
from envoy_grpc.gen.envoy.v1 import agents_pb2, messages_pb2
from gateway import errors, transcode

log = logging.getLogger(__name__)

PATH = "/ws/{agent_id}"
SUBSCRIBE = "/envoy.v1.MessageService/Subscribe"
HEARTBEAT = "/envoy.v1.AgentService/Heartbeat"
ACK = "/envoy.v1.MessageService/AckMessage"
CALL_TIMEOUT = 30.0
# A push that cannot be written for this long means the client stopped reading. The server gives up on
# a stalled stream after the same time (and counts it against the circuit), so we drop the socket then.
SEND_TIMEOUT = 10.0
# WebSocket pings from the server; they find dead peers and keep idle proxies from closing the socket.
PING_INTERVAL = 30.0
# How long stop() lets sockets send their closing frames before it cancels them.
CLOSE_GRACE = 2.0
SHUTTING_DOWN = (
    "the server is shutting down; reconnect and resume with after_sequence set to the last sequence seen"
)

Metadata = tuple[tuple[str, str], ...]


def _shutting_down() -> tuple[int, dict[str, Any]]:
    return errors.local_error(503, grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN", SHUTTING_DOWN)


def _now() -> str:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp.ToJsonString()


class PushSockets:
    """Serves `GET /ws/{agent_id}` and keeps the open sockets so that the gateway's stop() can close them."""

    def __init__(self, channel: grpc.aio.Channel, forwarded_headers: Iterable[str]) -> None:
        self.channel = channel
        self.forwarded_headers = tuple(forwarded_headers)
        self._sockets: set[asyncio.Task[Any]] = set()
        self._stopping: asyncio.Future[None] | None = None
        self._subscribe = channel.unary_stream(
            SUBSCRIBE,
            request_serializer=messages_pb2.SubscribeRequest.SerializeToString,
            response_deserializer=messages_pb2.Message.FromString,
        )
        self.heartbeat = channel.unary_unary(
            HEARTBEAT,
            request_serializer=agents_pb2.HeartbeatRequest.SerializeToString,
            response_deserializer=agents_pb2.HeartbeatResponse.FromString,
        )
        self.ack = channel.unary_unary(
            ACK,
            request_serializer=messages_pb2.AckMessageRequest.SerializeToString,
            response_deserializer=messages_pb2.AckMessageResponse.FromString,
        )

    def _stop_signal(self) -> asyncio.Future[None]:
        # Created on first use: the Gateway may be constructed before the event loop runs.
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_future()
        return self._stopping

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Check the request, open Subscribe, answer its refusal as JSON, or upgrade and serve frames."""
        stopping = self._stop_signal()
        if stopping.done():
            return errors.http_response(_shutting_down())
        ws = web.WebSocketResponse(heartbeat=PING_INTERVAL)
        if not ws.can_prepare(request).ok:
            response = errors.http_response(
                errors.local_error(
                    426,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    "WEBSOCKET_UPGRADE_REQUIRED",
                    f"GET {request.path} is a WebSocket endpoint: connect with a WebSocket client, "
                    "or use GET /agents/{agent_id}/messages/stream for Server-Sent Events",
                )
            )
            response.headers["Upgrade"] = "websocket"
            return response
        agent_id = request.match_info["agent_id"]
        try:
            subscribe = _subscribe_request(agent_id, request)
        except transcode.FieldTypeError as error:
            return errors.http_response(
                errors.from_envoy_error(
                    domain.invalid_argument(
                        error.path, f"expected {error.expected}", reason="FIELD_TYPE", message=str(error)
                    )
                )
            )
        metadata = self._metadata(request)
        if not all(legal_metadata(value) for _, value in metadata):
            # gRPC refuses such a value locally (INTERNAL "Invalid metadata"); no real token has one.
            return errors.http_response(
                errors.local_error(
                    401,
                    grpc.StatusCode.UNAUTHENTICATED,
                    "INVALID_TOKEN",
                    "the credentials contain characters no token has (only printable ASCII is allowed)",
                )
            )
        call = self._subscribe(subscribe, metadata=metadata)
        try:
            # Subscribe sends its headers once it has accepted the stream, and refuses (auth, permission,
            # unknown agent) before that, so a refusal is still an ordinary HTTP error response.
            await call.initial_metadata()
            if call.done():
                code = await call.code()
                if code != grpc.StatusCode.OK:
                    return errors.http_response(
                        errors.from_call_outcome(code, await call.details(), await call.trailing_metadata())
                    )
            await ws.prepare(request)
        except BaseException:
            call.cancel()
            raise
        task = asyncio.current_task()
        assert task is not None
        self._sockets.add(task)
        try:
            await _Socket(self, ws, request.transport, call, agent_id, metadata).run(stopping)
        finally:
            self._sockets.discard(task)
        return ws

    def _metadata(self, request: web.Request) -> Metadata:
        forwarded = [(h, request.headers[h]) for h in self.forwarded_headers if h in request.headers]
        token = request.query.getall("token", [])
        if token and "authorization" not in request.headers:
            forwarded.append(("authorization", f"Bearer {token[-1]}"))
        return tuple(forwarded)

    async def close_all(self) -> None:
        """Tell every socket the server is going away (an `error` event, close 1001), then cancel stragglers."""
        stopping = self._stop_signal()
        if not stopping.done():
            stopping.set_result(None)
        tasks = list(self._sockets)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=CLOSE_GRACE)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def legal_metadata(value: str) -> bool:
    """Whether gRPC can carry a header value as metadata (printable ASCII only)."""
    return value.isascii() and value.isprintable()


def _subscribe_request(agent_id: str, request: web.Request) -> _message.Message:
    data: dict[str, Any] = {"agent_id": agent_id}
    after = request.query.getall("after_sequence", [])
    if after:
        data["after_sequence"] = after[-1]
    return transcode.parse(data, messages_pb2.SubscribeRequest)


class _Socket:
    """One open socket: a task forwarding the gRPC stream, a task reading client frames.

    The handler task alone decides how the socket ends (client closed, stream ended or failed, gateway
    stopping) and does the closing, so a close never races a receive in another task.
    """

    def __init__(
        self,
        owner: PushSockets,
        ws: web.WebSocketResponse,
        transport: asyncio.Transport | None,
        call: Any,
        agent_id: str,
        metadata: Metadata,
    ) -> None:
        self.owner = owner
        self.ws = ws
        self.transport = transport
        self.call = call
        self.agent_id = agent_id
        self.metadata = metadata

    async def run(self, stopping: asyncio.Future[None]) -> None:
        forwarder: asyncio.Task[tuple[int, dict[str, Any] | None]] | None = None
        reader: asyncio.Task[None] | None = None
        try:
            # Sent before the forwarder starts, so it comes before any replayed message.
            await self._send({"event": "agent_connected", "data": {"agent_id": self.agent_id}})
            forwarder = asyncio.create_task(self._forward())
            reader = asyncio.create_task(self._read())
            waited: set[asyncio.Future[Any]] = {forwarder, reader, stopping}
            await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
            if reader.done():
                _log_failure(reader)
                return  # the client closed (aiohttp has answered its close frame); finally cancels the call
            await _cancel(reader)
            if forwarder.done() and not forwarder.cancelled():
                code, error = forwarder.result()
            elif forwarder.done():  # grpc raises CancelledError only for a locally cancelled call
                code, error = WSCloseCode.INTERNAL_ERROR, None
            else:
                code, error = WSCloseCode.GOING_AWAY, _shutting_down()[1]["error"]
                self.call.cancel()  # ends the server's stream now rather than after the close handshake
            await self._close(code, error)
        except ConnectionError:
            pass  # the client went away or stopped reading; nothing more can be sent
        finally:
            self.call.cancel()
            for task in (forwarder, reader):
                if task is not None:
                    await _cancel(task)

    async def _forward(self) -> tuple[int, dict[str, Any] | None]:
        """Push every streamed message; return the close code and error object for how the stream ended."""
        try:
            async for message in self.call:
                await self._send({"event": "message", "data": transcode.to_json(message)})
        except grpc.aio.AioRpcError as error:
            code = (
                WSCloseCode.GOING_AWAY
                if error.code() == grpc.StatusCode.UNAVAILABLE
                else WSCloseCode.INTERNAL_ERROR
            )
            return code, errors.from_rpc_error(error)[1]["error"]
        return WSCloseCode.OK, None

    async def _read(self) -> None:
        """Answer client frames in order until the client closes."""
        async for frame in self.ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            try:
                reply = await self._reply(frame.data)
            except grpc.aio.AioRpcError as error:
                reply = {"type": "error", "data": errors.from_rpc_error(error)[1]["error"]}
            except transcode.FieldTypeError as error:
                reply = {"type": "error", "data": _field_error(error)}
            if reply is not None:
                await self._send(reply)

    async def _reply(self, text: str) -> dict[str, Any] | None:
        try:
            frame = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not isinstance(frame, dict):
            return None
        kind = frame.get("type")
        if kind == "ping":
            return {"type": "pong"}
        if kind == "heartbeat":
            status = frame.get("data")
            if status is not None and not isinstance(status, dict):
                raise transcode.FieldTypeError("data", "a JSON object of AgentStatus fields", status)
            request = transcode.parse(
                {"agent_id": self.agent_id, "status": status or {}}, agents_pb2.HeartbeatRequest
            )
            response = await self.owner.heartbeat(request, metadata=self.metadata, timeout=CALL_TIMEOUT)
            return {"type": "heartbeat_ack", "data": {"accepted": response.accepted, "timestamp": _now()}}
        if kind == "ack":
            message_id = frame.get("message_id")
            if isinstance(message_id, int) and not isinstance(message_id, bool):
                message_id = str(message_id)  # the original's IDs are numbers in some clients
            request = transcode.parse(
                {"message_id": message_id, "agent_id": self.agent_id}, messages_pb2.AckMessageRequest
            )
            acked = await self.owner.ack(request, metadata=self.metadata, timeout=CALL_TIMEOUT)
            return {"type": "ack_ack", "data": transcode.to_json(acked)}
        return None

    async def _send(self, frame: dict[str, Any]) -> None:
        """Send one frame; a client that does not read it in time is dropped (ConnectionResetError)."""
        try:
            await asyncio.wait_for(self.ws.send_str(errors.dumps(frame)), SEND_TIMEOUT)
        except TimeoutError:
            # A polite close would wait on the same full buffer, so abort the connection instead.
            if self.transport is not None:
                self.transport.abort()
            raise ConnectionResetError(
                f"the WebSocket client did not read for {SEND_TIMEOUT:.0f} s"
            ) from None

    async def _close(self, code: int, error: dict[str, Any] | None) -> None:
        if error is not None:
            await self._send({"event": "error", "data": error})
        reason = (error or {}).get("code", "")
        await self.ws.close(code=code, message=str(reason).encode()[:120])


def _field_error(error: transcode.FieldTypeError) -> dict[str, Any]:
    invalid = domain.invalid_argument(
        error.path, f"expected {error.expected}", reason="FIELD_TYPE", message=str(error)
    )
    error_object: dict[str, Any] = errors.from_envoy_error(invalid)[1]["error"]
    return error_object


def _log_failure(task: asyncio.Task[Any]) -> None:
    """A reader that ended with anything but the client going away is a bug worth a log line."""
    error = None if task.cancelled() else task.exception()
    if error is not None and not isinstance(error, ConnectionError):
        log.error("WebSocket reader failed", exc_info=error)


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


def openapi_paths() -> dict[str, Any]:
    """The `/openapi.json` entry of the route (OpenAPI cannot describe frames, so the description does)."""
    return {
        PATH: {
            "get": {
                "operationId": "MessageService_Subscribe_websocket",
                "tags": ["MessageService"],
                "summary": "Subscribe (WebSocket)",
                "description": (
                    "The original envoy's WebSocket push route, served by MessageService.Subscribe: "
                    "unacknowledged messages are replayed first, then new ones are pushed live. "
                    'Server frames: {"event":"agent_connected","data":{"agent_id":...}} first, then '
                    '{"event":"message","data":<Message>} per delivery, and {"event":"error","data":<error>} '
                    "before an abnormal close (1001 when the server goes away, 1011 otherwise). Client frames: "
                    '{"type":"ping"} → {"type":"pong"}; {"type":"heartbeat","data":<AgentStatus>} → '
                    '{"type":"heartbeat_ack","data":{"accepted":true,"timestamp":...}}; '
                    '{"type":"ack","message_id":"6751"} → {"type":"ack_ack","data":<AckMessageResponse>}; '
                    'a failed heartbeat or ack → {"type":"error","data":<error>}; anything else is ignored. '
                    "A refused subscription (bad token, another agent's stream, unknown agent) is an ordinary "
                    "JSON error response instead of the upgrade."
                ),
                "parameters": [
                    {"name": "agent_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "after_sequence",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "format": "int64"},
                        "description": "Replay unacknowledged deliveries with a greater sequence; 0 means all.",
                    },
                    {
                        "name": "token",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "The bearer token, for clients (browsers) that cannot set headers.",
                    },
                ],
                "responses": {
                    "101": {"description": "Switching Protocols: the WebSocket is open."},
                    "default": {
                        "description": "An error; `error.code` is the reason.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    },
                },
            }
        }
    }


def index_entry() -> dict[str, Any]:
    """The route's line in `GET /`, shaped like the generated ones."""
    return {
        "method": "GET",
        "path": PATH,
        "rpc": SUBSCRIBE.strip("/"),
        "streaming": True,
        "websocket": True,
    }
