"""Backoff policy and the unary interceptors: the bearer token, retries, idempotency keys for sends."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from envoy_client.gen.envoy.v1 import messages_pb2

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})


@dataclass(frozen=True)
class RetryPolicy:
    """Pauses capped at initial, initial*multiplier, ... max_backoff; unary calls make at most
    max_attempts tries (the first included), Subscribe reconnects for as long as it is iterated."""

    max_attempts: int = 8
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0

    def delay(self, failures: int) -> float:
        """The pause after `failures` consecutive failures (0 = after the first): a uniform draw below
        the exponential cap ("full jitter"), so clients cut off together do not return together."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** min(failures, 64))
        return random.uniform(0, ceiling)


def is_retryable(error: grpc.aio.AioRpcError) -> bool:
    """A transient transport failure worth another attempt."""
    return error.code() in RETRYABLE


def _with_token(details: grpc.aio.ClientCallDetails, token: str | None) -> grpc.aio.ClientCallDetails:
    if not token:
        return details
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    metadata["authorization"] = f"Bearer {token}"
    return grpc.aio.ClientCallDetails(
        details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
    )


def _with_idempotency_keys(request: Any) -> Any:
    """Give each send without a key a random one, so a send retried after the server stored it (but
    before the answer arrived) returns the stored message instead of sending it twice."""
    if isinstance(request, messages_pb2.SendMessageRequest) and not request.idempotency_key:
        keyed = messages_pb2.SendMessageRequest()
        keyed.CopyFrom(request)
        keyed.idempotency_key = f"py-{uuid.uuid4().hex}"
        return keyed
    if isinstance(request, messages_pb2.BatchSendMessagesRequest):
        batch = messages_pb2.BatchSendMessagesRequest()
        batch.CopyFrom(request)
        for message in batch.messages:
            if not message.idempotency_key:
                message.idempotency_key = f"py-{uuid.uuid4().hex}"
        return batch
    return request


class UnaryInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]  # grpc is untyped
    """Attaches the current token and retries transient failures within the call's deadline."""

    def __init__(self, token: Callable[[], str | None], policy: RetryPolicy) -> None:
        self._token = token
        self._policy = policy

    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        details = _with_token(client_call_details, self._token())
        request = _with_idempotency_keys(request)
        deadline = None if details.timeout is None else time.monotonic() + details.timeout
        failures = 0
        while True:
            call = await continuation(details, request)
            try:
                return await call
            except grpc.aio.AioRpcError as error:
                pause = self._policy.delay(failures)
                failures += 1
                out_of_time = deadline is not None and time.monotonic() + pause >= deadline
                if not is_retryable(error) or failures >= self._policy.max_attempts or out_of_time:
                    raise
            await asyncio.sleep(pause)


class StreamInterceptor(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]  # grpc is untyped
    """Attaches the current token to server-streaming calls (Subscribe retries on its own)."""

    def __init__(self, token: Callable[[], str | None]) -> None:
        self._token = token

    async def intercept_unary_stream(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(_with_token(client_call_details, self._token()), request)
