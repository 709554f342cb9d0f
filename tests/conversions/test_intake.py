"""``POST /api/v1/conversions`` and ``/conversions/batch``: the scan-to-purchase path, idempotency,
scan ids of other workspaces, exchange rates, and bad input refused with problem+json."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from scanroute.capture.event import new_scan_id
from scanroute.domain.workspace import Principal, Role
from scanroute.services.catalog import PlacementCreate
from scanroute.services.codes import CodeCreate
from scanroute.storage.schema import conversions
from tests.conftest import Tenant
from tests.conversions.conftest import World, ago, credits, scan_id_at
from tests.scan.conftest import Scanner

MODELS = ("last", "first", "linear", "time_decay", "position")


def count(world: World) -> int:
    with world.ctr.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(conversions)).scalar_one())


def problem(r: Any, status: int, field: str) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in r.json().get("errors", [])]
    assert field in fields, r.json()
    reason: str = r.json()["detail"]
    return reason


@pytest.mark.anyio
async def test_scan_redirect_purchase_is_attributed_under_every_model(
    scanner: Scanner, tenant: Tenant
) -> None:
    """The issue's "done when": follow the redirect, post a purchase with the sr_sid of Location."""
    owner = Principal(workspace_id=tenant.workspace_id, role=Role.OWNER)
    scanner.ctr.placements.create(owner, PlacementCreate(name="Window Berlin", medium="window"))
    code = scanner.create(
        tenant.workspace_id,
        destination="https://shop.example/offer",
        campaign="autumn",
        placement="Window Berlin",
        creative="B",
    )
    scan = await scanner.scan(code.slug)
    assert scan.status_code == 302
    sid = httpx.URL(scan.headers["location"]).params["sr_sid"]
    transport = httpx.ASGITransport(app=scanner.app, client=("198.51.100.4", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://sr.test") as api:
        r = await api.post(
            "/api/v1/conversions",
            json={"scan_id": sid, "type": "purchase", "value": 42.5, "currency": "USD", "order_id": "o-1"},
            headers=tenant.auth(),
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["result"], body["attributed"], body["pending_scan"]) == ("created", True, False)
        assert r.headers["location"] == f"/api/v1/conversions/{body['id']}"
        assert (body["code_id"], body["campaign_id"], body["placement_id"], body["creative"]) == (
            code.id,
            code.campaign_id,
            code.placement_id,
            "B",
        )
        for model in MODELS:
            (row,) = body["credits"][model]
            assert (row["scan_id"], row["credit_ppm"], row["value"]) == (sid, 1_000_000, "42.50")
            assert (row["campaign_id"], row["placement_id"], row["creative"]) == (
                code.campaign_id,
                code.placement_id,
                "B",
            )
        again = await api.post(
            "/api/v1/conversions",
            json={"scan_id": sid, "type": "purchase", "value": 42.5, "currency": "USD", "order_id": "o-1"},
            headers=tenant.auth(),
        )
        assert again.status_code == 200
        assert (again.json()["id"], again.json()["result"]) == (body["id"], "replay")


def test_same_order_twice_stores_one_conversion(world: World) -> None:
    sid = world.scan(world.code(), ago(minutes=30))
    body = {"scan_id": sid, "type": "purchase", "value": "10.00", "order_id": "ORD-7"}
    first = world.post(body)
    second = world.post(body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    assert count(world) == 1
    changed = world.post({**body, "value": "11.00"})
    assert "different request" in problem(changed, 409, "order_id")
    other_key = world.post({**body, "idempotency_key": "k-9"})  # the same sale under another key
    assert (other_key.status_code, other_key.json()["id"]) == (200, first.json()["id"])
    problem(world.post({**body, "value": "12.00", "idempotency_key": "k-10"}), 409, "order_id")
    assert count(world) == 1


def test_idempotency_key_header_and_body(world: World) -> None:
    sid = world.scan(world.code(), ago(minutes=5))
    body = {"scan_id": sid, "type": "lead"}
    first = world.post(body, **{"Idempotency-Key": "abc"})
    replay = world.post(body, **{"Idempotency-Key": "abc"})
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["id"] == first.json()["id"]
    problem(world.post({**body, "type": "signup"}, **{"Idempotency-Key": "abc"}), 409, "idempotency_key")
    problem(
        world.post({**body, "idempotency_key": "xyz"}, **{"Idempotency-Key": "abc"}), 422, "idempotency_key"
    )
    by_body = world.post({**body, "idempotency_key": "body-key"})
    assert world.post({**body, "idempotency_key": "body-key"}).json()["id"] == by_body.json()["id"]
    assert count(world) == 2


def test_leads_are_deduplicated_per_customer_and_type(world: World) -> None:
    code = world.code()
    a, b = world.scan(code, ago(hours=3)), world.scan(code, ago(hours=1))
    first = world.post({"scan_id": a, "type": "lead", "external_id": "bob"})
    repeat = world.post({"scan_id": b, "type": "lead", "external_id": "bob"})
    assert (first.status_code, repeat.status_code) == (201, 200)
    assert (repeat.json()["id"], repeat.json()["result"]) == (first.json()["id"], "duplicate_lead")
    assert world.post({"scan_id": b, "type": "signup", "external_id": "bob"}).status_code == 201  # other type
    assert (
        world.post({"scan_id": b, "type": "lead", "external_id": "carol"}).status_code == 201
    )  # other customer
    earlier = {"scan_id": b, "type": "lead", "external_id": "bob", "occurred_at": ago(days=3).isoformat()}
    assert world.post(earlier).status_code == 201
    assert count(world) == 4  # the lead 3 days earlier is outside the 24 h window


def test_scan_of_another_workspace_or_unknown_is_refused_unless_unattributed(
    world: World, other: Tenant
) -> None:
    foreign_code = world.ctr.codes.create(
        Principal(workspace_id=other.workspace_id, role=Role.OWNER),
        CodeCreate(destination="https://o.example/"),
    )
    foreign = world.scan(foreign_code, ago(hours=1))
    old_unknown = scan_id_at(ago(days=2))
    for sid in (foreign, old_unknown):
        reason = problem(world.post({"scan_id": sid, "type": "purchase"}), 422, "scan_id")
        assert "not a scan of this workspace" in reason
    problem(world.post({"scan_id": "not-a-scan", "type": "purchase"}), 422, "scan_id")
    assert count(world) == 0
    kept = world.post({"scan_id": foreign, "type": "purchase", "value": 5, "unattributed": True})
    assert kept.status_code == 201
    assert (kept.json()["scan_id"], kept.json()["attributed"]) == (None, False)
    assert all(kept.json()["credits"][m] == [] for m in MODELS)
    assert problem(world.post({"type": "purchase"}), 422, "scan_id")


def test_currency_needs_a_rate_and_the_rate_endpoint_fixes_it(world: World) -> None:
    sid = world.scan(world.code(), ago(minutes=10))
    body = {"scan_id": sid, "type": "purchase", "value": "20.00", "currency": "eur", "order_id": "E-1"}
    reason = problem(world.post(body), 422, "currency")
    assert "PUT /api/v1/fx-rates/EUR" in reason
    denied = world.client.put(
        "/api/v1/fx-rates/EUR", json={"rate": "1.08"}, headers=world.tenant.auth(Role.EDITOR)
    )
    assert denied.status_code == 403
    r = world.client.put("/api/v1/fx-rates/EUR", json={"rate": "1.08"}, headers=world.tenant.auth(Role.ADMIN))
    assert r.status_code == 200, r.text
    assert (r.json()["currency"], r.json()["reporting_currency"]) == ("EUR", "USD")
    stored = world.post(body)
    assert stored.status_code == 201, stored.text
    assert (stored.json()["value"], stored.json()["currency"], stored.json()["value_reporting"]) == (
        "20.00",
        "EUR",
        "21.60",
    )
    assert sum(int(c["credit_ppm"]) for c in stored.json()["credits"]["linear"]) == 1_000_000
    jpy = world.client.put("/api/v1/fx-rates/JPY", json={"rate": "0.0067"}, headers=world.tenant.auth())
    assert jpy.status_code == 200
    yen = world.post({"scan_id": sid, "type": "purchase", "value": 1000, "currency": "JPY", "order_id": "J"})
    assert (yen.json()["value"], yen.json()["value_reporting"]) == ("1000", "6.70")
    problem(
        world.client.put("/api/v1/fx-rates/USD", json={"rate": 1}, headers=world.tenant.auth()),
        422,
        "currency",
    )
    problem(
        world.client.put("/api/v1/fx-rates/ABC", json={"rate": 1}, headers=world.tenant.auth()),
        422,
        "currency",
    )


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"value": -1}, "value"),
        ({"value": "1e12"}, "value"),
        ({"value": "12.345"}, "value"),
        ({"value": 5, "currency": "XYZ"}, "currency"),
        ({"value": 5, "currency": "XAU"}, "currency"),
        ({"currency": "USD"}, "currency"),
        ({"metadata": {f"k{i}": i for i in range(21)}}, "metadata"),
        ({"metadata": {"note": "x" * 501}}, "metadata"),
        ({"metadata": {"nested": {"a": 1}}}, "metadata"),
        ({"metadata": {f"k{i}": "y" * 300 for i in range(10)}}, "metadata"),
        ({"type": "Purchase!"}, "type"),
        ({"type": ""}, "type"),
        ({"occurred_at": "2026-01-01T10:00:00"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T10:00:00Z"}, "occurred_at"),
        ({"coupon_code": "no"}, "coupon_code"),
        ({"extra": 1}, "extra"),
        ({"external_id": "x" * 201}, "external_id"),
    ],
)
def test_bad_input_is_refused_with_problem_json(world: World, patch: dict[str, Any], field: str) -> None:
    sid = world.scan(world.code(), ago(minutes=3))
    problem(world.post({"scan_id": sid, "type": "purchase", **patch}), 422, field)
    assert count(world) == 0


def test_roles_and_unknown_keys(world: World) -> None:
    sid = world.scan(world.code(), ago(minutes=3))
    assert world.post({"scan_id": sid, "type": "lead"}, role=Role.VIEWER).status_code == 403
    assert world.client.post("/api/v1/conversions", json={"scan_id": sid, "type": "lead"}).status_code == 401
    assert world.post({"scan_id": sid, "type": "lead"}, role=Role.EDITOR).status_code == 201
    assert world.client.get("/api/v1/conversions", headers=world.tenant.auth(Role.VIEWER)).status_code == 200


def test_batch_reports_each_item(world: World) -> None:
    sid = world.scan(world.code(), ago(minutes=20))
    items = [
        {"scan_id": sid, "type": "purchase", "value": 3, "order_id": "B-1"},
        {"scan_id": sid, "type": "purchase", "value": -3},
        {"scan_id": sid, "type": "purchase", "value": 3, "order_id": "B-1"},
        {"scan_id": scan_id_at(ago(days=3)), "type": "lead"},
        {"scan_id": sid, "type": "purchase", "value": 4, "order_id": "B-1"},
        {"scan_id": sid, "type": "purchase", "nope": True},
    ]
    r = world.client.post("/api/v1/conversions/batch", json={"items": items}, headers=world.tenant.auth())
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [201, 422, 200, 422, 409, 422]
    assert [x["index"] for x in results] == list(range(6))
    assert results[2]["conversion"]["id"] == results[0]["conversion"]["id"]
    assert results[1]["problem"]["errors"][0]["field"] == "value"
    assert results[3]["problem"]["errors"][0]["field"] == "scan_id"
    assert results[5]["problem"]["errors"][0]["field"] == "nope"
    assert count(world) == 1
    too_many = world.client.post(
        "/api/v1/conversions/batch", json={"items": [{"type": "lead"}] * 1001}, headers=world.tenant.auth()
    )
    problem(too_many, 422, "items")


def test_batch_of_a_thousand(world: World) -> None:
    sid = world.scan(world.code(), ago(minutes=20))
    items = [
        {"scan_id": sid, "type": "purchase", "value": i % 50, "order_id": f"bulk-{i}"} for i in range(1000)
    ]
    r = world.client.post("/api/v1/conversions/batch", json={"items": items}, headers=world.tenant.auth())
    assert r.status_code == 200
    assert {x["status"] for x in r.json()["results"]} == {201}
    assert count(world) == 1000
    assert credits(world.conversion(r.json()["results"][-1]["conversion"]["id"]), "last") == {sid: 1_000_000}


def test_a_fresh_scan_id_is_not_refused(world: World) -> None:
    """Well formed and minted a moment ago: accepted while the drainer catches up (see test_pending)."""
    r = world.post({"scan_id": new_scan_id(), "type": "signup"})
    assert r.status_code == 201
    assert (r.json()["attributed"], r.json()["pending_scan"]) == (True, True)
