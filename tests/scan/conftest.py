"""Fixtures for scan-path tests: the full ASGI app with its runtime started, real IPs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from scanroute.bootstrap import Container
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import CodeCreate
from scanroute.storage.schema import scans
from scanroute.web.app import create_app

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SLACKBOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Scanner:
    """Sends scans through the app from chosen client addresses."""

    def __init__(self, app: Any, ctr: Container) -> None:
        self.app = app
        self.ctr = ctr

    async def scan(
        self,
        slug: str,
        *,
        ua: str = DESKTOP,
        lang: str = "en-US,en;q=0.9",
        ip: str = "203.0.113.7",
        method: str = "GET",
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://sr.test") as client:
            hdrs = {"user-agent": ua, **({"accept-language": lang} if lang else {}), **(headers or {})}
            return await client.request(method, f"/{slug}{query}", headers=hdrs)

    def drain(self) -> None:
        runtime = self.app.runtime
        assert runtime is not None
        runtime.drainer.drain_all()

    def stored(self) -> list[dict[str, Any]]:
        self.drain()
        with self.ctr.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(select(scans).order_by(scans.c.ts))]

    def create(self, tenant_id: int, **fields: Any) -> Any:
        return self.ctr.codes.create(
            Principal(workspace_id=tenant_id, role=Role.OWNER), CodeCreate.model_validate(fields)
        )


@pytest.fixture
async def scanner(ctr: Container) -> AsyncIterator[Scanner]:
    app = create_app(ctr)
    await app.start()
    try:
        yield Scanner(app, ctr)
    finally:
        await app.stop()
