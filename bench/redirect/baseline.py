"""The floor of the redirect benchmark: a bare ASGI callable that answers every request with one
constant 302.

It does no parsing, no lookup and no I/O, so under the same uvicorn settings it measures what the
server stack alone (uvloop + httptools + ASGI dispatch) costs per request. Its response carries the
same kind of headers as a scanroute redirect so that both send about as many bytes.

Served by ``run.py`` as ``uvicorn --app-dir bench/redirect baseline:app``.

Calibration (``run.py --calibrate``): with ``BASELINE_WORK_US=N`` in its environment the app first
burns N microseconds of the event loop's time in a busy loop, then answers the same 302. That is
the cheapest possible stand-in for N µs of per-request work (no allocations, no I/O), so the
ratio it reaches bounds what any app spending N µs per request can reach under this server.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LOCATION = b"https://example.com/landing?utm_source=qr&utm_medium=poster&sr_sid=0000000000000000000000000"
START: Message = {
    "type": "http.response.start",
    "status": 302,
    "headers": [
        (b"location", LOCATION),
        (b"cache-control", b"no-store"),
        (b"x-robots-tag", b"noindex"),
        (b"referrer-policy", b"no-referrer-when-downgrade"),
        (b"content-length", b"0"),
    ],
}
BODY: Message = {"type": "http.response.body", "body": b""}
WORK_SECONDS = float(os.environ.get("BASELINE_WORK_US", "0") or 0) / 1e6


def burn(seconds: float) -> None:
    """Keep the event loop busy for ``seconds`` (wall clock, the server has its core alone)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every HTTP request with the constant 302; complete the lifespan protocol."""
    if scope["type"] == "http":
        if WORK_SECONDS:
            burn(WORK_SECONDS)
        await send(START)
        await send(BODY)
        return
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
