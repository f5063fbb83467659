"""IndexProjectWithProgress: an indexing run whose progress is streamed as it happens.

The indexer reports each file from its worker thread; `ProgressFeed` carries those reports onto
the event loop, at most one every `INTERVAL` seconds (the first and the last always), for the
servicer to yield. The run is a task of its own, so a client that goes away does not stop it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from envoy_grpc.core.code import IndexResult, Progress
from envoy_grpc.gen.envoy.v1 import code_pb2 as pb
from envoy_grpc.services import code_convert as convert

INTERVAL = 0.1  # seconds between two progress messages at most ten a second

_RUNS: set[asyncio.Task[IndexResult]] = set()  # runs outlive the streams that started them


class ProgressFeed:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue()
        self._last_sent = 0.0

    def report(self, done: int, total: int) -> None:
        """Called on the indexing thread."""
        now = time.monotonic()
        if done in (0, total) or now - self._last_sent >= INTERVAL:
            self._last_sent = now
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (done, total))

    def finish(self, unused_task: asyncio.Task[IndexResult]) -> None:
        self.queue.put_nowait(None)


async def stream_index(
    project: str, run: Callable[[Progress], Awaitable[IndexResult]]
) -> AsyncIterator[pb.IndexProgress]:
    """Start `run(progress)` and yield PARSING reports, one SAVING, then DONE with the result."""
    feed = ProgressFeed()
    task = asyncio.ensure_future(run(feed.report))
    _RUNS.add(task)
    task.add_done_callback(_RUNS.discard)
    task.add_done_callback(feed.finish)
    done = total = 0
    saving = False
    while (item := await feed.queue.get()) is not None:
        done, total = item
        yield pb.IndexProgress(
            project=project, phase=pb.INDEX_PHASE_PARSING, files_done=done, files_total=total
        )
        if done == total and not saving:
            saving = True
            yield pb.IndexProgress(
                project=project, phase=pb.INDEX_PHASE_SAVING, files_done=done, files_total=total
            )
    result = task.result()  # raises the run's error, which ends the stream with its status
    yield pb.IndexProgress(
        project=project,
        phase=pb.INDEX_PHASE_DONE,
        files_done=done,
        files_total=total,
        result=convert.index_response(result),
    )
