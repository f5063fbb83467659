"""Every RPC handler of the server in one dict, served to gRPC as a single generic handler.

The generated `add_*Servicer_to_server(servicer, server)` functions (ours, health's, reflection's)
are given a `HandlerTable` instead of the server; it collects their handlers, and the server gets
the table once (`server.add_generic_rpc_handlers([table])`).

Why not let them register with the server directly: grpc.aio (1.85) keeps one pending "request
call" future per *registered* method and waits on all of them (`asyncio.wait`) each time it
accepts a call, so every RPC costs Python work proportional to the number of methods. With our
~110 methods that was about 60 µs of the event loop per health Check (2,900 → 3,500 calls/s when
served generically, `make bench`). A generic handler has one pending future, and the lookup here is
one dict access.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import grpc


class HandlerTable(grpc.GenericRpcHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        self._by_method: dict[str, grpc.RpcMethodHandler] = {}
        # Handlers that arrive only as generic handlers (no per-method table): asked in order.
        self._fallbacks: list[grpc.GenericRpcHandler] = []

    # -- the two calls the generated registration functions make on a server --------------------

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._fallbacks.extend(handlers)

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        for name, handler in handlers.items():
            self._by_method[f"/{service}/{name}"] = handler

    # -- what gRPC asks -------------------------------------------------------------------------

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = self._by_method.get(details.method)
        if handler is not None:
            return handler
        # Generated code adds each service both ways, so these are asked only about methods
        # that no service registered by name (UNIMPLEMENTED services, unknown methods).
        for fallback in self._fallbacks:
            handler = fallback.service(details)
            if handler is not None:
                return handler
        return None
