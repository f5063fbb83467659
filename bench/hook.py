"""`python -m bench.hook`: wall time of `envoy-grpc hook` against `curl` doing the same POST.

Claude Code starts a fresh hook process for every event, so what matters is the wall time of one whole
invocation: interpreter start-up, imports, reading stdin, the request and printing the answer. This runs
`envoy-grpc hook` N times with a PostToolUse payload on stdin and `curl -s -X POST --data-binary @-` with
the same payload and token, interleaved so both see the same machine, and reports median, p90, min and
max wall milliseconds of each and the ratio of the medians. Target (issue 4): the hook's median is at most
60 ms. `python -c pass` is shown as the floor any Python hook pays before doing anything.

Starts its own server (bench/server.py) unless given --url. Prints a table and writes
bench/results/hook-latest.json. Exit status 1 when a run errs (a command exits non-zero, or the hook's
answer differs from curl's), 0 otherwise; missing the target is reported, not an error.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.server import running_server
from envoy_grpc import hook_client

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "hook-latest.json"
TARGET_MS = 60.0
PAYLOAD: dict[str, Any] = {
    "session_id": "4f1c2a9e-0b7d-4c2e-9a51-7e3f0c1d2b6a",
    "transcript_path": "/home/dev/.claude/projects/-home-dev-src-app/4f1c2a9e-0b7d-4c2e-9a51-7e3f0c1d2b6a.jsonl",
    "cwd": "/home/dev/src/app",
    "permission_mode": "default",
    "hook_event_name": "PostToolUse",
    "tool_name": "Edit",
    "tool_input": {
        "file_path": "/home/dev/src/app/src/server.py",
        "old_string": "def handle(request):\n    return None\n" * 4,
        "new_string": "def handle(request):\n    return respond(request)\n" * 4,
    },
    "tool_response": {"filePath": "/home/dev/src/app/src/server.py", "success": True},
    "tool_use_id": "toolu_01XyZbench0000000000000",
}


@dataclass
class Row:
    """Wall-time statistics of one command, in milliseconds."""

    name: str
    command: str
    runs: int
    median_ms: float
    p90_ms: float
    min_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of(cls, name: str, command: list[str], samples: list[float]) -> Row:
        ordered = sorted(samples)
        p90 = ordered[min(len(ordered) - 1, max(0, -(-9 * len(ordered) // 10) - 1))]
        return cls(
            name,
            " ".join(command),
            len(samples),
            round(statistics.median(ordered), 2),
            round(p90, 2),
            round(ordered[0], 2),
            round(ordered[-1], 2),
            round(statistics.fmean(ordered), 2),
        )


@dataclass
class Probe:
    """What the server answers to the payload (one curl call before the measurement)."""

    status: int
    body: str


class BenchError(RuntimeError):
    pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.hook", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n", "--runs", type=int, default=30, help="measured runs of each command (default 30)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured runs of each first (default 3)")
    parser.add_argument("--url", help="use the server at this URL instead of starting one")
    parser.add_argument(
        "--token",
        help="bearer token [default: $ENVOY_HOOK_TOKEN, else hook.token, else operator.token of the data dir]",
    )
    parser.add_argument(
        "--bytecode",
        choices=("cached", "inherit"),
        default="cached",
        help="cached (default): Python may cache compiled modules (in a temporary PYTHONPYCACHEPREFIX), as an "
        "installed package does; inherit: keep this environment's settings (PYTHONDONTWRITEBYTECODE=1 "
        "recompiles envoy_grpc's modules on every run)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup not negative")
    return args


def find_token(data_dir: Path | None) -> str | None:
    if os.environ.get("ENVOY_HOOK_TOKEN"):
        return os.environ["ENVOY_HOOK_TOKEN"]
    directory = data_dir or Path(hook_client.data_dir(os.environ))
    for name in ("hook.token", "operator.token"):
        path = directory / name
        if path.exists():
            return path.read_text().strip()
    return None


@contextmanager
def server_url(args: argparse.Namespace) -> Iterator[tuple[str, Path | None]]:
    """(base URL, data directory if known): the given --url, or a server started for the run."""
    if args.url:
        yield args.url.rstrip("/"), None
        return
    with running_server(REPO, "INFO", pin=False) as server:
        yield server.http_base, server.data_dir


def hook_command() -> list[str]:
    script = Path(sys.executable).parent / "envoy-grpc"
    return [str(script), "hook"] if script.exists() else [sys.executable, "-m", "envoy_grpc", "hook"]


def curl_command(url: str, token: str | None) -> list[str]:
    curl = shutil.which("curl")
    if curl is None:
        raise BenchError("curl is not installed; it is the baseline of this benchmark")
    command = [curl, "-s", "-X", "POST", "--noproxy", "*", "-H", "Content-Type: application/json"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    return [*command, "--data-binary", "@-", url + hook_client.HOOK_PATH]


def probe(url: str, token: str | None, payload: bytes) -> Probe:
    command = curl_command(url, token)
    result = subprocess.run(
        [*command[:-1], "-w", "\n%{http_code}", command[-1]], input=payload, capture_output=True, timeout=30
    )
    body, _, status = result.stdout.decode(errors="replace").rpartition("\n")
    return Probe(int(status) if status.isdigit() else 0, body[:300])


def timed(command: list[str], payload: bytes, env: dict[str, str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    result = subprocess.run(command, input=payload, capture_output=True, env=env, timeout=30)
    elapsed = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise BenchError(f"{command[0]} exited {result.returncode}: {result.stderr.decode(errors='replace')}")
    return elapsed, result.stdout


def measure(
    url: str, token: str | None, runs: int, warmup: int, pycache: str | None
) -> tuple[list[Row], Probe, list[str]]:
    payload = json.dumps(PAYLOAD).encode()
    env = {key: value for key, value in os.environ.items() if not key.startswith("ENVOY_")}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    env["ENVOY_URL"] = url
    if token:
        env["ENVOY_HOOK_TOKEN"] = token
    commands = {
        "envoy-grpc hook": hook_command(),
        "curl": curl_command(url, token),
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    answer = probe(url, token, payload)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    problems: list[str] = []
    for index in range(warmup + runs):
        outputs = {}
        for name, command in commands.items():  # interleaved: both see the same machine state
            elapsed, outputs[name] = timed(command, payload, env)
            if index >= warmup:
                samples[name].append(elapsed)
        expected = outputs["curl"] if 200 <= answer.status < 300 else b""
        if outputs["envoy-grpc hook"] != expected and len(problems) < 5:
            problems.append(
                f"run {index}: the hook printed {outputs['envoy-grpc hook'][:120]!r}, not {expected[:120]!r}"
            )
    rows = [Row.of(name, commands[name], samples[name]) for name in commands]
    return rows, answer, problems


def table(rows: list[Row], answer: Probe, url: str, runs: int, bytecode: str) -> str:
    lines = [
        f"envoy-grpc hook vs curl: {runs} runs each, PostToolUse payload, {url}{hook_client.HOOK_PATH} "
        f"answered HTTP {answer.status}; bytecode {bytecode}",
        f"{'command':<18}{'median':>9}{'p90':>9}{'min':>9}{'max':>9}{'mean':>9}   (ms wall per invocation)",
    ]
    for row in rows:
        lines.append(
            f"{row.name:<18}{row.median_ms:>9.1f}{row.p90_ms:>9.1f}{row.min_ms:>9.1f}{row.max_ms:>9.1f}{row.mean_ms:>9.1f}"
        )
    hook, curl = rows[0], rows[1]
    lines.append(
        f"hook / curl: {hook.median_ms / curl.median_ms:.2f}x median, {hook.p90_ms / curl.p90_ms:.2f}x p90"
    )
    verdict = "met" if hook.median_ms <= TARGET_MS else "MISSED"
    lines.append(f"target: hook median <= {TARGET_MS:.0f} ms: {verdict} ({hook.median_ms:.1f} ms)")
    if not 200 <= answer.status < 300:
        lines.append(
            f"note: the server answered {answer.status}, so the hook failed open (printed nothing); the "
            f"request still made the full round trip. Answer: {answer.body[:160]}"
        )
    return "\n".join(lines)


def document(
    rows: list[Row], answer: Probe, url: str, args: argparse.Namespace, problems: list[str]
) -> dict[str, Any]:
    hook, curl = rows[0], rows[1]
    return {
        "name": "hook",
        "time_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "parameters": {
            "runs": args.runs,
            "warmup": args.warmup,
            "url": url,
            "server_started": not args.url,
            "bytecode": args.bytecode,
        },
        "server_answer": asdict(answer),
        "rows": [asdict(row) for row in rows],
        "ratio_median": round(hook.median_ms / curl.median_ms, 3),
        "ratio_p90": round(hook.p90_ms / curl.p90_ms, 3),
        "target": {"hook_median_ms_max": TARGET_MS, "met": hook.median_ms <= TARGET_MS},
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with server_url(args) as (url, data_dir), tempfile.TemporaryDirectory(prefix="hook-pyc-") as pyc:
            token = args.token or find_token(data_dir)
            pycache = pyc if args.bytecode == "cached" else None
            rows, answer, problems = measure(url, token, args.runs, args.warmup, pycache)
    except BenchError as error:
        print(f"bench.hook: {error}", file=sys.stderr)
        return 1
    print(table(rows, answer, url, args.runs, args.bytecode))
    for problem in problems:
        print(f"problem: {problem}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document(rows, answer, url, args, problems), indent=2) + "\n")
    print(f"results: {args.out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
