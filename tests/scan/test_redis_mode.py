"""Scale-out mode against the real Redis server: shared counters, stream, pub/sub, fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from sqlalchemy import func, select

from scanroute.bootstrap import Container, build
from scanroute.capture import stream as stream_mod
from scanroute.capture.event import ScanEvent, encode_event, new_scan_id
from scanroute.capture.stream import GROUP, StreamConsumer
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import CodeCreate, CodePatch
from scanroute.storage.scans import ScanWriter
from scanroute.storage.schema import scans
from scanroute.web.app import create_app
from tests.conftest import make_settings
from tests.scan.conftest import DESKTOP, Scanner

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


async def wait(predicate: Any, timeout: float = 10.0) -> bool:
    import anyio

    with anyio.move_on_after(timeout):
        while not predicate():
            await anyio.sleep(0.05)
        return True
    return False


class Worker:
    def __init__(self, ctr: Container) -> None:
        self.ctr = ctr
        self.app = create_app(ctr)
        self.scanner = Scanner(self.app, ctr)

    def count(self) -> int:
        with self.ctr.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(scans)).scalar_one())


@pytest.fixture
async def workers(
    db_url: str, tmp_path: Path, redis_server: str, redis_prefix: str
) -> AsyncIterator[list[Worker]]:
    started = []
    for i in range(2):
        settings = make_settings(
            db_url, tmp_path / f"w{i}", redis_url=redis_server, redis_prefix=redis_prefix, drain_interval=0.05
        )
        worker = Worker(build(settings))
        await worker.app.start()
        started.append(worker)
    try:
        yield started
    finally:
        for worker in started:
            await worker.app.stop()
            worker.ctr.close()


def owner(ctr: Container) -> Principal:
    ws = ctr.workspaces.ensure(None)
    return Principal(workspace_id=ws.id, role=Role.OWNER)


async def test_caps_are_shared_between_workers(workers: list[Worker]) -> None:
    a, b = workers
    rules = [{"when": {}, "to": "https://example.com/offer", "cap": 3}]
    a.ctr.codes.create(
        owner(a.ctr),
        CodeCreate.model_validate(
            {"destination": "https://example.com/full", "slug": "capped", "rules": rules}
        ),
    )
    paths = []
    for i in range(8):
        worker = (a, b)[i % 2]
        r = await worker.scanner.scan("capped", ip=f"198.51.{i}.1", ua=DESKTOP)
        paths.append(urlsplit(r.headers["location"]).path)
    assert paths.count("/offer") == 3
    assert paths.count("/full") == 5


async def test_scans_travel_through_the_stream_into_the_store(
    workers: list[Worker], redis_prefix: str
) -> None:
    a, b = workers
    a.ctr.codes.create(owner(a.ctr), CodeCreate(destination="https://example.com/", slug="streamed"))
    for i in range(20):
        await (a, b)[i % 2].scanner.scan("streamed", ip=f"203.0.{i}.9")
    assert await wait(lambda: a.count() == 20)
    client = redis.Redis.from_url(a.ctr.settings.redis_url or "")
    assert client.xlen(f"{redis_prefix}:scans") == 20  # they went through the stream
    assert client.xpending(f"{redis_prefix}:scans", GROUP)["pending"] == 0
    client.close()


async def test_code_changes_reach_other_workers_by_pubsub(
    workers: list[Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = workers
    for w in workers:  # make the change-log poll irrelevant: only pub/sub can be this fast
        w.app.runtime.cache._last_change = 10**9  # type: ignore[union-attr]
    client = redis.Redis.from_url(a.ctr.settings.redis_url or "")
    channel = a.app.runtime.channel  # type: ignore[union-attr]
    assert await wait(lambda: dict(client.pubsub_numsub(channel)).get(channel.encode(), 0) >= 2)
    client.close()
    a.ctr.codes.create(owner(a.ctr), CodeCreate(destination="https://example.com/old", slug="hot"))
    assert (await b.scanner.scan("hot")).headers["location"].startswith("https://example.com/old")
    a.ctr.codes.update(owner(a.ctr), "hot", CodePatch(destination="https://example.com/new"))

    async def b_sees_new() -> bool:
        return (
            (await b.scanner.scan("hot", method="HEAD"))
            .headers["location"]
            .startswith("https://example.com/new")
        )

    import anyio

    seen = False
    with anyio.move_on_after(3):
        while not (seen := await b_sees_new()):
            await anyio.sleep(0.05)
    assert seen


async def test_unreachable_redis_falls_back_to_the_store(
    db_url: str, tmp_path: Path, redis_prefix: str
) -> None:
    settings = make_settings(
        db_url,
        tmp_path / "w",
        redis_url="redis://127.0.0.1:1/0",
        redis_prefix=redis_prefix,
        drain_interval=0.05,
    )
    worker = Worker(build(settings))
    await worker.app.start()
    try:
        worker.ctr.codes.create(
            owner(worker.ctr),
            CodeCreate(
                destination="https://example.com/",
                slug="fallback",
                rules=[{"when": {"visitor": "first"}, "to": "https://example.com/hi"}],
            ),
        )
        for i in range(5):
            r = await worker.scanner.scan("fallback", ip=f"192.0.2.{i}")
            assert r.status_code == 302
        assert await wait(lambda: worker.count() == 5)
    finally:
        await worker.app.stop()
        worker.ctr.close()


def test_a_dead_consumers_entries_are_claimed(
    db_url: str, tmp_path: Path, redis_server: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctr = build(make_settings(db_url, tmp_path / "d"))
    client = redis.Redis.from_url(redis_server)
    name = f"{redis_prefix}:scans"
    writer = ScanWriter(ctr.db)
    dead = StreamConsumer(client, name, "dead", writer)
    dead.ensure_group()
    ids = [new_scan_id() for _ in range(5)]
    for sid in ids:
        client.xadd(
            name,
            {
                "e": encode_event(
                    ScanEvent(id=sid, ws=1, slug="x", ts=1_700_000_000_000_000, outcome="not_found")
                )
            },
        )
    client.xreadgroup(GROUP, "dead", {name: ">"}, count=10)  # read, then "die" before storing
    assert dead.pending() == 5
    monkeypatch.setattr(stream_mod, "CLAIM_IDLE_MS", 0)
    alive = StreamConsumer(client, name, "alive", writer)
    assert alive.consume_once(block_ms=None) == 5
    assert alive.pending() == 0
    with ctr.db.read() as conn:
        assert set(conn.execute(select(scans.c.id)).scalars()) == set(ids)
    assert alive.consume_once(block_ms=None) == 0
    client.close()
    ctr.close()
