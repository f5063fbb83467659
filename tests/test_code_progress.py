"""IndexProjectWithProgress streams how far an indexing run is (over gRPC, and over HTTP as
Server-Sent Events), ends with IndexProject's result, and `envoy-grpc index` draws a progress bar
from it on a terminal."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from support import Server, auth
from test_code_search import register, stub, write

from envoy_grpc.gen.envoy.v1 import code_pb2

FILES = 30


@pytest.fixture
def many_files(tmp_path: Path) -> Path:
    return write(
        tmp_path / "many", {f"pkg/m{n}.py": f"def f{n}() -> int:\n    return {n}\n" for n in range(FILES)}
    )


async def test_progress_counts_every_file_then_saves_then_gives_the_result(
    server: Server, many_files: Path
) -> None:
    await register(server, "many", many_files)
    call = stub(server).IndexProjectWithProgress(
        code_pb2.IndexProjectWithProgressRequest(name="many"), metadata=auth(server.operator_token)
    )

    reports = [report async for report in call]

    phases = [r.phase for r in reports]
    assert phases[0] == code_pb2.INDEX_PHASE_PARSING and (reports[0].files_done, reports[0].files_total) == (
        0,
        FILES,
    )
    assert phases.count(code_pb2.INDEX_PHASE_SAVING) == 1 and phases[-1] == code_pb2.INDEX_PHASE_DONE
    parsing = [r.files_done for r in reports if r.phase == code_pb2.INDEX_PHASE_PARSING]
    assert parsing == sorted(parsing) and parsing[-1] == FILES
    assert all(not r.HasField("result") for r in reports[:-1])
    done = reports[-1]
    assert (done.project, done.files_done, done.files_total) == ("many", FILES, FILES)
    # A module and a function per file.
    assert (done.result.project, done.result.files, done.result.symbols) == ("many", FILES, 2 * FILES)


async def test_progress_over_http_is_server_sent_events_and_errors_are_plain_json(
    server: Server, many_files: Path
) -> None:
    await register(server, "many", many_files)

    status, text = await server.request(
        "POST", "/projects/many/index/progress", {"full": True}, token=server.operator_token
    )
    missing, error = await server.request(
        "POST", "/projects/nope/index/progress", {}, token=server.operator_token
    )
    refused, _ = await server.request("POST", "/projects/many/index/progress", {})

    events = [json.loads(line[len("data: ") :]) for line in text.splitlines() if line.startswith("data: ")]
    assert status == 200 and events[0] == {
        "project": "many",
        "phase": "parsing",
        "files_done": 0,
        "files_total": FILES,
        "result": None,
    }
    assert [e["phase"] for e in events][-2:] == ["saving", "done"]
    assert events[-1]["result"]["files"] == FILES  # `full` parsed every file again
    assert missing == 404 and error["error"]["code"] == "PROJECT_NOT_FOUND"
    assert refused in (401, 403)


async def test_a_second_run_of_the_same_project_is_refused_while_one_is_going(
    server: Server, many_files: Path
) -> None:
    await register(server, "many", many_files)
    first = stub(server).IndexProjectWithProgress(
        code_pb2.IndexProjectWithProgressRequest(name="many"), metadata=auth(server.operator_token)
    )
    await first.read()  # the run has started

    with pytest.raises(grpc.aio.AioRpcError) as second:
        await stub(server).IndexProject(
            code_pb2.IndexProjectRequest(name="many"), metadata=auth(server.operator_token)
        )

    assert second.value.code() == grpc.StatusCode.ABORTED
    last = await first.read()
    while (report := await first.read()) is not grpc.aio.EOF:
        last = report
    assert last.phase == code_pb2.INDEX_PHASE_DONE


async def test_the_cli_draws_a_progress_bar_on_a_terminal(server: Server, many_files: Path) -> None:
    environment = {
        **os.environ,
        "ENVOY_URL": server.base_url,
        "ENVOY_HOME": str(server.running.config.data_dir),
    }
    terminal, child_side = pty.openpty()
    process = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, "-m", "envoy_grpc", "index", str(many_files), "--project", "many"],
        stdout=subprocess.PIPE,
        stderr=child_side,
        env=environment,
    )
    os.close(child_side)
    stdout, _ = await asyncio.to_thread(process.communicate, timeout=60)
    drawn = await asyncio.to_thread(_read_all, terminal)

    assert process.returncode == 0, drawn
    assert json.loads(stdout)["files"] == FILES
    assert "indexing many" in drawn and f"{FILES}/{FILES}" in drawn


def _read_all(fd: int) -> str:
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")
