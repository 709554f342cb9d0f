"""Routing counters: a visitor's earlier scans of a code, and uses of each offer cap.

``MemoryCounters`` (embedded mode) keeps them in this process, loaded from the store the first
time a code needs them; every scan after that is a dictionary read and an increment, and the
drainer writes the same increments to the store through the scan events. With several workers
and no Redis each worker counts its own increments on top of what the store held when it loaded
the code, so caps may overshoot by a few scans per worker; ``RedisCounters`` (scale-out) shares
exact counts between all workers.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from scanroute.redirect.route import Route
from scanroute.storage import routes as store
from scanroute.storage.db import Database

LIMIT_KEY = "limit"
HISTORY_SIZE = 200_000
HISTORY_WINDOW = timedelta(hours=49)  # a visitor hash lives one day, plus yesterday's for continuity


class Counters(Protocol):
    """What the scan handler needs to know and to count."""

    async def prior_scans(self, route: Route, today: str, yesterday: str | None) -> int:
        """Earlier scans of the code by this visitor (today's and yesterday's hash)."""

    async def caps(self, route: Route) -> Mapping[str, int]:
        """Uses so far of each cap key of the code (and of ``limit``)."""

    async def record(self, route: Route, visitor: str | None, cap_keys: Sequence[str]) -> None:
        """Count one human scan: the visitor's history and each cap it consumed."""

    def known(self, route: Route, today: str | None, yesterday: str | None) -> Known | None:
        """``(prior_scans, caps)`` without waiting when both are at hand (``today``: ``None``
        when the history is not needed), else ``None``: the caller awaits the methods above."""

    def record_now(self, route: Route, visitor: str | None, cap_keys: Sequence[str]) -> None:
        """``record`` without waiting; only after ``known`` answered for the scan."""


Known = tuple[int, Mapping[str, int]]
_NO_CAPS: Mapping[str, int] = {}


class MemoryCounters:
    """In-process counters, loaded per code from the store (blocking loads run in a thread)."""

    def __init__(self, db: Database, *, history_size: int = HISTORY_SIZE) -> None:
        self.db = db
        self.history_size = history_size
        self._history: OrderedDict[tuple[int, str], int] = OrderedDict()
        self._loaded: set[int] = set()
        self._caps: dict[int, dict[str, int]] = {}

    def state(self) -> tuple[OrderedDict[tuple[int, str], int], set[int], dict[int, dict[str, int]]]:
        """The counts themselves, for the compiled scan path to read and update in place (as
        ``known`` and ``record_now`` do; ``PlainScan.set_counters``): the visitor history, the
        codes whose history is loaded, and the cap uses per code. They are never replaced."""
        return self._history, self._loaded, self._caps

    async def prior_scans(self, route: Route, today: str, yesterday: str | None) -> int:
        """Today's plus yesterday's count for this visitor (memory only once the code is loaded)."""
        if route.code_id not in self._loaded:
            await self._load(route.code_id)
        return self._prior(route.code_id, today, yesterday)

    def _prior(self, code_id: int, today: str, yesterday: str | None) -> int:
        history = self._history
        count = history.get((code_id, today), 0)
        if yesterday is not None:
            count += history.get((code_id, yesterday), 0)
        return count

    async def _load(self, code_id: int) -> None:
        since = datetime.now(UTC) - HISTORY_WINDOW
        try:
            rows = await asyncio.to_thread(self._stored_visitors, code_id, since)
        except Exception:  # noqa: BLE001 - store down: count from here on, load again next scan
            return
        if code_id in self._loaded:
            return
        for visitor, scans in rows:
            key = (code_id, visitor)
            self._remember(key, max(scans, self._history.get(key, 0)))
        self._loaded.add(code_id)

    def _stored_visitors(self, code_id: int, since: datetime) -> list[tuple[str, int]]:
        with self.db.read() as conn:
            return store.recent_visitors(conn, code_id, since)

    def _remember(self, key: tuple[int, str], count: int) -> None:
        self._history[key] = count
        self._history.move_to_end(key)
        while len(self._history) > self.history_size:
            self._history.popitem(last=False)

    async def caps(self, route: Route) -> Mapping[str, int]:
        """Cap uses, loaded once per process from the store."""
        counts = self._caps.get(route.code_id)
        if counts is None:
            try:
                seeded = await asyncio.to_thread(self._stored_caps, route.code_id)
            except Exception:  # noqa: BLE001 - store down: do not remember an empty seed
                return {}
            counts = self._caps.setdefault(route.code_id, seeded)
        return counts

    def _stored_caps(self, code_id: int) -> dict[str, int]:
        with self.db.read() as conn:
            return store.cap_counts(conn, code_id)

    def known(self, route: Route, today: str | None, yesterday: str | None) -> Known | None:
        """Counts from memory once the code's history (if ``today`` is given) and caps (if it
        has caps or a scan limit) are loaded; ``None`` until then."""
        code_id = route.code_id
        prior = 0
        if today is not None:
            if code_id not in self._loaded:
                return None
            prior = self._prior(code_id, today, yesterday)
        caps = _NO_CAPS
        if route.has_caps or route.scan_limit:
            loaded = self._caps.get(code_id)
            if loaded is None:
                return None
            caps = loaded
        return prior, caps

    async def record(self, route: Route, visitor: str | None, cap_keys: Sequence[str]) -> None:
        """Increment in memory (the scan event carries the same increments to the store)."""
        self.record_now(route, visitor, cap_keys)

    def record_now(self, route: Route, visitor: str | None, cap_keys: Sequence[str]) -> None:
        """``record``: nothing here waits."""
        if visitor is not None and route.needs_history:
            key = (route.code_id, visitor)
            self._remember(key, self._history.get(key, 0) + 1)
        if cap_keys:
            counts = self._caps.setdefault(route.code_id, {})
            for cap in cap_keys:
                counts[cap] = counts.get(cap, 0) + 1
