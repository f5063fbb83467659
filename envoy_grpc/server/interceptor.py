"""The one interceptor every envoy.v1 call passes through: authentication, rate limits, required
fields, the server-side deadline, errors.

It resolves the caller from the metadata into a ContextVar, takes a token from the caller's rate
limit bucket (core/ratelimit.py), checks the request's REQUIRED fields (read from the proto), bounds
unary calls by the default deadline, and turns an `EnvoyError` into a `google.rpc.Status` with ErrorInfo and
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
from envoy_grpc.core.ratelimit import RateLimiter
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


# Unary calls that may legitimately run for minutes: only the client's own deadline bounds them.
NO_DEFAULT_DEADLINE = frozenset({"/envoy.v1.CodeService/IndexProject"})


def _deadline_exceeded(method: str, seconds: float) -> errors.EnvoyError:
    return errors.EnvoyError(
        grpc.StatusCode.DEADLINE_EXCEEDED,
        "DEADLINE_EXCEEDED",
        f"{method} did not finish within the server's deadline of {seconds:g} s (--request-deadline); "
        "a write may still have been committed, so retry only with an idempotency key or after checking",
        metadata={"limit": f"{seconds:g}s", "method": method},
    )


class _Expiry:
    """Cancels a call's task when its server deadline passes, and remembers that it did."""

    __slots__ = ("fired", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.fired = False

    def fire(self) -> None:
        self.fired = True
        self.task.cancel()


class EnvoyInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(
        self,
        authenticator: Authenticator,
        methods: dict[str, MethodInfo],
        metrics: Metrics | None = None,
        limiter: RateLimiter | None = None,
        deadline: float = 0.0,
    ) -> None:
        self.authenticator = authenticator
        self.methods = methods
        self.metrics = metrics
        self.limiter = limiter
        # Seconds a unary call may run before the server gives up on it (0 = no server deadline).
        self.deadline = deadline
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
        caller = self.authenticator.resolve(context.invocation_metadata() or (), method.auth)
        CALLER.set(caller)
        if self.limiter is not None:
            self.limiter.check(caller, lambda: context.peer() or "")
        check_required(request)

    async def _run_unary(
        self, inner: UnaryBehavior, request: Any, context: grpc.aio.ServicerContext, method: MethodInfo
    ) -> Any:
        if self.deadline <= 0 or method.path in NO_DEFAULT_DEADLINE:
            return await inner(request, context)
        # One timer handle that cancels the call, rather than `asyncio.timeout` (a context manager
        # and a state machine per call: twice the cost on this path, which every call takes).
        task = asyncio.current_task()
        assert task is not None
        expiry = _Expiry(task)
        timer = asyncio.get_running_loop().call_later(self.deadline, expiry.fire)
        try:
            return await inner(request, context)
        except asyncio.CancelledError:
            if expiry.fired and task.uncancel() == 0:  # ours, not the client going away
                raise _deadline_exceeded(method.path, self.deadline) from None
            raise
        finally:
            timer.cancel()

    def _wrap_unary(self, inner: UnaryBehavior, method: MethodInfo, streaming: bool = False) -> UnaryBehavior:
        """`streaming`: a server stream written with context.write, neither timed nor given a deadline."""

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                self._admit(request, method, context)
                if streaming:
                    response = await inner(request, context)
                else:
                    response = await self._run_unary(inner, request, context, method)
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
                    elapsed = None if streaming else time.perf_counter() - started
                    self.metrics.grpc_finished(method.path, code, elapsed)

        return behavior

    def _wrap_stream(self, inner: Any, method: MethodInfo) -> Any:
        if not inspect.isasyncgenfunction(inner):  # a handler that writes with context.write
            return self._wrap_unary(inner, method, streaming=True)

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
