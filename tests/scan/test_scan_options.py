"""Per-code options and edge cases of the scan path: app links, pass-through, opt-outs, bounds."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from scanroute.bootstrap import Container, build
from scanroute.capture.drainer import Drainer
from scanroute.capture.spool import Spool
from scanroute.capture.stream import StoreSink
from scanroute.observability import metrics
from scanroute.redirect.cache import RouteCache
from scanroute.storage.scans import ScanWriter
from scanroute.web.app import create_app
from tests.conftest import Tenant, make_settings
from tests.scan.conftest import ANDROID, DESKTOP, IPHONE, Scanner

pytestmark = pytest.mark.anyio

APP_RULE = [
    {
        "when": {},
        "app": {
            "ios": {"url": "democoffee://menu", "store": "https://apps.apple.com/app/id1"},
            "android": {
                "url": "intent://menu#Intent;scheme=democoffee;end",
                "store": "https://play.google.com/store/apps/details?id=x",
            },
            "web": "https://example.com/web",
        },
    }
]


async def test_app_link_page_on_phones_redirect_on_desktop(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(tenant.workspace_id, destination="https://example.com/", slug="applink", rules=APP_RULE)
    r = await scanner.scan("applink", ua=IPHONE)
    assert r.status_code == 200
    assert "democoffee://menu" in r.text
    assert "https://apps.apple.com/app/id1" in r.text
    assert "<script src" not in r.text  # no external scripts
    assert "script-src" in r.headers["content-security-policy"]
    r = await scanner.scan("applink", ua=DESKTOP)
    assert r.status_code == 302
    assert r.headers["location"].startswith("https://example.com/web?sr_sid=")
    rows = scanner.stored()
    assert [row["outcome"] for row in rows] == ["app", "redirect"]


async def test_query_pass_through_and_scan_id_opt_out(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(
        tenant.workspace_id,
        destination="https://example.com/p?keep=1",
        slug="passing",
        forward_query=True,
        append_scan_id=False,
        utm={"source": "qr"},
    )
    r = await scanner.scan("passing", query="?table=12&keep=2&sr_sid=forged")
    q = parse_qs(urlsplit(r.headers["location"]).query)
    assert q == {"keep": ["1"], "utm_source": ["qr"], "table": ["12"]}  # no clobbering, no sr_sid
    assert len(scanner.stored()) == 1


async def test_excluded_networks_are_redirected_but_not_recorded(
    ctr: Container, tmp_path: Path, tenant: Tenant
) -> None:
    settings = make_settings(str(ctr.db.url), tmp_path / "ex", excluded_networks=["10.20.0.0/16"])
    other = build(settings)
    app = create_app(other)
    await app.start()
    try:
        scanner = Scanner(app, other)
        scanner.create(tenant.workspace_id, destination="https://example.com/", slug="office")
        assert (await scanner.scan("office", ip="10.20.3.4")).status_code == 302
        assert (await scanner.scan("office", ip="10.21.3.4", ua=ANDROID)).status_code == 302
        assert [r["ip_net"] for r in scanner.stored()] == ["10.21.3.0"]
    finally:
        await app.stop()
        other.close()


def test_spool_alarm_fires_while_the_store_is_down_and_nothing_is_dropped(
    ctr: Container, tmp_path: Path
) -> None:
    from sqlalchemy import func, select

    from scanroute.storage.db import Database
    from scanroute.storage.schema import scans

    spool = Spool(tmp_path / "spool" / "w", fsync_interval=0)
    down = StoreSink(ScanWriter(Database("postgresql://postgres@127.0.0.1:1/nowhere")))  # refused
    drainer = Drainer(spool, down, root=tmp_path / "spool", max_bytes=100)
    for i in range(5):
        spool.append(b'{"id":"x%d","ws":1,"slug":"s","ts":1,"outcome":"not_found"}' % i)
    with pytest.raises(Exception, match=r"refused|connection"):
        drainer._tick()
    assert metrics.spool_alarm._value.get() == 1
    assert spool.pending_bytes() > 100
    drainer.sink = StoreSink(ScanWriter(ctr.db))
    assert drainer._tick() == 5
    assert metrics.spool_alarm._value.get() == 0
    assert spool.pending_bytes() == 0
    with ctr.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(scans)).scalar_one() == 5
    spool.close()


def test_route_cache_is_bounded(ctr: Container, tenant: Tenant) -> None:
    from scanroute.domain.workspace import Principal, Role
    from scanroute.services.codes import CodeCreate

    who = Principal(workspace_id=tenant.workspace_id, role=Role.OWNER)
    ctr.codes.create_many(
        who, [CodeCreate(destination="https://example.com/", slug=f"lru-{i}") for i in range(5)]
    )
    cache = RouteCache(ctr.db, size=3, snapshot=None)
    for i in range(5):
        assert cache.load(f"lru-{i}") is not None
    assert cache.get("lru-0") is False  # evicted
    assert cache.get("lru-4") is not False
    assert cache.load("missing") is None
    assert cache.get("missing") is None  # remembered as unknown


def test_concurrent_loads_during_an_outage_all_read_the_whole_snapshot(
    ctr: Container, tenant: Tenant, tmp_path: Path
) -> None:
    """A restarted worker's first scans miss the cache together and load in threads: none may
    see the snapshot half-read (it once answered "not in the snapshot", a 503, to some)."""
    import threading

    import orjson

    from scanroute.domain.workspace import Principal, Role
    from scanroute.redirect.cache import StoreUnavailable
    from scanroute.services.codes import CodeCreate
    from scanroute.storage.db import Database

    who = Principal(workspace_id=tenant.workspace_id, role=Role.OWNER)
    ctr.codes.create_many(who, [CodeCreate(destination="https://example.com/", slug="outage")])
    path = tmp_path / "routes.json"
    assert RouteCache(ctr.db, size=10, snapshot=path).write_snapshot()
    data = orjson.loads(path.read_bytes())
    (record,) = data["routes"]
    # a snapshot as big as a real workspace's: reading it takes long enough for loads to overlap
    data["routes"] = [{**record, "slug": f"other-{i}"} for i in range(30_000)] + [record]
    path.write_bytes(orjson.dumps(data))
    down = Database(f"sqlite:///{tmp_path / 'missing-dir' / 'gone.db'}")  # the store is unreachable
    try:
        for _ in range(3):
            cache = RouteCache(down, size=10, snapshot=path)
            barrier = threading.Barrier(12)
            results: list[object] = []

            def load(
                cache: RouteCache = cache,
                barrier: threading.Barrier = barrier,
                results: list[object] = results,
            ) -> None:
                barrier.wait()
                try:
                    results.append(cache.load("outage"))
                except StoreUnavailable as exc:
                    results.append(exc)

            threads = [threading.Thread(target=load) for _ in range(12)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(results) == 12
            assert all(getattr(r, "slug", None) == "outage" for r in results), results
    finally:
        down.dispose()
