"""Drives the example runners of clients/<lang> (one CLI for every language) against a live server.

Every language's runner speaks the same CLI and prints one JSON object per line (see the client
READMEs), so the checks here are shared: tests/test_client_<lang>.py builds its runner once per session
with `build_runner` and calls them. The server is `python -m envoy_grpc serve` as a child process (the
`spawn_server` fixture), reached over real sockets; the runner is a real process of the language's
toolchain.
"""

from __future__ import annotations

import filecmp
import functools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / "clients"
EVENT_TIMEOUT = 30.0

SpawnServer = Callable[..., ServerProcess]


def run(command: list[str], cwd: Path = ROOT, timeout: float = 600) -> str:
    """Runs a build or generation step; fails the test with its output unless it exits 0."""
    env = {**os.environ, "PYTHON": sys.executable}  # the scripts' Python: this venv's
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@functools.cache
def build_runner(lang: str) -> list[str]:
    """The command that starts `lang`'s example runner, built first (once per test run).

    Python and Go are required; the TypeScript and Rust tests are skipped without node or cargo.
    """
    if lang == "python":  # imported from the source tree, as `pip install clients/python` would
        python_path = f"PYTHONPATH={CLIENTS / 'python'}"
        return ["env", python_path, sys.executable, "-m", "envoy_client.examples.runner"]
    if lang == "go":
        assert shutil.which("go"), (
            "the go toolchain is needed for clients/go (go 1.26 on this project's machines)"
        )
        run(["go", "build", "-o", "bin/runner", "./examples/runner"], cwd=CLIENTS / "go")
        return [str(CLIENTS / "go" / "bin" / "runner")]
    if lang == "ts":  # npm ci from clients/ts/package-lock.json, then tsc
        if shutil.which("node") is None or shutil.which("npm") is None:
            pytest.skip("node and npm are needed for the TypeScript client")
        run([str(ROOT / "scripts" / "clients" / "ts.sh"), "build"])
        return ["node", str(CLIENTS / "ts" / "dist" / "examples" / "runner.js")]
    if lang == "rust":  # cargo fetch and a debug build against clients/rust/Cargo.lock
        if shutil.which("cargo") is None:
            pytest.skip("cargo is needed for the Rust client")
        run([str(ROOT / "scripts" / "clients" / "rust.sh"), "build"])
        target = Path(os.environ.get("CARGO_TARGET_DIR", CLIENTS / "rust" / "target"))
        return [str(target / "debug" / "examples" / "runner")]
    raise ValueError(f"no runner for {lang!r}")


@dataclass
class Runner:
    """A running runner process whose stdout lines are parsed as they arrive."""

    process: subprocess.Popen[str]
    lines: queue.Queue[dict[str, Any] | None] = field(default_factory=queue.Queue)
    events: list[dict[str, Any]] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        try:
            with self.process.stdout:
                for line in self.process.stdout:
                    if line.strip():
                        self.lines.put(_parse(line))
        finally:
            self.lines.put(None)  # end of output: the runner exited

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            self.stderr.extend(self.process.stderr)

    def _stderr_tail(self) -> str:
        return "".join(self.stderr)[-2000:]

    def next_event(self, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """The next JSON line; fails if the runner exits or stays silent for `timeout` seconds."""
        try:
            event = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no output within {timeout} s; so far {self.events}; stderr: {self._stderr_tail()}"
            ) from None
        if event is None:
            self.lines.put(None)  # stays at the end for finish()
            raise AssertionError(
                f"the runner exited ({self.process.wait()}): {self.events}; stderr: {self._stderr_tail()}"
            )
        self.events.append(event)
        return event

    def expect(self, name: str, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        event = self.next_event(timeout)
        assert event["event"] == name, f"expected {name!r}, got {event}; stderr: {self._stderr_tail()}"
        return event

    def finish(self, timeout: float = EVENT_TIMEOUT) -> int:
        """Waits for the exit and returns the code, keeping any lines still unread in `events`."""
        code = self.process.wait(timeout)
        while (event := self.lines.get(timeout=timeout)) is not None:
            self.events.append(event)
        self.lines.put(None)
        return code

    def names(self) -> list[str]:
        """The `event` of every line printed so far, in order."""
        return [str(event["event"]) for event in self.events]


def _parse(line: str) -> dict[str, Any]:
    try:
        parsed = json.loads(line)
    except json.JSONDecodeError:
        return {"event": "not JSON", "line": line}
    return parsed if isinstance(parsed, dict) else {"event": "not an object", "line": line}


class Runners:
    """Starts runner processes and, on leaving the `with` block, kills any that are still running."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.started: list[Runner] = []

    def start(self, *args: str) -> Runner:
        process = subprocess.Popen(
            [*self.command, *args],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(Runner(process))
        return self.started[-1]

    def __enter__(self) -> Runners:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for runner in self.started:
            if runner.process.poll() is None:
                runner.process.kill()
            runner.process.wait(EVENT_TIMEOUT)


def http(
    server: ServerProcess, method: str, path: str, body: Any = None, token: str = "", expect: int = 200
) -> Any:
    """One gateway call; fails unless it answers the `expect`ed status. Returns the JSON body."""
    request = urllib.request.Request(
        server.base_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"}
        | ({"authorization": f"Bearer {token}"} if token else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, answer = response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        status, answer = error.code, json.loads(error.read())
    assert status == expect, f"{method} {path}: {status} {answer}"
    return answer


def register(server: ServerProcess, name: str) -> tuple[str, str]:
    """A new root agent's (ID, token), registered over HTTP."""
    agent = http(server, "POST", "/agents", {"name": name, "kind": "test"}, expect=201)
    return str(agent["agent_id"]), str(agent["token"])


def operator_token(server: ServerProcess) -> str:
    return (server.data_dir / "operator.token").read_text().strip()


def send_texts(server: ServerProcess, token: str, to: str, texts: list[str]) -> list[str]:
    """Sends one message per text in a single BatchSendMessages; returns the message IDs in order."""
    batch = {"messages": [{"to": to, "parts": [{"text": text}]} for text in texts]}
    sent = http(server, "POST", "/messages/batch", batch, token, expect=201)["messages"]
    return [str(message["message_id"]) for message in sent]


def deliveries(server: ServerProcess, message_id: str) -> list[dict[str, Any]]:
    """The message's delivery records, as the server reports them to the operator."""
    path = f"/messages/{message_id}/deliveries"
    return list(http(server, "GET", path, token=operator_token(server))["deliveries"])


def assert_acked(server: ServerProcess, message_ids: list[str]) -> None:
    """Each message has one delivery, and the server recorded it acknowledged."""
    for message_id in message_ids:
        states = [(d["state"], bool(d["acked_at"])) for d in deliveries(server, message_id)]
        assert states == [("acked", True)], f"message {message_id}: {deliveries(server, message_id)}"


def start_again(spawn_server: SpawnServer, server: ServerProcess) -> ServerProcess:
    """A new server process on the stopped `server`'s ports and data directory."""
    ports = ("--grpc-port", str(server.grpc_port), "--http-port", str(server.http_port))
    restarted = spawn_server(*ports, data_dir=server.data_dir)
    assert (restarted.grpc_port, restarted.http_port) == (server.grpc_port, server.http_port), "".join(
        restarted.log
    )
    return restarted


def check_exchange(
    server: ServerProcess, command: list[str], lang: str, peer: tuple[list[str], str] | None = None
) -> None:
    """A responder and an initiator complete send -> pushed -> acked, then record work.

    Both are `command` (language `lang`) unless `peer` gives the initiator's (command, language).
    """
    initiator_command, initiator_lang = peer or (command, lang)
    target = ("--target", server.grpc_target, "--timeout", "40")
    with Runners(command) as runners, Runners(initiator_command) as initiators:
        responder = runners.start(*target, "--name", f"{lang}-responder")
        ready = responder.expect("ready")
        initiator = initiators.start(
            *target, "--name", f"{initiator_lang}-initiator", "--peer", ready["agent_id"]
        )
        initiator_ready = initiator.expect("ready")

        pinged = responder.expect("received")
        ponged = initiator.expect("received")
        responder_done, initiator_done = responder.expect("done"), initiator.expect("done")
        assert (responder.finish(), initiator.finish()) == (0, 0)

    for runner in (responder, initiator):
        assert runner.names() == ["ready", "received", "done"], runner.events
    assert pinged == {
        "event": "received",
        "from": initiator_ready["agent_id"],
        "text": f"ping from {initiator_lang}",
        "message_id": pinged["message_id"],
    }
    assert ponged == {
        "event": "received",
        "from": ready["agent_id"],
        "text": f"pong from {lang}: ping from {initiator_lang}",
        "message_id": ponged["message_id"],
    }
    # The runners only read the stream, so "received" means pushed; both acked what they got.
    assert_acked(server, [pinged["message_id"], ponged["message_id"]])
    for agent in (ready, initiator_ready):
        assert agent["subagent_id"] == f"{agent['agent_id']}.1"
        child = http(server, "GET", f"/agents/{agent['subagent_id']}", token=operator_token(server))
        assert child["parent_id"] == agent["agent_id"]
    assert responder_done["search_hits"] >= 1
    assert initiator_done["search_hits"] >= 1


def check_listen_across_restart(
    spawn_server: SpawnServer, command: list[str], stop_signal: signal.Signals, count: int = 10
) -> None:
    """listen gets every one of `count` messages exactly once, in sequence, and acks each, while the
    server is stopped with `stop_signal` mid-stream and started again on the same ports and data."""
    server = spawn_server()
    listener_id, listener_token = register(server, "listener")
    _, sender_token = register(server, "sender")
    args = ("listen", "--target", server.grpc_target, "--agent-id", listener_id, "--token", listener_token)
    texts = [f"before restart {i}" for i in range(count // 2)]
    texts += [f"after restart {i}" for i in range(len(texts), count)]
    with Runners(command) as runners:
        listener = runners.start(*args, "--count", str(count), "--timeout", "60")
        listener.expect("ready")
        before = send_texts(server, sender_token, listener_id, texts[: count // 2])
        received = [listener.expect("message") for _ in before]

        # SIGTERM is a graceful shutdown (exit 0); SIGKILL gives no chance to end the stream cleanly.
        expected_code = 0 if stop_signal == signal.SIGTERM else -stop_signal
        assert server.stop(stop_signal) == expected_code, "".join(server.log)
        restarted = start_again(spawn_server, server)
        after = send_texts(restarted, sender_token, listener_id, texts[count // 2 :])
        received += [listener.expect("message") for _ in after]
        assert listener.finish(60) == 0, listener.stderr

    assert [m["message_id"] for m in received] == before + after, "each message exactly once, in order"
    assert [m["text"] for m in received] == texts
    assert [m["sequence"] for m in received] == list(range(1, count + 1)), "gap-free sequences"
    assert listener.names() == ["ready"] + ["message"] * count, "no duplicate or stray lines"
    assert_acked(restarted, before + after)
    pending = http(restarted, "GET", f"/agents/{listener_id}/messages/pending", token=listener_token)
    assert pending["count"] == 0, pending


def check_bad_request(server: ServerProcess, command: list[str]) -> None:
    """A message with no parts comes back as INVALID_ARGUMENT that names the field, exit status 1."""
    agent_id, token = register(server, "careless")
    with Runners(command) as runners:
        runner = runners.start(
            "bad-request", "--target", server.grpc_target, "--agent-id", agent_id, "--token", token
        )
        error = runner.expect("error")
        assert runner.finish() == 1, runner.stderr

    assert runner.events == [error], "the error is the only line"
    assert error["code"] == "INVALID_ARGUMENT"
    assert "parts" in error["message"]


def check_bench_smoke(server: ServerProcess, command: list[str], lang: str) -> None:
    """bench mode at a tiny size: it receives and acks every message and reports sane numbers."""
    agent_id, token = register(server, "bench")
    _, sender_token = register(server, "bench-sender")
    args = ("bench", "--target", server.grpc_target, "--agent-id", agent_id, "--token", token)
    with Runners(command) as runners:
        runner = runners.start(*args, "--count", "20")
        runner.expect("ready")
        ids = send_texts(server, sender_token, agent_id, [f"t={time.time_ns()}" for _ in range(20)])
        report = runner.expect("bench")
        assert runner.finish() == 0, runner.stderr

    assert runner.names() == ["ready", "bench"], runner.events
    assert report["lang"] == lang
    assert report["received"] == 20
    assert report["msgs_per_s"] > 0
    assert 0 <= report["p50_latency_ms"] <= report["p99_latency_ms"] < 30_000
    assert_acked(server, ids)


def differences(expected: Path, actual: Path) -> list[str]:
    """Files that differ, or exist on one side only, between two trees (relative paths)."""
    found: list[str] = []

    def walk(comparison: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(prefix + name for name in comparison.left_only + comparison.right_only)
        found.extend(prefix + name for name in comparison.diff_files + comparison.funny_files)
        for name, sub in comparison.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    # Only bytecode caches are ignored (importing the Python client writes them beside its stubs).
    walk(filecmp.dircmp(expected, actual, ignore=["__pycache__"]), "")
    return sorted(found)
