"""Scale-out queue: spooled scans shipped to a Redis Stream, consumed into the store by a group.

Each worker still appends to its local spool first (a plain ``write()``, no network on the hot
path). Its drainer then ships spool batches to the stream and advances the spool checkpoint; if
Redis is unreachable it writes the batch straight to the store instead, so the spool stays the
fallback. Every worker also runs a consumer of the group: it reads new entries, writes them to
the store (idempotent by scan id), acknowledges them, and claims entries that another consumer
left pending too long (a worker that died between reading and acknowledging).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import redis
from redis.exceptions import RedisError, ResponseError

from scanroute.capture.event import ScanEvent, decode_event
from scanroute.storage.scans import ScanWriter

log = logging.getLogger("scanroute.stream")
GROUP = "store"
CLAIM_IDLE_MS = 30_000
MAXLEN = 5_000_000


class StoreSink:
    """Delivers drained events straight to the store (embedded mode, and the Redis fallback)."""

    def __init__(self, writer: ScanWriter) -> None:
        self.writer = writer

    def deliver(self, lines: Sequence[bytes], events: list[ScanEvent]) -> int:
        """Write the events; returns how many were new."""
        del lines
        return self.writer.write(events)


class StreamSink:
    """Ships drained lines to the Redis Stream; falls back to the store when Redis fails."""

    def __init__(self, client: redis.Redis, stream: str, fallback: StoreSink) -> None:
        self.client = client
        self.stream = stream
        self.fallback = fallback

    def deliver(self, lines: Sequence[bytes], events: list[ScanEvent]) -> int:
        """XADD every line (one pipeline); on a Redis error write to the store directly."""
        try:
            pipe = self.client.pipeline(transaction=False)
            for line in lines:
                pipe.xadd(self.stream, {"e": line}, maxlen=MAXLEN, approximate=True)
            pipe.execute()
        except RedisError as exc:
            log.warning("redis unreachable (%s): writing %d scans straight to the store", exc, len(events))
            return self.fallback.deliver(lines, events)
        return 0


class StreamConsumer:
    """One consumer of the group: stream → store, acknowledging after the commit."""

    def __init__(
        self,
        client: redis.Redis,
        stream: str,
        name: str,
        writer: ScanWriter,
        *,
        batch: int = 1000,
        on_stored: Callable[[list[ScanEvent]], None] | None = None,
    ) -> None:
        self.client = client
        self.stream = stream
        self.name = name
        self.writer = writer
        self.batch = batch
        self.on_stored = on_stored
        self._group_ready = False

    def ensure_group(self) -> None:
        """Create the consumer group (and the stream) if needed."""
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def consume_once(self, block_ms: int | None = 200) -> int:
        """Claim stale entries, read new ones, store them, acknowledge. Returns entries handled."""
        self.ensure_group()
        entries: list[tuple[bytes, dict[bytes, bytes]]] = []
        claimed = self.client.xautoclaim(
            self.stream, GROUP, self.name, CLAIM_IDLE_MS, "0-0", count=self.batch
        )
        entries.extend(claimed[1] if len(claimed) > 1 else [])
        if len(entries) < self.batch:
            read: Any = self.client.xreadgroup(
                GROUP,
                self.name,
                {self.stream: ">"},
                count=self.batch - len(entries),
                block=block_ms if not entries else None,
            )
            for _stream, items in read or []:
                entries.extend(items)
        if not entries:
            return 0
        events = []
        for _id, fields in entries:
            try:
                events.append(decode_event(fields[b"e"]))
            except (KeyError, msgspec.DecodeError):
                log.error("skipping an unreadable stream entry %r", _id)
        stored = self.writer.write(events)
        self.client.xack(self.stream, GROUP, *[i for i, _ in entries])
        if self.on_stored is not None and stored:
            self.on_stored(events)
        return len(entries)

    def pending(self) -> int:
        """Entries delivered to some consumer but not acknowledged yet."""
        self.ensure_group()
        info: Any = self.client.xpending(self.stream, GROUP)
        return int(info["pending"])
