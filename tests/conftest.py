"""Fixtures that start the real server on free ports with a temporary data directory.

`server` runs it in-process (fast); `spawn_server` runs `python -m envoy_grpc serve` as a child
process for tests that need signals, restarts or a second process. Either way, tests talk to it over
real sockets: gRPC through the generated stubs, HTTP through aiohttp.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from support import Server, ServerProcess, launch, make_config

from envoy_grpc.server.app import start


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    running = await start(make_config(tmp_path / "data"))
    channel = grpc.aio.insecure_channel(running.grpc_target)
    http = aiohttp.ClientSession()
    try:
        yield Server(running, channel, http, (tmp_path / "data" / "operator.token").read_text().strip())
    finally:
        await http.close()
        await channel.close()
        await running.stop(0)


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
