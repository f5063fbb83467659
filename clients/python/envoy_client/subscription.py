"""`MessageService.Subscribe` as an async iterator that resumes after a disconnect, effectively once."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator

import grpc

from envoy_client.gen.envoy.v1 import messages_pb2, messages_pb2_grpc
from envoy_client.retry import RetryPolicy, is_retryable


class RecentIds:
    """A bounded set of message IDs: the oldest is forgotten when a new one needs room."""

    def __init__(self, limit: int) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def add(self, message_id: str) -> bool:
        """Record the ID; True when it was not seen before."""
        if message_id in self._ids:
            return False
        self._ids[message_id] = None
        if len(self._ids) > self._limit:
            self._ids.popitem(last=False)
        return True


class Subscription:
    """Iterate with `async for message in subscription`; every message is yielded once.

    When the stream breaks (server restart, network), it reconnects with backoff and
    `after_sequence` = the last sequence seen, so nothing is skipped, and drops message IDs it has
    already yielded (redeliveries). Permanent errors (bad token, unknown agent) are raised.
    `connected` is set while a stream is open; `last_sequence` is where a new one would resume.
    """

    def __init__(
        self,
        stub: messages_pb2_grpc.MessageServiceAsyncStub,
        agent_id: str,
        after_sequence: int,
        policy: RetryPolicy,
        dedup_window: int,
    ) -> None:
        self._stub = stub
        self.agent_id = agent_id
        self.last_sequence = after_sequence
        self._policy = policy
        self._seen = RecentIds(dedup_window)
        self.connected = asyncio.Event()
        self.reconnects = 0

    def __aiter__(self) -> AsyncIterator[messages_pb2.Message]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[messages_pb2.Message]:
        failures = 0
        while True:
            request = messages_pb2.SubscribeRequest(agent_id=self.agent_id, after_sequence=self.last_sequence)
            call = self._stub.Subscribe(request)
            try:
                await call.initial_metadata()
                if not call.done():  # headers came: the server accepted the stream
                    failures = 0
                    self.connected.set()
                async for message in call:
                    self.last_sequence = max(self.last_sequence, message.sequence_id)
                    if self._seen.add(message.message_id):
                        yield message
            except grpc.aio.AioRpcError as error:
                if not is_retryable(error):
                    raise
            finally:
                self.connected.clear()
                call.cancel()
            # The stream ended (an error, or the server closed it): pause, then resume where it stopped.
            await asyncio.sleep(self._policy.delay(failures))
            failures += 1
            self.reconnects += 1
