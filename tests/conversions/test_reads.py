"""Reading conversions, journeys, credits and exchange rates: filters, paging, tenancy; and the
demo workspace's conversions of every kind."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from scanroute.demo import ensure_demo
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import CodeCreate
from tests.conftest import Tenant
from tests.conversions.conftest import World, ago


def all_pages(client: TestClient, url: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = client.get(url, params=query, headers=headers)
        assert r.status_code == 200, r.text
        items.extend(r.json()["items"])
        cursor = r.json()["next"]
        if cursor is None:
            return items


def test_list_filters_and_paging(world: World) -> None:
    spring, summer = world.code(campaign="spring"), world.code(campaign="summer")
    for i in range(7):
        sid = world.scan(spring if i % 2 else summer, ago(hours=10 - i))
        kind = "lead" if i == 3 else "purchase"
        body = {"scan_id": sid, "type": kind, "value": i + 1, "occurred_at": ago(hours=9 - i).isoformat()}
        assert world.post({**body, "external_id": f"c{i % 3}"}).status_code == 201
    h = world.tenant.auth(Role.VIEWER)
    everything = all_pages(world.client, "/api/v1/conversions", h, limit=2)
    assert len(everything) == 7
    times = [c["occurred_at"] for c in everything]
    assert times == sorted(times, reverse=True)  # newest first, no repeats across pages
    assert len({c["id"] for c in everything}) == 7
    assert all(c["credits"] is None for c in everything)
    assert [c["type"] for c in all_pages(world.client, "/api/v1/conversions", h, type="lead")] == ["lead"]
    by_campaign = all_pages(world.client, "/api/v1/conversions", h, campaign_id=spring.campaign_id)
    assert {c["campaign_id"] for c in by_campaign} == {spring.campaign_id}
    assert len(by_campaign) == 3
    by_code = all_pages(world.client, "/api/v1/conversions", h, code=summer.slug)
    assert len(by_code) == 4
    assert all_pages(world.client, "/api/v1/conversions", h, code="no-such-code") == []
    window = all_pages(
        world.client,
        "/api/v1/conversions",
        h,
        **{"from": ago(hours=6).isoformat(), "to": ago(hours=3).isoformat()},
    )
    assert len(window) == 3
    assert len(all_pages(world.client, "/api/v1/conversions", h, external_id="c0")) == 3
    bad = world.client.get("/api/v1/conversions", params={"from": "2026-01-01T00:00:00"}, headers=h)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "from"
    assert world.client.get("/api/v1/conversions", params={"cursor": "garbage"}, headers=h).status_code == 422
    credits = all_pages(world.client, "/api/v1/attribution/credits", h, model="linear", limit=3)
    per_conversion: dict[int, int] = {}
    for row in credits:
        per_conversion[row["conversion_id"]] = per_conversion.get(row["conversion_id"], 0) + row["credit_ppm"]
    assert per_conversion == {c["id"]: 1_000_000 for c in everything}
    assert len({(c["conversion_id"], c["scan_id"]) for c in credits}) == len(credits)  # pages never repeat


def test_journey_orders_scans_across_codes_and_campaigns(world: World) -> None:
    a, b = world.code(campaign="a"), world.code(campaign="b")
    s1, s2, s3 = world.scan(a, ago(days=9)), world.scan(b, ago(days=4)), world.scan(a, ago(days=1))
    old = world.scan(b, ago(days=45))
    for sid in (s3, old, s1):
        r = world.client.post(
            "/api/v1/identify", json={"scan_id": sid, "external_id": "dana"}, headers=world.tenant.auth()
        )
        assert r.status_code == 201
    conv = world.post({"scan_id": s2, "type": "purchase", "value": 12, "external_id": "dana"}).json()
    assert {c["credit_ppm"] for c in conv["credits"]["linear"]} == {333_334, 333_333}
    r = world.client.get("/api/v1/customers/dana/journey", headers=world.tenant.auth(Role.VIEWER))
    assert r.status_code == 200
    journey = r.json()
    assert [t["scan_id"] for t in journey["touches"]] == [s1, s2, s3]  # the 45-day-old scan is outside
    assert {t["campaign_id"] for t in journey["touches"]} == {a.campaign_id, b.campaign_id}
    assert [c["id"] for c in journey["conversions"]] == [conv["id"]]
    earlier = world.client.get(
        "/api/v1/customers/dana/journey", params={"at": ago(days=3).isoformat()}, headers=world.tenant.auth()
    ).json()
    assert [t["scan_id"] for t in earlier["touches"]] == [s1, s2]
    empty = world.client.get("/api/v1/customers/nobody/journey", headers=world.tenant.auth()).json()
    assert (empty["touches"], empty["conversions"]) == ([], [])


def test_late_identity_links_recompute_credits(world: World) -> None:
    code = world.code(campaign="late")
    early, named = world.scan(code, ago(days=3)), world.scan(code, ago(hours=2))
    conv = world.post({"scan_id": named, "type": "purchase", "value": 10, "external_id": "finn"}).json()
    assert [c["scan_id"] for c in conv["credits"]["first"]] == [named]
    r = world.client.post(
        "/api/v1/identify", json={"scan_id": early, "external_id": "finn"}, headers=world.tenant.auth()
    )
    assert r.json()["reattributed"] == [conv["id"]]
    after = world.conversion(conv["id"])
    assert {c["scan_id"]: c["credit_ppm"] for c in after["credits"]["first"]} == {early: 1_000_000, named: 0}


def test_other_workspaces_see_nothing(world: World, other: Tenant) -> None:
    sid = world.scan(world.code(), ago(hours=1))
    conv = world.post({"scan_id": sid, "type": "purchase", "value": 1, "external_id": "gus"}).json()
    h = other.auth()
    assert world.client.get(f"/api/v1/conversions/{conv['id']}", headers=h).status_code == 404
    assert world.client.get("/api/v1/conversions", headers=h).json()["items"] == []
    assert world.client.get("/api/v1/customers/gus/journey", headers=h).json()["touches"] == []
    assert world.client.get("/api/v1/attribution/credits", headers=h).json()["items"] == []
    theirs = world.ctr.codes.create(
        Principal(workspace_id=other.workspace_id, role=Role.OWNER),
        CodeCreate(destination="https://o.example/"),
    )
    r = world.client.post("/api/v1/identify", json={"scan_id": sid, "external_id": "x"}, headers=h)
    assert r.status_code == 422
    assert theirs.workspace_id == other.workspace_id


def test_fx_rates_crud(world: World) -> None:
    h = world.tenant.auth()
    assert world.client.get("/api/v1/fx-rates/EUR", headers=h).status_code == 404
    assert world.client.put("/api/v1/fx-rates/eur", json={"rate": "1.0850"}, headers=h).status_code == 200
    assert world.client.put("/api/v1/fx-rates/GBP", json={"rate": 1.27}, headers=h).status_code == 200
    listed = world.client.get("/api/v1/fx-rates", headers=world.tenant.auth(Role.VIEWER)).json()["items"]
    assert [(r["currency"], r["rate"]) for r in listed] == [("EUR", "1.085"), ("GBP", "1.27")]
    for body in ({"rate": 0}, {"rate": -1}, {"rate": "1e13"}, {"rate": "abc"}, {}):
        r = world.client.put("/api/v1/fx-rates/EUR", json=body, headers=h)
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
    assert world.client.delete("/api/v1/fx-rates/EUR", headers=h).status_code == 204
    assert world.client.delete("/api/v1/fx-rates/EUR", headers=h).status_code == 404
    assert world.client.get("/api/v1/fx-rates/EURO", headers=h).status_code == 422


def test_recompute_needs_an_admin(world: World) -> None:
    sid = world.scan(world.code(), ago(hours=1))
    world.post({"scan_id": sid, "type": "lead"})
    assert (
        world.client.post("/api/v1/attribution/recompute", headers=world.tenant.auth(Role.EDITOR)).status_code
        == 403
    )
    r = world.client.post("/api/v1/attribution/recompute", headers=world.tenant.auth(Role.ADMIN))
    assert r.json() == {"conversions": 1}


def test_demo_has_online_in_store_and_multi_touch_conversions(world: World) -> None:
    info = ensure_demo(world.ctr)
    h = {"Authorization": f"Bearer {info.api_key}"}
    items = all_pages(world.client, "/api/v1/conversions", h, limit=200)
    online = [c for c in items if c["source"] == "api" and c["scan_id"]]
    in_store = [c for c in items if c["source"] == "pos" and c["coupon_code"] and c["scan_id"]]
    repeat = [c for c in items if c["external_id"] and c["external_id"].startswith("demo-customer-")]
    assert len(online) >= 15
    assert len(in_store) >= 10
    assert len(repeat) == 8
    multi = world.client.get(f"/api/v1/conversions/{repeat[0]['id']}", headers=h).json()
    linear = multi["credits"]["linear"]
    assert len(linear) >= 3
    assert len({c["campaign_id"] for c in linear}) >= 2
    assert sum(c["credit_ppm"] for c in linear) == 1_000_000
    journey = world.client.get(f"/api/v1/customers/{repeat[0]['external_id']}/journey", headers=h).json()
    assert len(journey["touches"]) >= 3


def test_viewers_cannot_write(world: World) -> None:
    sid = world.scan(world.code(), ago(minutes=5))
    h = world.tenant.auth(Role.VIEWER)
    c = world.client
    assert c.post("/api/v1/identify", json={"scan_id": sid, "external_id": "v"}, headers=h).status_code == 403
    assert (
        c.post("/api/v1/conversions/batch", json={"items": [{"type": "lead"}]}, headers=h).status_code == 403
    )
    files = {"file": ("pos.csv", b"Order,Time,Coupon\n", "text/csv")}
    mapping = '{"order_id": "Order", "occurred_at": "Time", "coupon_code": "Coupon"}'
    assert (
        c.post("/api/v1/conversions/import", files=files, data={"mapping": mapping}, headers=h).status_code
        == 403
    )
    assert c.delete("/api/v1/fx-rates/EUR", headers=h).status_code == 403
    for path in ("/api/v1/conversions", "/api/v1/attribution/credits", "/api/v1/fx-rates"):
        assert c.get(path, headers=h).status_code == 200
