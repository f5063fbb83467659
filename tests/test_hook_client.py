"""`envoy-grpc hook`, the Claude Code command hook: forwards stdin to /hooks/claude, prints the answer,
and fails open (exit 0, nothing on stdout) on every error, quickly and without heavy imports.

Runs the hook as a real process: against the live server, against a stub HTTP server that records what
it receives, and against nothing at all.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from support import ServerProcess

from envoy_grpc import hook_client

HOOK = [sys.executable, "-m", "envoy_grpc", "hook"]
SCRIPT = Path(sys.executable).parent / "envoy-grpc"
HEAVY_MODULES = ("grpc", "google.protobuf", "click", "aiohttp", "peewee", "envoy_grpc.gen", "envoy_grpc.cli")
# Not heavy in the same way, but they cost ~20 ms together; plain http:// must not need them.
SLOW_STDLIB = ("ssl", "http.client", "urllib.request", "email")

POST_TOOL_USE = {
    "session_id": "4f1c2a9e-0b7d-4c2e-9a51-7e3f0c1d2b6a",
    "transcript_path": "/home/dev/.claude/projects/app/4f1c2a9e.jsonl",
    "cwd": "/home/dev/src/app",
    "permission_mode": "default",
    "hook_event_name": "PostToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "pytest -q", "description": "Run the tests"},
    "tool_response": {"stdout": "12 passed in 0.4s", "stderr": "", "interrupted": False},
    "tool_use_id": "toolu_01ABCDEF",
}
SESSION_START = {
    "session_id": "9a8b7c6d-1111-2222-3333-444455556666",
    "transcript_path": "/home/dev/.claude/projects/app/9a8b7c6d.jsonl",
    "cwd": "/home/dev/src/app",
    "hook_event_name": "SessionStart",
    "source": "startup",
    "model": "claude-sonnet-4-5",
}


def payload_bytes(payload: dict[str, Any]) -> bytes:
    # Deliberately not json.dumps' default spacing, so "forwarded unchanged" is checked byte for byte.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def run_hook(
    stdin: bytes,
    env: dict[str, str],
    *args: str,
    command: list[str] | None = None,
    timeout: float = 30,
) -> tuple[subprocess.CompletedProcess[bytes], float]:
    """Run the hook with a clean ENVOY_* environment plus `env`; returns (result, wall seconds)."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("ENVOY_")}
    started = time.monotonic()
    result = subprocess.run(
        [*(command or HOOK), *args], input=stdin, env={**clean, **env}, capture_output=True, timeout=timeout
    )
    return result, time.monotonic() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def imported_modules(stderr: bytes) -> set[str]:
    """Module names from `-X importtime` lines: `import time: self | cumulative | name`."""
    names = set()
    for line in stderr.decode().splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


# --- a stub /hooks/claude that records what it receives ------------------------------------------------


@dataclass
class Stub:
    status: int = 200
    body: bytes = b"{}"
    chunked: bool = False
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            stub.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(stub.status)
            self.send_header("content-type", "application/json")
            if stub.chunked:
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for start in range(0, len(stub.body), 7):
                    piece = stub.body[start : start + 7]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("content-length", str(len(stub.body)))
                self.end_headers()
                self.wfile.write(stub.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def stub() -> Iterator[Stub]:
    handle = Stub()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(handle))
    httpd.daemon_threads = True
    handle.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield handle
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections (the kernel's backlog) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "envoy-home"
    directory.mkdir()
    (directory / "hook.token").write_text("hook-secret-123\n")
    return directory


# --- against the live server ---------------------------------------------------------------------------


@pytest.fixture
def live(spawn_server: Callable[..., ServerProcess]) -> ServerProcess:
    return spawn_server()


def test_live_server_refusing_the_token_fails_open(live: ServerProcess) -> None:
    env = {"ENVOY_URL": live.base_url, "ENVOY_HOOK_TOKEN": "not-a-token", "ENVOY_HOOK_DEBUG": "1"}

    result, _ = run_hook(payload_bytes(POST_TOOL_USE), env)

    assert result.returncode == 0
    assert result.stdout == b""
    assert b"HTTP 401" in result.stderr


def test_live_server_error_status_fails_open(live: ServerProcess) -> None:
    # An authenticated call the server does not accept: 501 while HookService is unimplemented, and a
    # 400 naming payload.session_id once it lands. Either way: nothing on stdout, exit 0.
    token = (live.data_dir / "operator.token").read_text().strip()
    env = {"ENVOY_URL": live.base_url, "ENVOY_HOOK_TOKEN": token, "ENVOY_HOOK_DEBUG": "1"}

    result, _ = run_hook(b'{"hook_event_name": "PostToolUse"}', env)

    assert result.returncode == 0
    assert result.stdout == b""
    assert b"the server answered HTTP" in result.stderr


def test_live_server_answer_is_printed(live: ServerProcess) -> None:
    # The real path: the hook token comes from hook.token in the server's data directory.
    env = {"ENVOY_URL": live.base_url, "ENVOY_HOME": str(live.data_dir), "ENVOY_HOOK_DEBUG": "1"}

    result, _ = run_hook(payload_bytes(SESSION_START), env)

    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    output = json.loads(result.stdout)
    assert output["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert isinstance(output["hookSpecificOutput"]["additionalContext"], str)


# --- the positive path, against the stub -----------------------------------------------------------------


def test_payload_is_forwarded_unchanged_with_the_hook_token_and_the_answer_printed(
    stub: Stub, data_dir: Path
) -> None:
    stub.body = b'{"hookSpecificOutput":{"hookEventName":"PostToolUse","additionalContext":"1 new message"}}'
    payload = payload_bytes({**POST_TOOL_USE, "note": "caf\u00e9 \u2713"})

    result, _ = run_hook(payload, {"ENVOY_URL": stub.url, "ENVOY_HOME": str(data_dir)})

    assert result.returncode == 0
    assert result.stdout == stub.body
    assert result.stderr == b""
    [(path, headers, body)] = stub.requests
    assert path == "/hooks/claude"
    assert body == payload
    assert headers["authorization"] == "Bearer hook-secret-123"
    assert headers["content-type"] == "application/json"


def test_env_token_wins_over_the_file_and_a_url_prefix_is_kept(stub: Stub, data_dir: Path) -> None:
    env = {"ENVOY_URL": stub.url + "/envoy/", "ENVOY_HOME": str(data_dir), "ENVOY_HOOK_TOKEN": "from-env"}

    result, _ = run_hook(payload_bytes(POST_TOOL_USE), env)

    assert result.returncode == 0
    assert result.stdout == b"{}"
    [(path, headers, _)] = stub.requests
    assert path == "/envoy/hooks/claude"
    assert headers["authorization"] == "Bearer from-env"


def test_no_token_anywhere_sends_no_authorization(stub: Stub, tmp_path: Path) -> None:
    result, _ = run_hook(payload_bytes(POST_TOOL_USE), {"ENVOY_URL": stub.url, "ENVOY_HOME": str(tmp_path)})

    assert result.returncode == 0
    [(_, headers, _)] = stub.requests
    assert "authorization" not in headers


def test_a_chunked_answer_is_reassembled(stub: Stub, data_dir: Path) -> None:
    stub.body = json.dumps({"decision": "block", "reason": "urgent: " + "x" * 100}).encode()
    stub.chunked = True

    result, _ = run_hook(payload_bytes(POST_TOOL_USE), {"ENVOY_URL": stub.url, "ENVOY_HOME": str(data_dir)})

    assert result.returncode == 0
    assert result.stdout == stub.body


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b'{"error": {"code": "INTERNAL"}}'),
        (404, b"not found"),
        (200, b"<html>a proxy page</html>"),
        (200, b"[1, 2, 3]"),
    ],
)
def test_an_unusable_answer_prints_nothing(stub: Stub, data_dir: Path, status: int, body: bytes) -> None:
    stub.status, stub.body = status, body
    env = {"ENVOY_URL": stub.url, "ENVOY_HOME": str(data_dir)}

    result, _ = run_hook(payload_bytes(POST_TOOL_USE), env)

    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert len(stub.requests) == 1


# --- failing open ----------------------------------------------------------------------------------------


def test_server_down_exits_0_quickly(tmp_path: Path) -> None:
    env = {"ENVOY_URL": f"http://127.0.0.1:{free_port()}", "ENVOY_HOME": str(tmp_path)}

    result, elapsed = run_hook(payload_bytes(POST_TOOL_USE), env, "--timeout", "1")

    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert elapsed < 3


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_server_that_never_answers_is_abandoned_at_the_timeout(
    silent_server: str, tmp_path: Path, how: str
) -> None:
    env = {"ENVOY_URL": silent_server, "ENVOY_HOME": str(tmp_path), "ENVOY_HOOK_DEBUG": "1"}
    args: tuple[str, ...] = ("--timeout", "0.5") if how == "flag" else ()
    if how == "env":
        env["ENVOY_HOOK_TIMEOUT"] = "0.5"

    result, elapsed = run_hook(payload_bytes(POST_TOOL_USE), env, *args)

    assert (result.returncode, result.stdout) == (0, b"")
    assert b"timed out" in result.stderr
    assert 0.5 <= elapsed < 3.5


def test_stdin_that_never_ends_is_abandoned_at_the_timeout(stub: Stub, tmp_path: Path) -> None:
    env = {"ENVOY_URL": stub.url, "ENVOY_HOME": str(tmp_path), "ENVOY_HOOK_TIMEOUT": "0.5"}
    clean = {key: value for key, value in os.environ.items() if not key.startswith("ENVOY_")}
    started = time.monotonic()
    with subprocess.Popen(
        HOOK, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**clean, **env}
    ) as process:
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        process.stdin.write(b'{"session_id": ')
        process.stdin.flush()  # ... and never closed until the hook has given up
        returncode = process.wait(10)
        stdout, stderr = process.stdout.read(), process.stderr.read()

    assert (returncode, stdout, stderr) == (0, b"", b"")
    assert time.monotonic() - started < 3.5
    assert stub.requests == []


@pytest.mark.parametrize(
    "stdin",
    [b"", b"not json", b"[1, 2]", b'"a string"', b"\xff\xfe\x00garbage", b'{"truncated": '],
    ids=["empty", "text", "array", "string", "binary", "truncated"],
)
def test_bad_stdin_exits_0_without_calling_the_server(stub: Stub, tmp_path: Path, stdin: bytes) -> None:
    result, _ = run_hook(stdin, {"ENVOY_URL": stub.url, "ENVOY_HOME": str(tmp_path)})

    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert stub.requests == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:21", "http://", "http://127.0.0.1:notaport", "nonsense"])
def test_a_bad_envoy_url_fails_open(tmp_path: Path, url: str) -> None:
    result, _ = run_hook(payload_bytes(POST_TOOL_USE), {"ENVOY_URL": url, "ENVOY_HOME": str(tmp_path)})

    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_https_to_a_plain_http_server_fails_open(stub: Stub, tmp_path: Path) -> None:
    # The https path (http.client + ssl, loaded only for https URLs): the TLS handshake fails.
    url = stub.url.replace("http://", "https://")
    env = {"ENVOY_URL": url, "ENVOY_HOME": str(tmp_path), "ENVOY_HOOK_DEBUG": "1"}

    result, _ = run_hook(payload_bytes(POST_TOOL_USE), env, "--timeout", "2")

    assert (result.returncode, result.stdout) == (0, b"")
    assert b"SSL" in result.stderr or b"ssl" in result.stderr


def test_debug_writes_one_line_on_stderr(tmp_path: Path) -> None:
    env = {
        "ENVOY_URL": f"http://127.0.0.1:{free_port()}",
        "ENVOY_HOME": str(tmp_path),
        "ENVOY_HOOK_DEBUG": "1",
    }

    result, _ = run_hook(b"{}", env)

    assert result.returncode == 0
    assert result.stdout == b""
    assert result.stderr.startswith(b"envoy-grpc hook: ")
    assert result.stderr.count(b"\n") == 1


# --- how it starts -----------------------------------------------------------------------------------------


def _entry_points() -> list[Any]:
    script = pytest.param(
        [str(SCRIPT), "hook"],
        id="console-script",
        marks=pytest.mark.skipif(not SCRIPT.exists(), reason="envoy-grpc script not installed"),
    )
    return [pytest.param(HOOK, id="python-m"), script]


@pytest.mark.parametrize("command", _entry_points())
def test_the_hook_imports_nothing_heavy(tmp_path: Path, command: list[str]) -> None:
    env = {
        "ENVOY_URL": f"http://127.0.0.1:{free_port()}",
        "ENVOY_HOME": str(tmp_path),
        "PYTHONPROFILEIMPORTTIME": "1",
    }

    result, _ = run_hook(payload_bytes(POST_TOOL_USE), env, command=command)

    assert result.returncode == 0
    modules = imported_modules(result.stderr)
    assert "envoy_grpc.hook_client" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY_MODULES or m.startswith(HEAVY_MODULES))
    assert heavy == [], f"the hook must stay standard-library only; it imported {heavy}"
    slow = sorted(m for m in modules if m in SLOW_STDLIB)
    assert slow == [], f"plain http:// must not need {slow} (~20 ms of start-up)"


def test_hook_help_and_the_cli_still_work() -> None:
    result, _ = run_hook(b"", {}, "--help")
    assert result.returncode == 0
    assert b"usage: envoy-grpc hook" in result.stdout

    cli = subprocess.run(
        [sys.executable, "-m", "envoy_grpc", "--help"], capture_output=True, text=True, timeout=30
    )
    assert cli.returncode == 0
    assert "hooks" in cli.stdout and "serve" in cli.stdout


# --- the pure helpers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:9876", ("http", "127.0.0.1", 9876, "")),
        ("http://localhost:9876/", ("http", "localhost", 9876, "")),
        ("http://[::1]:9876/base/", ("http", "::1", 9876, "/base")),
        ("HTTPS://envoy.example", ("https", "envoy.example", 443, "")),
        ("http://user:pw@host", ("http", "host", 80, "")),
    ],
)
def test_split_url(url: str, expected: tuple[str, str, int, str]) -> None:
    assert hook_client.split_url(url) == expected


def test_timeout_and_data_dir_rules(tmp_path: Path) -> None:
    assert hook_client.parse_timeout([], {}) == 2.0
    assert hook_client.parse_timeout([], {"ENVOY_HOOK_TIMEOUT": "0.3"}) == 0.3
    assert hook_client.parse_timeout(["--timeout", "4"], {"ENVOY_HOOK_TIMEOUT": "0.3"}) == 4.0
    assert hook_client.parse_timeout(["--timeout=1.5"], {}) == 1.5
    assert hook_client.parse_timeout(["--timeout", "soon"], {}) == 2.0
    assert hook_client.parse_timeout(["--timeout", "-1"], {}) == 2.0
    assert hook_client.data_dir({"ENVOY_HOME": str(tmp_path)}) == str(tmp_path)
    assert hook_client.data_dir({"XDG_DATA_HOME": "/xdg"}) == "/xdg/envoy-grpc"
