"""The live feed: a workspace's new scans and conversions, fanned out to server-sent-event clients.

Scans enter after they are stored (the drainer's and the stream consumer's ``on_stored`` hook);
conversions through ``publish_conversion``. In embedded mode the hub fans out in-process. With
Redis, every message is published on ``{prefix}:live:{workspace_id}`` and every worker's hub
listens on ``{prefix}:live:*``, so a client sees events whichever worker stored them. Delivery is
best effort: a slow client's queue drops its oldest events (it is told how many) rather than
holding anything up.

Payloads never carry the visitor hash or the network address; bots are flagged (``bot``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from redis import Redis as SyncRedis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from scanroute.capture.event import ScanEvent

log = logging.getLogger("scanroute.live")
QUEUE_SIZE = 1000
SEEN_SIZE = 20_000
CONVERSION_FIELDS = (
    "id", "scan_id", "type", "value", "value_minor", "currency", "value_reporting_minor",
    "occurred_at", "code_id", "campaign_id", "placement_id", "creative", "source",
)  # fmt: skip


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def scan_payload(e: ScanEvent) -> dict[str, Any]:
    """What the feed shows of a scan."""
    return {
        "id": e.id,
        "ts": datetime.fromtimestamp(e.ts / 1_000_000, UTC).isoformat(),
        "slug": e.slug,
        "code_id": e.code,
        "outcome": e.outcome,
        "campaign_id": e.campaign,
        "placement_id": e.placement,
        "variant": e.variant,
        "device": e.device,
        "os": e.os,
        "browser": e.browser,
        "country": e.country,
        "region": e.region,
        "city": e.city,
        "returning": e.returning,
        "bot": e.bot,
        "bot_kind": e.bot_kind,
    }


class Subscription:
    """One client's queue of messages for one workspace."""

    def __init__(self, hub: LiveHub, workspace_id: int, size: int = QUEUE_SIZE) -> None:
        self.hub = hub
        self.workspace_id = workspace_id
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    def offer(self, message: dict[str, Any]) -> None:
        """Queue a message, dropping the oldest when full (called on the hub's loop)."""
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
                self.dropped += 1
        self.queue.put_nowait(message)

    async def get(self, timeout: float) -> dict[str, Any] | None:
        """The next message, or ``None`` after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        """Stop receiving."""
        self.hub.unsubscribe(self)


class LiveHub:
    """Publishes and fans out live events (thread-safe publishing; subscribers on one loop)."""

    def __init__(self, redis_url: str | None = None, prefix: str = "scanroute") -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self._subs: dict[int, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._publisher: SyncRedis | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.listening = asyncio.Event()

    def channel(self, workspace_id: int) -> str:
        """The Redis channel of a workspace."""
        return f"{self.prefix}:live:{workspace_id}"

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind to the running loop; with Redis, start listening to every workspace's channel."""
        self._loop = asyncio.get_running_loop()
        if self.redis_url and self._task is None:
            self._task = asyncio.create_task(self._listen(), name="live-feed")
        else:
            self.listening.set()

    async def stop(self) -> None:
        """Stop listening and close connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None

    async def _listen(self) -> None:
        assert self.redis_url is not None
        pattern = f"{self.prefix}:live:*"
        while True:
            client = AsyncRedis.from_url(self.redis_url, socket_connect_timeout=2)
            try:
                pubsub = client.pubsub()
                await pubsub.psubscribe(pattern)
                self.listening.set()
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    try:
                        workspace_id = int(message["channel"].decode().rsplit(":", 1)[1])
                        self._deliver(workspace_id, orjson.loads(message["data"]))
                    except (ValueError, IndexError, orjson.JSONDecodeError):
                        log.warning("ignoring a malformed live message on %r", message.get("channel"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect; live delivery is best effort
                self.listening.clear()
                log.warning("live feed subscription lost: %s", exc)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    # -- subscribers ----------------------------------------------------------------------------

    def subscribe(self, workspace_id: int) -> Subscription:
        """A new subscription (call on the hub's loop)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        sub = Subscription(self, workspace_id)
        self._subs.setdefault(workspace_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Remove a subscription."""
        subs = self._subs.get(sub.workspace_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.workspace_id]

    def subscribers(self, workspace_id: int | None = None) -> int:
        """How many clients listen (to one workspace, or in total)."""
        if workspace_id is not None:
            return len(self._subs.get(workspace_id, ()))
        return sum(len(s) for s in self._subs.values())

    def _deliver(self, workspace_id: int, message: dict[str, Any]) -> None:
        for sub in list(self._subs.get(workspace_id, ())):
            sub.offer(message)

    # -- publishing -----------------------------------------------------------------------------

    def publish(self, workspace_id: int, event: str, data: Mapping[str, Any]) -> None:
        """Send an event to the workspace's listeners (from any thread; never raises)."""
        self._publish_many([(workspace_id, event, data)])

    def _publish_many(self, items: list[tuple[int, str, Mapping[str, Any]]]) -> None:
        if not items:
            return
        try:
            messages = [
                (
                    ws,
                    orjson.dumps(
                        {"event": event, "id": str(data.get("id", "")), "data": dict(data)}, default=_default
                    ),
                )
                for ws, event, data in items
            ]
        except TypeError as exc:
            log.warning("live event not serialisable, dropped: %s", exc)
            return
        if self.redis_url:
            try:
                if self._publisher is None:
                    self._publisher = SyncRedis.from_url(
                        self.redis_url, socket_timeout=2, socket_connect_timeout=2
                    )
                pipe = self._publisher.pipeline(transaction=False)
                for ws, raw in messages:
                    pipe.publish(self.channel(ws), raw)
                pipe.execute()
                return
            except (RedisError, OSError) as exc:
                log.warning("live events not published to redis (delivered locally only): %s", exc)
        loop = self._loop
        if loop is None or loop.is_closed() or not self._subs:
            return
        decoded = [(ws, orjson.loads(raw)) for ws, raw in messages]
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(self._deliver_many, decoded)

    def _deliver_many(self, messages: list[tuple[int, dict[str, Any]]]) -> None:
        for ws, message in messages:
            self._deliver(ws, message)

    def publish_scans(self, events: list[ScanEvent]) -> None:
        """The ``on_stored`` hook: publish scans not published before (replays are skipped)."""
        if not self.redis_url and not self._subs:
            return  # embedded mode and nobody listening: nothing to do
        with self._lock:
            fresh = [e for e in events if e.id not in self._seen]
            for e in fresh:
                self._seen[e.id] = None
            while len(self._seen) > SEEN_SIZE:
                self._seen.popitem(last=False)
        try:
            self._publish_many([(e.ws, "scan", scan_payload(e)) for e in fresh])
        except Exception:  # never let the live feed break the drainer
            log.exception("live feed: publishing scans failed")

    def publish_conversion(self, workspace_id: int, conversion: Mapping[str, Any]) -> None:
        """Publish a stored conversion (only the fields in ``CONVERSION_FIELDS``)."""
        self.publish(
            workspace_id, "conversion", {k: conversion[k] for k in CONVERSION_FIELDS if k in conversion}
        )
