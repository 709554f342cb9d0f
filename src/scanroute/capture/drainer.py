"""The drainer: moves spooled scans into the store in batches and advances the checkpoint.

Two ways to run it. Under ``scanroute serve`` one drainer process (``drain_process``) calls
``sweep`` on an interval: it drains every worker's spool directory up to its last complete
line, and drains and removes the directories of workers that are gone. Without ``serve`` (the
ASGI app started by tests or another server) each worker runs ``run`` as an asyncio task on its
own spool (store I/O in a thread) and adopts orphans every few seconds. When the store is down
the spool keeps everything and draining retries with back-off. A replay after a crash is
harmless: the writer skips known scan ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import msgspec

from scanroute.capture.event import ScanEvent, decode_event
from scanroute.capture.spool import Spool, orphaned, remove_spool, spool_dirs
from scanroute.observability import metrics

log = logging.getLogger("scanroute.drainer")
ADOPT_EVERY = 5.0
MAX_BACKOFF = 5.0


class Sink(Protocol):
    """Where drained scans go: the store (``StoreSink``) or a Redis Stream (``StreamSink``)."""

    def deliver(self, lines: Sequence[bytes], events: list[ScanEvent]) -> int:
        """Hand over a batch; returns how many events were newly stored (0 when only queued)."""


class Drainer:
    """Drains one worker's spool (and orphans), or every spool under ``root``, into a sink."""

    def __init__(
        self,
        spool: Spool | None,
        sink: Sink,
        *,
        root: Path,
        batch: int = 5000,
        interval: float = 0.25,
        max_bytes: int = 1 << 30,
        on_stored: Callable[[list[ScanEvent]], None] | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        """``on_stored`` gets each batch's newly stored events; ``on_batch`` gets the number
        of records read by every batch (the drainer process reports its progress through it)."""
        self.spool = spool
        self.sink = sink
        self.root = root
        self.batch = batch
        self.interval = interval
        self.max_bytes = max_bytes
        self.on_stored = on_stored
        self.on_batch = on_batch
        self._stopping = asyncio.Event()
        self._last_adopt = 0.0
        self._readers: dict[Path, Spool] = {}
        self._serial = threading.RLock()

    def drain_once(self, spool: Spool | None = None, *, final: bool = False) -> int:
        """Move one batch from ``spool`` (default: our own) to the store; returns events read.

        Serialised: the shutdown drain may start while the loop's last tick is still running.
        """
        with self._serial:
            return self._drain_once(spool, final=final)

    def _drain_once(self, spool: Spool | None, *, final: bool) -> int:
        spool = spool or self.spool
        assert spool is not None
        start = spool.checkpoint()
        got = spool.read(start, self.batch, final=final)
        if not got.lines:
            if got.end != start:
                spool.commit(got.end)
            return 0
        events = []
        for line in got.lines:
            try:
                events.append(decode_event(line))
            except msgspec.DecodeError:
                metrics.spool_corrupt.inc()
                log.error("skipping an unreadable spool record: %r", line[:200])
        stored = self.sink.deliver(got.lines, events)
        spool.commit(got.end)
        metrics.drain_batch.observe(len(events))
        if events:
            lag = time.time() - events[-1].ts / 1_000_000
            metrics.drain_lag.set(max(lag, 0.0))
        if self.on_stored is not None and stored:
            self.on_stored(events)
        if self.on_batch is not None:
            self.on_batch(len(got.lines))
        return len(got.lines)

    def drain_all(self, spool: Spool | None = None, *, final: bool = False) -> int:
        """Drain what the spool holds now; returns events read.

        Batches follow one another while they come back full. A short batch means the reader
        has caught up with the writer: what a live worker appends meanwhile waits for the next
        tick, so that a steady trickle of scans is stored one interval's worth per transaction
        instead of being chased in transactions of a few scans each (each one a commit, an
        fsync, its rollups and a checkpoint). ``final`` (the writer is gone) drains until a
        batch comes back empty.
        """
        total = 0
        while n := self.drain_once(spool, final=final):
            total += n
            if n < self.batch and not final:
                break
        return total

    def sweep(self, *, final: bool = False) -> int:
        """Drain every spool directory under ``root``; returns events read.

        A live worker's spool is drained up to its last complete line; a dead worker's to its
        end (a torn last line is skipped), and then removed. ``final`` (all workers are known
        to be gone) also adopts directories created a moment ago.
        """
        total = 0
        own = self.spool.dir if self.spool is not None else None
        seen: set[Path] = set()
        for path, orphan in spool_dirs(self.root, own, min_orphan_age=0.0 if final else ADOPT_EVERY):
            seen.add(path)
            reader = self._readers.get(path)
            if reader is None:
                reader = self._readers[path] = Spool(path, owner=False)
            total += self.drain_all(reader, final=orphan)
            if orphan:
                remove_spool(path)
                del self._readers[path]
        for gone in set(self._readers) - seen:
            del self._readers[gone]
        return total

    def pending_bytes(self) -> int:
        """Bytes not yet drained in every spool under ``root`` (the drainer process's gauge)."""
        total = 0
        for path in list(self._readers):
            with contextlib.suppress(OSError, ValueError):
                total += self._readers[path].pending_bytes()
        return total

    def adopt_orphans(self) -> int:
        """Drain and remove the spools of workers that are gone."""
        total = 0
        for path in orphaned(self.root, own=self.spool.dir if self.spool is not None else self.root):
            orphan = Spool(path, owner=False)
            total += self.drain_all(orphan, final=True)
            remove_spool(path)
        if total:
            log.info("replayed %d scans left by stopped workers", total)
        return total

    def _tick(self) -> int:
        try:
            now = time.monotonic()
            if now - self._last_adopt >= ADOPT_EVERY:
                self._last_adopt = now
                self.adopt_orphans()
            return self.drain_all()
        finally:  # measured even (above all) when the store is unreachable
            self.check_depth()

    def check_depth(self) -> int:
        """Update the spool-depth gauge and raise the alarm past ``max_bytes``; returns the depth."""
        pending = self.spool.pending_bytes() if self.spool is not None else self.pending_bytes()
        metrics.spool_bytes.set(pending)
        if pending > self.max_bytes:
            metrics.spool_alarm.set(1)
            log.error(
                "scan spool holds %d bytes (limit %d): is the store reachable?", pending, self.max_bytes
            )
        else:
            metrics.spool_alarm.set(0)
        return pending

    async def run(self) -> None:
        """Drain forever (until ``stop``), backing off while the store is unreachable."""
        delay = self.interval
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(self._tick)
                delay = self.interval
                metrics.store_up.set(1)
            except Exception as exc:  # noqa: BLE001 - the store may be down; the spool keeps everything
                metrics.store_up.set(0)
                metrics.drain_errors.inc()
                log.warning("drain failed, will retry: %s", str(exc).splitlines()[0] if str(exc) else exc)
                delay = min(max(delay * 2, 0.5), MAX_BACKOFF)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the loop and drain what is left (graceful shutdown); the spool keeps any rest."""
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.to_thread(self.drain_all), timeout=timeout)
        except TimeoutError:
            log.warning(
                "could not drain everything at shutdown within %s s (the rest stays in the spool)", timeout
            )
        except Exception as exc:  # noqa: BLE001 - leftovers are replayed at the next start
            log.warning("could not drain everything at shutdown (kept in the spool): %r", exc)
