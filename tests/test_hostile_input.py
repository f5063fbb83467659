"""Hostile input over raw sockets: every one gets a 4xx that names the problem, never a 500, and the
server keeps answering everyone else (bad UTF-8, deep JSON, out-of-range numbers, 10 MB bodies,
huge headers, slowloris clients, garbage on the gRPC port)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator

import pytest
from support import ServerProcess, launch

HOST = "127.0.0.1"


async def raw_http(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send bytes as they are; return the status code and the body of the answer."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def post(path: str, body: bytes, token: str, content_type: str = "application/json") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def get(path: str, token: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """One server for the whole module: each test also shows the earlier abuse left it healthy."""
    server = launch(tmp_path_factory.mktemp("hostile") / "data")
    yield server, (server.data_dir / "operator.token").read_text().strip()
    server.stop()


async def health_in(server: ServerProcess, budget: float = 2.0) -> float:
    began = time.monotonic()
    status, body = await raw_http(server.http_port, get("/health", ""), timeout=budget)
    assert status == 200, body
    return time.monotonic() - began


@pytest.mark.parametrize(
    "body",
    [
        b'{"to":"id1","parts":[{"text":"\xff\xfe broken"}]}',  # invalid UTF-8 inside a string
        b"\xc3\x28\xa0\xa1",  # invalid UTF-8, not JSON at all
        b'{"to":"id1","parts":[{"text":"\\ud800"}]}',  # a lone surrogate escape
        b"[" * 100_000 + b"]" * 100_000,  # deeply nested JSON
        b'{"parts":' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001,
        b'{"to":"id1","ttl_seconds":99999999999999999999999,"parts":[{"text":"x"}]}',  # int32 overflow
        b'{"to":"id1","ttl_seconds":-2147483649,"parts":[{"text":"x"}]}',
        b'{"to":"id1","ttl_seconds":1e400,"parts":[{"text":"x"}]}',  # a float that is infinity
        b'{"to":"id1","ttl_seconds":NaN,"parts":[{"text":"x"}]}',
        b'{"to":"id1","ttl_seconds":1.5,"parts":[{"text":"x"}]}',
        b'{"to":"id1","ttl_seconds":"12abc","parts":[{"text":"x"}]}',
        b'{"to":["id1"],"parts":"text"}',
        b"null",
        b'"just a string"',
        b"",
    ],
)
async def test_malformed_json_bodies_are_client_errors(
    target: tuple[ServerProcess, str], body: bytes
) -> None:
    server, token = target
    status, answer = await raw_http(server.http_port, post("/messages", body, token))
    assert 400 <= status < 500, (status, answer[:300])
    if answer:
        assert json.loads(answer)["error"]["message"], answer[:300]
    await health_in(server)


@pytest.mark.parametrize(
    "path",
    [
        "/messages?to=id1&since=99999999999999999999999",  # int64 overflow
        "/messages?to=id1&since=-9223372036854775809",
        "/messages?to=id1&limit=1e9",
        "/agents?page_size=99999999999999",
        "/agents/%ff%fe",  # bad UTF-8, percent-encoded
        "/agents/" + "a" * 10_000,
        "/atheneum/search?q=%00%ff&k=-1",
        "/atheneum/graph/entities/99999999999999999999999",
        "/messages/%C2%B2",  # "²": str.isdigit() says yes, int() says no (was a 500)
        "/tasks/%C2%B3",
        "/leases/%C2%B2",
    ],
)
async def test_out_of_range_and_undecodable_queries_are_client_errors(
    target: tuple[ServerProcess, str], path: str
) -> None:
    server, token = target
    status, answer = await raw_http(server.http_port, get(path, token))
    assert status < 500, (status, answer[:300])


async def test_a_10_mb_body_is_refused_with_413_and_the_server_stays_small(
    target: tuple[ServerProcess, str],
) -> None:
    server, token = target
    body = b'{"to":"id1","parts":[{"text":"' + b"x" * (10 * 1024 * 1024) + b'"}]}'
    status, answer = await raw_http(server.http_port, post("/messages", body, token), timeout=30)
    assert status == 413, answer[:300]
    await health_in(server)


async def test_huge_headers_are_refused_without_a_500(target: tuple[ServerProcess, str]) -> None:
    server, token = target
    request = get("/health", token).replace(b"\r\n\r\n", b"\r\nX-Big: " + b"y" * 200_000 + b"\r\n\r\n")
    try:
        status, _ = await raw_http(server.http_port, request)
        assert 400 <= status < 500
    except (ConnectionError, ValueError, IndexError):
        pass  # closing the connection is an acceptable answer too
    await health_in(server)


async def test_slowloris_clients_do_not_stall_anyone_else(target: tuple[ServerProcess, str]) -> None:
    server, _ = target
    slow: list[asyncio.StreamWriter] = []
    for _ in range(50):
        _, writer = await asyncio.open_connection(HOST, server.http_port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        slow.append(writer)
    try:
        timings = []
        for round_ in range(5):
            for writer in slow:  # one more header byte each, never the blank line that ends them
                with contextlib.suppress(ConnectionError):
                    writer.write(b"X-Drip-%d: a\r\n" % round_)
            timings.append(await health_in(server))
            await asyncio.sleep(0.2)
        assert max(timings) < 1.0, f"a normal request waited {max(timings):.2f} s behind 50 slow clients"
    finally:
        for writer in slow:
            writer.close()


async def test_garbage_on_the_grpc_port_does_not_hurt_the_server(target: tuple[ServerProcess, str]) -> None:
    server, _ = target
    for garbage in (
        b"GET / HTTP/1.1\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff" * 4096,
        b"\x00" * 65536,
    ):
        reader, writer = await asyncio.open_connection(HOST, server.grpc_port)
        writer.write(garbage)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
            await asyncio.wait_for(reader.read(1024), 5)
        writer.close()
    assert server.process.poll() is None
    await health_in(server)
