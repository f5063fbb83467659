"""The benchmark scenarios: what one operation is, and the agents it needs, for each measured call.

Each scenario's `prepare` registers whatever it needs (outside the measured window) and returns one
operation per worker. Read scenarios come before write scenarios in the run order, because writes grow
the agent table, and some reads (GET /health counts online agents) get slower as it grows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from grpc_health.v1 import health_pb2

from bench.clients import KIND, Agent, Clients, UnexpectedResponse, agent_from_json, agent_from_registration
from bench.load import Operation
from envoy_grpc.gen.envoy.v1 import agents_pb2

Prepare = Callable[[Clients, int], Awaitable[list[Operation]]]

BASELINE = "health_check"
READERS = 8


@dataclass(frozen=True)
class Scenario:
    """One measured operation. `unit` is "calls", or "pairs" for a register followed by a get."""

    name: str
    transport: Literal["grpc", "http"]
    unit: Literal["calls", "pairs"]
    what: str
    prepare: Prepare


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


async def health_check(clients: Clients, workers: int) -> list[Operation]:
    def operation(worker: int) -> Operation:
        stub = clients.health(worker)
        request = health_pb2.HealthCheckRequest(service="")

        async def call() -> None:
            response = await stub.Check(request, timeout=clients.timeout)
            if response.status != health_pb2.HealthCheckResponse.SERVING:
                raise UnexpectedResponse(f"health status {response.status}")

        return call

    return [operation(worker) for worker in range(workers)]


async def grpc_get_agent(clients: Clients, workers: int) -> list[Operation]:
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

    return [operation(worker) for worker in range(workers)]


async def grpc_register(clients: Clients, workers: int) -> list[Operation]:
    parents = await _parents(clients, workers)

    def operation(worker: int) -> Operation:
        stub = clients.agents(worker)
        parent = parents[worker]

        async def call() -> None:
            request = _child_request(clients, parent)
            agent_from_registration(
                await stub.RegisterAgent(request, metadata=parent.metadata, timeout=clients.timeout)
            )

        return call

    return [operation(worker) for worker in range(workers)]


async def grpc_register_root(clients: Clients, workers: int) -> list[Operation]:
    def operation(worker: int) -> Operation:
        stub = clients.agents(worker)

        async def call() -> None:
            request = agents_pb2.RegisterAgentRequest(name=clients.unique_name("bench-root"), kind=KIND)
            agent_from_registration(await stub.RegisterAgent(request, timeout=clients.timeout))

        return call

    return [operation(worker) for worker in range(workers)]


async def grpc_register_get(clients: Clients, workers: int) -> list[Operation]:
    parents = await _parents(clients, workers)

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

    return [operation(worker) for worker in range(workers)]


# -- HTTP gateway ---------------------------------------------------------------------------------


async def http_health(clients: Clients, workers: int) -> list[Operation]:
    async def call() -> None:
        await clients.http_call("GET", "/health", 200)

    return [call] * workers


async def http_get_agent(clients: Clients, workers: int) -> list[Operation]:
    readers = await _readers(clients)

    def operation(worker: int) -> Operation:
        agent = readers[worker % len(readers)]
        path = f"/agents/{agent.agent_id}"

        async def call() -> None:
            await clients.http_call("GET", path, 200, headers=agent.headers)

        return call

    return [operation(worker) for worker in range(workers)]


async def http_register(clients: Clients, workers: int) -> list[Operation]:
    parents = await _parents(clients, workers)

    def operation(worker: int) -> Operation:
        parent = parents[worker]

        async def call() -> None:
            body = _child_body(clients, parent)
            agent_from_json(
                await clients.http_call("POST", "/agents", 201, headers=parent.headers, body=body)
            )

        return call

    return [operation(worker) for worker in range(workers)]


async def http_register_get(clients: Clients, workers: int) -> list[Operation]:
    parents = await _parents(clients, workers)

    def operation(worker: int) -> Operation:
        parent = parents[worker]

        async def call() -> None:
            body = _child_body(clients, parent)
            child = agent_from_json(
                await clients.http_call("POST", "/agents", 201, headers=parent.headers, body=body)
            )
            await clients.http_call("GET", f"/agents/{child.agent_id}", 200, headers=child.headers)

        return call

    return [operation(worker) for worker in range(workers)]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(BASELINE, "grpc", "calls", "grpc.health.v1.Health/Check, the baseline", health_check),
    Scenario("grpc_get_agent", "grpc", "calls", "AgentService.GetAgent with a bearer token", grpc_get_agent),
    Scenario("http_health", "http", "calls", "GET /health through the gateway", http_health),
    Scenario("http_get_agent", "http", "calls", "GET /agents/{id} with a bearer token", http_get_agent),
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
        "health_check_end", "grpc", "calls", "the baseline again, after the writes: shows drift", health_check
    ),
)

TARGET_SCENARIO = "grpc_get_agent"
TARGET_MAX_COST = 1.5


def select(only: str | None) -> list[Scenario]:
    """All scenarios, or the named ones in run order; the baseline is always included and runs first."""
    if not only:
        return list(SCENARIOS)
    names = {name.strip() for name in only.split(",") if name.strip()}
    unknown = names - {scenario.name for scenario in SCENARIOS}
    if unknown:
        valid = ", ".join(scenario.name for scenario in SCENARIOS)
        raise ValueError(f"unknown scenario {', '.join(sorted(unknown))}; choose from {valid}")
    names.add(BASELINE)
    return [scenario for scenario in SCENARIOS if scenario.name in names]
