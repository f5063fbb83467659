"""`GET /metrics`: Prometheus text that parses, counters that move with calls (and with errors, under
the right code), gauges read on scrape, bounded per-agent series, and who may scrape."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from support import Server, auth, wait_for

from envoy_grpc.gen.envoy.v1 import common_pb2, messages_pb2
from envoy_grpc.server.metrics import Metrics, ServerState
from envoy_grpc.store import metrics_queries

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of the exposition, keyed by name and labels (the parser rejects malformed text)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(server: Server, token: str | None = None) -> Samples:
    status, text = await server.request("GET", "/metrics", token=token)
    assert status == 200, text
    assert isinstance(text, str)
    return parse(text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_http_and_grpc_counters_move_with_calls(server: Server) -> None:
    before = await scrape(server)
    await server.register("alice")
    after = await scrape(server)

    http = {"route": "/agents", "verb": "POST"}
    assert value(after, "envoy_http_requests_total", **http, code="201") == (
        value(before, "envoy_http_requests_total", **http, code="201") + 1
    )
    register = {"method": "/envoy.v1.AgentService/RegisterAgent"}
    assert value(after, "envoy_grpc_requests_total", **register, code="OK") == 1
    assert value(after, "envoy_grpc_request_duration_seconds_count", **register) == 1
    assert value(after, "envoy_http_request_duration_seconds_count", **http) == 1
    assert value(after, "envoy_grpc_request_duration_seconds_bucket", **register, le="+Inf") == 1
    # The scrape before this one was counted too, under its own route.
    assert value(after, "envoy_http_requests_total", route="/metrics", verb="GET", code="200") >= 1


async def test_errors_are_counted_under_their_codes(server: Server) -> None:
    alice = await server.register("alice")

    missing = await server.request("GET", "/agents/id99", token=alice["token"])
    anonymous = await server.request("GET", "/agents/id1")
    no_route = await server.request("GET", "/no/such/route")
    samples = await scrape(server)

    assert (missing[0], anonymous[0], no_route[0]) == (404, 401, 404)
    route = {"route": "/agents/{agent_id}", "verb": "GET"}
    assert value(samples, "envoy_http_requests_total", **route, code="404") == 1
    assert value(samples, "envoy_http_requests_total", **route, code="401") == 1
    assert value(samples, "envoy_http_requests_total", route="unmatched", verb="GET", code="404") == 1
    get_agent = {"method": "/envoy.v1.AgentService/GetAgent"}
    assert value(samples, "envoy_grpc_requests_total", **get_agent, code="NOT_FOUND") == 1
    assert value(samples, "envoy_grpc_requests_total", **get_agent, code="UNAUTHENTICATED") == 1
    assert value(samples, "envoy_grpc_requests_total", **get_agent, code="OK") == 0


async def test_pending_deliveries_per_agent_and_open_streams(server: Server) -> None:
    alice, bob = await server.register("alice"), await server.register("bob")
    for n in range(3):
        await server.request(
            "POST", "/messages", {"to": "id2", "parts": [{"text": f"m{n}"}]}, token=alice["token"]
        )
    await server.request("POST", "/messages/1/ack", {}, token=bob["token"])
    subscription = server.messages.Subscribe(
        messages_pb2.SubscribeRequest(agent_id="id1"), metadata=auth(alice["token"])
    )

    async def stream_open() -> bool:
        return value(await scrape(server), "envoy_open_streams") == 1

    await wait_for(stream_open)
    samples = await scrape(server)
    subscription.cancel()

    assert value(samples, "envoy_deliveries_pending", agent_id="id2") == 2
    assert value(samples, "envoy_deliveries_pending_total") == 2
    assert value(samples, "envoy_deliveries_pending_other") == 0
    assert value(samples, "envoy_db_size_bytes", file="db") > 0
    assert ("envoy_writer_queue_depth", frozenset()) in samples
    assert value(samples, "envoy_writer_units_total") >= 5
    assert value(samples, "envoy_agents_online") == 2


async def test_redeliveries_and_dead_letters_are_counted(
    server_factory: Callable[..., Awaitable[Server]],
) -> None:
    server = await server_factory(ack_wait=0.3, max_deliver=2, redelivery_interval=0.05)
    alice, bob = await server.register("alice"), await server.register("bob")
    subscription = server.messages.Subscribe(
        messages_pb2.SubscribeRequest(agent_id="id2"), metadata=auth(bob["token"])
    )
    await server.messages.SendMessage(
        messages_pb2.SendMessageRequest(to="id2", parts=[common_pb2.Part(text="never acked")]),
        metadata=auth(alice["token"]),
    )

    async def dead_lettered() -> bool:
        return value(await scrape(server), "envoy_dead_letters_total") == 1

    await wait_for(dead_lettered, timeout=15)
    samples = await scrape(server)
    subscription.cancel()

    assert value(samples, "envoy_redeliveries_total") == 1  # attempt 2 of max_deliver=2
    assert value(samples, "envoy_deliveries_pending_total") == 0


def test_only_the_agents_with_the_most_pending_get_their_own_series(tmp_path: Path) -> None:
    def zero() -> int:
        return 0

    state = ServerState(zero, zero, zero, zero, zero, zero, zero, zero, db_path=tmp_path / "envoy.db")
    metrics = Metrics(state, pending_agents=2)

    samples = parse(metrics.render([("id1", 5), ("id2", 9), ("id3", 1), ("id4", 7)]).decode())

    per_agent = {
        dict(labels)["agent_id"]: v
        for (name, labels), v in samples.items()
        if name == "envoy_deliveries_pending"
    }
    assert per_agent == {"id2": 9, "id4": 7}
    assert value(samples, "envoy_deliveries_pending_other") == 6
    assert value(samples, "envoy_deliveries_pending_total") == 22
    assert value(samples, "envoy_db_size_bytes", file="db") == 0  # no file yet


async def test_metrics_need_the_operator_token_when_told(
    server_factory: Callable[..., Awaitable[Server]],
) -> None:
    server = await server_factory(metrics="operator")
    agent = await server.register("alice")

    anonymous = await server.request("GET", "/metrics")
    as_agent = await server.request("GET", "/metrics", token=agent["token"])
    as_operator = await server.request("GET", "/metrics", token=server.operator_token)

    assert anonymous[0] == 401 and anonymous[1]["error"]["status"] == "UNAUTHENTICATED"
    assert as_agent[0] == 403 and as_agent[1]["error"]["code"] == "OPERATOR_ONLY"
    assert as_operator[0] == 200 and "envoy_open_streams" in as_operator[1]


async def test_metrics_are_public_on_loopback_by_default(server: Server) -> None:
    assert server.running.config.metrics_mode == "public"
    status, text = await server.request("GET", "/metrics")
    assert status == 200 and "# TYPE envoy_grpc_requests_total counter" in text


async def test_pending_count_reads_only_the_index_of_open_deliveries(server: Server) -> None:
    def plan() -> Any:
        return server.running.db.db.execute_sql(
            "EXPLAIN QUERY PLAN " + metrics_queries.PENDING_BY_AGENT
        ).fetchall()

    rows = await server.running.db.read(plan)
    details = " ".join(str(row[-1]) for row in rows)
    # Only unfinished deliveries are visited (the partial index), however many finished ones there are.
    assert "USING INDEX delivery_open" in details or "USING COVERING INDEX delivery_open" in details, details


async def test_concurrent_scrapes_agree(server: Server) -> None:
    await server.register("alice")
    first, second = await asyncio.gather(scrape(server), scrape(server))
    name = (
        "envoy_grpc_requests_total",
        frozenset({"method": "/envoy.v1.AgentService/RegisterAgent", "code": "OK"}.items()),
    )
    assert first[name] == second[name] == 1
