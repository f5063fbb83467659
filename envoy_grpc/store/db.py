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
import collections
import contextlib
import logging
import threading
import time
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
# A WAL longer than this (in 4 KiB frames: 64 MB) is checkpointed by the writer between two groups.
WAL_CHECKPOINT_FRAMES = 16_384
MAX_GROUP = 256
# Group commit under load: when writes keep coming (the previous commit ended less than BUSY_GAP
# seconds before the next write arrived), the writer waits COMMIT_DELAY for more to join.
BUSY_GAP = 0.001
COMMIT_DELAY = 0.001

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
        # Batches for the writer. The loop wakes the writer only when it sleeps (`_work` is clear):
        # a busy writer takes what arrived when it finishes a group, so under load handing work
        # over costs no thread switch (on a shared core each one was several per write).
        self._jobs: collections.deque[Any] = collections.deque()
        self._work = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="envoy-writer", daemon=True)
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="envoy-reader")
        self._closed = False
        self._checkpoint_task: asyncio.Task[None] | None = None
        self.groups_committed = 0
        self.units_committed = 0
        # Units handed in (counted on the loop) and finished (counted on the writer): each counter
        # has one writing thread, so their difference is the writer's queue depth without a lock.
        self.units_submitted = 0
        self.units_finished = 0
        # Set by the checkpoint loop when the WAL has grown past WAL_CHECKPOINT_FRAMES.
        self._wal_too_long = False
        self.wal_checkpoints = 0
        # Writes submitted during one turn of the event loop travel to the writer together.
        self._batch: list[_Job] = []

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
        """Queue a unit of work. Units queued in the same turn of the loop are handed over as one
        batch when the turn ends, so concurrent requests share a transaction (group commit) without
        anyone waiting on a timer."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._batch:
            loop.call_soon(self._hand_over)
        self.units_submitted += 1
        self._batch.append((unit_of_work if transactional else _Untransacted(unit_of_work), loop, future))
        return future

    def _hand_over(self) -> None:
        batch, self._batch = self._batch, []
        self._hand(batch)

    def _hand(self, item: Any) -> None:
        self._jobs.append(item)
        if not self._work.is_set():
            self._work.set()

    @property
    def queue_depth(self) -> int:
        """Units of work handed in and not yet finished (waiting for the writer, or running)."""
        return max(0, self.units_submitted - self.units_finished)

    async def read(self, query: Callable[[], T]) -> T:
        """Run `query` on a reader thread with that thread's own connection."""
        if self._closed:
            raise DatabaseClosedError("the database is closed")
        return await asyncio.get_running_loop().run_in_executor(self._readers, query)

    # -- the writer thread ---------------------------------------------------------------------

    def _write_loop(self) -> None:
        last_commit = 0.0
        while True:
            self._wait_for_work()
            # Under a steady stream of writes (the last commit ended moments ago), let more arrive
            # so that more of them share one commit; an isolated write goes at once.
            if time.monotonic() - last_commit < BUSY_GAP:
                time.sleep(COMMIT_DELAY)
            group, stop_after = self._take(MAX_GROUP)
            if group:
                self._run_group(group)
                self.units_finished += len(group)
                last_commit = time.monotonic()
            if self._wal_too_long:
                self._checkpoint_long_wal()
            if stop_after:
                break
        self._final_checkpoint()

    def _checkpoint_long_wal(self) -> None:
        """Copy the WAL into the database between two groups, so that it can start over.

        The reader thread's passive checkpoints cannot catch up under a steady stream of writes:
        frames keep arriving while they copy, so the WAL is never found fully copied, never starts
        over, and grows (to 437 MB in 15 s of hook ingest, after which every read and commit was
        slower). Here no frame arrives while it copies, and being passive it never waits for readers
        (TRUNCATE or RESTART did, and put hook-ingest p99 at 57-80 ms).
        """
        self._wal_too_long = False
        started = time.monotonic()
        try:
            busy, frames, _ = self.db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except peewee.OperationalError as error:
            log.warning("could not checkpoint the WAL: %s", error)
            return
        log.debug(
            "WAL checkpointed in %.1f ms (%d frames, busy=%d)",
            1000 * (time.monotonic() - started),
            frames,
            busy,
        )
        self.wal_checkpoints += 1

    def _wait_for_work(self) -> None:
        if not self._jobs:
            self._work.clear()
            if not self._jobs:  # checked again after clearing: a batch handed over meanwhile set it
                self._work.wait()

    def _take(self, limit: int) -> tuple[list[_Job], bool]:
        """Up to about `limit` units (whole batches) from the queue, and whether STOP was reached."""
        group: list[_Job] = []
        while self._jobs and len(group) < limit:
            batch = self._jobs.popleft()
            if batch is _STOP:
                return group, True
            group.extend(batch)
        return group, False

    def _run_group(self, group: list[_Job]) -> None:
        for job in group:
            if isinstance(job[0], _Untransacted):
                _resolve([job], [_attempt(job[0])])
        plain = [job for job in group if not isinstance(job[0], _Untransacted)]
        if not plain:
            return
        outcomes = self._all_or_retry(plain) if len(plain) > 1 else None
        if outcomes is None:
            try:
                with self.db.atomic():
                    outcomes = [self._in_savepoint(unit_of_work) for unit_of_work, _, _ in plain]
            except Exception as error:  # COMMIT itself failed: nothing in the group is durable
                log.exception("a write transaction failed to commit")
                outcomes = [(False, error)] * len(plain)
        self.groups_committed += 1
        self.units_committed += len(plain)
        _resolve(plain, outcomes)

    def _all_or_retry(self, plain: list[_Job]) -> list[tuple[bool, Any]] | None:
        """The fast path: the whole group in one transaction without savepoints.

        Units are functions of the database only, so when one raises, the group is rolled back and
        None tells the caller to run it again with a savepoint per unit (the failing one alone fails).
        """
        try:
            with self.db.atomic():
                return [(True, unit_of_work()) for unit_of_work, _, _ in plain]
        except Exception:
            return None

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
                _, frames, _ = await self.read(
                    lambda: self.db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                )
                if frames > WAL_CHECKPOINT_FRAMES:
                    self._wal_too_long = True  # the writer checkpoints it after its current group
            except DatabaseClosedError:
                return
            except peewee.OperationalError as error:  # busy: try again next round
                log.debug("passive checkpoint skipped: %s", error)

    async def close(self) -> None:
        """Finish queued writes, truncate the WAL and close every connection. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._batch:
            self._hand_over()
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._readers.shutdown, True)
        self._hand(_STOP)
        await loop.run_in_executor(None, self._writer.join)
        if self.groups_committed:
            log.info(
                "writer committed %d units of work in %d transactions (%.1f per transaction)",
                self.units_committed,
                self.groups_committed,
                self.units_committed / self.groups_committed,
            )


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
