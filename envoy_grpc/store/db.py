"""The one door to SQLite: a single writer thread for units of work, a small pool for reads.

The asyncio loop never runs SQL. A write is a whole unit of work (a function of no arguments that
uses the models) run on the writer thread inside one `BEGIN IMMEDIATE` transaction; its result comes
back to the waiting coroutine only after COMMIT, so callers publish what is already durable. Reads
run on reader threads, each with its own connection (peewee keeps connections per thread), and WAL
readers never block the writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import peewee

from envoy_grpc.store import migrations
from envoy_grpc.store.models import database_proxy

log = logging.getLogger(__name__)

T = TypeVar("T")

# Automatic checkpoints would run on the writer thread, inside a commit, and show up as tail latency
# (see performance-anchors.md); we checkpoint from a reader thread instead.
PRAGMAS = {
    "busy_timeout": 5000,
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
    "cache_size": -64000,
    "temp_store": "memory",
    "wal_autocheckpoint": 0,
}
CHECKPOINT_INTERVAL = 1.0


class DatabaseClosedError(RuntimeError):
    """The database was closed; no more work is accepted."""


class Database:
    """SQLite in WAL mode behind one writer thread and a pool of reader threads."""

    def __init__(self, path: Path, readers: int = 4) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, lock_type="IMMEDIATE", timeout=5)
        database_proxy.initialize(self.db)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="envoy-writer")
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="envoy-reader")
        self._closed = False
        self._checkpoint_task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Apply pending migrations (on the writer thread) and start periodic checkpoints."""
        await asyncio.get_running_loop().run_in_executor(self._writer, migrations.migrate, self.db)
        self._checkpoint_task = asyncio.create_task(self._checkpoint_loop(), name="envoy-wal-checkpoint")

    async def write(self, unit_of_work: Callable[[], T]) -> T:
        """Run `unit_of_work` in one IMMEDIATE transaction on the writer thread; return after COMMIT."""
        if self._closed:
            raise DatabaseClosedError("the database is closed")
        return await asyncio.get_running_loop().run_in_executor(
            self._writer, self._in_transaction, unit_of_work
        )

    async def read(self, query: Callable[[], T]) -> T:
        """Run `query` on a reader thread with that thread's own connection."""
        if self._closed:
            raise DatabaseClosedError("the database is closed")
        return await asyncio.get_running_loop().run_in_executor(self._readers, query)

    def _in_transaction(self, unit_of_work: Callable[[], T]) -> T:
        with self.db.atomic():
            return unit_of_work()

    async def _checkpoint_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL)
            try:
                await self.read(lambda: self.db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)"))
            except DatabaseClosedError:
                return
            except peewee.OperationalError as error:  # busy: try again next round
                log.debug("passive checkpoint skipped: %s", error)

    async def close(self) -> None:
        """Drain the writer, truncate the WAL and close every connection. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._readers.shutdown, True)
        await loop.run_in_executor(self._writer, self._final_checkpoint)
        await loop.run_in_executor(None, self._writer.shutdown, True)

    def _final_checkpoint(self) -> None:
        self.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()
