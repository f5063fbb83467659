"""Drives the example runners of clients/<lang> (one CLI for every language) against a live server.

Every language's runner speaks the same CLI and prints one JSON object per line (see the client
READMEs), so the checks here are shared: tests/test_client_<lang>.py builds its runner once per session
and calls them. The server is `python -m envoy_grpc serve` as a child process (the `spawn_server`
fixture), reached over real sockets; the runner is a real process of the language's toolchain.
"""

from __future__ import annotations

import filecmp
import json
import queue
import signal
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
EVENT_TIMEOUT = 30.0


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
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.put(json.loads(line))
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            self.stderr.extend(self.process.stderr)

    def next_event(self, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """The next JSON line; fails if the runner exits or stays silent for `timeout` seconds."""
        try:
            event = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout} s; so far {self.events}") from None
        if event is None:
            raise AssertionError(f"the runner exited ({self.process.wait()}): {self.events} {self.stderr}")
        self.events.append(event)
        return event

    def expect(self, name: str, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        event = self.next_event(timeout)
        assert event["event"] == name, f"expected {name!r}, got {event} (stderr: {''.join(self.stderr)})"
        return event

    def finish(self, timeout: float = EVENT_TIMEOUT) -> int:
        """Waits for the exit and returns the code, keeping any lines still unread."""
        code = self.process.wait(timeout)
        while (event := self.lines.get(timeout=timeout)) is not None:
            self.events.append(event)
        return code


class Runners:
    """Starts runner processes and, on leaving the `with` block, kills any that are still running."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.started: list[Runner] = []

    def start(self, *args: str) -> Runner:
        process = subprocess.Popen(
            [*self.command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
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


def http(server: ServerProcess, method: str, path: str, body: Any = None, token: str = "") -> Any:
    request = urllib.request.Request(
        server.base_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {token}"} if token else {},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def register(server: ServerProcess, name: str) -> tuple[str, str]:
    """A new root agent's (ID, token), registered over HTTP."""
    agent = http(server, "POST", "/agents", {"name": name, "kind": "test"})
    return str(agent["agent_id"]), str(agent["token"])


def operator_token(server: ServerProcess) -> str:
    return (server.data_dir / "operator.token").read_text().strip()


def send_texts(server: ServerProcess, token: str, to: str, texts: list[str]) -> list[str]:
    """Sends one message per text in a single BatchSendMessages; returns the message IDs in order."""
    batch = {"messages": [{"to": to, "parts": [{"text": text}]} for text in texts]}
    return [str(m["message_id"]) for m in http(server, "POST", "/messages/batch", batch, token)["messages"]]


def delivery_state(server: ServerProcess, message_id: str) -> list[str]:
    deliveries = http(server, "GET", f"/messages/{message_id}/deliveries", token=operator_token(server))
    return [str(d["state"]) for d in deliveries["deliveries"]]


def check_exchange(
    server: ServerProcess, command: list[str], lang: str, peer: tuple[list[str], str] | None = None
) -> None:
    """A responder and an initiator complete send -> pushed -> acked, then record work.

    Both are `command` (language `lang`) unless `peer` gives the initiator's (command, language).
    """
    initiator_command, initiator_lang = peer or (command, lang)
    target = ("--target", server.grpc_target)
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

    assert pinged["from"] == initiator_ready["agent_id"]
    assert pinged["text"] == f"ping from {initiator_lang}"
    assert ponged["from"] == ready["agent_id"]
    assert ponged["text"] == f"pong from {lang}: ping from {initiator_lang}"
    assert delivery_state(server, pinged["message_id"]) == ["acked"]
    assert delivery_state(server, ponged["message_id"]) == ["acked"]
    for agent in (ready, initiator_ready):
        child = http(server, "GET", f"/agents/{agent['subagent_id']}", token=operator_token(server))
        assert child["parent_id"] == agent["agent_id"]
    assert responder_done["search_hits"] >= 1
    assert initiator_done["search_hits"] >= 1


def check_listen_across_restart(
    server: ServerProcess, command: list[str], restart: Any, stop_signal: signal.Signals
) -> None:
    """listen gets every one of N messages exactly once while the server is restarted mid-stream."""
    listener_id, listener_token = register(server, "listener")
    _, sender_token = register(server, "sender")
    args = ("--target", server.grpc_target, "listen", "--agent-id", listener_id, "--token", listener_token)
    with Runners(command) as runners:
        listener = runners.start(*args, "--count", "6", "--timeout", "60")
        listener.expect("ready")
        before = send_texts(server, sender_token, listener_id, ["m1", "m2", "m3"])
        received = [listener.expect("message") for _ in before]

        server.stop(stop_signal)
        restarted: ServerProcess = restart()
        after = send_texts(restarted, sender_token, listener_id, ["m4", "m5", "m6"])
        received += [listener.expect("message") for _ in after]
        assert listener.finish() == 0

    assert [m["message_id"] for m in received] == before + after, "each message exactly once, in order"
    assert [m["text"] for m in received] == ["m1", "m2", "m3", "m4", "m5", "m6"]
    assert [m["sequence"] for m in received] == [1, 2, 3, 4, 5, 6]
    assert [e for e in listener.events if e["event"] == "message"] == received, "no duplicate lines"
    assert all(delivery_state(restarted, m["message_id"]) == ["acked"] for m in received)


def check_bad_request(server: ServerProcess, command: list[str]) -> None:
    """A message with no parts comes back as INVALID_ARGUMENT that names the field."""
    agent_id, token = register(server, "careless")
    with Runners(command) as runners:
        runner = runners.start(
            "--target", server.grpc_target, "bad-request", "--agent-id", agent_id, "--token", token
        )
        error = runner.expect("error")
        assert runner.finish() == 1

    assert error["code"] == "INVALID_ARGUMENT"
    assert "parts" in error["message"]


def check_bench_smoke(server: ServerProcess, command: list[str], lang: str) -> None:
    """bench mode at a tiny size: it receives and acks every message and reports sane numbers."""
    agent_id, token = register(server, "bench")
    _, sender_token = register(server, "bench-sender")
    args = ("--target", server.grpc_target, "bench", "--agent-id", agent_id, "--token", token)
    with Runners(command) as runners:
        runner = runners.start(*args, "--count", "20")
        runner.expect("ready")
        ids = send_texts(server, sender_token, agent_id, [f"t={time.time_ns()}" for _ in range(20)])
        report = runner.expect("bench")
        assert runner.finish() == 0

    assert report["lang"] == lang
    assert report["received"] == 20
    assert report["msgs_per_s"] > 0
    assert 0 <= report["p50_latency_ms"] <= report["p99_latency_ms"] < 30_000
    assert all(delivery_state(server, message_id) == ["acked"] for message_id in ids)


def differences(expected: Path, actual: Path) -> list[str]:
    """Files that differ, or exist on one side only, between two trees (relative paths)."""
    found: list[str] = []

    def walk(comparison: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(prefix + name for name in comparison.left_only + comparison.right_only)
        found.extend(prefix + name for name in comparison.diff_files + comparison.funny_files)
        for name, sub in comparison.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(expected, actual, ignore=[]), "")
    return sorted(found)
