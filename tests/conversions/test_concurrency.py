"""Idempotency under real concurrency on PostgreSQL: simultaneous duplicate posts through the
ASGI app (the API's sync endpoints run in parallel worker threads) store exactly one conversion."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from scanroute.bootstrap import Container, build
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import CodeCreate
from scanroute.storage.schema import attribution_credits, conversions, coupons
from scanroute.web.app import create_app
from tests.conftest import Tenant, make_settings, make_tenant
from tests.conversions.conftest import World, ago

pytestmark = pytest.mark.postgres
COPIES = 16


@pytest.fixture
def pg_world(pg_url: str, tmp_path: Path) -> Iterator[tuple[Container, Tenant, str]]:
    ctr = build(make_settings(pg_url, tmp_path / "data"))
    tenant = make_tenant(ctr, "rush")
    owner = Principal(workspace_id=tenant.workspace_id, role=Role.OWNER)
    code = ctr.codes.create(owner, CodeCreate(destination="https://r.example/", campaign="rush"))
    sid = World(ctr, None, tenant).scan(code, ago(minutes=10))  # type: ignore[arg-type]
    yield ctr, tenant, sid
    ctr.close()


async def _burst(ctr: Container, bodies: list[tuple[dict[str, Any], dict[str, str]]]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=create_app(ctr))
    async with httpx.AsyncClient(transport=transport, base_url="http://sr.test", timeout=60) as client:
        return list(
            await asyncio.gather(*(client.post("/api/v1/conversions", json=b, headers=h) for b, h in bodies))
        )


def _count(ctr: Container, table: Any = conversions) -> int:
    with ctr.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_simultaneous_posts_with_one_idempotency_key(pg_world: tuple[Container, Tenant, str]) -> None:
    ctr, tenant, sid = pg_world
    headers = {**tenant.auth(), "Idempotency-Key": "same-key"}
    body = {"scan_id": sid, "type": "purchase", "value": "30.00"}
    replies = asyncio.run(_burst(ctr, [(body, headers)] * COPIES))
    assert Counter(r.status_code for r in replies) == {201: 1, 200: COPIES - 1}
    assert len({r.json()["id"] for r in replies}) == 1
    assert _count(ctr) == 1
    assert _count(ctr, attribution_credits) == 5  # one touch under each of the five models


def test_simultaneous_posts_of_one_order_with_different_bodies(
    pg_world: tuple[Container, Tenant, str],
) -> None:
    ctr, tenant, sid = pg_world
    same = {"scan_id": sid, "type": "purchase", "value": "30.00", "order_id": "R-1"}
    changed = {**same, "value": "31.00"}
    bodies = [(same if i % 2 else changed, tenant.auth()) for i in range(COPIES)]
    replies = asyncio.run(_burst(ctr, bodies))
    statuses = Counter(r.status_code for r in replies)
    assert statuses[201] == 1
    assert statuses[200] + statuses[409] == COPIES - 1
    winner = next(r.json() for r in replies if r.status_code == 201)
    for r, (body, _) in zip(replies, bodies, strict=True):
        if r.status_code == 200:
            assert r.json()["id"] == winner["id"]
            assert body["value"] == winner["value"]  # only identical requests replay
        elif r.status_code == 409:
            assert body["value"] != winner["value"]
            assert r.headers["content-type"].startswith("application/problem+json")
    assert _count(ctr) == 1


def test_one_coupon_redeemed_once_under_a_rush(pg_world: tuple[Container, Tenant, str]) -> None:
    ctr, tenant, _ = pg_world
    owner = Principal(workspace_id=tenant.workspace_id, role=Role.OWNER)
    code = ctr.codes.create(owner, CodeCreate(destination="https://r.example/shop"))
    World(ctr, None, tenant).scan(code, ago(minutes=30), coupon="BCDF2345")  # type: ignore[arg-type]
    bodies = [({"coupon_code": "bcdf-2345", "type": "redemption", "order_id": f"T-{i}"}, tenant.auth())
              for i in range(COPIES)]  # fmt: skip
    replies = asyncio.run(_burst(ctr, bodies))
    assert Counter(r.status_code for r in replies) == {201: 1, 409: COPIES - 1}
    with ctr.db.read() as conn:
        redeemed = conn.execute(
            select(coupons.c.conversion_id).where(coupons.c.code == "BCDF2345")
        ).scalar_one()
    assert redeemed == next(r.json()["id"] for r in replies if r.status_code == 201)
