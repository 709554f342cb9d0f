"""Operational endpoints as bare ASGI: ``/healthz``, ``/readyz``, ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from scanroute.storage.db import Database

Send = Callable[[dict[str, Any]], Awaitable[None]]


async def respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
    *,
    head: bool = False,
) -> None:
    """Send a complete response with a body."""
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": b"" if head else body})


class Ops:
    """Answers the three operational paths; anything else is not its business."""

    paths = frozenset({"/healthz", "/readyz", "/metrics"})

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, scope: dict[str, Any], send: Send) -> None:
        path, head = scope["path"], scope["method"] == "HEAD"
        if path == "/healthz":
            await respond(send, 200, b'{"status":"ok"}', b"application/json", head=head)
        elif path == "/readyz":
            ok = await asyncio.to_thread(self.db.ping)
            body = b'{"status":"ready"}' if ok else b'{"status":"store unreachable"}'
            await respond(send, 200 if ok else 503, body, b"application/json", head=head)
        else:
            await respond(send, 200, generate_latest(), CONTENT_TYPE_LATEST.encode(), head=head)
