"""Routing counters shared by every worker through Redis (scale-out mode).

A visitor's scans of a code live under one key per (code, daily hash), expiring with the hash
(49 h); cap uses live in one hash per code, seeded once from the store. If Redis cannot be
reached, routing goes on with zero counts (a cap may then let a few extra scans through) rather
than failing a redirect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from scanroute.redirect.route import Route
from scanroute.storage import routes as store
from scanroute.storage.db import Database

log = logging.getLogger("scanroute.counters")
HISTORY_TTL = 49 * 3600
SEEDED = "_seeded"


class RedisCounters:
    """Counters in Redis under ``{prefix}:vh:…`` and ``{prefix}:caps:…``."""

    def __init__(self, client: Redis, db: Database, prefix: str) -> None:
        self.client = client
        self.db = db
        self.prefix = prefix

    def _vh(self, code_id: int, visitor: str) -> str:
        return f"{self.prefix}:vh:{code_id}:{visitor}"

    def _caps(self, code_id: int) -> str:
        return f"{self.prefix}:caps:{code_id}"

    async def prior_scans(self, route: Route, today: str, yesterday: str | None) -> int:
        """Today's plus yesterday's count for this visitor and code."""
        keys = [self._vh(route.code_id, today)] + ([self._vh(route.code_id, yesterday)] if yesterday else [])
        try:
            values = await self.client.mget(keys)
        except RedisError as exc:
            log.warning("redis unreachable, visitor history unknown: %s", exc)
            return 0
        return sum(int(v) for v in values if v is not None)

    async def caps(self, route: Route) -> Mapping[str, int]:
        """Cap uses of the code (seeded from the store the first time any worker asks)."""
        key = self._caps(route.code_id)
        try:
            raw = await self.client.hgetall(key)
            if not raw:
                seeded = await asyncio.to_thread(self._stored_caps, route.code_id)
                pipe = self.client.pipeline(transaction=False)
                for cap, used in seeded.items():
                    pipe.hsetnx(key, cap, used)
                pipe.hsetnx(key, SEEDED, 1)
                await pipe.execute()
                raw = await self.client.hgetall(key)
        except (RedisError, OSError) as exc:
            log.warning("redis unreachable, caps unknown: %s", exc)
            return {}
        decoded = {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}
        decoded.pop(SEEDED, None)
        return decoded

    def _stored_caps(self, code_id: int) -> dict[str, int]:
        with self.db.read() as conn:
            return store.cap_counts(conn, code_id)

    def known(self, route: Route, today: str | None, yesterday: str | None) -> None:
        """Never at hand: the counts live in Redis (the handler awaits ``prior_scans``, ``caps``)."""

    def record_now(self, route: Route, visitor: str | None, cap_keys: Sequence[str]) -> None:
        """Not possible without waiting for Redis (``known`` never answers, so never called)."""
        raise RuntimeError("RedisCounters count in Redis: await record()")

    async def record(self, route: Route, visitor: str | None, cap_keys: Sequence[str]) -> None:
        """Count the scan in the shared history and caps."""
        if not ((visitor and route.needs_history) or cap_keys):
            return
        try:
            pipe = self.client.pipeline(transaction=False)
            if visitor and route.needs_history:
                key = self._vh(route.code_id, visitor)
                pipe.incr(key)
                pipe.expire(key, HISTORY_TTL)
            for cap in cap_keys:
                pipe.hincrby(self._caps(route.code_id), cap, 1)
            await pipe.execute()
        except RedisError as exc:
            log.warning("redis unreachable, scan not counted in shared counters: %s", exc)
