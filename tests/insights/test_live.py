"""The live feed through the ASGI app: real scans (a person and a bot) and a conversion arrive as
server-sent events for their own workspace only; with Redis, across workers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from scanroute.bootstrap import Container, build
from scanroute.live import LiveHub, hub_for, publish_conversion
from scanroute.web.app import create_app
from tests.conftest import BASE_URL, Tenant, make_settings
from tests.insights.conftest import make_code

pytestmark = pytest.mark.anyio
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
SLACKBOT = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


def parse(text: str) -> list[dict[str, Any]]:
    """SSE frames with an ``event`` (comments and the retry line skipped)."""
    out = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            if name in ("event", "id", "data"):
                fields[name] = orjson.loads(value) if name == "data" else value
        if "event" in fields:
            out.append(fields)
    return out


async def until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def listen(app: Any, tenant: Tenant, query: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        return await client.get(f"/api/v1/live?{query}", headers=tenant.auth())


async def scan(app: Any, slug: str, ua: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        return await client.get(f"/{slug}", headers={"user-agent": ua, "accept-language": "en"})


async def test_scans_and_conversions_arrive_flagged_and_private(
    ctr: Container, tenant: Tenant, other: Tenant
) -> None:
    code = make_code(ctr, tenant.workspace_id, "live")
    app = create_app(ctr)
    await app.start()
    try:
        hub = hub_for(ctr)
        mine = asyncio.create_task(listen(app, tenant, "max_events=3&timeout=20"))
        humans = asyncio.create_task(listen(app, tenant, "max_events=1&timeout=20&bots=exclude&events=scans"))
        theirs = asyncio.create_task(listen(app, other, "timeout=1.5"))
        await until(
            lambda: hub.subscribers(tenant.workspace_id) == 2 and hub.subscribers(other.workspace_id) == 1
        )
        assert (await scan(app, "live", SLACKBOT)).status_code == 302
        assert (await scan(app, "live", IPHONE)).status_code == 302
        app.runtime.drainer.drain_all()
        app.runtime.drainer.drain_all()  # a replay must not be announced twice
        sale = {"id": 7, "scan_id": "x", "type": "purchase", "value": "12.50", "currency": "EUR"}
        publish_conversion(ctr, tenant.workspace_id, {**sale, "metadata": {"a": 1}})
        responses = await asyncio.wait_for(asyncio.gather(mine, humans, theirs), 25)
    finally:
        await app.stop()
    mine_r, humans_r, theirs_r = responses
    assert mine_r.status_code == 200
    assert mine_r.headers["content-type"].startswith("text/event-stream")
    events = parse(mine_r.text)
    assert [e["event"] for e in events] == ["scan", "scan", "conversion"]
    bot, person = events[0]["data"], events[1]["data"]
    assert (bot["bot"], person["bot"]) == (True, False)
    assert bot["bot_kind"] is not None
    assert person["code_id"] == code
    assert person["os"] == "iOS"
    assert person["slug"] == "live"
    assert events[1]["id"] == person["id"]
    for payload in (bot, person):
        assert not {"visitor", "ip_net", "ip"} & set(payload)
    assert events[2]["data"] == {
        "id": 7,
        "scan_id": "x",
        "type": "purchase",
        "value": "12.50",
        "currency": "EUR",
    }
    assert [e["data"]["bot"] for e in parse(humans_r.text)] == [False]
    assert theirs_r.status_code == 200
    assert parse(theirs_r.text) == []
    assert hub.subscribers() == 0  # every stream cleaned up


async def test_live_needs_a_key_and_valid_options(ctr: Container, tenant: Tenant) -> None:
    app = create_app(ctr)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        assert (await client.get("/api/v1/live")).status_code == 401
        for query, field in (
            ("bots=maybe", "bots"),
            ("max_events=0", "max_events"),
            ("timeout=-1", "timeout"),
        ):
            r = await client.get(f"/api/v1/live?{query}", headers=tenant.auth())
            assert r.status_code == 422
            assert r.headers["content-type"].startswith("application/problem+json")
            assert field in r.json()["detail"]


async def test_a_slow_client_loses_the_oldest_events_not_the_newest() -> None:
    hub = LiveHub()
    await hub.start()
    sub = hub.subscribe(1)
    for i in range(1005):
        hub.publish(1, "scan", {"id": str(i)})
    await until(lambda: sub.queue.qsize() == 1000)
    first = await sub.get(1)
    assert first is not None
    assert first["id"] == "5"
    assert sub.dropped == 5
    sub.close()
    assert hub.subscribers() == 0


@pytest.mark.redis
async def test_redis_mode_reaches_listeners_of_another_worker(
    redis_server: str, redis_prefix: str, tmp_path: Path, sqlite_url: str
) -> None:
    worker_a, worker_b = LiveHub(redis_server, redis_prefix), LiveHub(redis_server, redis_prefix)
    await worker_a.start()
    await worker_b.start()
    try:
        await asyncio.wait_for(worker_b.listening.wait(), 5)
        sub = worker_b.subscribe(42)
        elsewhere = worker_b.subscribe(43)
        ctr = build(
            make_settings(sqlite_url, tmp_path / "data", redis_url=redis_server, redis_prefix=redis_prefix)
        )
        ctr.extras["live"] = worker_a
        publish_conversion(ctr, 42, {"id": 1, "type": "lead"})
        message = await sub.get(5)
        assert message == {"event": "conversion", "id": "1", "data": {"id": 1, "type": "lead"}}
        assert await elsewhere.get(0.3) is None
        ctr.close()
    finally:
        await worker_a.stop()
        await worker_b.stop()
