"""Helpers for the tests: clients for a running server, a child-process launcher, polling."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from envoy_grpc.config import Config
from envoy_grpc.gen.envoy.v1 import agents_pb2_grpc, messages_pb2_grpc, system_pb2_grpc
from envoy_grpc.server.app import RunningServer


@dataclass
class Server:
    """A running server and clients for both of its faces."""

    running: RunningServer
    channel: grpc.aio.Channel
    http: aiohttp.ClientSession
    operator_token: str
    agents: agents_pb2_grpc.AgentServiceStub = field(init=False)
    messages: messages_pb2_grpc.MessageServiceStub = field(init=False)
    system: system_pb2_grpc.SystemServiceStub = field(init=False)

    def __post_init__(self) -> None:
        self.agents = agents_pb2_grpc.AgentServiceStub(self.channel)
        self.messages = messages_pb2_grpc.MessageServiceStub(self.channel)
        self.system = system_pb2_grpc.SystemServiceStub(self.channel)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.running.http_port}"

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        raw: bytes | io.BytesIO | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One HTTP request; returns (status, parsed JSON body or text)."""
        all_headers = dict(headers or {})
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": all_headers}
        if raw is not None:
            kwargs["data"] = raw
        elif body is not None:
            encoded = json.dumps(body).encode()
            # aiohttp warns about large in-memory bodies; a file-like body streams instead.
            kwargs["data"] = io.BytesIO(encoded) if len(encoded) > 1024 * 1024 else encoded
            all_headers.setdefault("content-type", "application/json")
        async with self.http.request(method, self.base_url + path, **kwargs) as response:
            text = await response.text()
            try:
                return response.status, await response.json(content_type=None)
            except ValueError:
                return response.status, text

    async def register(
        self, name: str, kind: str = "claude", parent_id: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "kind": kind}
        if parent_id:
            body["parent_id"] = parent_id
        status, agent = await self.request("POST", "/agents", body, token=token)
        assert status == 201, agent
        return dict(agent)


def auth(token: str) -> tuple[tuple[str, str], ...]:
    """gRPC call metadata carrying a bearer token."""
    return (("authorization", f"Bearer {token}"),)


def make_config(data_dir: Path, **overrides: Any) -> Config:
    return Config(
        host="127.0.0.1", grpc_port=0, http_port=0, data_dir=data_dir, shutdown_grace=1.0, **overrides
    )


@dataclass
class ServerProcess:
    """`python -m envoy_grpc serve` running as a child process."""

    process: subprocess.Popen[str]
    grpc_port: int
    http_port: int
    data_dir: Path
    log: list[str]

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


_PORT_LINE = re.compile(r"(gRPC|HTTP gateway) listening on [^:]+:(\d+)")


def launch(data_dir: Path, *args: str, wait: bool = True, timeout: float = 20.0) -> ServerProcess:
    """Start a server process on free ports and wait until it logs both ports (or exits)."""
    command = [
        sys.executable,
        "-m",
        "envoy_grpc",
        "serve",
        "--data-dir",
        str(data_dir),
        "--shutdown-grace",
        "2",
    ]
    if "--grpc-port" not in args:
        command += ["--grpc-port", "0"]
    if "--http-port" not in args:
        command += ["--http-port", "0"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [*command, *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    )
    ports: dict[str, int] = {}
    log: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    while wait and len(ports) < 2 and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        log.append(line)
        found = _PORT_LINE.search(line)
        if found:
            ports[found.group(1)] = int(found.group(2))
    # Keep draining stderr so a chatty server never blocks on a full pipe.
    threading.Thread(target=_drain, args=(process.stderr, log), daemon=True).start()
    return ServerProcess(process, ports.get("gRPC", 0), ports.get("HTTP gateway", 0), data_dir, log)


def _drain(stream: Any, log: list[str]) -> None:
    with stream:
        for line in stream:
            log.append(line)


async def wait_for(condition: Any, timeout: float = 5.0, interval: float = 0.02) -> None:
    """Poll `condition()` (sync or async) until it is truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
