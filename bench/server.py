"""Start the envoy-grpc server as a subprocess, learn its ports from its log, and always stop it.

A subprocess (rather than `envoy_grpc.server.app.start` in-process) keeps the server on its own core
and its own event loop, as in production, so the load generator's work is not counted against it.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bench import cpu

GRPC_LINE = re.compile(r"gRPC listening on (\S+):(\d+)")
HTTP_LINE = re.compile(r"HTTP gateway listening on (\S+):(\d+)")
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
SHUTDOWN_GRACE = 2.0
TAIL_LINES = 200


class ServerError(RuntimeError):
    """The server did not start or died; the message carries the end of its log."""


@dataclass
class LogTail:
    """Drains the server's stderr on a thread (so the pipe never fills) and watches for the port lines."""

    lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))
    count: int = 0
    grpc_port: int | None = None
    http_port: int | None = None
    ready: threading.Event = field(default_factory=threading.Event)

    def follow(self, stream: IO[str]) -> None:
        try:
            for raw in iter(stream.readline, ""):
                line = raw.rstrip("\n")
                self.lines.append(line)
                self.count += 1
                self._parse(line)
        finally:
            self.ready.set()  # the server exited: stop waiting for ports

    def _parse(self, line: str) -> None:
        if self.grpc_port is None and (found := GRPC_LINE.search(line)):
            self.grpc_port = int(found.group(2))
        if self.http_port is None and (found := HTTP_LINE.search(line)):
            self.http_port = int(found.group(2))
        if self.grpc_port is not None and self.http_port is not None:
            self.ready.set()

    def text(self, last: int = 30) -> str:
        return "\n".join(list(self.lines)[-last:])


@dataclass
class ServerProcess:
    """A running server: its process, ports and log; `stop()` is safe to call more than once."""

    process: subprocess.Popen[str]
    log: LogTail
    grpc_port: int
    http_port: int
    pinning: cpu.Pinning
    _reader: threading.Thread
    # The server's --data-dir: where it keeps its database and its operator.token and hook.token.
    data_dir: Path
    exit_code: int | None = None
    # grpc.aio's completion-queue poller, a Python thread like the store's; found by the runner.
    grpc_poller_tid: int | None = None

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def cpu_seconds(self) -> float | None:
        return cpu.process_cpu_seconds(self.process.pid)

    def rss_bytes(self) -> int | None:
        return cpu.process_rss_bytes(self.process.pid)

    def token(self, name: str) -> str:
        """A token file of the data directory (`operator.token`, `hook.token`), stripped."""
        return (self.data_dir / name).read_text(encoding="utf-8").strip()

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise ServerError(f"the server exited with code {self.process.returncode}:\n{self.log.text()}")

    def stop(self) -> int | None:
        """SIGTERM, wait for the graceful shutdown, SIGKILL if it overruns."""
        _terminate(self.process)
        self._reader.join(2)
        self.exit_code = self.process.returncode
        return self.exit_code


def _terminate(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _command(data_dir: Path, log_level: str, pin: bool) -> list[str]:
    return [
        *cpu.server_command_prefix(pin),
        sys.executable,
        "-m",
        "envoy_grpc",
        "serve",
        "--host",
        "127.0.0.1",
        "--grpc-port",
        "0",
        "--http-port",
        "0",
        "--data-dir",
        str(data_dir),
        "--log-level",
        log_level,
        "--shutdown-grace",
        str(SHUTDOWN_GRACE),
    ]


def _launch(command: list[str], pin: bool, cwd: Path) -> subprocess.Popen[str]:
    fallback_pin = pin and command[0] == sys.executable and hasattr(os, "sched_setaffinity")
    return subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=cpu.pin_child_to_server_core if fallback_pin else None,
    )


def _pinning(command: list[str], pin: bool) -> cpu.Pinning:
    if not pin:
        return cpu.Pinning(False, "", "")
    how = "taskset" if command[0] != sys.executable else "sched_setaffinity"
    return cpu.Pinning(True, how, "sched_setaffinity")


def _wait_for_ports(process: subprocess.Popen[str], log: LogTail) -> tuple[int, int]:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and not log.ready.wait(0.1):
        if process.poll() is not None:
            break
    if log.grpc_port is None or log.http_port is None:
        state = (
            "exited" if process.poll() is not None else f"gave no port lines within {STARTUP_TIMEOUT:.0f} s"
        )
        raise ServerError(
            f"the server {state}; it must log 'gRPC listening on HOST:PORT' and 'HTTP gateway listening on "
            f"HOST:PORT' at INFO (is --server-log-level above INFO?). Its log:\n{log.text()}"
        )
    return log.grpc_port, log.http_port


@contextmanager
def running_server(repo: Path, log_level: str, pin: bool) -> Iterator[ServerProcess]:
    """Yield a started server on a fresh data directory; stop it and remove the directory on exit."""
    with tempfile.TemporaryDirectory(prefix="envoy-bench-") as data_dir:
        command = _command(Path(data_dir), log_level, pin)
        process = _launch(command, pin, repo)
        log = LogTail()
        assert process.stderr is not None
        reader = threading.Thread(target=log.follow, args=(process.stderr,), name="server-log", daemon=True)
        reader.start()
        server: ServerProcess | None = None
        try:
            grpc_port, http_port = _wait_for_ports(process, log)
            server = ServerProcess(
                process, log, grpc_port, http_port, _pinning(command, pin), reader, Path(data_dir)
            )
            yield server
        finally:
            if server is not None:
                server.stop()
            else:
                _terminate(process)
