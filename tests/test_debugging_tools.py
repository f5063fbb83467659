"""The README's gRPC debugging session, run as written: grpcurl list, describe, a call with a token,
health through grpcurl and grpc-health-probe, and buf curl.

grpcurl and grpc-health-probe are `go install`ed at pinned versions into .cache/go-bin/ by
scripts/clients/go-tools.sh. Every `$ ` command of the README's block runs through bash against a
fresh server; each output line shown must appear in order in what it printed (`…` ends a line's
prefix or stands for lines left out).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED_TARGET = "127.0.0.1:9877"


@pytest.fixture(scope="module")
def tools_path() -> str:
    """PATH with the pinned grpcurl and grpc-health-probe first."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "clients" / "go-tools.sh"), "grpcurl", "grpc-health-probe"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    folders = [str(Path(line).parent) for line in result.stdout.split()]
    return os.pathsep.join([*folders, os.environ["PATH"]])


def documented_session() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each `$ ` line of the README's gRPC session block."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Using it with gRPC") :]
    block = re.findall(r"```sh\n(.*?)```", section, re.S)[1]
    steps: list[tuple[str, list[str]]] = []
    continued = False
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif continued:
            steps[-1] = (steps[-1][0] + "\n" + line, steps[-1][1])
        else:
            steps[-1][1].append(line)
        continued = line.endswith("\\")
    return steps


def assert_shows(expected: list[str], output: str, command: str) -> None:
    """Each expected line appears, in order; a line with `…` is matched up to it."""
    lines = output.splitlines()
    position = 0
    for want in expected:
        prefix = want.split("…")[0].rstrip() if "…" in want else want
        if not prefix.strip():
            continue
        while position < len(lines) and not (
            lines[position].startswith(prefix) if "…" in want else lines[position] == want
        ):
            position += 1
        assert position < len(lines), f"{command!r} did not print {want!r}; it printed:\n{output}"
        position += 1


def test_the_readme_grpc_debugging_session_works_as_written(spawn_server: Any, tools_path: str) -> None:
    server: ServerProcess = spawn_server()
    steps = documented_session()
    commands = [command for command, _ in steps]
    assert any(c.startswith("grpcurl") and " list" in c for c in commands)
    assert any(" describe " in c for c in commands)
    assert any("$TOKEN" in c and c.startswith("grpcurl") for c in commands)
    assert any(c.startswith("grpc-health-probe") for c in commands)

    env = {**os.environ, "PATH": tools_path}
    previous = ""
    for command, expected in steps:
        if command.startswith("TOKEN="):
            # The README shows the token of the previous answer; take the real one from it.
            env["TOKEN"] = json.loads(previous)["token"]
            continue
        result = subprocess.run(
            ["bash", "-c", command.replace(DOCUMENTED_TARGET, server.grpc_target)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{command!r} exited {result.returncode}:\n{output}"
        assert_shows(expected, output, command)
        previous = result.stdout


def test_grpc_health_probe_fails_when_nothing_serves(tools_path: str) -> None:
    """The probe is a real check: a port with no server makes it exit non-zero."""
    result = subprocess.run(
        ["grpc-health-probe", "-addr", "127.0.0.1:1", "-connect-timeout", "1s"],
        env={**os.environ, "PATH": tools_path},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
