"""The MCP tools over streamable HTTP at `/mcp`, mounted on the gateway.

The MCP SDK serves an ASGI (Starlette) application; `aiohttp-asgi` bridges it into the gateway's
aiohttp router, and its lifespan (the SDK's session manager) runs with the gateway. Stateless JSON
mode: every POST is one whole exchange, so nothing lives between requests and any number of agents
can call at once. Each request's bearer token is the agent the tools act as (`HttpConnection`).
"""

from __future__ import annotations

import grpc
from aiohttp import web
from aiohttp_asgi import ASGIResource

from envoy_grpc.mcp_tools.connection import HttpConnection
from envoy_grpc.mcp_tools.server import build

PATH = "/mcp"


class _McpResource(ASGIResource):
    """Answers `/mcp` and below only; the ASGI app sees the full path (its own route is `/mcp`)."""

    def raw_match(self, path: str) -> bool:
        return path == PATH or path.startswith(PATH + "/")


def mount(application: web.Application, channel: grpc.aio.Channel, host: str) -> None:
    """Route `/mcp` to the MCP tools; call before any catch-all route is added.

    On a loopback `host` the SDK also checks the Host and Origin headers (DNS-rebinding protection).
    """
    asgi = build(HttpConnection(channel)).streamable_http_app(
        streamable_http_path=PATH, stateless_http=True, json_response=True, host=host
    )
    resource = _McpResource(asgi, root_path="/")
    application.router.register_resource(resource)
    resource.lifespan_mount(application)


def index_entry() -> dict[str, str]:
    return {"method": "POST", "path": PATH, "description": "MCP tools over streamable HTTP (agent token)"}
