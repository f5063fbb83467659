"""The background task that keeps the search index up with what other areas record.

Every `interval` seconds it asks a reader whether any source table has rows past its cursor, and if
so drains them on the writer thread in batches (see `envoy_grpc.store.knowledge_indexer`), so a
tool call, prompt, handover or message is searchable about a quarter of a second after it commits.
`catch_up()` drains everything now (tests, and callers that must see the latest records).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from envoy_grpc.store import knowledge_index as search_index
from envoy_grpc.store import knowledge_indexer as store
from envoy_grpc.store.db import Database, DatabaseClosedError

log = logging.getLogger(__name__)


class Indexer:
    def __init__(self, db: Database, interval: float = 0.25, batch: int = 256) -> None:
        self.db = db
        self.interval = interval
        self.batch = batch
        self._task: asyncio.Task[None] | None = None
        self._stale: list[int] = []

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="envoy-knowledge-indexer")

    async def close(self) -> None:
        """Stop the task; what it has not indexed yet stays behind the durable cursors."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def forget_later(self, doc_ids: list[int]) -> None:
        """Documents whose records are gone (found by a search): dropped on the next pass."""
        self._stale.extend(doc_ids)

    async def catch_up(self) -> None:
        """Index every row recorded so far."""
        while True:
            stale, self._stale = self._stale, []
            if not await self.db.write(functools.partial(_pass, stale, self.batch)):
                return

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                if bool(self._stale) or await self.db.read(_pending):
                    await self.catch_up()
            except DatabaseClosedError:
                return
            except Exception:  # keep indexing later rather than die; the cursors have not moved
                log.exception("search indexing failed; retrying in %.2f s", self.interval)


def _pending() -> bool:
    return store.pending()


def _pass(stale: list[int], batch: int) -> bool:
    """One unit of work: drop stale documents, then index a batch of each source."""
    search_index.forget_documents(stale)
    return store.drain(batch)
