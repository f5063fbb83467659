"""Keeps the knowledge graph up to date with everything recorded, within about a second.

Sessions, their evidence, messages and project events are written on their own hot paths; their
tables (the session event log, `message`, `project_event`) are the durable outbox the graph is built
from. The projector reads rows past its cursors (`envoy_grpc.store.graph_feed`) and writes their
entities and edges (`envoy_grpc.core.graph_mapping`) in batches, each one unit of work on the writer
thread that also advances the cursors: a batch is projected exactly once, across crashes and
restarts, and projecting the same rows again (`reproject`) adds nothing.

It wakes when the writer has committed something (it watches `Database.units_committed`, which costs
no SQL), and every `interval` seconds anyway; it first asks a reader whether any source has rows past
its cursor, so an idle server writes nothing. A batch that fails is run again with every row in its
own savepoint, and a row that still fails is logged and skipped, so one bad row never stops the
projection.

    projector = GraphProjector(db)
    projector.start()              # with the server
    await projector.catch_up()     # everything committed so far is in the graph (tests, tools)
    await projector.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envoy_grpc.core import graph_mapping as mapping
from envoy_grpc.store import graph_feed as feed
from envoy_grpc.store.db import Database, DatabaseClosedError
from envoy_grpc.store.graph_feed import MessageRow
from envoy_grpc.store.models import database_proxy
from envoy_grpc.store.session_types import EventRow, ProjectEventRow

log = logging.getLogger(__name__)

Projector = Callable[[mapping.Projection, Any], None]

BATCH = 256
INTERVAL = 0.5
WATCH = 0.05


@dataclass(frozen=True)
class BatchDone:
    cursors: dict[str, int]
    rows: int
    # True if some source filled its batch: there may be more to read.
    full: bool
    edges_added: int


class GraphProjector:
    def __init__(self, db: Database, batch_size: int = BATCH, interval: float = INTERVAL) -> None:
        self.db = db
        self.batch_size = batch_size
        self.interval = interval
        self._cursors: dict[str, int] | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._woken = False
        self.rows_projected = 0
        self.edges_added = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="envoy-graph-projector")

    async def stop(self) -> None:
        """Stop watching; rows not projected yet stay behind the cursors for the next start."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Look for new rows now rather than at the next tick."""
        self._woken = True

    async def catch_up(self) -> int:
        """Project every row committed before this call; returns how many rows were read."""
        async with self._lock:
            return await self._catch_up()

    async def reproject(self) -> int:
        """Project every row again from the start (it adds only what is missing)."""
        async with self._lock:
            await self.db.write(lambda: feed.set_cursors(dict.fromkeys(feed.SOURCES, 0)))
            self._cursors = None
            return await self._catch_up()

    # -- internals -----------------------------------------------------------------------------

    async def _catch_up(self) -> int:
        if not await self._pending():
            return 0
        total = 0
        while True:
            done = await self._run_batch()
            total += done.rows
            if not done.full:
                return total

    async def _pending(self) -> bool:
        if self._cursors is None:
            self._cursors = await self.db.read(feed.cursors)
        latest = await self.db.read(feed.latest_ids)
        return any(latest[source] > self._cursors[source] for source in feed.SOURCES)

    async def _run_batch(self) -> BatchDone:
        try:
            done = await self.db.write(lambda: self._batch(careful=False))
        except DatabaseClosedError:
            raise
        except Exception:
            log.exception("a graph projection batch failed; projecting it again row by row")
            done = await self.db.write(lambda: self._batch(careful=True))
        self._cursors = done.cursors
        self.rows_projected += done.rows
        self.edges_added += done.edges_added
        return done

    def _batch(self, careful: bool) -> BatchDone:
        """One unit of work on the writer thread: read past the cursors, project, move the cursors."""
        cursors = feed.cursors()
        size = self.batch_size
        events = feed.session_events_after(cursors["session_event"], size)
        messages = feed.messages_after(cursors["message"], size)
        project_events = feed.project_events_after(cursors["project_event"], size)
        if careful:
            edges_added = _project_carefully(
                [
                    *((mapping.session_event, row) for row in events),
                    *((mapping.message, row) for row in messages),
                    *((mapping.project_event, row) for row in project_events),
                ]
            )
        else:
            edges_added = _project(events, messages, project_events)
        moved = {
            "session_event": events[-1].event_id if events else cursors["session_event"],
            "message": messages[-1].message_id if messages else cursors["message"],
            "project_event": project_events[-1].event_id if project_events else cursors["project_event"],
        }
        if moved != cursors:
            feed.set_cursors(moved)
        full = size in (len(events), len(messages), len(project_events))
        return BatchDone(moved, len(events) + len(messages) + len(project_events), full, edges_added)

    async def _run(self) -> None:
        seen = -1
        checked = 0.0
        while True:
            await asyncio.sleep(WATCH)
            committed = self.db.units_committed
            if not self._woken and committed == seen and time.monotonic() - checked < self.interval:
                continue
            self._woken, seen, checked = False, committed, time.monotonic()
            try:
                await self.catch_up()
            except DatabaseClosedError:
                return
            except Exception:
                log.exception("graph projection failed; trying again in %.1f s", self.interval)
                await asyncio.sleep(self.interval)


def _project(
    events: list[EventRow], messages: list[MessageRow], project_events: list[ProjectEventRow]
) -> int:
    projection = mapping.Projection()
    for event in events:
        mapping.session_event(projection, event)
    mapping.messages(projection, messages)
    for project_event in project_events:
        mapping.project_event(projection, project_event)
    return projection.edges_added


def _project_carefully(work: list[tuple[Projector, Any]]) -> int:
    """Each row in its own savepoint (and with its own cache, which a rollback would make stale); a
    row that fails is logged and left out."""
    added = 0
    for project, row in work:
        projection = mapping.Projection()
        try:
            with database_proxy.atomic():
                project(projection, row)
        except Exception:
            log.exception("could not project %r into the knowledge graph; skipped", row)
        else:
            added += projection.edges_added
    return added
