"""The HTTP+JSON gateway: aiohttp in front of the gRPC API, with routes from the proto.

Every request becomes one gRPC call over a channel to the server (in the same process or remote),
so HTTP callers get exactly the gRPC behaviour: the same auth, validation and errors. The gateway
adds only what HTTP needs: JSON transcoding, status codes, SSE for server streams, `/openapi.json`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web
from google.protobuf import message as _message

from envoy_grpc.server.methods import method_table
from envoy_grpc.services.metadata import EXISTING_KEY
from gateway import errors, mcp_mount, openapi, transcode, websocket
from gateway.metrics import ROUTE, STREAMING, MetricsEndpoint
from gateway.routes import Match, Route, RouteTable, build_routes, describe
from gateway.sse import stream_events

log = logging.getLogger(__name__)

FORWARDED_HEADERS = ("authorization", "x-agent-id", "x-request-id", "x-envoy-harness-pid")
CALL_TIMEOUT = 30.0
MAX_REQUEST_LINE = 64 * 1024
JSON_TYPE = "application/json"
CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]


def json_response(status: int, body: Any) -> web.Response:
    return web.Response(status=status, text=errors.dumps(body), content_type=JSON_TYPE)


class Gateway:
    """Serves the HTTP routes of every envoy.v1 RPC by calling it on `grpc_target`."""

    def __init__(
        self, grpc_target: str, max_body: int = 1024 * 1024, metrics: MetricsEndpoint | None = None
    ) -> None:
        self.grpc_target = grpc_target
        self.max_body = max_body
        self.metrics = metrics
        self.table = RouteTable(build_routes(method_table().values()))
        self.channel = grpc.aio.insecure_channel(grpc_target, options=CHANNEL_OPTIONS)
        self._callables: dict[str, Callable[..., Any]] = {}
        self._runner: web.AppRunner | None = None
        self._openapi = openapi.document(self.table.routes, websocket.openapi_paths())
        self._streams: set[asyncio.Task[Any]] = set()
        self._sockets = websocket.PushSockets(self.channel, FORWARDED_HEADERS)

    def app(self, host: str = "127.0.0.1") -> web.Application:
        middlewares = [self.metrics.middleware()] if self.metrics is not None else []
        application = web.Application(client_max_size=self.max_body, middlewares=middlewares)
        mcp_mount.mount(application, self.channel, host)
        if self.metrics is not None:
            application.router.add_get("/metrics", self.metrics.handle, allow_head=False)
        application.router.add_get("/openapi.json", self._serve_openapi)
        application.router.add_get("/", self._serve_index)
        application.router.add_get(websocket.PATH, self._sockets.handle, allow_head=False)
        application.router.add_route("*", "/{tail:.*}", self.handle)
        return application

    async def start(self, host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> int:
        # handler_cancellation: a stream's handler is cancelled when its client goes away, which
        # cancels the gRPC call behind it (otherwise it would linger until its next write fails).
        self._runner = web.AppRunner(
            self.app(host),
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            # Long query strings (a 10 kB search) reach our handler, which names the field, instead
            # of being refused by the HTTP parser with a plain-text 400.
            max_line_size=MAX_REQUEST_LINE,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_port=False, ssl_context=ssl_context)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            raise
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else port

    async def stop(self, grace: float = 1.0) -> None:
        """Close sockets and streams (giving SSE handlers `grace` seconds to write their last event)."""
        await self._sockets.close_all()
        if self._streams:
            _, pending = await asyncio.wait(list(self._streams), timeout=grace)
            for task in pending:
                task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.channel.close()

    async def _serve_openapi(self, unused_request: web.Request) -> web.Response:
        return json_response(200, self._openapi)

    async def _serve_index(self, unused_request: web.Request) -> web.Response:
        return json_response(
            200,
            {
                "name": "envoy-grpc",
                "description": "HTTP+JSON gateway; the full description is at /openapi.json",
                "openapi": "/openapi.json",
                "routes": [*describe(self.table.routes), websocket.index_entry(), mcp_mount.index_entry()],
            },
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        found = self.table.find(request.method, request.path)
        if isinstance(found, list):
            return self._no_route(request, found)
        request[ROUTE] = found.route.template
        request[STREAMING] = found.route.streaming
        try:
            message = await self._request_message(request, found)
        except RequestError as error:
            return errors.http_response(error.response)
        metadata = tuple((h, request.headers[h]) for h in FORWARDED_HEADERS if h in request.headers)
        if not all(websocket.legal_metadata(value) for _, value in metadata):
            return errors.http_response(
                errors.local_error(
                    401,
                    grpc.StatusCode.UNAUTHENTICATED,
                    "INVALID_TOKEN",
                    "the Authorization (or X-Agent-Id) header holds characters a token never has",
                )
            )
        if found.route.streaming:
            return await self._track(stream_events(request, self.channel, found.route, message, metadata))
        return await self._unary(found.route, message, metadata)

    async def _track(self, work: Awaitable[web.StreamResponse]) -> web.StreamResponse:
        """Run a long-lived response so that stop() can end it."""
        task = asyncio.current_task()
        assert task is not None
        self._streams.add(task)
        try:
            return await work
        finally:
            self._streams.discard(task)

    def _no_route(self, request: web.Request, allowed: list[str]) -> web.Response:
        if allowed:
            response = errors.http_response(
                errors.local_error(
                    405,
                    grpc.StatusCode.UNIMPLEMENTED,
                    "METHOD_NOT_ALLOWED",
                    f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}",
                )
            )
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return errors.http_response(
            errors.local_error(
                404,
                grpc.StatusCode.NOT_FOUND,
                "NO_ROUTE",
                f"no route for {request.method} {request.path}; GET /openapi.json lists every route",
            )
        )

    async def _request_message(self, request: web.Request, match: Match) -> _message.Message:
        route = match.route
        data: dict[str, Any] = {}
        if route.body:
            body = await _read_json(request, self.max_body)
            if route.body == "*":
                if not isinstance(body, dict):
                    raise RequestError.malformed("the request body must be a JSON object")
                data.update(body)
            elif body is not None:
                data[route.body] = body
        _merge_query(data, request, route)
        data.update(match.variables)
        try:
            return transcode.parse(data, route.request_class)
        except transcode.FieldTypeError as error:
            raise RequestError(
                errors.from_envoy_error(
                    _field_type_error(error),
                )
            ) from None

    async def _unary(
        self, route: Route, message: _message.Message, metadata: tuple[tuple[str, str], ...]
    ) -> web.Response:
        call_factory = self._callable(route)
        call = call_factory(message, metadata=metadata, timeout=CALL_TIMEOUT)
        try:
            response = await call
        except grpc.aio.AioRpcError as error:
            return errors.http_response(errors.from_rpc_error(error))
        trailing = await call.trailing_metadata()
        existing = any(key == EXISTING_KEY and value == "true" for key, value in trailing or ())
        status = 200 if existing else route.method.http_success_code
        if route.response_body:
            field = response.DESCRIPTOR.fields_by_name[route.response_body]
            return json_response(status, transcode.field_to_json(response, field))
        return json_response(status, transcode.to_json(response))

    def _callable(self, route: Route) -> Callable[..., Any]:
        factory = self._callables.get(route.rpc_path)
        if factory is None:
            factory = self.channel.unary_unary(
                route.rpc_path,
                request_serializer=route.request_class.SerializeToString,
                response_deserializer=route.response_class.FromString,
            )
            self._callables[route.rpc_path] = factory
        return factory


class RequestError(Exception):
    """A request the gateway refuses before calling gRPC."""

    def __init__(self, response: tuple[int, dict[str, Any]]) -> None:
        super().__init__(response[1]["error"]["message"])
        self.response = response

    @classmethod
    def malformed(cls, message: str) -> RequestError:
        return cls(errors.local_error(400, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_JSON", message))


def _field_type_error(error: transcode.FieldTypeError) -> Any:
    from envoy_grpc import errors as domain

    return domain.invalid_argument(
        error.path, f"expected {error.expected}", reason="FIELD_TYPE", message=str(error)
    )


async def _read_json(request: web.Request, limit: int) -> Any:
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(request.content_length, limit)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(None, limit) from None
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise RequestError.malformed("the request body is not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise RequestError.malformed(
            f"the request body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise RequestError.malformed("the request body is nested too deeply") from None


def _too_large(size: int | None, limit: int) -> RequestError:
    got = f" ({size} bytes)" if size is not None else ""
    return RequestError(
        errors.local_error(
            413,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "BODY_TOO_LARGE",
            f"the request body{got} is larger than the limit of {limit} bytes (--max-body)",
        )
    )


def _merge_query(data: dict[str, Any], request: web.Request, route: Route) -> None:
    descriptor = route.request_class.DESCRIPTOR
    for key in set(request.query.keys()):
        field = transcode.field_for(descriptor, key)
        if field is None or field.name in route.variables:
            continue
        values = request.query.getall(key)
        data[field.name] = values if field.is_repeated else values[-1]
