"""The benchmark scenarios: what one operation is, and the agents it needs, for each measured call.

A closed-loop scenario's `prepare` registers whatever it needs (outside the measured window) and
returns one operation per worker. A custom scenario's `run` (the messaging ones in bench/messaging.py)
does its own timing and returns an Outcome. Read scenarios come before write scenarios in the run
order, because writes grow the agent and message tables, and some reads (GET /health counts online
agents) get slower as they grow. Scenarios that hold thousands of agents and streams are `isolated`:
each runs last, on a fresh server of its own, so they neither affect nor are affected by the others.

Scenarios belong to suites (`agents`, `messages`, `hooks`); `--suite all` runs them all. A scenario
stated relative to another (`needs`) is run after it on the same server: `hook_ingest` is a ratio to
`http_health`, `hook_ingest_half` runs at half of `hook_ingest`'s rate, so `--only` adds what they need.
The hook scenarios come right after the reads: compared with `http_health` at nearly the table sizes
it saw, and before the agent writes, which they would otherwise be measured after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from grpc_health.v1 import health_pb2

from bench import ingest, messaging
from bench.clients import KIND, Agent, Clients, UnexpectedResponse, agent_from_json, agent_from_registration
from bench.context import Context, Outcome
from bench.load import Operation
from bench.settings import Settings
from envoy_grpc.gen.envoy.v1 import agents_pb2

Prepare = Callable[[Clients, Settings], Awaitable[list[Operation]]]
Run = Callable[[Context], Awaitable[Outcome]]
Suite = Literal["agents", "messages", "hooks"]

BASELINE = "health_check"
READERS = 8
SUITES = ("agents", "messages", "hooks", "all")
EVERY: tuple[Suite, ...] = ("agents", "messages", "hooks")


@dataclass(frozen=True)
class Scenario:
    """One measured scenario: closed loop (`prepare`) or custom (`run`), exactly one of them.

    `unit` is what the rate counts: "calls", "pairs" (a register followed by a get), "msgs"
    (messages, e.g. `batch_size` per batch call), "rounds" or "streams" (no rate: `reports_rate`
    is False and the figures are latencies or memory).
    """

    name: str
    transport: Literal["grpc", "http"]
    unit: Literal["calls", "pairs", "msgs", "rounds", "streams"]
    what: str
    prepare: Prepare | None = None
    run: Run | None = None
    suites: tuple[Suite, ...] = ("agents",)
    isolated: bool = False
    batched: bool = False
    reports_rate: bool = True
    # False for open-loop rows, whose rate is the offered load: no ratio to health Check then.
    compare: bool = True
    # Scenarios that must run before this one on the same server (it reads their rates).
    needs: tuple[str, ...] = ()


async def _readers(clients: Clients) -> list[Agent]:
    """A few root agents whose tokens the GetAgent workers use (each reads itself: no children)."""
    return list(await asyncio.gather(*(clients.register_root("bench-reader") for _ in range(READERS))))


async def _parents(clients: Clients, workers: int) -> list[Agent]:
    """One parent per worker, so each worker's children are its own, like an agent spawning subagents."""
    return list(await asyncio.gather(*(clients.register_root("bench-parent") for _ in range(workers))))


def _child_request(clients: Clients, parent: Agent) -> agents_pb2.RegisterAgentRequest:
    return agents_pb2.RegisterAgentRequest(
        name=clients.unique_name("child"), kind=KIND, parent_id=parent.agent_id
    )


def _child_body(clients: Clients, parent: Agent) -> dict[str, str]:
    return {"name": clients.unique_name("child"), "kind": KIND, "parent_id": parent.agent_id}


# -- gRPC -----------------------------------------------------------------------------------------


async def health_check(clients: Clients, settings: Settings) -> list[Operation]:
    def operation(worker: int) -> Operation:
        stub = clients.health(worker)
        request = health_pb2.HealthCheckRequest(service="")

        async def call() -> None:
            response = await stub.Check(request, timeout=clients.timeout)
            if response.status != health_pb2.HealthCheckResponse.SERVING:
                raise UnexpectedResponse(f"health status {response.status}")

        return call

    return [operation(worker) for worker in range(settings.concurrency)]


async def grpc_get_agent(clients: Clients, settings: Settings) -> list[Operation]:
    readers = await _readers(clients)

    def operation(worker: int) -> Operation:
        stub = clients.agents(worker)
        agent = readers[worker % len(readers)]
        request = agents_pb2.GetAgentRequest(agent_id=agent.agent_id)

        async def call() -> None:
            response: agents_pb2.Agent = await stub.GetAgent(
                request, metadata=agent.metadata, timeout=clients.timeout
            )
            if response.agent_id != agent.agent_id:
                raise UnexpectedResponse(f"asked for {agent.agent_id!r}, got {response.agent_id!r}")

        return call

    return [operation(worker) for worker in range(settings.concurrency)]


async def grpc_register(clients: Clients, settings: Settings) -> list[Operation]:
    parents = await _parents(clients, settings.concurrency)

    def operation(worker: int) -> Operation:
        stub = clients.agents(worker)
        parent = parents[worker]

        async def call() -> None:
            request = _child_request(clients, parent)
            agent_from_registration(
                await stub.RegisterAgent(request, metadata=parent.metadata, timeout=clients.timeout)
            )

        return call

    return [operation(worker) for worker in range(settings.concurrency)]


async def grpc_register_root(clients: Clients, settings: Settings) -> list[Operation]:
    def operation(worker: int) -> Operation:
        stub = clients.agents(worker)

        async def call() -> None:
            request = agents_pb2.RegisterAgentRequest(name=clients.unique_name("bench-root"), kind=KIND)
            agent_from_registration(await stub.RegisterAgent(request, timeout=clients.timeout))

        return call

    return [operation(worker) for worker in range(settings.concurrency)]


async def grpc_register_get(clients: Clients, settings: Settings) -> list[Operation]:
    parents = await _parents(clients, settings.concurrency)

    def operation(worker: int) -> Operation:
        stub = clients.agents(worker)
        parent = parents[worker]

        async def call() -> None:
            request = _child_request(clients, parent)
            child = agent_from_registration(
                await stub.RegisterAgent(request, metadata=parent.metadata, timeout=clients.timeout)
            )
            got: agents_pb2.Agent = await stub.GetAgent(
                agents_pb2.GetAgentRequest(agent_id=child.agent_id),
                metadata=child.metadata,
                timeout=clients.timeout,
            )
            if got.agent_id != child.agent_id or got.parent_id != parent.agent_id:
                raise UnexpectedResponse(f"registered {child.agent_id!r} but read back {got.agent_id!r}")

        return call

    return [operation(worker) for worker in range(settings.concurrency)]


# -- HTTP gateway ---------------------------------------------------------------------------------


async def http_health(clients: Clients, settings: Settings) -> list[Operation]:
    async def call() -> None:
        await clients.http_call("GET", "/health", 200)

    return [call] * settings.concurrency


async def http_get_agent(clients: Clients, settings: Settings) -> list[Operation]:
    readers = await _readers(clients)

    def operation(worker: int) -> Operation:
        agent = readers[worker % len(readers)]
        path = f"/agents/{agent.agent_id}"

        async def call() -> None:
            await clients.http_call("GET", path, 200, headers=agent.headers)

        return call

    return [operation(worker) for worker in range(settings.concurrency)]


async def http_register(clients: Clients, settings: Settings) -> list[Operation]:
    parents = await _parents(clients, settings.concurrency)

    def operation(worker: int) -> Operation:
        parent = parents[worker]

        async def call() -> None:
            body = _child_body(clients, parent)
            agent_from_json(
                await clients.http_call("POST", "/agents", 201, headers=parent.headers, body=body)
            )

        return call

    return [operation(worker) for worker in range(settings.concurrency)]


async def http_register_get(clients: Clients, settings: Settings) -> list[Operation]:
    parents = await _parents(clients, settings.concurrency)

    def operation(worker: int) -> Operation:
        parent = parents[worker]

        async def call() -> None:
            body = _child_body(clients, parent)
            child = agent_from_json(
                await clients.http_call("POST", "/agents", 201, headers=parent.headers, body=body)
            )
            await clients.http_call("GET", f"/agents/{child.agent_id}", 200, headers=child.headers)

        return call

    return [operation(worker) for worker in range(settings.concurrency)]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        BASELINE,
        "grpc",
        "calls",
        "grpc.health.v1.Health/Check, the baseline",
        health_check,
        suites=EVERY,
    ),
    Scenario("grpc_get_agent", "grpc", "calls", "AgentService.GetAgent with a bearer token", grpc_get_agent),
    Scenario(
        "http_health",
        "http",
        "calls",
        "GET /health through the gateway",
        http_health,
        suites=("agents", "hooks"),
    ),
    Scenario("http_get_agent", "http", "calls", "GET /agents/{id} with a bearer token", http_get_agent),
    Scenario(
        "push_latency_500",
        "grpc",
        "msgs",
        "SendMessage at 500/s open loop -> one Subscribe stream (acking in the background); "
        "latency is send returned -> received",
        run=messaging.push_latency,
        suites=("messages",),
        compare=False,
    ),
    Scenario(
        "poll_1s",
        "http",
        "msgs",
        "SendMessage at 20/s; the recipient polls GET /agents/{id}/messages/pending every 1 s and acks; "
        "latency is send returned -> poll returned it",
        run=messaging.poll_1s,
        suites=("messages",),
        compare=False,
    ),
    Scenario(
        "hook_ingest",
        "http",
        "calls",
        "POST /hooks/claude of PostToolUse payloads (durable tool calls), one session per caller; "
        "rate vs http_health",
        run=ingest.hook_ingest,
        suites=("hooks",),
        needs=("http_health",),
    ),
    Scenario(
        "hook_ingest_half",
        "http",
        "calls",
        "POST /hooks/claude of PostToolUse at half hook_ingest's rate, open loop; latency of each POST",
        run=ingest.hook_ingest_half,
        suites=("hooks",),
        compare=False,
        needs=("hook_ingest",),
    ),
    Scenario("grpc_register", "grpc", "calls", "RegisterAgent of a child (durable write)", grpc_register),
    Scenario(
        "grpc_register_root", "grpc", "calls", "RegisterAgent of a root, unique names", grpc_register_root
    ),
    Scenario(
        "grpc_register_get", "grpc", "pairs", "RegisterAgent (child), then GetAgent of it", grpc_register_get
    ),
    Scenario("http_register", "http", "calls", "POST /agents of a child (durable write)", http_register),
    Scenario(
        "http_register_get", "http", "pairs", "POST /agents (child), then GET /agents/{id}", http_register_get
    ),
    Scenario(
        "grpc_send",
        "grpc",
        "calls",
        "SendMessage, durable direct, 10 senders -> 10 recipients, nobody subscribed",
        messaging.grpc_send,
        suites=("messages",),
    ),
    Scenario(
        "grpc_batch_send",
        "grpc",
        "msgs",
        "BatchSendMessages of batch_size messages from a few callers; rate counts messages",
        messaging.grpc_batch_send,
        suites=("messages",),
        batched=True,
    ),
    Scenario(
        "health_check_end",
        "grpc",
        "calls",
        "the baseline again, after the writes: shows drift",
        health_check,
        suites=EVERY,
    ),
    Scenario(
        "broadcast_1000",
        "grpc",
        "rounds",
        "one broadcast to 1,000 open Subscribe streams, a few rounds; latency is send returned -> "
        "the last subscriber received it",
        run=messaging.broadcast,
        suites=("messages",),
        isolated=True,
        reports_rate=False,
    ),
    Scenario(
        "idle_10000",
        "grpc",
        "streams",
        "10,000 idle Subscribe streams held open; server RSS",
        run=messaging.idle_streams,
        suites=("messages",),
        isolated=True,
        reports_rate=False,
    ),
)

TARGET_SCENARIO = "grpc_get_agent"
TARGET_MAX_COST = 1.5


def select(only: str | None, suite: str = "all") -> list[Scenario]:
    """The suite's scenarios, or the named ones of it, in run order; the baseline always runs first."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    pool = [s for s in SCENARIOS if suite == "all" or suite in s.suites]
    if not only:
        return pool
    names = {name.strip() for name in only.split(",") if name.strip()}
    unknown = names - {scenario.name for scenario in pool}
    if unknown:
        valid = ", ".join(scenario.name for scenario in pool)
        raise ValueError(
            f"unknown scenario {', '.join(sorted(unknown))} in suite {suite}; choose from {valid}"
        )
    names.add(BASELINE)
    by_name = {scenario.name: scenario for scenario in pool}
    wanted = list(names)
    while wanted:  # what the named scenarios need, and what that needs
        found = by_name.get(wanted.pop())
        for needed in found.needs if found is not None else ():
            if needed not in names:
                names.add(needed)
                wanted.append(needed)
    return [scenario for scenario in pool if scenario.name in names]
