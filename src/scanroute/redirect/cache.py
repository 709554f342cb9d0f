"""The route cache: compiled codes in a bounded LRU, invalidated through the code-change log.

Lookups are memory-only and synchronous; a miss is loaded from the store (in a thread). When the
store is unreachable the cache keeps serving what it holds, and falls back to the last-known-good
snapshot on disk, which a background task rewrites whenever codes change, so that a worker
restarted during an outage still redirects.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal

import orjson

from scanroute.observability import metrics
from scanroute.redirect.route import Route
from scanroute.storage import routes as store
from scanroute.storage.db import Database

log = logging.getLogger("scanroute.routes")
NEGATIVE_TTL = 5.0


class StoreUnavailable(Exception):
    """The store could not be reached and the snapshot does not know the slug."""


class RouteCache:
    """Bounded LRU of ``Route`` by slug, with negative entries for unknown slugs."""

    def __init__(self, db: Database, *, size: int, snapshot: Path | None) -> None:
        self.db = db
        self.size = size
        self.snapshot_path = snapshot
        self._routes: OrderedDict[str, Route] = OrderedDict()
        self._unknown: dict[str, float] = {}
        self._lock = threading.Lock()
        self._last_change = -1
        self._snapshot_change = -1
        self._snapshot: dict[str, dict[str, Any]] | None = None
        self._snapshot_lock = threading.Lock()  # loads run in threads: one reads the file

    # -- hot path ---------------------------------------------------------------------------

    @property
    def routes(self) -> OrderedDict[str, Route]:
        """The cached routes by slug, most recently used last: for the compiled scan path
        (``scanpath.ScanPath``), which looks routes up and marks its hits as :meth:`get` does."""
        return self._routes

    def get(self, slug: str) -> Route | Literal[False] | None:
        """The cached route, ``None`` when known not to exist, ``False`` when not cached."""
        route = self._routes.get(slug)
        if route is not None:
            metrics.cache_hits.inc()
            try:  # noqa: SIM105 - cheaper than a context manager on every hit
                self._routes.move_to_end(slug)
            except KeyError:  # evicted by another thread meanwhile
                pass
            return route
        expiry = self._unknown.get(slug)
        if expiry is not None:
            if expiry > time.monotonic():
                metrics.cache_hits.inc()
                return None
            self._unknown.pop(slug, None)
        return False

    def load(self, slug: str) -> Route | None:
        """Load from the store (blocking: call in a thread); snapshot when the store is down."""
        metrics.cache_misses.inc()
        try:
            with self.db.read() as conn:
                rec = store.route_record(conn, slug)
        except Exception as exc:
            rec = self._from_snapshot(slug)
            if rec is None:
                raise StoreUnavailable(slug) from exc
            metrics.cache_stale.inc()
        with self._lock:
            if rec is None:
                self._unknown[slug] = time.monotonic() + NEGATIVE_TTL
                return None
            route = Route.from_record(rec)
            self._routes[slug] = route
            self._routes.move_to_end(slug)
            while len(self._routes) > self.size:
                self._routes.popitem(last=False)
            return route

    # -- invalidation -------------------------------------------------------------------------

    def invalidate(self, slugs: set[str] | list[str]) -> None:
        """Forget these slugs (positive and negative entries)."""
        with self._lock:
            for slug in slugs:
                self._routes.pop(slug, None)
                self._unknown.pop(slug, None)

    def poll_changes(self) -> int:
        """Evict codes changed since the last poll (blocking). Returns how many slugs changed."""
        with self.db.read() as conn:
            if self._last_change < 0:
                self._last_change = store.last_change(conn)
                return 0
            newest, slugs = store.changes_since(conn, self._last_change)
        self._last_change = newest
        if slugs:
            self.invalidate(slugs)
        return len(slugs)

    # -- last-known-good snapshot ---------------------------------------------------------------

    def write_snapshot(self) -> bool:
        """Dump every code's record to disk if codes changed since the last dump (blocking)."""
        if self.snapshot_path is None:
            return False
        with self.db.read() as conn:
            change = store.last_change(conn)
            if change == self._snapshot_change and self.snapshot_path.exists():
                return False
            records = store.all_route_records(conn)
        payload = orjson.dumps({"change": change, "routes": records}, default=str)
        tmp = self.snapshot_path.with_name(f"{self.snapshot_path.name}.{os.getpid()}.tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(payload)
        os.replace(tmp, self.snapshot_path)
        self._snapshot_change = change
        self._snapshot = None
        return True

    def _from_snapshot(self, slug: str) -> dict[str, Any] | None:
        snapshot = self._snapshot
        if snapshot is None:
            with self._snapshot_lock:  # concurrent loads must not see a half-read snapshot
                snapshot = self._snapshot
                if snapshot is None:
                    snapshot = self._read_snapshot()
                    self._snapshot = snapshot
        return snapshot.get(slug)

    def _read_snapshot(self) -> dict[str, dict[str, Any]]:
        if self.snapshot_path is None or not self.snapshot_path.exists():
            return {}
        try:
            data = orjson.loads(self.snapshot_path.read_bytes())
            routes = {r["slug"]: r for r in data["routes"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("cannot read the route snapshot %s: %s", self.snapshot_path, exc)
            return {}
        log.warning("store unreachable: serving routes from the snapshot of change %s", data.get("change"))
        return routes
