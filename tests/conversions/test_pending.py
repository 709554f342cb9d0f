"""A scan id can reach intake before the drainer stored its scan: waited for briefly, then kept
pending and attributed by ``ScanWriter`` when the scan lands (also under concurrency on PostgreSQL)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from scanroute.bootstrap import Container, build
from scanroute.capture.event import ScanEvent, new_scan_id
from scanroute.domain.code import Code
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import CodeCreate
from scanroute.services.intake_rules import ConversionIn
from scanroute.storage.scans import ScanWriter
from scanroute.storage.schema import attribution_credits, attribution_pending, identities
from tests.conftest import Tenant, make_settings, make_tenant
from tests.conversions.conftest import World, ago, credits, scan_id_at


def event_for(code: Code, sid: str | None = None, at: datetime | None = None) -> ScanEvent:
    """A scan event of ``code`` that has not been written yet."""
    at = at or datetime.now(UTC)
    return ScanEvent(
        id=sid or new_scan_id(),
        ws=code.workspace_id,
        slug=code.slug,
        ts=int(at.timestamp() * 1_000_000),
        outcome="redirect",
        code=code.id,
        campaign=code.campaign_id,
        visitor="v" * 32,
    )


def test_a_scan_that_lands_during_the_wait_is_attributed_at_once(world: World) -> None:
    world.ctr.conversions.scan_wait = 3.0
    code = world.code(campaign="wait")
    event = event_for(code)
    timer = threading.Timer(0.4, lambda: ScanWriter(world.ctr.db).write([event]))
    started = time.monotonic()
    timer.start()
    r = world.post({"scan_id": event.id, "type": "purchase", "value": 7})
    timer.join()
    assert time.monotonic() - started >= 0.35
    assert r.status_code == 201
    assert (r.json()["pending_scan"], r.json()["code_id"]) == (False, code.id)
    assert credits(r.json(), "last") == {event.id: 1_000_000}


def test_a_scan_stored_later_completes_its_pending_conversion(world: World) -> None:
    code = world.code(campaign="later", creative="C")
    event = event_for(code)
    r = world.post({"scan_id": event.id, "type": "purchase", "value": "12.00", "order_id": "P-1"})
    assert r.status_code == 201
    body = r.json()
    assert (body["attributed"], body["pending_scan"], body["code_id"]) == (True, True, None)
    assert all(body["credits"][m] == [] for m in body["credits"])
    assert ScanWriter(world.ctr.db).write([event]) == 1
    after = world.conversion(body["id"])
    assert (after["code_id"], after["campaign_id"]) == (code.id, code.campaign_id)
    for model in after["credits"]:
        assert credits(after, model) == {event.id: 1_000_000}
    with world.ctr.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(attribution_pending)).scalar_one() == 0


def test_identify_of_a_scan_not_stored_yet(world: World) -> None:
    code = world.code(campaign="id")
    early = world.scan(code, ago(hours=5))
    pending = event_for(code, at=datetime.now(UTC) - timedelta(seconds=2))
    r = world.client.post(
        "/api/v1/identify", json={"scan_id": pending.id, "external_id": "eve"}, headers=world.tenant.auth()
    )
    assert r.status_code == 201
    assert r.json()["pending_scan"] is True
    conv = world.post({"scan_id": early, "type": "purchase", "value": 10, "external_id": "eve"}).json()
    assert credits(conv, "linear") == {early: 1_000_000}  # the pending scan is not stored yet
    ScanWriter(world.ctr.db).write([pending])
    assert credits(world.conversion(conv["id"]), "linear") == {early: 500_000, pending.id: 500_000}
    with world.ctr.db.read() as conn:
        visitor = conn.execute(
            select(identities.c.visitor).where(identities.c.scan_id == pending.id)
        ).scalar()
    assert visitor == "v" * 32
    again = world.client.post(
        "/api/v1/identify", json={"scan_id": pending.id, "external_id": "eve"}, headers=world.tenant.auth()
    )
    assert again.status_code == 200
    other = world.client.post(
        "/api/v1/identify",
        json={"scan_id": pending.id, "external_id": "mallory"},
        headers=world.tenant.auth(),
    )
    assert other.status_code == 409
    old = world.client.post(
        "/api/v1/identify",
        json={"scan_id": scan_id_at(ago(days=1)), "external_id": "eve"},
        headers=world.tenant.auth(),
    )
    assert old.status_code == 422
    assert old.json()["errors"][0]["field"] == "scan_id"


def test_a_pending_scan_that_lands_in_another_workspace_is_not_credited(world: World, other: Tenant) -> None:
    theirs = world.ctr.codes.create(
        Principal(workspace_id=other.workspace_id, role=Role.OWNER),
        CodeCreate(destination="https://o.example/"),
    )
    event = event_for(theirs)
    r = world.post({"scan_id": event.id, "type": "purchase", "value": 3})
    assert r.json()["pending_scan"] is True
    ScanWriter(world.ctr.db).write([event])
    after = world.conversion(r.json()["id"])
    assert after["code_id"] is None
    assert all(after["credits"][m] == [] for m in after["credits"])


def test_stale_waits_are_forgotten(world: World) -> None:
    code = world.code()
    with world.ctr.db.write() as conn:
        conn.execute(
            insert(attribution_pending).values(
                scan_id="0" * 24, workspace_id=world.tenant.workspace_id, created_at=ago(days=8)
            )
        )
    world.scan(code, ago(minutes=1))
    with world.ctr.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(attribution_pending)).scalar_one() == 0


@pytest.mark.postgres
def test_no_attribution_is_lost_while_scans_and_conversions_race(pg_url: str, tmp_path: Path) -> None:
    """Conversions naming scans that the writer stores at the same moment: every one ends credited."""
    ctr: Container = build(make_settings(pg_url, tmp_path / "data"))
    ctr.conversions.scan_wait = 0.0
    try:
        tenant = make_tenant(ctr, "race")
        owner = Principal(workspace_id=tenant.workspace_id, role=Role.OWNER)
        code = ctr.codes.create(owner, CodeCreate(destination="https://r.example/"))
        events = [event_for(code) for _ in range(24)]
        writer = ScanWriter(ctr.db)

        def write_scans() -> None:
            for event in events:
                writer.write([event])
                time.sleep(0.002)

        def convert(event: ScanEvent) -> int:
            data = ConversionIn(scan_id=event.id, type="purchase", value=1)
            return ctr.conversions.record(owner, data).conversion.id

        with ThreadPoolExecutor(max_workers=9) as pool:
            scans = pool.submit(write_scans)
            ids = list(pool.map(convert, events))
            scans.result()
        with ctr.db.read() as conn:
            credited = conn.execute(
                select(func.count(func.distinct(attribution_credits.c.conversion_id))).where(
                    attribution_credits.c.conversion_id.in_(ids)
                )
            ).scalar_one()
        assert credited == len(events)
    finally:
        ctr.close()


def test_unused_identify_body_fields_are_refused(world: World) -> None:
    r = world.client.post(
        "/api/v1/identify",
        json={"scan_id": new_scan_id(), "external_id": "x", "visitor": "y"},
        headers=world.tenant.auth(),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "visitor"
