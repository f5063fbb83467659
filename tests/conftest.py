"""Fixtures that start the real server on free ports with a temporary data directory.

`server` runs it in-process (fast); `spawn_server` runs `python -m envoy_grpc serve` as a child
process for tests that need signals, restarts or a second process. Either way, tests talk to it over
real sockets: gRPC through the generated stubs, HTTP through aiohttp.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from support import Server, ServerProcess, launch, make_config

from envoy_grpc.server.app import start


@pytest.fixture
async def server_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    """Start in-process servers with config overrides (`ack_wait=1.0`, ...); all stopped at the end."""
    started: list[Server] = []

    async def _start(**overrides: Any) -> Server:
        data_dir = tmp_path / f"data{len(started)}"
        running = await start(make_config(data_dir, **overrides))
        channel = grpc.aio.insecure_channel(running.grpc_target)
        handle = Server(
            running, channel, aiohttp.ClientSession(), (data_dir / "operator.token").read_text().strip()
        )
        started.append(handle)
        return handle

    yield _start
    for handle in started:
        await handle.http.close()
        await handle.channel.close()
        await handle.running.stop(0)


@pytest.fixture
async def server(server_factory: Callable[..., Awaitable[Server]]) -> Server:
    return await server_factory()


@pytest.fixture
def spawn_server(tmp_path: Path) -> Iterator[Any]:
    started: list[ServerProcess] = []

    def _spawn(*args: str, data_dir: Path | None = None, wait: bool = True) -> ServerProcess:
        handle = launch(data_dir or tmp_path / "data", *args, wait=wait)
        started.append(handle)
        return handle

    yield _spawn
    for handle in started:
        if handle.process.poll() is None:
            handle.process.kill()
            handle.process.wait(10)
