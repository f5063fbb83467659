"""`envoy-grpc hook`: the Claude Code `"type": "command"` hook, as small and fast as Python allows.

Claude Code runs this once per hook event with the event's JSON on stdin. It POSTs that JSON unchanged to
`$ENVOY_URL/hooks/claude` with the hook token and prints the server's answer (the hook output JSON) on
stdout. `--codex` and `--cursor` do the same for Codex's and Cursor's hooks (`/hooks/codex`,
`/hooks/cursor`); `--codex-notify` is Codex's `notify` program, which gets its JSON as the last argument
and whose output Codex ignores, so it prints nothing. It fails open: whatever goes wrong (no server, a timeout, a bad payload, an error status, an
answer that is not a JSON object) it prints nothing and exits 0, so a broken or absent envoy never gets in
the way of a coding session. `ENVOY_HOOK_DEBUG=1` says what went wrong, in one line on stderr.

Claude Code starts a new process for every event, so start-up time is the whole cost. This module is
standard library only and imports as little of it as it can: no grpc, protobuf, click or aiohttp, not
even `http.client` or `urllib` (together with `ssl` they cost ~20 ms, more than the request itself).
Plain `http://` URLs are spoken over a socket here; `https://` falls back to `http.client`.
"""

import json
import os
import sys
from collections.abc import Mapping

from envoy_grpc.harness_pid import harness_pid

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; mypy treats it the same
if TYPE_CHECKING:
    import signal
    import socket
else:
    # The C modules under `socket` and `signal`: the same functions and constants without the Python
    # wrappers' enum classes, which cost ~3 ms of start-up.
    try:
        import _signal as signal
        import _socket as socket
    except ImportError:  # not CPython
        import signal
        import socket

DEFAULT_URL = "http://127.0.0.1:9876"
HOOK_PATH = "/hooks/claude"
# The harness flags and the route each posts to.
HARNESS_PATHS = {
    "--claude": HOOK_PATH,
    "--codex": "/hooks/codex",
    "--cursor": "/hooks/cursor",
    "--codex-notify": "/hooks/codex",
}
NOTIFY_FLAG = "--codex-notify"
# Tells the server which harness process the hook ran in, so `envoy-grpc mcp` can find the session.
HARNESS_HEADER = "X-Envoy-Harness-Pid"
DEFAULT_TIMEOUT = 2.0
HOOK_TOKEN_FILENAME = "hook.token"
MAX_RESPONSE_BYTES = 8 * 1024 * 1024

USAGE = f"""usage: envoy-grpc hook [--claude | --codex | --cursor] [--timeout SECONDS]
       envoy-grpc hook --codex-notify [--timeout SECONDS] JSON

Command hook: reads the hook payload (JSON) on stdin, POSTs it to
$ENVOY_URL{HOOK_PATH} (default {DEFAULT_URL}) with the hook token, and prints
the hook output. Prints nothing and exits 0 on any error (fail open).

  --claude           Claude Code's hooks, to {HOOK_PATH} (the default)
  --codex            Codex's hooks (~/.codex/hooks.json), to /hooks/codex
  --cursor           Cursor's hooks (.cursor/hooks.json), to /hooks/cursor
  --codex-notify     Codex's notify program: the JSON is the LAST argument, not
                     stdin; posts it to /hooks/codex and prints nothing
  --timeout SECONDS  give up after this long [env ENVOY_HOOK_TIMEOUT; default {DEFAULT_TIMEOUT:g}]

Environment: ENVOY_URL, ENVOY_HOOK_TOKEN (else the file {HOOK_TOKEN_FILENAME} in ENVOY_HOME,
default ~/.local/share/envoy-grpc), ENVOY_HOOK_TIMEOUT, ENVOY_HOOK_DEBUG=1 (diagnostics on stderr).
"""


class HookFailure(Exception):
    """Anything that makes the hook print nothing; the message is the debug diagnostic."""


def data_dir(env: Mapping[str, str]) -> str:
    """The server's data directory, by the rule of `envoy_grpc.config` (not imported: it is heavier)."""
    home = env.get("ENVOY_HOME")
    if home:
        return os.path.expanduser(home)
    base = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "envoy-grpc")


def hook_token(env: Mapping[str, str]) -> str | None:
    """`$ENVOY_HOOK_TOKEN`, else the `hook.token` file in the data directory, else None."""
    token = env.get("ENVOY_HOOK_TOKEN", "").strip()
    if token:
        return token
    try:
        with open(os.path.join(data_dir(env), HOOK_TOKEN_FILENAME), encoding="utf-8") as file:
            return file.read().strip() or None
    except OSError:
        return None


def parse_timeout(argv: list[str], env: Mapping[str, str]) -> float:
    """`--timeout S` / `--timeout=S`, else `$ENVOY_HOOK_TIMEOUT`, else 2 s. Other arguments are ignored."""
    raw = env.get("ENVOY_HOOK_TIMEOUT", "")
    for index, arg in enumerate(argv):
        if arg == "--timeout" and index + 1 < len(argv):
            raw = argv[index + 1]
        elif arg.startswith("--timeout="):
            raw = arg.partition("=")[2]
    try:
        timeout = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
    return timeout if 0 < timeout < 3600 else DEFAULT_TIMEOUT


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path prefix) of an http(s) URL such as `http://127.0.0.1:9876`."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise HookFailure(f"ENVOY_URL must start with http:// or https://, not {url!r}")
    netloc, slash, path = rest.partition("/")
    netloc = netloc.rpartition("@")[2]
    if netloc.startswith("["):  # [::1]:9876
        host, _, port_text = netloc[1:].partition("]")
        port_text = port_text.lstrip(":")
    else:
        host, _, port_text = netloc.partition(":")
    if not host:
        raise HookFailure(f"ENVOY_URL has no host: {url!r}")
    try:
        port = int(port_text) if port_text else (443 if scheme == "https" else 80)
    except ValueError:
        raise HookFailure(f"ENVOY_URL has a bad port: {url!r}") from None
    return scheme, host, port, (slash + path).rstrip("/")


def _request_head(host: str, port: int, path: str, token: str | None, length: int) -> bytes:
    host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host_header}",
        "Content-Type: application/json",
        "Accept: application/json",
        f"Content-Length: {length}",
        "Connection: close",
        "User-Agent: envoy-grpc-hook",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    lines.append(f"{HARNESS_HEADER}: {harness_pid()}")
    if any(char in line for line in lines for char in "\r\n"):
        raise HookFailure("the token or ENVOY_URL contains a line break")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while True:
        size_line, sep, body = body.partition(b"\r\n")
        if not sep:
            raise HookFailure("truncated chunked response")
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            return bytes(out)
        if len(body) < size + 2:
            raise HookFailure("truncated chunked response")
        out += body[:size]
        body = body[size + 2 :]


def _parse_response(raw: bytes) -> tuple[int, bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise HookFailure("the server closed the connection before a complete response")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise HookFailure(f"not an HTTP response: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _dechunk(body)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if len(body) < length:
            raise HookFailure("the server closed the connection mid-body")
        body = body[:length]
    return int(parts[1]), body


def _expected_length(received: bytes) -> int | None:
    """Total bytes of the response once its head is in and it has a Content-Length; else None."""
    end = received.find(b"\r\n\r\n")
    if end < 0:
        return None
    for line in received[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return end + 4 + int(value.strip())
    return None


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    """`socket.create_connection`, which the C module lacks: try each address until one connects."""
    error: OSError = OSError(f"cannot resolve {host}")
    for family, kind, proto, _, address in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as failure:
            error = failure
            sock.close()
    raise error


def post_http(
    host: str, port: int, path: str, body: bytes, token: str | None, timeout: float
) -> tuple[int, bytes]:
    """POST over a plain socket (HTTP/1.1, `Connection: close`); returns (status, body)."""
    sock = _connect(host, port, timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(_request_head(host, port, path, token, len(body)) + body)
        received = b""
        expected: int | None = None
        while expected is None or len(received) < expected:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
            if len(received) > MAX_RESPONSE_BYTES:
                raise HookFailure("the response is too large")
            if expected is None:
                expected = _expected_length(received)
    finally:
        sock.close()
    return _parse_response(received)


def post_https(
    host: str, port: int, path: str, body: bytes, token: str | None, timeout: float
) -> tuple[int, bytes]:
    import http.client  # only for https: it pulls in ssl and email, ~20 ms

    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    headers[HARNESS_HEADER] = str(harness_pid())
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPSConnection(host, port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(MAX_RESPONSE_BYTES + 1)
    finally:
        connection.close()


def _on_alarm(signum: int, frame: object) -> None:
    raise HookFailure("timed out")


def hook_path(argv: list[str]) -> str:
    """The route the harness flag names (the last one given wins); /hooks/claude without one."""
    path = HOOK_PATH
    for arg in argv:
        path = HARNESS_PATHS.get(arg, path)
    return path


def notify_payload(argv: list[str]) -> bytes:
    """`--codex-notify`'s JSON: the last argument (Codex appends it to the configured command)."""
    if not argv or argv[-1].startswith("--") or argv[-1] == NOTIFY_FLAG:
        raise HookFailure("--codex-notify needs the notify JSON as its last argument")
    return argv[-1].encode("utf-8", "surrogateescape")


def forward(payload: bytes, env: Mapping[str, str], timeout: float, path: str = HOOK_PATH) -> bytes:
    """Check the payload, POST it, and return the hook output to print (a JSON object, as bytes)."""
    try:
        parsed = json.loads(payload)
    except ValueError as error:
        raise HookFailure(f"stdin is not JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise HookFailure("stdin is not a JSON object")
    scheme, host, port, prefix = split_url(env.get("ENVOY_URL") or DEFAULT_URL)
    post = post_https if scheme == "https" else post_http
    status, body = post(host, port, prefix + path, payload, hook_token(env), timeout)
    if not 200 <= status < 300:
        raise HookFailure(f"the server answered HTTP {status}: {body[:300].decode('utf-8', 'replace')}")
    try:
        output = json.loads(body) if body.strip() else {}
    except ValueError:
        raise HookFailure(f"the server's answer is not JSON: {body[:120]!r}") from None
    if not isinstance(output, dict):
        raise HookFailure("the server's answer is not a JSON object")
    return body


def _debug(enabled: bool, error: BaseException) -> None:
    if enabled:
        message = f"{type(error).__name__}: {error}".replace("\n", " ")
        sys.stderr.write(f"envoy-grpc hook: {message}\n")


def main(argv: list[str] | None = None) -> int:
    """Run the hook; always returns 0 (fail open)."""
    args = sys.argv[1:] if argv is None else argv
    if "-h" in args or "--help" in args:
        sys.stdout.write(USAGE)
        return 0
    env = os.environ
    debug = env.get("ENVOY_HOOK_DEBUG", "") not in ("", "0")
    timeout = parse_timeout(args, env)
    # One deadline for everything, reading stdin and resolving the host included; sockets also get it.
    use_alarm = hasattr(signal, "setitimer")
    output = b""
    try:
        if use_alarm:
            signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            if NOTIFY_FLAG in args:
                forward(notify_payload(args), env, timeout, hook_path(args))
            else:
                output = forward(sys.stdin.buffer.read(), env, timeout, hook_path(args))
        finally:
            # An alarm that fires before this line raises into the handler below, never past it.
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except Exception as error:  # fail open on anything at all
        output = b""
        _debug(debug, error)
    if output:
        try:
            sys.stdout.buffer.write(output)
            sys.stdout.buffer.flush()
        except OSError as error:  # Claude Code stopped reading: keep the exit at 0, not 120
            _debug(debug, error)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
