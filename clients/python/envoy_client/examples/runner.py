"""The example agent runner of the Python client.

It speaks the same CLI and prints the same JSON lines as the runners of the other languages, so they
can talk to each other through the server:

    python -m envoy_client.examples.runner --name alice                 # responder: prints its agent_id
    python -m envoy_client.examples.runner --name bob --peer id1        # initiator: pings id1
    python -m envoy_client.examples.runner listen --agent-id id1 --token T --count 10
    python -m envoy_client.examples.runner bad-request --agent-id id1 --token T
    python -m envoy_client.examples.runner bench --agent-id id1 --token T --count 1000

Exit status: 0 done, 1 a gRPC error (printed as {"event":"error","code":...}), 2 --timeout reached.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import grpc
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from envoy_client import EnvoyClient, Subscription, is_retryable, target_from_env
from envoy_client.gen.envoy.v1 import common_pb2, knowledge_pb2, messages_pb2, sessions_pb2

LANG = "python"
MODES = ("exchange", "listen", "bad-request", "bench")


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def text_of(message: messages_pb2.Message) -> str:
    return "\n".join(part.text for part in message.parts if part.WhichOneof("content") == "text")


class Inbox:
    """A subscription drained by a background task, so the runner can wait until it is connected."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self._queue: asyncio.Queue[messages_pb2.Message | Exception] = asyncio.Queue()
        self.task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for message in self.subscription:
                self._queue.put_nowait(message)
        except Exception as error:  # handed to the reader, which raises it
            self._queue.put_nowait(error)

    async def next(self) -> messages_pb2.Message:
        item = await self._queue.get()
        if isinstance(item, Exception):
            raise item
        return item

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class Runner:
    def __init__(self, client: EnvoyClient, args: argparse.Namespace) -> None:
        self.client = client
        self.args = args

    async def open_inbox(self, agent_id: str, **ready: str) -> Inbox:
        """Subscribe and print the ready line once the server accepted the stream (or it failed)."""
        inbox = Inbox(self.client.subscribe(agent_id))
        opened = asyncio.create_task(inbox.subscription.connected.wait())
        await asyncio.wait({opened, inbox.task}, return_when=asyncio.FIRST_COMPLETED)
        opened.cancel()
        if inbox.subscription.connected.is_set():
            emit(event="ready", agent_id=agent_id, **ready)
        return inbox

    async def exchange(self) -> None:
        me = await self.client.register(self.args.name)
        helper = await self.client.register(f"{self.args.name}-helper", parent_id=me.agent_id)
        # Subscribed first, so the reply cannot arrive before we listen.
        inbox = await self.open_inbox(me.agent_id, subagent_id=helper.agent_id)
        if self.args.peer:
            await self.send(me.agent_id, self.args.peer, f"ping from {LANG}")
        message = await inbox.next()
        await inbox.close()
        await self.client.ack(me.agent_id, message.message_id)
        sender = getattr(message, "from")  # `from` is a Python keyword
        emit(event="received", **{"from": sender}, text=text_of(message), message_id=message.message_id)
        if not self.args.peer:
            await self.send(me.agent_id, sender, f"pong from {LANG}: {text_of(message)}")
        emit(event="done", search_hits=await self.record_work(me.agent_id))

    async def record_work(self, agent_id: str) -> int:
        """Start a session, log a tool call, record a discovery and search for it."""
        session_id = f"{LANG}-{agent_id}-session"
        await self.client.sessions.CreateSession(
            sessions_pb2.CreateSessionRequest(
                session_id=session_id, agent=self.args.name, project=self.args.project, tool="runner"
            )
        )
        await self.client.sessions.RecordToolCall(
            sessions_pb2.RecordToolCallRequest(
                session_id=session_id, tool_name="Bash", exit_status="success", input_summary="runner.py"
            )
        )
        why = struct_pb2.Struct()
        why.update({"why": f"the {LANG} runner finished its handshake"})
        await self.client.knowledge.CreateDiscovery(
            knowledge_pb2.CreateDiscoveryRequest(
                agent=self.args.name,
                discovery_type="Pattern",
                target=f"{LANG}-runner-handshake",
                project=self.args.project,
                session_id=session_id,
                metadata=why,
            )
        )
        found = await self.client.knowledge.Search(
            knowledge_pb2.SearchRequest(q="handshake", k=10, project=self.args.project)
        )
        count: int = found.count
        return count

    async def send(self, sender: str, recipient: str, text: str) -> messages_pb2.Message:
        request = messages_pb2.SendMessageRequest(
            type=messages_pb2.MESSAGE_TYPE_DIRECT, to=recipient, parts=[common_pb2.Part(text=text)]
        )
        setattr(request, "from", sender)  # `from` is a Python keyword
        sent: messages_pb2.Message = await self.client.messages.SendMessage(request)
        return sent

    async def listen(self) -> None:
        inbox = await self.open_inbox(self.args.agent_id)
        for _ in range(self.args.count):
            message = await inbox.next()
            emit(
                event="message",
                message_id=message.message_id,
                sequence=message.sequence_id,
                text=text_of(message),
            )
            await self.ack_surely(message.message_id)
        await inbox.close()

    async def ack_surely(self, message_id: str) -> None:
        """Ack, retrying while the server is away (a restart can outlast the client's own retries):
        the subscription drops the redelivered copy, so a lost ack would never be sent again. The
        mode's --timeout bounds the wait."""
        while True:
            try:
                await self.client.ack(self.args.agent_id, message_id)
                return
            except grpc.aio.AioRpcError as error:
                if not is_retryable(error):
                    raise
                print(f"ack {message_id} failed: {error.code().name}; retrying", file=sys.stderr)
                await asyncio.sleep(0.5)

    async def bad_request(self) -> None:
        request = messages_pb2.SendMessageRequest(
            type=messages_pb2.MESSAGE_TYPE_DIRECT, to=self.args.agent_id
        )
        setattr(request, "from", self.args.agent_id)
        await self.client.messages.SendMessage(request)
        raise SystemExit("the server accepted a message without parts")

    async def bench(self) -> None:
        """Receive --count messages whose text is "t=<send time in ns>", ack them in the background."""
        latencies: list[float] = []
        first = last = 0.0
        acks: set[asyncio.Task[Any]] = set()
        limit = asyncio.Semaphore(64)

        async def ack(message_id: str) -> None:
            async with limit:
                await self.client.ack(self.args.agent_id, message_id)

        inbox = await self.open_inbox(self.args.agent_id)
        while len(latencies) < self.args.count:
            message = await inbox.next()
            now_ns = time.time_ns()
            last = time.monotonic()
            first = first or last
            text = text_of(message)
            if text.startswith("t="):
                latencies.append((now_ns - int(text[2:])) / 1e6)
            task = asyncio.create_task(ack(message.message_id))
            acks.add(task)
            task.add_done_callback(acks.discard)
        await inbox.close()
        await asyncio.gather(*acks)
        latencies.sort()
        seconds = last - first
        emit(
            event="bench",
            lang=LANG,
            received=len(latencies),
            seconds=seconds,
            msgs_per_s=(len(latencies) - 1) / seconds if seconds > 0 else 0.0,
            p50_latency_ms=percentile(latencies, 0.50),
            p99_latency_ms=percentile(latencies, 0.99),
        )


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return 0.0
    rank = round(q * len(ordered)) - 1
    return ordered[min(max(rank, 0), len(ordered) - 1)]


def report(error: grpc.aio.AioRpcError) -> None:
    line: dict[str, Any] = {"event": "error", "code": error.code().name, "message": error.details() or ""}
    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            line["fields"] = [violation.field for violation in bad.field_violations]
    emit(**line)


def parse_args(argv: list[str]) -> argparse.Namespace:
    mode = argv[0] if argv and not argv[0].startswith("-") else "exchange"
    if argv and argv[0] == mode:
        argv = argv[1:]
    if mode not in MODES:
        raise SystemExit(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")
    parser = argparse.ArgumentParser(prog="python -m envoy_client.examples.runner", description=__doc__)
    parser.add_argument("--target", default=target_from_env(), help="gRPC address HOST:PORT")
    parser.add_argument("--name", default="python-runner", help="agent name to register under")
    parser.add_argument("--peer", help="agent to ping (initiator); without it, wait for a ping (responder)")
    parser.add_argument("--project", default="runners", help="project label for the session and discovery")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="give up after this many seconds (exit 2)"
    )
    parser.add_argument("--agent-id", help="agent to act as (listen, bad-request, bench)")
    parser.add_argument("--token", help="that agent's token")
    parser.add_argument("--count", type=int, default=1, help="messages to receive (listen, bench)")
    args = parser.parse_args(argv)
    args.mode = mode
    if mode != "exchange" and not (args.agent_id and args.token):
        parser.error(f"{mode} needs --agent-id and --token")
    return args


async def run(args: argparse.Namespace) -> int:
    async with EnvoyClient(args.target, args.token) as client:
        runner = Runner(client, args)
        mode = {"exchange": runner.exchange, "listen": runner.listen, "bad-request": runner.bad_request}
        try:
            await asyncio.wait_for(mode.get(args.mode, runner.bench)(), args.timeout)
        except grpc.aio.AioRpcError as error:
            report(error)
            return 1
        except TimeoutError:
            emit(event="error", code="DEADLINE_EXCEEDED", message="gave up: --timeout reached")
            return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
