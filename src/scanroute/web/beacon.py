"""Landing beacon ``/t`` (and its script ``/t.js``) and conversion pixel ``/c``, as bare ASGI.

- ``GET /t.js``: a tiny script (no external requests) the destination page includes. It reads
  ``sr_sid`` from the page URL, keeps it in a first-party cookie ``sr_sid`` of the destination
  site (SameSite=Lax, 30 days, path /), reports ``arrived`` with ``navigator.sendBeacon``, then
  ``engaged`` (seconds visible, once past 10 s) and exposes ``window.scanroute.step(name, value)``
  for named steps (``form_started`` …). We set no cookie of our own: no third-party cookie.
- ``POST /t`` (``text/plain`` body ``sid=…&k=…&v=…``, or the same as a query): validated here
  (malformed → 400), answered 204 at once, and written in batches off the event loop. A scan id
  that is not stored is retried while it is recent (the drainer may not have stored the scan
  yet), then dropped silently: the answer never says whether a scan exists.
- ``GET``/``POST /c``: the signed pixel (``attribution.pixel``): 200 with a 1×1 GIF (GET) or 204
  (POST) when recorded; 403 without a body for a missing or forged signature; 4xx for bad input.

CORS: ``Access-Control-Allow-Origin: *`` without credentials; a per-client-address token bucket
in memory answers 429 past ``RATE``/s (burst ``BURST``) for ``/t`` and ``PIXEL_RATE``/s (burst
``PIXEL_BURST``) for ``/c``, per worker process.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from scanroute.bootstrap import Container
from scanroute.capture.privacy import NetworkSet, parse_ip
from scanroute.storage.beacons import Hit, write_hits
from scanroute.web.beacon_script import SCRIPT
from scanroute.web.ops import respond
from scanroute.web.pixel import PIXEL_GIF, Pixel

log = logging.getLogger("scanroute.beacon")
SCAN_ID = re.compile(r"^[0-9a-v]{24}$")
KIND = re.compile(r"^[a-z0-9_.-]{1,40}$")
MAX_BODY = 2_048
MAX_VALUE = 10_000_000.0
RATE = 10.0  # beacon requests per second and client address
BURST = 60.0
PIXEL_RATE = 50.0  # pixel requests (server-to-server calls come from few addresses)
PIXEL_BURST = 200.0
FLUSH_EVERY = 0.5
MAX_QUEUE = 100_000
CORS = [(b"access-control-allow-origin", b"*")]
PREFLIGHT = [
    *CORS,
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"content-type"),
    (b"access-control-max-age", b"86400"),
]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Per-key token buckets in memory (one worker's view; pruned when large)."""

    def __init__(self, rate: float = RATE, burst: float = BURST, max_keys: int = 100_000) -> None:
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self.buckets: dict[str, _Bucket] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        """Take one token for ``key``; ``False`` when its bucket is empty."""
        now = time.monotonic() if now is None else now
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self._prune(now)
            bucket = self.buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def _prune(self, now: float) -> None:
        full = [k for k, b in self.buckets.items() if b.tokens + (now - b.at) * self.rate >= self.burst]
        for key in full or list(self.buckets)[: self.max_keys // 2]:
            del self.buckets[key]


class Beacon:
    """Answers ``/t`` (landing beacon and its script) and ``/c`` (signed conversion pixel)."""

    paths = frozenset({"/t", "/t.js", "/c"})

    def __init__(self, container: Container) -> None:
        self.container = container
        self.trusted = NetworkSet.parse(container.settings.trusted_proxies)
        self.limiter = RateLimiter()
        self.pixel_limiter = RateLimiter(PIXEL_RATE, PIXEL_BURST)
        self.pixel = Pixel(container)
        self.queue: list[Hit] = []
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path, method = scope["path"], scope["method"]
        if method == "OPTIONS":
            await respond(send, 204, b"", b"text/plain", PREFLIGHT)
            return
        if path == "/t.js":
            if method not in ("GET", "HEAD"):
                await respond(send, 405, b"", b"text/plain", [(b"allow", b"GET, HEAD")])
                return
            extra = [*CORS, (b"cache-control", b"public, max-age=3600")]
            await _send(
                send, 200, SCRIPT, b"application/javascript; charset=utf-8", extra, head=method == "HEAD"
            )
            return
        if method not in ("GET", "POST"):
            await respond(send, 405, b"", b"text/plain", [(b"allow", b"GET, POST, OPTIONS")])
            return
        limiter = self.limiter if path == "/t" else self.pixel_limiter
        if not limiter.allow(self._client(scope)):
            await respond(send, 429, b"", b"text/plain", [*CORS, (b"retry-after", b"1")])
            return
        body: bytes | None = b""
        if method == "POST":
            body = await _body(receive)
        if body is None:
            await respond(send, 413, b"", b"text/plain", CORS)
            return
        params = _params(scope.get("query_string", b""), body)
        if path == "/t":
            status = self._beacon(params)
            await respond(send, status, b"", b"text/plain", CORS)
            return
        status = 400 if params is None else await asyncio.to_thread(self.pixel.record, params)
        if status == 200 and method == "GET":
            await respond(send, 200, PIXEL_GIF, b"image/gif", CORS)
        else:
            await respond(send, 204 if status == 200 else status, b"", b"text/plain", CORS)

    # -- beacon -----------------------------------------------------------------------------------

    def _beacon(self, params: list[tuple[str, str]] | None) -> int:
        if params is None:
            return 400
        fields = dict(params)
        sid, kind, raw = fields.get("sid", ""), fields.get("k", "arrived"), fields.get("v")
        if not SCAN_ID.match(sid) or not KIND.match(kind):
            return 400
        value = None
        if raw:
            try:
                value = float(raw)
            except ValueError:
                return 400
            if not math.isfinite(value) or not 0 <= value <= MAX_VALUE:
                return 400
        if len(self.queue) < MAX_QUEUE:
            self.queue.append(Hit(sid, kind, value, datetime.now(UTC)))
            self._ensure_flusher()
        return 204

    def _ensure_flusher(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="beacon-flush")

    async def _run(self) -> None:
        while self.queue:
            await asyncio.sleep(FLUSH_EVERY)
            await self.flush()

    async def flush(self) -> None:
        """Write the queued hits now (off the event loop); recent unknown scans stay queued."""
        batch, self.queue = self.queue, []
        if not batch:
            return
        try:
            retry = await asyncio.to_thread(write_hits, self.container.db, batch)
        except Exception:  # the store is down: keep the hits for the next round
            log.warning("could not store %d beacon hits; will retry", len(batch), exc_info=True)
            retry = batch
        self.queue[:0] = retry[: MAX_QUEUE - len(self.queue)]

    async def stop(self) -> None:
        """Flush what is queued and stop the background writer."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        await self.flush()

    def _client(self, scope: dict[str, Any]) -> str:
        client = scope.get("client")
        host = client[0] if isinstance(client, list | tuple) and client else ""
        peer = parse_ip(host) if isinstance(host, str) and host else None
        if peer is None or peer not in self.trusted:
            return str(peer or host)
        for header, value in scope.get("headers", ()):
            if header == b"x-forwarded-for":
                for raw in reversed(value.decode("latin-1").split(",")):
                    addr = parse_ip(raw.strip())
                    if addr is None:
                        break
                    if addr not in self.trusted:
                        return str(addr)
        return str(peer)


def _params(query: bytes, body: bytes) -> list[tuple[str, str]] | None:
    """Query and body parameters (``a=b&c=d``), or ``None`` when they cannot be read."""
    try:
        text = "&".join(part for part in (query.decode("ascii"), body.decode("utf-8")) if part)
        return parse_qsl(text, keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None


async def _body(receive: Any) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(
    send: Any, status: int, body: bytes, kind: bytes, extra: list[tuple[bytes, bytes]], *, head: bool
) -> None:
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
