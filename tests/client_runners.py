"""Drive the example runners of clients/<lang> (one CLI for every language) against a server process.

Each language's test module gives the command that starts its runner; the checks here are the same
for all of them: the exchange round trip, `listen` across a server restart, and `bad-request`.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30.0


@dataclass
class Runner:
    """A runner process whose stdout JSON lines are collected by a thread as they are printed."""

    process: subprocess.Popen[str]
    lines: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    seen: list[dict[str, Any]] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def start(cls, command: list[str], *args: str, env: dict[str, str] | None = None) -> Runner:
        process = subprocess.Popen(
            [*command, *args],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        runner = cls(process)
        runner.readers = [
            threading.Thread(target=runner._read, daemon=True),
            threading.Thread(target=runner._read_stderr, daemon=True),
        ]
        for reader in runner.readers:
            reader.start()
        return runner

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                if line.strip():
                    self.lines.put(json.loads(line))

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            self.stderr.extend(self.process.stderr)

    def next_line(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no output within {timeout} s; stderr: {''.join(self.stderr)[-2000:]}"
            ) from None
        self.seen.append(line)
        return line

    def expect(self, event: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        line = self.next_line(timeout)
        assert line["event"] == event, (
            f"expected {event!r}, got {line}; stderr: {''.join(self.stderr)[-2000:]}"
        )
        return line

    def finish(self, timeout: float = TIMEOUT) -> tuple[int, list[dict[str, Any]]]:
        """Wait for the exit; returns the exit code and every line printed (read or not)."""
        code = self.process.wait(timeout)
        for reader in self.readers:  # they end, and close the pipes, at end of file
            reader.join(10)
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return code, self.seen

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for reader in self.readers:
            reader.join(10)


def http(
    base_url: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def register(base_url: str, name: str) -> tuple[str, str]:
    """A new root agent: (agent_id, token)."""
    status, agent = http(base_url, "POST", "/agents", {"name": name, "kind": "test"})
    assert status == 201, agent
    return agent["agent_id"], agent["token"]


def send(base_url: str, token: str, sender: str, recipient: str, text: str) -> str:
    body = {"type": "direct", "from": sender, "to": recipient, "parts": [{"text": text}]}
    status, message = http(base_url, "POST", "/messages", body, token)
    assert status == 201, message
    return str(message["message_id"])


def wait_until(condition: Any, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not met within {timeout} s"
        time.sleep(0.05)


def check_exchange(
    server: ServerProcess,
    initiator: tuple[list[str], str],
    responder: tuple[list[str], str] | None = None,
) -> None:
    """A responder and an initiator, each a (command, language), complete the exchange: ping sent ->
    pushed -> acked, pong back, then a session, a tool call, a discovery and a search on each side."""
    initiator_command, lang = initiator
    responder_command, peer_lang = responder or initiator
    target = ["--target", server.grpc_target, "--timeout", "40"]
    answering = Runner.start(responder_command, *target, "--name", f"{peer_lang}-responder")
    try:
        ready = answering.expect("ready")
        assert ready["subagent_id"] == f"{ready['agent_id']}.1"
        pinging = Runner.start(
            initiator_command, *target, "--name", f"{lang}-initiator", "--peer", ready["agent_id"]
        )
        code, lines = pinging.finish(60)
        assert code == 0, (lines, pinging.stderr)
        responder_code, responder_lines = answering.finish(60)
        assert responder_code == 0, (responder_lines, answering.stderr)
    finally:
        answering.kill()

    started, pong, done = lines
    ping = responder_lines[1]
    assert started["event"] == "ready" and ping["event"] == "received" and pong["event"] == "received"
    assert ping == {
        "event": "received",
        "from": started["agent_id"],
        "text": f"ping from {lang}",
        "message_id": ping["message_id"],
    }
    assert pong["from"] == ready["agent_id"]
    assert pong["text"] == f"pong from {peer_lang}: ping from {lang}"
    assert done["event"] == "done" and done["search_hits"] >= 1
    assert responder_lines[2]["event"] == "done" and responder_lines[2]["search_hits"] >= 1

    # Both messages were pushed and acknowledged, as the server records it.
    operator = server.data_dir.joinpath("operator.token").read_text().strip()
    for message in (ping, pong):
        status, body = http(
            server.base_url, "GET", f"/messages/{message['message_id']}/deliveries", token=operator
        )
        assert status == 200, body
        [delivery] = body["deliveries"]
        # (The runners only read the stream, so "received" means pushed; the server records pushes in
        # batches after the fact and skips them once acked, so delivery_count may still be 0 here.)
        assert delivery["state"] == "acked" and delivery["acked_at"], delivery


def check_listen_across_restart(command: list[str], spawn_server: Any, count: int = 10) -> None:
    """`listen` receives all messages exactly once, acked, while the server restarts under it."""
    server: ServerProcess = spawn_server()
    sender, sender_token = register(server.base_url, "listen-sender")
    listener, listener_token = register(server.base_url, "listen-receiver")
    runner = Runner.start(
        command, "listen", "--target", server.grpc_target, "--agent-id", listener,
        "--token", listener_token, "--count", str(count), "--timeout", "60",
    )  # fmt: skip
    try:
        runner.expect("ready")
        half = count // 2
        sent = [
            send(server.base_url, sender_token, sender, listener, f"before restart {i}") for i in range(half)
        ]
        received = [runner.expect("message") for _ in range(half)]

        assert server.stop() == 0
        restarted: ServerProcess = spawn_server(
            "--grpc-port",
            str(server.grpc_port),
            "--http-port",
            str(server.http_port),
            data_dir=server.data_dir,
        )
        assert restarted.grpc_port == server.grpc_port, "".join(restarted.log)
        sent += [
            send(restarted.base_url, sender_token, sender, listener, f"after restart {i}")
            for i in range(half, count)
        ]
        code, lines = runner.finish(60)
    finally:
        runner.kill()
    assert code == 0, (lines, runner.stderr)
    received = [line for line in lines if line["event"] == "message"]
    assert [line["message_id"] for line in received] == sent  # all of them, once each, in order
    assert [line["sequence"] for line in received] == list(range(1, count + 1))
    assert [line["text"] for line in received][half] == f"after restart {half}"

    def nothing_pending() -> bool:
        status, body = http(
            restarted.base_url, "GET", f"/agents/{listener}/messages/pending", token=listener_token
        )
        return status == 200 and body["count"] == 0

    wait_until(nothing_pending, what="every message acked")


def check_bad_request(command: list[str], server: ServerProcess) -> None:
    """A message without parts is refused with INVALID_ARGUMENT naming the field, printed as JSON."""
    agent, token = register(server.base_url, "bad-requester")
    runner = Runner.start(
        command, "bad-request", "--target", server.grpc_target, "--agent-id", agent, "--token", token
    )
    code, lines = runner.finish()
    assert code == 1, (lines, runner.stderr)
    [error] = lines
    assert error["event"] == "error"
    assert error["code"] == "INVALID_ARGUMENT"
    assert "parts" in error["message"]
