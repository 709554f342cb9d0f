"""The edge: a bare ASGI callable in front of everything.

``GET``/``HEAD /{slug}`` is answered here without any framework (the redirect hot path);
``/healthz``, ``/readyz`` and ``/metrics`` too; every other request goes to the inner app (REST
API, dashboard). Lifespan start-up creates this worker's scan runtime; shutdown drains it.
"""

from __future__ import annotations

import gc
import logging
from time import perf_counter
from typing import Any

from scanroute.bootstrap import Container
from scanroute.capture.coalesce import yield_once
from scanroute.domain.code import RESERVED_SLUGS
from scanroute.jobs import lifespan as background
from scanroute.live import hub_for
from scanroute.observability import metrics
from scanroute.redirect import pages
from scanroute.redirect.handler import html
from scanroute.redirect.runtime import ScanRuntime
from scanroute.web.beacon import Beacon
from scanroute.web.ops import Ops

log = logging.getLogger("scanroute.edge")
GC_THRESHOLD = 20_000  # allocations between young-generation collections (Python's default: 700)
UNAVAILABLE = html(503, pages.UNAVAILABLE, "unavailable", [(b"retry-after", b"5")])


def _settle_heap() -> None:
    """Move everything alive after start-up (parsers' tables, caches, modules) out of the cyclic
    garbage collector's reach and collect young objects less often.

    A scan allocates a few hundred short-lived objects, none of them in reference cycles that
    outlive the request; with the default thresholds the collector ran every few requests and
    its full passes walked the whole start-up heap, stalling the event loop. ``Edge.stop``
    unfreezes it, so that interpreter shutdown still finalises those objects.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)


class Edge:
    """Dispatches scans, operational paths and everything else."""

    def __init__(self, container: Container, inner: Any, *, settle_heap: bool = False) -> None:
        """``settle_heap``: after start-up, freeze the heap for the garbage collector (see
        ``_settle_heap``); for a served worker process, not for an app embedded in tests."""
        self.container = container
        self.inner = inner
        self.ops = Ops(container.db)
        self.beacon = Beacon(container)
        self.runtime: ScanRuntime | None = None
        self._settle_heap = settle_heap
        self._outcomes = {
            o: metrics.redirects.labels(o)
            for o in ("redirect", "app", "paused", "expired", "limit", "not_found", "unavailable", "head")
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope["path"] if kind == "http" else ""
        method: str = scope["method"] if kind == "http" else ""
        if path in Beacon.paths:
            await self.beacon(scope, receive, send)
            return
        if method not in ("GET", "HEAD") or path.count("/") != 1 or len(path) < 2:
            await self.inner(scope, receive, send)  # the API, the dashboard, websockets
            return
        if path in Ops.paths:
            await self.ops(scope, send)
            return
        runtime = self.runtime
        if runtime is None or path[1:].lower() in RESERVED_SLUGS:
            await self.inner(scope, receive, send)
            return

        # The redirect hot path, inline (a coroutine call per scan less): context, answer, the
        # scan's spool line on disk, then the reply.
        started = perf_counter()
        head = method == "HEAD"
        handler = runtime.handler
        try:
            fast = runtime.fast_scan  # compiled: context, route, and (most scans) the whole answer
            scanned = fast(scope, head) if fast is not None else None
            if type(scanned) is tuple:
                reply, line = scanned
            else:  # the scan's context; None: declined by the compiled path (or there is none)
                if scanned is not None:
                    ctx = scanned
                elif fast is not None:
                    ctx = runtime.contexts.build_python(scope)  # not the compiled attempt again
                else:
                    ctx = runtime.contexts.build(scope)
                # nothing to await (most scans); the compiled answer was tried if it made the context
                answered = handler.quick(ctx, head=head, tried=scanned is not None)
                reply, line = answered if answered is not None else await handler.answer(ctx, head=head)
            if line is not None:  # one write per loop iteration, before any of its replies leaves
                batch = handler.appends.add(line)
                await yield_once()
                handler.appends.settle(batch)
        except Exception:  # a scan must never become a 500 with a traceback
            log.exception("scan of %r failed", path)
            reply = UNAVAILABLE
        await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
        await send({"type": "http.response.body", "body": b"" if head else reply.body})
        self._outcomes["head" if head else reply.outcome].value += 1
        metrics.latency.observe(perf_counter() - started)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        """Create and start this worker's scan runtime."""
        self.runtime = ScanRuntime(self.container.settings, self.container.db)
        self.container.codes.on_change = self.runtime.publish_change
        await self.runtime.start()
        await background.start(self.container, self.runtime)  # live feed hub, job scheduler
        if self.runtime.tail is not None:  # the drainer process stores: read back only for watchers
            hub = hub_for(self.container)
            self.runtime.tail.listening = lambda: hub.subscribers() > 0
        if self._settle_heap:
            _settle_heap()

    async def stop(self) -> None:
        """Drain and close the scan runtime."""
        await self.beacon.stop()  # landing-beacon hits still queued in memory
        if self.runtime is not None:
            await self.runtime.stop()
            self.runtime = None
        await background.stop(self.container)
        if self._settle_heap:
            gc.unfreeze()
