"""A serving worker's view of the drainer process: stored scans for the live feed, and metrics.

With ``SCANROUTE_DRAINER=process`` a worker only appends to its spool. ``StoredTail`` stands in
for the in-worker drainer where the rest of the worker expects one: it has the same
``on_stored`` hook (the live feed attaches to it), called with the scans the drainer process has
stored — those between the spool's previous and current checkpoint, read back from the
worker's own spool. It reads only while ``listening()`` says someone watches the feed. In
Redis mode the drainer process publishes stored scans itself, so the tail stays idle.
``mirror`` copies the drainer process's state (``drain_process.read_status``) and this
worker's spool depth into the worker's Prometheus gauges.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec

from scanroute.capture.drain_process import read_status
from scanroute.capture.event import ScanEvent, decode_event
from scanroute.capture.spool import Spool
from scanroute.observability import metrics

log = logging.getLogger("scanroute.tail")


class StoredTail:
    """Follows the checkpoint the drainer process advances in this worker's spool."""

    def __init__(self, spool: Spool, *, active: bool = True, max_bytes: int = 1 << 30) -> None:
        self.spool = spool
        self.active = active
        self.max_bytes = max_bytes
        self.on_stored: Callable[[list[ScanEvent]], None] | None = None
        self.listening: Callable[[], bool] = lambda: True
        self._pos = spool.checkpoint()
        self._errors_seen = 0

    def poll(self) -> int:
        """Hand the newly stored scans to ``on_stored``; returns how many."""
        if not self.active:
            return 0
        now = self.spool.checkpoint()
        start, self._pos = self._pos, now
        if now <= start or self.on_stored is None or not self.listening():
            return 0
        events = []
        for line in self.spool.read_range(start, now):
            try:
                events.append(decode_event(line))
            except msgspec.DecodeError:
                continue  # the drainer counts and logs unreadable records
        if events:
            try:
                self.on_stored(events)
            except Exception:  # never let the live feed break the worker
                log.exception("live feed: publishing stored scans failed")
        return len(events)

    def mirror(self) -> None:
        """Copy the drainer process's state and this spool's depth into this worker's metrics."""
        pending = self.spool.pending_bytes()
        metrics.spool_bytes.set(pending)
        metrics.spool_alarm.set(1 if pending > self.max_bytes else 0)
        status = read_status(self.spool.dir.parent)
        if status is None:
            return
        metrics.store_up.set(1 if status.get("store_up") else 0)
        lag = status.get("lag")
        if isinstance(lag, int | float):
            metrics.drain_lag.set(lag)
        errors = status.get("errors")
        if isinstance(errors, int):
            if errors > self._errors_seen:
                metrics.drain_errors.inc(errors - self._errors_seen)
            self._errors_seen = errors
