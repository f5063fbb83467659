"""`GET /metrics` and the middleware that counts every HTTP request by route template and status.

Who may scrape: on a loopback bind anyone who can reach the port (the same machine), like `/health`;
off loopback only the operator token, unless the server was started with `--metrics public`. The
check goes through the server's own authenticator, so the answer for a bad token is the usual 401/403.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiohttp import web

from envoy_grpc.errors import EnvoyError
from envoy_grpc.server.metrics import CONTENT_TYPE, Metrics
from gateway import errors

PATH = "/metrics"
# The route template of a request (set by the gateway once it has matched the route), and whether
# the request is a stream (counted, but its lifetime is not a latency).
ROUTE = web.RequestKey("envoy_route", str)
STREAMING = web.RequestKey("envoy_streaming", bool)
UNMATCHED = "unmatched"
# nginx's code for a client that closed the connection before the answer: no status was sent.
CLIENT_CLOSED = 499


@dataclass
class MetricsEndpoint:
    """What the gateway needs to serve `/metrics`: the registry, the per-agent pending read, and
    `authorize(headers)`, which raises an EnvoyError when the caller may not scrape."""

    metrics: Metrics
    pending: Callable[[], Awaitable[Iterable[tuple[str, int]]]]
    authorize: Callable[[list[tuple[str, str]]], None]

    def middleware(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        metrics = self.metrics

        @web.middleware
        async def count_requests(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            started = time.perf_counter()
            status = 500
            streaming = False
            try:
                response = await handler(request)
                status = response.status
                streaming = isinstance(response, web.WebSocketResponse) or (
                    STREAMING in request and request[STREAMING]
                )
                return response
            except web.HTTPException as error:
                status = error.status
                raise
            except asyncio.CancelledError:
                status = CLIENT_CLOSED
                raise
            finally:
                elapsed = None if streaming else time.perf_counter() - started
                metrics.http_finished(_route(request), request.method, status, elapsed)

        return count_requests

    async def handle(self, request: web.Request) -> web.Response:
        try:
            self.authorize([(key.lower(), value) for key, value in request.headers.items()])
        except EnvoyError as error:
            status, error_body = errors.from_envoy_error(error)
            return web.Response(status=status, text=errors.dumps(error_body), content_type="application/json")
        response = web.Response(body=self.metrics.render(await self.pending()))
        response.headers["Content-Type"] = CONTENT_TYPE
        return response


def _route(request: web.Request) -> str:
    if ROUTE in request:
        return request[ROUTE]
    resource = request.match_info.route.resource
    canonical = str(resource.canonical) if resource is not None else ""
    # The catch-all that dispatches descriptor routes: no route of ours matched this path.
    return UNMATCHED if not canonical or "{tail" in canonical else canonical
