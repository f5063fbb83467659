"""`envoy-grpc export`: JSON lines of every record, from one snapshot, taken while the server serves,
with a header that counts each kind and no secret anywhere in it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ops_support import SESSION, populate
from support import Server

from envoy_grpc.core import tokens as token_rules
from envoy_grpc.store import export


async def run_cli(*args: str) -> tuple[int, str, str]:
    """`python -m envoy_grpc ARGS` as a child process; returns (exit code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "envoy_grpc",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_export_while_serving_has_every_kind_counted_and_no_secrets(
    server: Server, tmp_path: Path
) -> None:
    made = await populate(server)
    output = tmp_path / "envoy.jsonl"
    sending = asyncio.Event()
    stop = asyncio.Event()

    async def send_until_stopped() -> int:
        sent = 0
        while not stop.is_set():
            body = {"to": "id2", "parts": [{"text": f"during the export {sent}"}]}
            status, _ = await server.request("POST", "/messages", body, token=made.tokens["id1"])
            assert status == 201
            sent += 1
            sending.set()
        return sent

    sender = asyncio.create_task(send_until_stopped())
    await sending.wait()
    code, _, err = await run_cli(
        "export", "--data-dir", str(server.running.config.data_dir), "-o", str(output)
    )
    stop.set()
    sent_meanwhile = await sender

    assert code == 0, err
    assert sent_meanwhile > 0
    assert "exported" in err
    header, *records = read_lines(output)
    assert header["kind"] == "header" and header["format"] == "envoy-grpc-export" and header["version"] == 1
    assert header["schema_version"] >= 1
    seen = Counter(record["kind"] for record in records)
    # One snapshot: the counts taken first match the lines written after, though sends went on.
    assert {kind: n for kind, n in header["counts"].items() if n} == dict(seen)
    for kind, expected in made.counts.items():
        if kind != "message":
            assert seen[kind] == expected, kind
    assert seen["message"] >= made.counts["message"] + 1
    text = output.read_text()
    for token in [*made.tokens.values(), server.operator_token]:
        assert token not in text
        assert token_rules.token_hash(token) not in text
    assert "token_hash" not in text


async def test_exported_records_carry_their_content_and_delivery_state(
    server: Server, tmp_path: Path
) -> None:
    made = await populate(server)
    output = tmp_path / "envoy.jsonl"
    code, _, err = await run_cli(
        "export", "--data-dir", str(server.running.config.data_dir), "--output", str(output)
    )
    assert code == 0, err
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for record in read_lines(output)[1:]:
        by_kind.setdefault(record["kind"], []).append(record)

    agents = {a["agent_id"]: a for a in by_kind["agent"]}
    assert agents["id1.1"]["parent_id"] == "id1" and agents["id1"]["lifecycle"] == "active"
    assert agents["id1"]["agent_kind"] == "claude"
    first, *rest = by_kind["message"]
    assert str(first["id"]) == made.message_ids[0]
    assert first["parts"] == [{"text": "note 0 about the parser"}]  # parts_json, decoded
    assert [(d["agent_id"], d["state"], d["sequence"]) for d in first["deliveries"]] == [("id2", "acked", 1)]
    assert [d["state"] for m in rest for d in m["deliveries"]] == ["stored", "stored"]
    assert by_kind["session"][0]["session_id"] == SESSION
    assert by_kind["tool_call"][0]["file_paths"] == ["a.py"]
    assert by_kind["discovery"][0]["metadata"] == {"why": "quadratic backtracking in the tokenizer"}
    assert by_kind["handoff"][0]["manifest"] == {"done": ["parser"]}
    assert by_kind["lease"][0]["path"] == "src/parser.py"


async def test_export_to_standard_output(server: Server) -> None:
    await server.register("solo")

    code, out, _ = await run_cli("export", "--data-dir", str(server.running.config.data_dir))

    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert lines[0]["counts"]["agent"] == 1
    assert [line["kind"] for line in lines[1:]] == ["agent"]


async def test_export_of_a_missing_database_says_where_it_looked(tmp_path: Path) -> None:
    code, out, err = await run_cli("export", "--data-dir", str(tmp_path / "nowhere"))

    assert code == 1 and out == ""
    assert f"no database at {tmp_path / 'nowhere' / 'envoy.db'}" in err


async def test_every_table_is_exported_or_known_to_be_derived(server: Server) -> None:
    """A new table must be added to the export (or to DERIVED, saying why it need not be)."""
    with sqlite3.connect(server.running.config.db_path) as connection:
        assert export.unexported_tables(connection) == []
