"""Through a real server process: every field stored, nothing lost on SIGKILL or store outage."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from scanroute.bootstrap import build
from scanroute.capture.supervisor import STALL_TIMEOUT as DRAINER_STALL_TIMEOUT
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import CodeCreate
from scanroute.settings import Settings
from scanroute.storage.db import Database
from scanroute.storage.schema import scans
from tests.server.conftest import Proxy, Server, scan_many

pytestmark = pytest.mark.server
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def make_code(db_url: str, tmp: Path, slug: str, **fields: object) -> None:
    ctr = build(Settings(database_url=db_url, data_dir=tmp / "setup"))
    ws = ctr.workspaces.ensure(None)
    ctr.codes.create(
        Principal(workspace_id=ws.id, role=Role.OWNER),
        CodeCreate.model_validate({"destination": "https://example.com/menu", "slug": slug, **fields}),
    )
    ctr.close()


def stored_ids(db_url: str) -> set[str]:
    db = Database(db_url)
    try:
        with db.read() as conn:
            return set(conn.execute(select(scans.c.id)).scalars())
    finally:
        db.dispose()


def wait_for(db_url: str, predicate: object, timeout: float = 20) -> set[str]:
    deadline = time.monotonic() + timeout
    ids: set[str] = set()
    while time.monotonic() < deadline:
        ids = stored_ids(db_url)
        if predicate(ids):  # type: ignore[operator]
            return ids
        time.sleep(0.2)
    return ids


def sid(location: str) -> str:
    return parse_qs(urlsplit(location).query)["sr_sid"][0]


def test_scan_lands_with_every_field(db_url: str, tmp_path: Path, server: Server) -> None:
    make_code(
        db_url,
        tmp_path,
        "fields",
        utm={"source": "qr"},
        creative="B",
        rules=[{"when": {"os": ["iOS"]}, "to": "https://apps.apple.com/app/id1"}],
    )
    r = httpx.get(
        f"{server.url}/fields",
        headers={
            "user-agent": IPHONE,
            "accept-language": "fr-CH, fr;q=0.9",
            "referer": "https://m.facebook.com/some/post",
        },
    )
    assert r.status_code == 302
    scan_id = sid(r.headers["location"])
    assert r.headers["location"].startswith("https://apps.apple.com/app/id1?utm_source=qr&sr_sid=")
    wait_for(db_url, lambda ids: scan_id in ids)
    db = Database(db_url)
    with db.read() as conn:
        row = conn.execute(select(scans).where(scans.c.id == scan_id)).one()._mapping
    db.dispose()
    assert row["slug"] == "fields"
    assert row["outcome"] == "redirect"
    assert row["rule_index"] == 0
    assert row["creative"] == "B"
    assert (row["device"], row["os"], row["browser"]) == ("mobile", "iOS", "Mobile Safari")
    assert row["language"] == "fr-ch"
    assert row["ip_net"] == "127.0.0.0"
    assert row["referer_host"] == "m.facebook.com"
    assert row["destination"] == r.headers["location"]
    assert row["is_bot"] is False
    assert len(row["visitor"]) == 32


def test_sigkill_during_burst_loses_nothing(db_url: str, tmp_path: Path, server: Server) -> None:
    make_code(db_url, tmp_path, "burst")
    received: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                try:
                    r = client.get(
                        f"{server.url}/burst", headers={"user-agent": IPHONE, "accept-language": "en"}
                    )
                except httpx.HTTPError:
                    continue
                if r.status_code == 302:
                    received.append(r.headers["location"])

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.kill()
    stop.set()
    for t in threads:
        t.join()
    assert len(received) > 50
    server.start()  # the new process adopts the dead worker's spool
    want = {sid(loc) for loc in received}
    ids = wait_for(db_url, lambda ids: want <= ids)
    assert want <= ids, f"{len(want - ids)} redirected scans were lost"
    assert len(ids) - len(want) <= 8  # at most the requests in flight at the kill


@pytest.mark.postgres
def test_postgres_outage_redirects_and_restart_from_snapshot(pg_url: str, tmp_path: Path) -> None:
    make_code(pg_url, tmp_path, "outage")
    url = make_url(pg_url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = {
        "SCANROUTE_DATABASE_URL": via_proxy,
        "SCANROUTE_DATA_DIR": str(tmp_path / "data"),
        "SCANROUTE_BASE_URL": "http://sr.test",
        "SCANROUTE_DRAIN_INTERVAL": "0.1",
        "SCANROUTE_SNAPSHOT_INTERVAL": "0.5",
        "SCANROUTE_LOG_LEVEL": "WARNING",
    }
    server = Server(env, tmp_path / "server.log")
    server.start()
    try:
        first = scan_many(server.url, "outage", 5, ua=IPHONE)
        assert len(first) == 5
        proxy.cut()
        during = scan_many(server.url, "outage", 40, ua=IPHONE)
        assert len(during) == 40  # served from the route cache while the store is gone
        assert httpx.get(f"{server.url}/readyz").status_code == 503
        # graceful stop cannot drain: the scans stay in the spool. Its bound is uvicorn's graceful
        # shutdown (10 s), then the drainer's final sweep (it gives up on the store after 5 s;
        # serve would stop it after STALL_TIMEOUT without progress)
        server.stop(timeout=10 + DRAINER_STALL_TIMEOUT + 5)
        server.start()  # a restart during the outage redirects from the snapshot
        after_restart = scan_many(server.url, "outage", 10, ua=IPHONE)
        assert len(after_restart) == 10
        proxy.restore()
        want = {sid(loc) for loc in first + during + after_restart}
        ids = wait_for(pg_url, lambda ids: want <= ids, timeout=30)
        assert ids == want
    finally:
        if server.proc is not None:
            server.kill()
        proxy.cut()


def test_sqlite_locked_redirects_and_lands_later(sqlite_url: str, tmp_path: Path) -> None:
    make_code(sqlite_url, tmp_path, "locked")
    env = {
        "SCANROUTE_DATABASE_URL": sqlite_url,
        "SCANROUTE_DATA_DIR": str(tmp_path / "data"),
        "SCANROUTE_BASE_URL": "http://sr.test",
        "SCANROUTE_DRAIN_INTERVAL": "0.1",
        "SCANROUTE_LOG_LEVEL": "ERROR",
    }
    server = Server(env, tmp_path / "server.log")
    server.start()
    try:
        assert len(scan_many(server.url, "locked", 1, ua=IPHONE)) == 1
        path = make_url(sqlite_url).database
        assert path is not None
        holder = sqlite3.connect(path, timeout=1, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        locked = scan_many(server.url, "locked", 30, ua=IPHONE)
        assert len(locked) == 30
        assert time.monotonic() - started < 5  # answered from cache, not stuck behind the lock
        time.sleep(6)  # longer than the busy timeout: the drainer's writes fail and retry
        holder.execute("ROLLBACK")
        holder.close()
        ids = wait_for(sqlite_url, lambda ids: len(ids) >= 31)
        assert {sid(loc) for loc in locked} <= ids
        assert len(ids) == 31
    finally:
        server.kill()


def test_graceful_stop_drains(db_url: str, tmp_path: Path, server: Server) -> None:
    make_code(db_url, tmp_path, "graceful")
    got = scan_many(server.url, "graceful", 30, ua=IPHONE)
    assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM once its graceful shutdown is done
    ids = stored_ids(db_url)
    assert {sid(loc) for loc in got} <= ids
    db = Database(db_url)
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(scans)).scalar_one() == 30
    db.dispose()
