"""The scan path of one worker process: its spool, handler and background tasks.

Started by the edge on ASGI lifespan start-up (so each worker process gets its own spool) and
stopped on shutdown. With ``SCANROUTE_DRAINER=process`` (what ``scanroute serve`` sets) the
worker only appends to its spool: the drainer process stores the scans, and ``StoredTail``
follows its checkpoint for the live feed and the metrics. Otherwise a drainer task of the worker
stores them and drains what is left on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from redis import Redis as SyncRedis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from scanroute.capture.bots import BotDetector
from scanroute.capture.context import ContextBuilder
from scanroute.capture.drainer import Drainer
from scanroute.capture.geo import GeoLocator
from scanroute.capture.privacy import SaltRing, utc_day
from scanroute.capture.spool import Spool, worker_spool_dir
from scanroute.capture.stream import StoreSink, StreamConsumer, StreamSink
from scanroute.capture.tail import StoredTail
from scanroute.capture.useragent import AgentParser
from scanroute.native import scanpath
from scanroute.observability import metrics
from scanroute.redirect.cache import RouteCache
from scanroute.redirect.counters import Counters, MemoryCounters
from scanroute.redirect.handler import ScanHandler
from scanroute.redirect.redis_counters import RedisCounters
from scanroute.settings import Settings
from scanroute.storage import routes as store
from scanroute.storage.db import Database
from scanroute.storage.scans import ScanWriter

log = logging.getLogger("scanroute.runtime")
POLL_INTERVAL = 1.0
TAIL_INTERVAL = 0.5
SALT_INTERVAL = 600.0


class ScanRuntime:
    """Owns the per-worker scan path objects and their periodic tasks."""

    def __init__(self, settings: Settings, db: Database, counters: Counters | None = None) -> None:
        self.settings = settings
        self.db = db
        self.contexts = ContextBuilder(
            settings.trusted_proxies,
            AgentParser(settings.agent_cache_size),
            BotDetector(settings.extra_bot_patterns, settings.agent_cache_size),
            GeoLocator(str(settings.geoip_mmdb) if settings.geoip_mmdb else None),
            opt_out_param=settings.opt_out_param,
            excluded_networks=settings.excluded_networks,
        )
        self.salts = SaltRing(loader=self._load_salt, creator=self._create_salt)
        self.cache = RouteCache(
            db, size=settings.route_cache_size, snapshot=settings.data_dir / "routes-snapshot.json"
        )
        self.spool_root = settings.data_dir / "spool"
        self.spool = Spool(worker_spool_dir(self.spool_root), fsync_interval=settings.spool_fsync_interval)
        writer = ScanWriter(db)
        self.redis: SyncRedis | None = None
        self.aredis: AsyncRedis | None = None
        self.consumer: StreamConsumer | None = None
        sink: StoreSink | StreamSink = StoreSink(writer)
        if settings.redis_url:
            prefix = settings.redis_prefix
            self.redis = SyncRedis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
            self.aredis = AsyncRedis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
            counters = counters or RedisCounters(self.aredis, db, prefix)
            sink = StreamSink(self.redis, f"{prefix}:scans", StoreSink(writer))
            if settings.drainer == "worker":
                self.consumer = StreamConsumer(self.redis, f"{prefix}:scans", self.spool.dir.name, writer)
        self.counters = counters or MemoryCounters(db)
        self.handler = ScanHandler(self.cache, self.counters, self.salts, self.spool)
        self.fast_scan = self._fast_scan()
        self.own_drainer: Drainer | None = None
        self.tail: StoredTail | None = None
        self.drainer: Drainer | StoredTail  # what the live feed hooks onto (``on_stored``)
        if settings.drainer == "process":
            self.tail = StoredTail(
                self.spool, active=not settings.redis_url, max_bytes=settings.spool_max_bytes
            )
            self.drainer = self.tail
        else:
            self.own_drainer = self.drainer = Drainer(
                self.spool,
                sink,
                root=self.spool_root,
                batch=settings.drain_batch,
                interval=settings.drain_interval,
                max_bytes=settings.spool_max_bytes,
            )
        self._tasks: list[asyncio.Task[Any]] = []

    @property
    def channel(self) -> str:
        """Pub/sub channel of code changes."""
        return f"{self.settings.redis_prefix}:codes"

    def _fast_scan(self) -> Callable[[dict[str, Any], bool], Any] | None:
        """The compiled first step of a scan (``scanpath.ScanPath.scan``): context, route and,
        for a code with a plan (``Route.plan``, ``Route.routed_plan``), the whole answer;
        ``None`` without the compiled scan path."""
        context, plain = self.contexts.compiled, self.handler.compiled
        if scanpath is None or context is None or plain is None:
            return None
        return scanpath.ScanPath(
            context=context, plain=plain, routes=self.cache.routes, hits=metrics.cache_hits.unlabelled
        ).scan

    def publish_change(self, slug: str) -> None:
        """Tell every worker a code changed (best effort: the change-log poll is the backstop)."""
        self.cache.invalidate([slug])
        if self.redis is not None:
            try:
                self.redis.publish(self.channel, slug)
            except RedisError as exc:
                log.warning("could not publish a code change (workers poll the change log): %s", exc)

    # -- salts ----------------------------------------------------------------------------------

    def _load_salt(self, day: Any) -> bytes | None:
        try:
            with self.db.read() as conn:
                return store.ensure_salts(conn, []).get(day)
        except Exception:  # noqa: BLE001 - store down: the creator falls back to a process salt
            return None

    def _create_salt(self, day: Any, fresh: bytes) -> bytes:
        try:
            with self.db.write() as conn:
                return store.ensure_salts(conn, [day])[day]
        except Exception:  # noqa: BLE001 - until refresh_salts() reaches the store again
            log.warning("store unreachable: hashing visitors with a temporary salt for %s", day)
            return fresh

    def refresh_salts(self) -> None:
        """Make sure today's and tomorrow's salts exist, load them, destroy ones older than 48 h."""
        today = utc_day()
        with self.db.write() as conn:
            kept = store.ensure_salts(conn, [today, today + timedelta(days=1)])
            store.delete_salts_before(conn, today - timedelta(days=1))
        for day, salt in kept.items():
            if day >= today - timedelta(days=1):
                self.salts.put(day, salt)

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Replay leftovers, then start draining, polling and snapshotting."""
        try:
            await asyncio.to_thread(self.refresh_salts)
            if self.own_drainer is not None:
                await asyncio.to_thread(self.own_drainer.adopt_orphans)
            await asyncio.to_thread(self.cache.poll_changes)
            await asyncio.to_thread(self.cache.write_snapshot)
        except Exception as exc:  # noqa: BLE001 - the store may be down: serve from cache and spool
            log.warning("store unreachable at start-up (serving from the snapshot): %s", exc)
        self._tasks = [
            asyncio.create_task(self._every(POLL_INTERVAL, self.cache.poll_changes), name="route-poll"),
            asyncio.create_task(
                self._every(self.settings.snapshot_interval, self.cache.write_snapshot), name="snapshot"
            ),
            asyncio.create_task(self._every(SALT_INTERVAL, self.refresh_salts), name="salts"),
        ]
        if self.own_drainer is not None:
            self._tasks.append(asyncio.create_task(self.own_drainer.run(), name="drainer"))
        if self.tail is not None:
            tail = self.tail
            self._tasks.append(asyncio.create_task(self._every(TAIL_INTERVAL, tail.poll), name="tail"))
            self._tasks.append(asyncio.create_task(self._every(POLL_INTERVAL, tail.mirror), name="mirror"))
        if self.consumer is not None:
            self._tasks.append(asyncio.create_task(self._consume(), name="stream-consumer"))
        if self.aredis is not None:
            self._tasks.append(asyncio.create_task(self._listen(), name="invalidations"))

    async def _consume(self) -> None:
        assert self.consumer is not None
        consumer = self.consumer
        while True:
            try:
                if not await asyncio.to_thread(consumer.consume_once, 500):
                    await asyncio.sleep(0.05)
            except Exception as exc:  # noqa: BLE001 - redis or store down: entries stay pending
                log.warning("stream consumer: %s", exc)
                await asyncio.sleep(1.0)

    async def _listen(self) -> None:
        assert self.aredis is not None
        while True:
            try:
                pubsub = self.aredis.pubsub()
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.cache.invalidate([message["data"].decode()])
            except Exception as exc:  # noqa: BLE001 - reconnect; the change-log poll covers the gap
                log.warning("code-change subscription lost: %s", exc)
                await asyncio.sleep(1.0)

    async def _every(self, seconds: float, job: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await asyncio.to_thread(job)
            except Exception as exc:  # noqa: BLE001 - keep the loop alive while the store is down
                log.debug("%s failed: %s", getattr(job, "__name__", job), exc)

    async def stop(self) -> None:
        """Cancel periodic tasks, drain the spool (unless the drainer process does), close it."""
        for task in self._tasks:
            if task.get_name() != "drainer":
                task.cancel()
        if self.own_drainer is not None:
            await self.own_drainer.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.spool.close()
        if self.aredis is not None:
            await self.aredis.aclose()
        if self.redis is not None:
            self.redis.close()
