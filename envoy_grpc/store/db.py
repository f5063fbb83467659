"""The one door to SQLite: a single writer thread for units of work, a small pool for reads.

The asyncio loop never runs SQL. A write is a whole unit of work (a function of no arguments that
uses the models) run on the writer thread. The writer takes every unit that is waiting, runs them in
one `BEGIN IMMEDIATE` transaction, each inside its own savepoint (group commit: a unit that raises is
rolled back alone, the others commit), and hands the results back to the waiting coroutines only
after COMMIT, so callers publish what is already durable. Reads run on reader threads, each with its
own connection (peewee keeps connections per thread), and WAL readers never block the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

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
    "cache_size": -16000,  # KiB per connection (writer + readers)
    "temp_store": "memory",
    "wal_autocheckpoint": 0,
}
CHECKPOINT_INTERVAL = 1.0
MAX_GROUP = 256

_Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]
_STOP = object()


class DatabaseClosedError(RuntimeError):
    """The database was closed; no more work is accepted."""


class Database:
    """SQLite in WAL mode behind one writer thread and a pool of reader threads."""

    def __init__(self, path: Path, readers: int = 4) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, lock_type="IMMEDIATE", timeout=5)
        database_proxy.initialize(self.db)
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name="envoy-writer", daemon=True)
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="envoy-reader")
        self._closed = False
        self._checkpoint_task: asyncio.Task[None] | None = None
        self.groups_committed = 0
        self.units_committed = 0

    async def open(self) -> None:
        """Apply pending migrations (on the writer thread) and start periodic checkpoints."""
        self._writer.start()
        await self._submit(lambda: migrations.migrate(self.db), transactional=False)
        self._checkpoint_task = asyncio.create_task(self._checkpoint_loop(), name="envoy-wal-checkpoint")

    async def write(self, unit_of_work: Callable[[], T]) -> T:
        """Run `unit_of_work` in a transaction on the writer thread; return its result after COMMIT."""
        if self._closed:
            raise DatabaseClosedError("the database is closed")
        result: T = await self._submit(unit_of_work)
        return result

    def _submit(self, unit_of_work: Callable[[], Any], transactional: bool = True) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((unit_of_work if transactional else _Untransacted(unit_of_work), loop, future))
        return future

    async def read(self, query: Callable[[], T]) -> T:
        """Run `query` on a reader thread with that thread's own connection."""
        if self._closed:
            raise DatabaseClosedError("the database is closed")
        return await asyncio.get_running_loop().run_in_executor(self._readers, query)

    # -- the writer thread ---------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            first = self._jobs.get()
            if first is _STOP:
                break
            group: list[_Job] = [first]
            stop_after = False
            while len(group) < MAX_GROUP:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stop_after = True
                    break
                group.append(job)
            self._run_group(group)
            if stop_after:
                break
        self._final_checkpoint()

    def _run_group(self, group: list[_Job]) -> None:
        for job in group:
            if isinstance(job[0], _Untransacted):
                _resolve([job], [_attempt(job[0])])
        plain = [job for job in group if not isinstance(job[0], _Untransacted)]
        if not plain:
            return
        try:
            with self.db.atomic():
                outcomes = [self._in_savepoint(unit_of_work) for unit_of_work, _, _ in plain]
        except Exception as error:  # COMMIT itself failed: nothing in the group is durable
            log.exception("a write transaction failed to commit")
            outcomes = [(False, error)] * len(plain)
        else:
            self.groups_committed += 1
            self.units_committed += len(plain)
        _resolve(plain, outcomes)

    def _in_savepoint(self, unit_of_work: Callable[[], Any]) -> tuple[bool, Any]:
        try:
            with self.db.atomic():
                return True, unit_of_work()
        except Exception as error:
            return False, error

    def _final_checkpoint(self) -> None:
        try:
            self.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.db.close()

    # -- housekeeping --------------------------------------------------------------------------

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
        """Finish queued writes, truncate the WAL and close every connection. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._readers.shutdown, True)
        self._jobs.put(_STOP)
        await loop.run_in_executor(None, self._writer.join)


class _Untransacted:
    """A unit of work that manages its own transactions (migrations)."""

    def __init__(self, unit_of_work: Callable[[], Any]) -> None:
        self.unit_of_work = unit_of_work

    def __call__(self) -> Any:
        return self.unit_of_work()


def _attempt(unit_of_work: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, unit_of_work()
    except Exception as error:
        return False, error


def _resolve(jobs: list[_Job], outcomes: list[tuple[bool, Any]]) -> None:
    """Hand results back, one loop wake-up per event loop for the whole group."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for (_, loop, future), (ok, value) in zip(jobs, outcomes, strict=True):
        by_loop.setdefault(loop, []).append((future, ok, value))
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            loop.call_soon_threadsafe(_set_results, items)


def _set_results(items: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in items:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
