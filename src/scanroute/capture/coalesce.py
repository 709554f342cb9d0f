"""Coalescing the spool appends of one event-loop iteration into one ``write()``.

A served worker handles its ready requests one after the other within an iteration of the event
loop. Each scan's line used to be written, and its redirect sent, before the next request's code
ran: Python work, a file ``write()`` and a socket ``send()`` interleaved per request, and every
send woke the client's side of the connection on its own. ``SpoolCoalescer.append`` instead
queues the line and yields once: the first append of an iteration schedules the flush, which
the event loop runs (first in, first out) before any of the queued tasks resumes. So every line
of the batch is on disk before any of their replies is sent — the durability contract of
``Spool.append`` holds — and the replies then leave back to back. An error of the write (a full
disk, a closed spool) is raised in every task of the batch, as ``Spool.append`` would have
raised it, so that none of them sends a redirect whose scan is not on disk.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Generator
from dataclasses import dataclass, field

from scanroute.capture.spool import Spool

__all__ = ["SpoolCoalescer", "yield_once"]


@dataclass(slots=True)
class _Batch:
    lines: list[bytes] = field(default_factory=list)
    written: bool = False
    error: Exception | None = None


@types.coroutine
def yield_once() -> Generator[None, None, None]:
    """Let the event loop run what is ready (``asyncio.sleep(0)`` with one frame less)."""
    yield


class SpoolCoalescer:
    """Async front of a ``Spool`` for the event loop's thread: one ``write()`` per iteration.

    ``append`` is ``add``, one yield to the loop, then ``settle``; a caller on the hot path may
    take the three steps itself (the edge does, with one coroutine frame less to resume).
    """

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._batch: _Batch | None = None

    async def append(self, record: bytes) -> None:
        """Append one record (no newline inside); return once it is written (as ``Spool.append``)."""
        batch = self.add(record)
        await yield_once()  # the flush, scheduled before this task's resumption, runs first
        self.settle(batch)

    def add(self, record: bytes) -> _Batch:
        """Queue one record in this iteration's batch (the first one schedules the flush)."""
        batch = self._batch
        if batch is None:
            batch = self._batch = _Batch()
            asyncio.get_running_loop().call_soon(self._flush, batch)
        batch.lines.append(record)
        return batch

    def settle(self, batch: _Batch) -> None:
        """After a yield: make sure ``batch`` is written; raise its write's error if it failed."""
        if not batch.written:  # only on a loop that resumed this task before running the flush
            self._flush(batch)
        error = batch.error
        if error is not None:  # a fresh exception per appender: they may be raised concurrently
            if isinstance(error, OSError):
                raise OSError(error.errno, error.strerror) from error
            raise RuntimeError(f"the spool write failed: {error!r}") from error

    def _flush(self, batch: _Batch) -> None:
        if batch.written:
            return
        batch.written = True
        if self._batch is batch:
            self._batch = None
        try:
            self.spool.append_many(batch.lines)
        except Exception as exc:  # noqa: BLE001 - every appender of the batch must learn of it
            batch.error = exc
