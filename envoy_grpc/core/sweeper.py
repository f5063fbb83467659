"""A background task that runs one piece of housekeeping every few seconds until it is closed.

A failed round is logged and the next one tries again; the database closing ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from envoy_grpc.store.db import DatabaseClosedError

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, name: str, interval: float, work: Callable[[], Awaitable[Any]]) -> None:
        self.name = name
        self.interval = interval
        self.work = work
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"envoy-{self.name}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.work()
            except DatabaseClosedError:
                return
            except Exception:  # keep sweeping; the next round may succeed
                log.exception("%s failed", self.name)
