"""Mixed load for the fault harness, and the ledger of what the clients were told succeeded.

Every writer retries an operation with the same idempotency handle (send key, tool_use_id, session
ID, discovery target) until the server answers OK, as a careful client would across a crash; only
an OK goes in the ledger. Receivers record every delivery they see, raw, and ack most of them.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import grpc

from envoy_grpc.gen.envoy.v1 import common_pb2, messages_pb2, messages_pb2_grpc

T = TypeVar("T")
RETRY_PAUSE = 0.05
GIVE_UP_AFTER = 60.0  # one operation that cannot succeed for a minute means the server is not coming back
RETRYABLE_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
RETRYABLE_HTTP = {429, 502, 503, 504}
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
]


@dataclass(frozen=True)
class Delivery:
    agent_id: str
    message_id: str
    sequence_id: int
    attempt: int


@dataclass
class Ledger:
    """What the clients know: confirmed writes (the server said OK) and every delivery seen."""

    sends: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (message_id, recipient)
    acks: set[tuple[str, str]] = field(default_factory=set)  # (agent_id, message_id)
    deliveries: list[Delivery] = field(default_factory=list)
    tool_calls: set[str] = field(default_factory=set)  # tool_use_id ingested through POST /hooks/claude
    sessions: set[str] = field(default_factory=set)
    discoveries: dict[str, int] = field(default_factory=dict)  # target -> discovery_id
    failed_attempts: int = 0  # calls that failed (in doubt) and were retried

    def confirmed(self) -> int:
        return (
            len(self.sends)
            + len(self.acks)
            + len(self.tool_calls)
            + len(self.sessions)
            + len(self.discoveries)
        )


@dataclass(frozen=True)
class Agent:
    agent_id: str
    token: str


@dataclass
class Endpoints:
    """Where the server is; the same across restarts."""

    grpc_target: str
    base_url: str
    hook_token: str


async def until_ok(call: Callable[[], Awaitable[T]], ledger: Ledger) -> T:
    """Repeat one idempotent call until it succeeds; the server may be down for a while."""
    deadline = time.monotonic() + GIVE_UP_AFTER
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            if error.code() not in RETRYABLE_CODES:
                raise  # INTERNAL, UNKNOWN, INVALID_ARGUMENT...: a bug, not a crash window
            ledger.failed_attempts += 1
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(RETRY_PAUSE)
        except (aiohttp.ClientError, TimeoutError, RetryableStatus):
            ledger.failed_attempts += 1
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(RETRY_PAUSE)


class RetryableStatus(Exception):
    """An HTTP answer that says "try again" (the server is starting or stopping)."""


async def post_json(http: aiohttp.ClientSession, url: str, body: Any, token: str) -> Any:
    """POST JSON; 2xx returns the body, 429/502-504 raise RetryableStatus, anything else (a 500) fails."""
    headers = {"authorization": f"Bearer {token}"}
    async with http.post(url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=5)) as response:
        payload = await response.json(content_type=None)
        if response.status in RETRYABLE_HTTP:
            raise RetryableStatus(f"{response.status}: {payload}")
        if response.status >= 300:
            raise AssertionError(f"POST {url} -> {response.status}: {payload}")
        return payload


async def register(http: aiohttp.ClientSession, base_url: str, name: str, ledger: Ledger) -> Agent:
    async def once() -> Any:
        async with http.post(base_url + "/agents", json={"name": name, "kind": "fault"}) as response:
            if response.status in RETRYABLE_HTTP:
                raise RetryableStatus(str(response.status))
            return await response.json()

    body = await until_ok(once, ledger)
    return Agent(str(body["agent_id"]), str(body["token"]))


@dataclass
class Load:
    """The client tasks; `stop()` lets writers finish their current operation, then cancels readers."""

    endpoints: Endpoints
    senders: list[Agent]
    receivers: list[Agent]
    seed: int
    ack_ratio: float = 0.9
    ledger: Ledger = field(default_factory=Ledger)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _writers: list[asyncio.Task[None]] = field(default_factory=list)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self, channel: grpc.aio.Channel, http: aiohttp.ClientSession, hook_workers: int = 2) -> None:
        stub = messages_pb2_grpc.MessageServiceStub(channel)
        for n, sender in enumerate(self.senders):
            self._writers.append(asyncio.create_task(self._send_loop(stub, sender, n)))
        for n, receiver in enumerate(self.receivers):
            self._readers.append(asyncio.create_task(self._receive_loop(stub, receiver, n)))
        for n in range(hook_workers):
            self._writers.append(asyncio.create_task(self._hook_loop(http, n)))
        self._writers.append(asyncio.create_task(self._graph_loop(http, self.senders[0])))

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.gather(*self._writers)
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

    def check_writers(self) -> None:
        """Re-raise a writer's failure (it gave up) so the harness stops early with the cause."""
        for task in self._writers:
            if task.done() and task.exception() is not None:
                raise RuntimeError("a load task failed") from task.exception()

    async def _send_loop(self, stub: messages_pb2_grpc.MessageServiceStub, sender: Agent, n: int) -> None:
        metadata = (("authorization", f"Bearer {sender.token}"),)
        count = 0
        while not self.stopping.is_set():
            key = f"s{n}-{count}"
            recipient = self.receivers[(n + count) % len(self.receivers)].agent_id
            request = messages_pb2.SendMessageRequest(
                to=recipient, parts=[common_pb2.Part(text=key)], idempotency_key=key
            )

            async def send(request: messages_pb2.SendMessageRequest = request) -> messages_pb2.Message:
                sent: messages_pb2.Message = await stub.SendMessage(request, metadata=metadata, timeout=3)
                return sent

            sent = await until_ok(send, self.ledger)
            self.ledger.sends[key] = (sent.message_id, recipient)
            count += 1

    async def _receive_loop(
        self, stub: messages_pb2_grpc.MessageServiceStub, receiver: Agent, n: int
    ) -> None:
        metadata = (("authorization", f"Bearer {receiver.token}"),)
        rng = random.Random(self.seed * 1000 + n)
        last = 0
        while True:
            call = stub.Subscribe(
                messages_pb2.SubscribeRequest(agent_id=receiver.agent_id, after_sequence=last),
                metadata=metadata,
            )
            try:
                async for message in call:
                    self.ledger.deliveries.append(
                        Delivery(
                            receiver.agent_id,
                            message.message_id,
                            message.sequence_id,
                            message.delivery_attempt,
                        )
                    )
                    last = max(last, message.sequence_id)
                    if rng.random() < self.ack_ratio:
                        await self._ack(stub, metadata, receiver.agent_id, message.message_id)
            except grpc.aio.AioRpcError:
                pass  # the server went away: resume after the last sequence seen
            finally:
                call.cancel()
            await asyncio.sleep(0.1)

    async def _ack(
        self, stub: messages_pb2_grpc.MessageServiceStub, metadata: Any, agent_id: str, message_id: str
    ) -> None:
        try:
            await stub.AckMessage(
                messages_pb2.AckMessageRequest(message_id=message_id), metadata=metadata, timeout=3
            )
        except grpc.aio.AioRpcError:
            self.ledger.failed_attempts += 1  # in doubt: it may or may not be acked
            return
        self.ledger.acks.add((agent_id, message_id))

    async def _hook_loop(self, http: aiohttp.ClientSession, n: int) -> None:
        """Claude Code sessions through POST /hooks/claude: a SessionStart, then tool calls."""
        url = self.endpoints.base_url + "/hooks/claude"
        token = self.endpoints.hook_token
        count = 0
        while not self.stopping.is_set():
            session_id = f"fault-{self.seed}-h{n}-{count // 20}"
            if count % 20 == 0:
                start = hook_payload("SessionStart", session_id, source="startup")
                await until_ok(functools.partial(post_json, http, url, start, token), self.ledger)
            tool_use_id = f"toolu_{self.seed}_{n}_{count}"
            call = hook_payload(
                "PostToolUse",
                session_id,
                tool_name="Read",
                tool_input={"file_path": f"/work/src/f{count % 7}.py"},
                tool_response={"type": "text"},
                tool_use_id=tool_use_id,
            )
            await until_ok(functools.partial(post_json, http, url, call, token), self.ledger)
            self.ledger.tool_calls.add(tool_use_id)
            count += 1

    async def _graph_loop(self, http: aiohttp.ClientSession, agent: Agent) -> None:
        """Graph-producing writes: sessions (projected) and discoveries (linked in their transaction)."""
        base = self.endpoints.base_url
        count = 0
        while not self.stopping.is_set():
            if count % 2 == 0:
                session_id = f"fault-{self.seed}-g{count}"
                body: dict[str, Any] = {"session_id": session_id, "agent": "fault", "project": "faults"}
                await until_ok(
                    functools.partial(post_json, http, base + "/atheneum/sessions", body, agent.token),
                    self.ledger,
                )
                self.ledger.sessions.add(session_id)
            else:
                target = f"fault_target_{self.seed}_{count}"
                body = {"agent": "fault", "discovery_type": "Bug", "target": target, "project": "faults"}
                made = await until_ok(
                    functools.partial(post_json, http, base + "/atheneum/discoveries", body, agent.token),
                    self.ledger,
                )
                self.ledger.discoveries[target] = int(made["discovery_id"])
            count += 1


def hook_payload(event: str, session_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "transcript_path": f"/tmp/{session_id}.jsonl",
        "cwd": "/work/faults",
        "permission_mode": "default",
        "hook_event_name": event,
        **fields,
    }
