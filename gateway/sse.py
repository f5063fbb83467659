"""Server-streaming RPCs rendered as Server-Sent Events.

Each response message becomes `event: message`, `id: <sequence_id>` (when the message has one) and
`data: <json>`. The `Last-Event-ID` header resumes a stream by setting the request's
`after_sequence`. A `: ping` comment every 15 s keeps proxies from closing an idle stream. An error
before the first byte is an ordinary JSON error response; once the stream has started, it is an
`event: error` and the stream ends. The gRPC call is cancelled when the HTTP client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import grpc
from aiohttp import web
from google.protobuf import message as _message

from gateway import errors, transcode
from gateway.routes import Route

PING_INTERVAL = 15.0
RESUME_FIELD = "after_sequence"
ID_FIELDS = ("sequence_id", "sequence")
_END = object()


def _resume(request: web.Request, message: _message.Message) -> None:
    last_event_id = request.headers.get("Last-Event-ID", "").strip()
    if not last_event_id or RESUME_FIELD not in message.DESCRIPTOR.fields_by_name:
        return
    if last_event_id.isascii() and last_event_id.isdigit():
        setattr(message, RESUME_FIELD, int(last_event_id))


def _event(event: str, data: Any, event_id: Any = None) -> bytes:
    lines = [f"event: {event}"]
    if event_id:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {errors.dumps(data)}")
    return ("\n".join(lines) + "\n\n").encode()


def _event_id(message: _message.Message) -> Any:
    for name in ID_FIELDS:
        if name in message.DESCRIPTOR.fields_by_name:
            return getattr(message, name)
    return None


async def _pump(call: Any, queue: asyncio.Queue[Any]) -> None:
    try:
        async for item in call:
            await queue.put(item)
        await queue.put(_END)
    except grpc.aio.AioRpcError as error:
        await queue.put(error)


async def stream_events(
    request: web.Request,
    channel: grpc.aio.Channel,
    route: Route,
    message: _message.Message,
    metadata: tuple[tuple[str, str], ...],
) -> web.StreamResponse:
    _resume(request, message)
    call = channel.unary_stream(
        route.rpc_path,
        request_serializer=route.request_class.SerializeToString,
        response_deserializer=route.response_class.FromString,
    )(message, metadata=metadata)
    await call.initial_metadata()
    if call.done():
        code = await call.code()
        if code != grpc.StatusCode.OK:
            status, body = errors.from_call_outcome(
                code, await call.details(), await call.trailing_metadata()
            )
            return errors.http_response((status, body))
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)
    pump = asyncio.create_task(_pump(call, queue))
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), PING_INTERVAL)
            except TimeoutError:
                await response.write(b": ping\n\n")
                continue
            if item is _END:
                break
            if isinstance(item, grpc.aio.AioRpcError):
                await response.write(_event("error", errors.from_rpc_error(item)[1]))
                break
            await response.write(_event("message", transcode.to_json(item), _event_id(item)))
    except (ConnectionResetError, asyncio.CancelledError):
        call.cancel()
        raise
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
    return response
