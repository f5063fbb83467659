"""The one interceptor every envoy.v1 call passes through: authentication, required fields, errors.

It resolves the caller from the metadata into a ContextVar, checks the request's REQUIRED fields
(read from the proto), and turns an `EnvoyError` into a `google.rpc.Status` with ErrorInfo and
BadRequest details. Anything else a handler raises is logged and answered as INTERNAL, never as a
bare UNKNOWN. Health and reflection calls are passed through untouched.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc_status import rpc_status

from envoy_grpc import errors
from envoy_grpc.core.auth import CALLER, Authenticator
from envoy_grpc.server.methods import MethodInfo, check_required

log = logging.getLogger(__name__)

UnaryBehavior = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
StreamBehavior = Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]


async def abort_with(context: grpc.aio.ServicerContext, error: errors.EnvoyError) -> None:
    await context.abort_with_status(rpc_status.to_status(error.to_status()))


def _internal_error(method: str) -> errors.EnvoyError:
    return errors.EnvoyError(
        grpc.StatusCode.INTERNAL,
        "INTERNAL",
        f"the server failed while handling {method}; the error is in the server log",
    )


class EnvoyInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, authenticator: Authenticator, methods: dict[str, MethodInfo]) -> None:
        self.authenticator = authenticator
        self.methods = methods

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = self.methods.get(details.method)
        if handler is None or method is None:
            return handler
        metadata = tuple(details.invocation_metadata or ())
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(handler.unary_unary, method, metadata),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(handler.unary_stream, method, metadata),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _admit(self, request: Any, method: MethodInfo, metadata: tuple[Any, ...]) -> None:
        CALLER.set(self.authenticator.resolve(metadata, method.auth))
        check_required(request)

    def _wrap_unary(
        self, inner: UnaryBehavior, method: MethodInfo, metadata: tuple[Any, ...]
    ) -> UnaryBehavior:
        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                self._admit(request, method, metadata)
                return await inner(request, context)
            except errors.EnvoyError as error:
                await abort_with(context, error)
            except grpc.aio.AbortError:
                raise
            except Exception:
                log.exception("unhandled error in %s", method.path)
                await abort_with(context, _internal_error(method.path))

        return behavior

    def _wrap_stream(self, inner: Any, method: MethodInfo, metadata: tuple[Any, ...]) -> Any:
        if not inspect.isasyncgenfunction(inner):  # a handler that writes with context.write
            return self._wrap_unary(inner, method, metadata)

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                self._admit(request, method, metadata)
                async for response in inner(request, context):
                    yield response
            except errors.EnvoyError as error:
                await abort_with(context, error)
            except grpc.aio.AbortError:
                raise
            except Exception:
                log.exception("unhandled error in %s", method.path)
                await abort_with(context, _internal_error(method.path))

        return behavior
