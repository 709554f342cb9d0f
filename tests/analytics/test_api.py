"""The analytics API: contract fields, defaults, roles, and bad input → 422 naming the field."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from scanroute.domain.workspace import Role
from tests.conftest import Tenant

BASE = "/api/v1/analytics"


def test_empty_workspace_answers_zeros_with_the_contract_fields(client: TestClient, tenant: Tenant) -> None:
    r = client.get(f"{BASE}/summary", headers=tenant.auth(Role.VIEWER))
    assert r.status_code == 200
    body = r.json()
    for key in ("scans", "unique_visitors", "conversions", "conversion_rate", "revenue"):  # DESIGN §3
        assert key in body
    assert (body["scans"], body["conversions"], body["revenue"]) == (0, 0, "0.00")
    assert body["conversion_rate"] is None
    assert body["ghost_scan_rate"] is None
    assert body["roi"] is None
    today = datetime.now(ZoneInfo(body["context"]["timezone"])).date()
    assert body["context"]["to"] == today.isoformat()
    assert body["context"]["from"] == (today - timedelta(days=29)).isoformat()
    assert body["context"]["currency"] == "USD"
    assert body["context"]["attribution_model"] == "last"


def test_only_from_gives_thirty_days_and_compare_adds_previous(client: TestClient, tenant: Tenant) -> None:
    body = client.get(
        f"{BASE}/summary", params={"from": "2025-01-01", "compare": "previous"}, headers=tenant.auth()
    ).json()
    assert (body["context"]["from"], body["context"]["to"]) == ("2025-01-01", "2025-01-30")
    assert body["previous"]["scans"] == 0
    assert body["change"]["scans"] is None


def test_every_endpoint_answers(client: TestClient, tenant: Tenant) -> None:
    h = tenant.auth(Role.VIEWER)
    span = {"from": "2026-01-01", "to": "2026-01-07"}
    assert len(client.get(f"{BASE}/timeseries", params=span, headers=h).json()["points"]) == 7
    hours = client.get(f"{BASE}/timeseries", params=span | {"granularity": "hour"}, headers=h).json()[
        "points"
    ]
    assert len(hours) == 7 * 24
    assert hours[0]["start"] == "2026-01-01T00:00"
    rows = client.get(f"{BASE}/breakdown", params=span | {"by": "day_of_week"}, headers=h).json()["rows"]
    assert [r["label"] for r in rows][:2] == ["Monday", "Tuesday"]
    stages = client.get(f"{BASE}/funnel", params=span, headers=h).json()["stages"]
    assert [s["stage"] for s in stages] == ["scan", "arrived", "engaged", "lead", "customer"]
    models = client.get(f"{BASE}/attribution", params=span, headers=h).json()["models"]
    assert {m["model"] for m in models} == {"last", "first", "linear", "time_decay", "position"}
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {f"{BASE}/{p}" for p in ("summary", "timeseries", "breakdown", "funnel", "attribution")} <= set(
        paths
    )


def test_a_key_is_needed(client: TestClient, tenant: Tenant) -> None:
    r = client.get(f"{BASE}/summary")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("summary", {"from": "2026-13-01"}, "from"),
        ("summary", {"from": "2026-02-10", "to": "2026-02-01"}, "to"),
        ("summary", {"from": "2010-01-01", "to": "2026-01-01"}, "from"),
        ("summary", {"compare": "next"}, "compare"),
        ("timeseries", {"to": "0001-01-01", "granularity": "hour"}, "to"),  # found by the fuzzer
        ("summary", {"from": "9999-12-31"}, "from"),
        ("summary", {"country": "DEU"}, "country"),
        ("summary", {"device": "phone"}, "device"),
        ("summary", {"code": "no-such-code"}, "code"),
        ("summary", {"campaign": "No Such Campaign"}, "campaign"),
        ("summary", {"placement": "Nowhere"}, "placement"),
        ("breakdown", {"by": "planet"}, "by"),
        ("breakdown", {"limit": "0"}, "limit"),
        ("breakdown", {"by": "city", "device": "mobile"}, "device"),
        ("timeseries", {"granularity": "minute"}, "granularity"),
        ("timeseries", {"granularity": "hour", "from": "2025-01-01", "to": "2025-12-31"}, "granularity"),
        ("attribution", {"model": "best"}, "model"),
        ("attribution", {"by": "hour_of_day"}, "by"),
    ],
)
def test_bad_input_names_the_field(
    client: TestClient, tenant: Tenant, path: str, params: dict[str, str], field: str
) -> None:
    r = client.get(f"{BASE}/{path}", params=params, headers=tenant.auth())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in r.json()["errors"]]
