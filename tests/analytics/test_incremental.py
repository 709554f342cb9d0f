"""The incremental rollup hooks, one rule at a time, on SQLite and PostgreSQL.

Each case writes a few hand-made scans through ``ScanWriter`` (and beacons / credits through
their hooks) and checks the summary; then a rebuild from raw rows must not change anything.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select

from scanroute.analytics.rebuild import rebuild
from scanroute.bootstrap import Container
from scanroute.capture.event import ScanEvent
from scanroute.services.tenants import WorkspacePatch
from scanroute.storage.rollups import add_beacons, sync_credits
from scanroute.storage.scans import ScanWriter
from scanroute.storage.schema import (
    attribution_credits,
    beacon_events,
    codes,
    conversions,
    rollup_day_codes,
    rollup_hourly,
)
from tests.analytics.conftest import TZ, seed_catalog

_ids = itertools.count(1)


@pytest.fixture
def shop(ctr: Container, client: TestClient) -> dict[str, Any]:
    ws, key, _ = seed_catalog(ctr, "shop")
    with ctr.db.read() as conn:
        code = {r.slug: r for r in conn.execute(select(codes))}
    return {"ws": ws, "h": {"Authorization": f"Bearer {key}"}, "code": code, "client": client, "ctr": ctr}


def ev(shop: dict[str, Any], slug: str, at: datetime, **kw: Any) -> ScanEvent:
    c = shop["code"][slug]
    fields: dict[str, Any] = {
        "visitor": "v" * 32,
        "device": "mobile",
        "os": "iOS",
        "browser": "Mobile Safari",
        "country": "IN",
        "city": "Mumbai",
    } | kw
    return ScanEvent(
        id=f"s{next(_ids):023d}",
        ws=shop["ws"],
        slug=slug,
        ts=int(at.timestamp() * 1_000_000),
        outcome="redirect",
        code=c.id,
        campaign=c.campaign_id,
        placement=c.placement_id,
        creative=c.creative,
        **fields,
    )


def summary(shop: dict[str, Any], first: str, last: str, **params: str) -> dict[str, Any]:
    r = shop["client"].get(
        "/api/v1/analytics/summary", params={"from": first, "to": last, **params}, headers=shop["h"]
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def rebuild_changes_nothing(ctr: Container, ws: int) -> None:
    tables = (rollup_day_codes, rollup_hourly)
    with ctr.db.read() as conn:
        before = [sorted(tuple(r) for r in conn.execute(select(t))) for t in tables]
    with ctr.db.write() as conn:
        rebuild(conn, ws)
    with ctr.db.read() as conn:
        assert [sorted(tuple(r) for r in conn.execute(select(t))) for t in tables] == before


T0 = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)  # 11:30 in Kolkata


def test_bots_replays_and_visitor_days(shop: dict[str, Any], ctr: Container) -> None:
    writer = ScanWriter(ctr.db)
    batch = [
        ev(shop, "code0", T0),
        ev(shop, "code0", T0 + timedelta(minutes=5)),  # second scan of the visitor-code-day: returning
        ev(shop, "code0", T0 + timedelta(minutes=9)),  # third: neither unique nor newly returning
        ev(shop, "code1", T0 + timedelta(minutes=9)),  # same hash, another code: another unique visitor
        ev(shop, "code0", T0 + timedelta(minutes=1), bot=True, bot_kind="preview", visitor="b" * 32),
        ev(
            shop, "code0", T0 + timedelta(minutes=2), visitor=None, refused=True
        ),  # no hash: a scan, no visitor
    ]
    assert writer.write(batch) == 6
    assert writer.write(batch) == 0  # a replayed batch changes nothing
    s = summary(shop, "2026-05-04", "2026-05-04")
    assert (s["scans"], s["bot_scans"], s["unique_visitors"], s["returning_visitors"]) == (5, 1, 2, 1)
    assert s["bot_share"] == pytest.approx(1 / 6)
    # the hash of that visitor on the next UTC day (18:35 UTC = 00:05 local on the 5th) is a new visitor-day
    writer.write([ev(shop, "code0", datetime(2026, 5, 4, 18, 35, tzinfo=UTC) + timedelta(days=1))])
    assert summary(shop, "2026-05-06", "2026-05-06")["unique_visitors"] == 1
    # drained out of order: an earlier scan of the same UTC day (07:30 local on the 5th) arrives later and
    # becomes the visitor-day's first scan; the one stored before becomes its second (returning)
    writer.write([ev(shop, "code0", datetime(2026, 5, 5, 2, 0, tzinfo=UTC))])
    s5, s6 = summary(shop, "2026-05-05", "2026-05-05"), summary(shop, "2026-05-06", "2026-05-06")
    assert (s5["unique_visitors"], s5["returning_visitors"]) == (1, 0)
    assert (s6["unique_visitors"], s6["returning_visitors"]) == (0, 1)
    rebuild_changes_nothing(ctr, shop["ws"])


def test_a_heavy_repeat_visitor_keeps_first_and_second_by_time(shop: dict[str, Any], ctr: Container) -> None:
    """Many batches of one visitor-code-day, one of them larger than the NOT IN list allows, then
    two scans earlier than everything stored: the first and second move to them, nothing else."""
    writer = ScanWriter(ctr.db)
    late = T0 + timedelta(hours=3)
    writer.write([ev(shop, "code0", late + timedelta(seconds=i)) for i in range(3)])
    # 1 200 (> the 1 000 ids a group's own batch may bind), all earlier than the three stored
    writer.write([ev(shop, "code0", T0 + timedelta(hours=2, seconds=i)) for i in range(1_200)])
    at = late + timedelta(minutes=1)
    writer.write([ev(shop, "code0", at + timedelta(seconds=i)) for i in range(5)])
    at += timedelta(seconds=5)
    s = summary(shop, "2026-05-04", "2026-05-04")
    assert (s["scans"], s["unique_visitors"], s["returning_visitors"]) == (1_208, 1, 1)
    # the 2nd-earliest of the day arrives in a batch with later scans, then the earliest alone
    writer.write(
        [ev(shop, "code0", T0 + timedelta(minutes=1))]
        + [ev(shop, "code0", at + timedelta(seconds=i)) for i in range(4)]
    )
    writer.write([ev(shop, "code0", T0)])
    s = summary(shop, "2026-05-04", "2026-05-04")
    assert (s["scans"], s["unique_visitors"], s["returning_visitors"]) == (1_214, 1, 1)
    r = shop["client"].get(
        "/api/v1/analytics/timeseries",
        headers=shop["h"],
        params={"from": "2026-05-04", "to": "2026-05-04", "granularity": "hour"},
    )
    points = {
        p["start"]: (p["unique_visitors"], p["returning_visitors"]) for p in r.json()["points"] if p["scans"]
    }
    assert points["2026-05-04T11:00"] == (1, 1)  # T0 and T0+1 min are 11:30 and 11:31 in Kolkata
    assert points["2026-05-04T13:00"] == (0, 0)  # the scans that were first and second before
    rebuild_changes_nothing(ctr, shop["ws"])


def test_half_hour_zone_puts_scans_on_the_local_day(shop: dict[str, Any], ctr: Container) -> None:
    late = datetime(2026, 5, 4, 18, 29, 59, tzinfo=UTC)  # 23:59:59 in Kolkata
    ScanWriter(ctr.db).write(
        [ev(shop, "code0", late), ev(shop, "code0", late + timedelta(seconds=1), visitor="w" * 32)]
    )
    assert summary(shop, "2026-05-04", "2026-05-04")["scans"] == 1
    assert summary(shop, "2026-05-05", "2026-05-05")["scans"] == 1
    r = shop["client"].get(
        "/api/v1/analytics/timeseries",
        headers=shop["h"],
        params={"from": "2026-05-04", "to": "2026-05-05", "granularity": "hour"},
    )
    hours = {p["start"]: p["scans"] for p in r.json()["points"] if p["scans"]}
    assert hours == {"2026-05-04T23:00": 1, "2026-05-05T00:00": 1}


def test_beacons_before_and_after_their_scan(shop: dict[str, Any], ctr: Container) -> None:
    early, late = ev(shop, "code2", T0), ev(shop, "code2", T0, visitor="x" * 32)

    def beacons(scan: ScanEvent, *kinds: str) -> None:
        rows = [
            {"scan_id": scan.id, "kind": k, "workspace_id": shop["ws"], "value": None, "at": T0}
            for k in kinds
        ]
        with ctr.db.write() as conn:
            conn.execute(insert(beacon_events), rows)
            add_beacons(conn, [(scan.id, k) for k in kinds])

    beacons(early, "arrived", "engaged")  # the page reported before the drainer stored the scan
    ScanWriter(ctr.db).write([early, late])
    beacons(late, "arrived")
    beacons(late, "scroll")
    beacons(late, "engaged")  # a second engagement kind: still one engaged scan
    s = summary(shop, "2026-05-04", "2026-05-04")
    assert (s["scans"], s["arrived"], s["engaged"], s["ghost_scans"]) == (2, 2, 2, 0)
    rebuild_changes_nothing(ctr, shop["ws"])


def test_recomputed_credits_replace_the_old_ones(shop: dict[str, Any], ctr: Container) -> None:
    first, second = ev(shop, "code0", T0), ev(shop, "code3", T0 + timedelta(hours=1), visitor="y" * 32)
    ScanWriter(ctr.db).write([first, second])
    converted = T0 + timedelta(hours=2)
    with ctr.db.write() as conn:
        conv = conn.execute(
            insert(conversions)
            .values(
                workspace_id=shop["ws"],
                scan_id=second.id,
                type="purchase",
                value_minor=1000,
                currency="USD",
                value_reporting_minor=1000,
                metadata={},
                occurred_at=converted,
                created_at=converted,
                request_hash="0" * 64,
                source="api",
            )
            .returning(conversions.c.id)
        ).scalar_one()

    def credit(scan: ScanEvent) -> dict[str, Any]:
        c = shop["code"][scan.slug]
        return {
            "conversion_id": conv,
            "model": "last",
            "scan_id": scan.id,
            "workspace_id": shop["ws"],
            "credit_ppm": 1_000_000,
            "value_minor": 1000,
            "code_id": c.id,
            "campaign_id": c.campaign_id,
            "placement_id": c.placement_id,
            "creative": c.creative,
            "touch_at": datetime.fromtimestamp(scan.ts / 1e6, UTC),
            "converted_at": converted,
        }

    with ctr.db.write() as conn:
        conn.execute(insert(attribution_credits), [credit(first)])
        sync_credits(conn, shop["ws"], [conv])
    assert summary(shop, "2026-05-04", "2026-05-04", code="code0")["conversions"] == 1
    with ctr.db.write() as conn:  # an identity arrived: the journey's last touch is now the second scan
        conn.execute(delete(attribution_credits).where(attribution_credits.c.conversion_id == conv))
        conn.execute(insert(attribution_credits), [credit(second)])
        sync_credits(conn, shop["ws"], [conv])
    assert summary(shop, "2026-05-04", "2026-05-04", code="code0")["conversions"] == 0
    s = summary(shop, "2026-05-04", "2026-05-04", code="code3")
    assert (s["conversions"], s["orders"], s["revenue"], s["average_order_value"]) == (1, 1, "10.00", "10.00")


def test_orphans_are_nobodys_scans(shop: dict[str, Any], ctr: Container) -> None:
    orphan = ScanEvent(id="o" * 24, ws=0, slug="nope", ts=int(T0.timestamp() * 1e6), outcome="not_found")
    ScanWriter(ctr.db).write([orphan, ev(shop, "code0", T0)])
    assert summary(shop, "2026-05-04", "2026-05-04")["scans"] == 1
    with ctr.db.read() as conn:
        assert (
            conn.execute(select(rollup_hourly.c.scans).where(rollup_hourly.c.workspace_id == 0)).scalar() == 1
        )


def test_a_new_time_zone_needs_a_rebuild_and_gets_it(shop: dict[str, Any], ctr: Container) -> None:
    ScanWriter(ctr.db).write(
        [ev(shop, "code0", datetime(2026, 5, 4, 2, 0, tzinfo=UTC))]
    )  # 07:30 Kolkata, 22:00 NY (3rd)
    assert summary(shop, "2026-05-04", "2026-05-04")["context"]["timezone"] == TZ
    assert summary(shop, "2026-05-04", "2026-05-04")["scans"] == 1
    from scanroute.domain.workspace import Principal, Role

    owner = Principal(workspace_id=shop["ws"], role=Role.OWNER)
    ctr.workspaces.update(owner, "shop", WorkspacePatch(timezone="America/New_York"))
    from scanroute.services.analytics import AnalyticsService

    AnalyticsService(ctr.db).rebuild(owner, date(2026, 5, 1), date(2026, 5, 7))
    assert summary(shop, "2026-05-03", "2026-05-03")["scans"] == 1
    assert summary(shop, "2026-05-04", "2026-05-04")["scans"] == 0
