"""A server child process that can be killed with SIGKILL and restarted on the same data dir and ports.

The first start takes free ports (port 0) and learns them from the log; every restart asks for those
same ports, so clients keep their addresses across crashes as they would in production.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.server import LogTail, ServerError

START_TIMEOUT = 30.0
PORT_RETRY_SECONDS = 10.0


@dataclass
class CrashableServer:
    """`python -m envoy_grpc serve` on one data directory, across kills and restarts."""

    data_dir: Path
    extra_args: tuple[str, ...] = ()
    grpc_port: int = 0
    http_port: int = 0
    starts: int = 0
    process: subprocess.Popen[str] | None = None
    log: LogTail = field(default_factory=LogTail)
    _reader: threading.Thread | None = None

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def db_path(self) -> Path:
        return self.data_dir / "envoy.db"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def token(self, name: str) -> str:
        return (self.data_dir / name).read_text(encoding="utf-8").strip()

    def start(self) -> None:
        """Start (or restart) the server; retry briefly if the old ports are not free yet."""
        deadline = time.monotonic() + PORT_RETRY_SECONDS
        while True:
            try:
                self._start_once()
                return
            except ServerError:
                if self.starts == 0 or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _start_once(self) -> None:
        command = [
            sys.executable,
            "-m",
            "envoy_grpc",
            "serve",
            "--host",
            "127.0.0.1",
            "--grpc-port",
            str(self.grpc_port),
            "--http-port",
            str(self.http_port),
            "--data-dir",
            str(self.data_dir),
            "--shutdown-grace",
            "2",
            *self.extra_args,
        ]
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        log = LogTail()
        assert process.stderr is not None
        reader = threading.Thread(target=log.follow, args=(process.stderr,), daemon=True)
        reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not log.ready.wait(0.05) and time.monotonic() < deadline:
            pass
        if log.grpc_port is None or log.http_port is None:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            _close_log(process, reader)
            raise ServerError(f"the server did not start:\n{log.text()}")
        self.process, self.log, self._reader = process, log, reader
        self.grpc_port, self.http_port = log.grpc_port, log.http_port
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a power cut for the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)
            _close_log(self.process, self._reader)

    def stop(self) -> int | None:
        """A graceful stop (SIGTERM), SIGKILL if it overruns; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        _close_log(self.process, self._reader)
        return self.process.returncode

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise ServerError("no VmRSS in /proc status")


def _close_log(process: subprocess.Popen[str], reader: threading.Thread | None) -> None:
    """The process is gone: let the log reader see EOF, then close the pipe."""
    if reader is not None:
        reader.join(5)
    if process.stderr is not None:
        process.stderr.close()
