"""`envoy-grpc backup`: a consistent copy of the live database while a writer keeps sending, and the
restore story: a server started on a copy of the backup serves the same agents, tokens, pending
messages, sessions and knowledge."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from ops_support import SESSION, populate
from support import Server, ServerProcess, auth
from test_ops_export import run_cli

from envoy_grpc.gen.envoy.v1 import common_pb2, messages_pb2
from envoy_grpc.store import backup


async def test_backup_during_sends_passes_integrity_check_and_a_restored_server_serves_it(
    server: Server, spawn_server: Any, tmp_path: Path
) -> None:
    made = await populate(server)
    confirmed: list[str] = []
    stop = asyncio.Event()

    async def send_until_stopped() -> None:
        request_number = 0
        while not stop.is_set():
            request = messages_pb2.SendMessageRequest(
                to="id2", parts=[common_pb2.Part(text=f"load {request_number}")]
            )
            request_number += 1
            sent = await server.messages.SendMessage(request, metadata=auth(made.tokens["id1"]))
            confirmed.append(sent.message_id)

    sender = asyncio.create_task(send_until_stopped())
    while len(confirmed) < 50:
        await asyncio.sleep(0.01)
    before_backup = set(confirmed)
    target = tmp_path / "backups" / "envoy.db"
    target.parent.mkdir()
    code, out, err = await run_cli("backup", str(target), "--data-dir", str(server.running.config.data_dir))
    sent_during = len(confirmed) - len(before_backup)
    stop.set()
    await sender

    assert code == 0, err
    assert f"backup written to {target}" in out and "integrity_check ok" in out
    assert sent_during > 0, "the writer was not sending while the backup ran"
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        backed_up = {str(row[0]) for row in copy.execute("SELECT id FROM message")}
    assert before_backup <= backed_up, "a message acknowledged before the backup is missing"
    assert not list(target.parent.glob(".*")), "the temporary file was left behind"

    # Restore: a fresh data directory whose envoy.db is the backup, and a server process on it.
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    shutil.copy(target, restored_dir / "envoy.db")
    restored: ServerProcess = spawn_server(data_dir=restored_dir)
    await check_restored(restored, made.tokens, made.message_ids, len(backed_up))


async def check_restored(
    server: ServerProcess, tokens: dict[str, str], sent: list[str], messages: int
) -> None:
    bob = {"authorization": f"Bearer {tokens['id2']}"}
    async with aiohttp.ClientSession(server.base_url, headers=bob) as http:
        async with http.get("/agents") as response:
            agents = (await response.json())["agents"]
        assert [a["agent_id"] for a in agents] == ["id1", "id1.1", "id2"]
        async with http.get("/agents/id2/messages/pending?limit=1000") as response:
            pending = await response.json()
        assert response.status == 200, "bob's token stopped working"
        assert pending["count"] == messages - 1  # every message to bob but the one he acked
        assert sent[0] not in {m["message_id"] for m in pending["messages"]}
        async with http.get(f"/atheneum/sessions/{SESSION}") as response:
            session = await response.json()
        assert response.status == 200 and session["session"]["tool_call_count"] == 1
        async with http.get("/atheneum/search?q=backtracking") as response:
            hits = (await response.json())["results"]
        assert [hit["kind"] for hit in hits] == ["Discovery"]
    async with grpc.aio.insecure_channel(server.grpc_target) as channel:
        from envoy_grpc.gen.envoy.v1 import messages_pb2_grpc

        stub = messages_pb2_grpc.MessageServiceStub(channel)
        request = messages_pb2.SendMessageRequest(to="id2", parts=[common_pb2.Part(text="after restore")])
        sent_after = await stub.SendMessage(request, metadata=auth(tokens["id1"]))
    assert int(sent_after.message_id) > messages, "a message ID was reused after the restore"


def make_database(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode = wal")
        connection.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")
        connection.executemany("INSERT INTO note (body) VALUES (?)", [("x" * 500,)] * rows)


def test_a_backup_that_keeps_restarting_finishes_in_one_step(tmp_path: Path) -> None:
    """Every write by another connection restarts a paged backup; the copy still finishes."""
    source = tmp_path / "source.db"
    make_database(source, 2000)
    writer = sqlite3.connect(source)

    def write_between_steps(remaining: int, total: int) -> None:
        writer.execute("INSERT INTO note (body) VALUES ('during')")
        writer.commit()

    report = backup.backup(
        source, tmp_path / "copy.db", pages_per_step=8, sleep=0, on_step=write_between_steps
    )
    writer.close()

    assert report.mode == "one step" and report.restarts == backup.MAX_RESTARTS + 1
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT count(*) FROM note WHERE body != 'during'").fetchone() == (2000,)


def test_a_quiet_database_is_copied_in_pages(tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    make_database(source, 2000)

    report = backup.backup(source, tmp_path / "copy.db", pages_per_step=16)

    assert report.mode == "paged" and report.restarts == 0
    assert report.pages > 16 and report.size_bytes == report.pages * report.page_size


async def test_backup_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    make_database(tmp_path / "envoy.db", 10)
    target = tmp_path / "existing.db"
    target.write_text("precious")

    refused = await run_cli("backup", str(target), "--data-dir", str(tmp_path))
    forced = await run_cli("backup", str(target), "--data-dir", str(tmp_path), "--force")

    assert refused[0] == 1 and f"{target} already exists; pass --force to replace it" in refused[2]
    assert forced[0] == 0, forced[2]
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM note").fetchone() == (10,)


async def test_backup_errors_name_the_missing_thing(tmp_path: Path) -> None:
    no_database = await run_cli("backup", str(tmp_path / "b.db"), "--data-dir", str(tmp_path / "nowhere"))
    make_database(tmp_path / "envoy.db", 1)
    no_directory = await run_cli("backup", str(tmp_path / "no" / "b.db"), "--data-dir", str(tmp_path))

    assert no_database[0] == 1 and f"no database at {tmp_path / 'nowhere' / 'envoy.db'}" in no_database[2]
    assert no_directory[0] == 1 and f"the directory {tmp_path / 'no'} does not exist" in no_directory[2]
