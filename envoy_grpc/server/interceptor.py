"""The one interceptor every envoy.v1 call passes through: authentication, required fields, errors.

It resolves the caller from the metadata into a ContextVar, checks the request's REQUIRED fields
(read from the proto), and turns an `EnvoyError` into a `google.rpc.Status` with ErrorInfo and
BadRequest details. Anything else a handler raises is logged and answered as INTERNAL, never as a
bare UNKNOWN. Health and reflection calls are passed through untouched.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc_status import rpc_status

from envoy_grpc import errors
from envoy_grpc.core.auth import CALLER, Authenticator
from envoy_grpc.server.methods import MethodInfo, check_required
from envoy_grpc.server.metrics import Metrics

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
    def __init__(
        self, authenticator: Authenticator, methods: dict[str, MethodInfo], metrics: Metrics | None = None
    ) -> None:
        self.authenticator = authenticator
        self.methods = methods
        self.metrics = metrics
        # One wrapped handler per method, built on its first call: the hot path allocates nothing.
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        wrapped = self._wrapped.get(details.method)
        if wrapped is not None:
            return wrapped
        handler = await continuation(details)
        method = self.methods.get(details.method)
        if handler is None or method is None:
            return handler
        if handler.unary_unary is not None:
            wrapped = grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        elif handler.unary_stream is not None:
            wrapped = grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(handler.unary_stream, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        else:
            return handler
        self._wrapped[details.method] = wrapped
        return wrapped

    def _admit(self, request: Any, method: MethodInfo, context: grpc.aio.ServicerContext) -> None:
        CALLER.set(self.authenticator.resolve(context.invocation_metadata() or (), method.auth))
        check_required(request)

    def _wrap_unary(self, inner: UnaryBehavior, method: MethodInfo, timed: bool = True) -> UnaryBehavior:
        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                self._admit(request, method, context)
                response = await inner(request, context)
                code = _set_code(context, code)
                return response
            except errors.EnvoyError as error:
                code = error.code
                await abort_with(context, error)
            except grpc.aio.AbortError:
                code = _set_code(context, grpc.StatusCode.UNKNOWN)
                raise
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s", method.path)
                await abort_with(context, _internal_error(method.path))
            finally:
                if self.metrics is not None:
                    elapsed = time.perf_counter() - started if timed else None
                    self.metrics.grpc_finished(method.path, code, elapsed)

        return behavior

    def _wrap_stream(self, inner: Any, method: MethodInfo) -> Any:
        if not inspect.isasyncgenfunction(inner):  # a handler that writes with context.write
            return self._wrap_unary(inner, method, timed=False)

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            code = grpc.StatusCode.OK
            try:
                self._admit(request, method, context)
                async for response in inner(request, context):
                    yield response
                code = _set_code(context, code)
            except errors.EnvoyError as error:
                code = error.code
                await abort_with(context, error)
            except grpc.aio.AbortError:
                code = _set_code(context, grpc.StatusCode.UNKNOWN)
                raise
            except (asyncio.CancelledError, GeneratorExit):
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception:
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s", method.path)
                await abort_with(context, _internal_error(method.path))
            finally:
                # Streams are counted, not timed: their lifetime is the subscriber's, not a latency.
                if self.metrics is not None:
                    self.metrics.grpc_finished(method.path, code, None)

        return behavior


def _set_code(context: grpc.aio.ServicerContext, default: grpc.StatusCode) -> grpc.StatusCode:
    """The code a handler set with `context.set_code` or `context.abort`, else `default`."""
    code = context.code()
    return code if isinstance(code, grpc.StatusCode) else default
