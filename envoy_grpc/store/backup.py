"""A consistent copy of the live database, taken with SQLite's online backup API (a SQLite-only seam).

The copy is read through a connection of its own, so it works while a server is serving: in WAL mode
a reader never blocks the writer, and the backup sees one committed state of the database. Pages are
copied a batch at a time with a short sleep in between. A write by another connection restarts a
paged backup (that is how the API keeps the copy consistent), so under a steady stream of writes the
paged copy could start over forever; after `max_restarts` restarts the rest is copied in one step,
inside one read transaction, which in WAL mode still does not block writers.

The copy goes to a temporary file beside the target, passes `PRAGMA integrity_check`, is synced to
disk and only then renamed over the target: a reader of the target never sees half a backup.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PAGES_PER_STEP = 256
STEP_SLEEP = 0.005
MAX_RESTARTS = 3


class BackupError(Exception):
    """The backup could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupReport:
    """What a backup produced."""

    path: Path
    size_bytes: int
    pages: int
    page_size: int
    seconds: float
    # "paged" when the copy went in batches, "one step" when writes forced the fallback.
    mode: str
    restarts: int
    schema_version: int

    def describe(self) -> str:
        return (
            f"backup written to {self.path}: {self.size_bytes} bytes, {self.pages} pages of "
            f"{self.page_size} bytes, schema {self.schema_version}, {self.seconds:.3f} s "
            f"({self.mode}, {self.restarts} restarts), integrity_check ok"
        )


class _Restarted(Exception):
    """Raised from the progress callback to abandon a paged backup that keeps restarting."""


def open_source(database: Path) -> sqlite3.Connection:
    """Open an existing database for reading only; never create one."""
    if not database.is_file():
        raise BackupError(f"no database at {database}; is --data-dir (or ENVOY_HOME) right?")
    try:
        connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as error:
        raise BackupError(f"cannot read {database}: {error}") from None
    return connection


def backup(
    database: Path,
    target: Path,
    *,
    force: bool = False,
    pages_per_step: int = PAGES_PER_STEP,
    sleep: float = STEP_SLEEP,
    max_restarts: int = MAX_RESTARTS,
    on_step: Callable[[int, int], None] | None = None,
) -> BackupReport:
    """Copy `database` to `target` atomically and check the copy; return what was written.

    `on_step(remaining, total)` is called after each paged step (for progress, and for tests).
    """
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; pass --force to replace it")
    if target.exists() and not target.is_file():
        raise BackupError(f"{target} exists and is not a file")
    if not target.parent.is_dir():
        raise BackupError(f"the directory {target.parent} does not exist")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    started = time.monotonic()
    source = open_source(database)
    try:
        mode, restarts = _copy(source, temporary, pages_per_step, sleep, max_restarts, on_step)
        page_size, pages, version = _check(temporary)
        _sync(temporary)
        temporary.replace(target)
        _sync_directory(target.parent)
    except sqlite3.Error as error:
        raise BackupError(f"the backup of {database} failed: {error}") from None
    finally:
        source.close()
        for leftover in (temporary, *_sidecars(temporary)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return BackupReport(
        target, target.stat().st_size, pages, page_size, time.monotonic() - started, mode, restarts, version
    )


def _copy(
    source: sqlite3.Connection,
    temporary: Path,
    pages_per_step: int,
    sleep: float,
    max_restarts: int,
    on_step: Callable[[int, int], None] | None,
) -> tuple[str, int]:
    restarts = 0
    remaining_before: list[int] = []

    def progress(unused_status: int, remaining: int, total: int) -> None:
        nonlocal restarts
        if on_step is not None:
            on_step(remaining, total)
        # Fewer pages left after every step, unless another connection wrote and the copy started over.
        if remaining_before and remaining > remaining_before[-1]:
            restarts += 1
            if restarts > max_restarts:
                raise _Restarted
        remaining_before.append(remaining)

    with contextlib.closing(sqlite3.connect(temporary)) as destination:
        try:
            source.backup(destination, pages=pages_per_step, progress=progress, sleep=sleep)
            return "paged", restarts
        except _Restarted:
            pass
        source.backup(destination, pages=-1)
        return "one step", restarts


def _check(path: Path) -> tuple[int, int, int]:
    """Run `PRAGMA integrity_check` on the copy; return its page size, page count and schema version."""
    with contextlib.closing(sqlite3.connect(path)) as copy:
        problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError("the copy failed PRAGMA integrity_check: " + "; ".join(problems[:5]))
        page_size = int(copy.execute("PRAGMA page_size").fetchone()[0])
        pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
        version = int(copy.execute("PRAGMA user_version").fetchone()[0])
        # A self-contained file: no -wal beside it (the server switches WAL back on when it opens it).
        copy.execute("PRAGMA journal_mode = DELETE")
    return page_size, pages, version


def _sidecars(path: Path) -> tuple[Path, ...]:
    return (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))


def _sync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX: the directory entry is data of the directory)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
