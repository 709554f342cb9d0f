"""Bad input on every write endpoint: 4xx problem+json naming the field, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tenant

LONG = "x" * 5000
URL = "https://example.com/"

# (method, path, body, field expected in the errors)
CASES: list[tuple[str, str, Any, str]] = [
    ("POST", "/api/v1/codes", {}, "destination"),
    ("POST", "/api/v1/codes", {"destination": 42}, "destination"),
    ("POST", "/api/v1/codes", {"destination": URL, "colour": "red"}, "colour"),
    ("POST", "/api/v1/codes", {"destination": "javascript:alert(1)"}, "destination"),
    ("POST", "/api/v1/codes", {"destination": "data:text/html,<script>x</script>"}, "destination"),
    ("POST", "/api/v1/codes", {"destination": "file:///etc/passwd"}, "destination"),
    ("POST", "/api/v1/codes", {"destination": "https://"}, "destination"),
    ("POST", "/api/v1/codes", {"destination": "https://e.com/" + "a" * 3000}, "destination"),
    ("POST", "/api/v1/codes", {"destination": URL, "slug": "api"}, "slug"),
    ("POST", "/api/v1/codes", {"destination": URL, "slug": "a b"}, "slug"),
    ("POST", "/api/v1/codes", {"destination": URL, "slug": "x" * 65}, "slug"),
    ("POST", "/api/v1/codes", {"destination": URL, "timezone": "Mars/Olympus"}, "timezone"),
    ("POST", "/api/v1/codes", {"destination": URL, "fallback": "javascript:void(0)"}, "fallback"),
    ("POST", "/api/v1/codes", {"destination": URL, "scan_limit": 0}, "scan_limit"),
    (
        "POST",
        "/api/v1/codes",
        {"destination": URL, "expires_at": "2030-01-01T00:00:00"},
        "expires_at",
    ),
    ("POST", "/api/v1/codes", {"destination": URL, "tags": ["t"] * 21}, "tags"),
    ("POST", "/api/v1/codes", {"destination": URL, "utm": {"source": LONG}}, "utm.source"),
    ("POST", "/api/v1/codes", {"destination": URL, "utm": {"sauce": "qr"}}, "utm.sauce"),
    ("POST", "/api/v1/codes", {"destination": URL, "rules": [{"when": {"os": "iOS"}}]}, "rules[0]"),
    (
        "POST",
        "/api/v1/codes",
        {"destination": URL, "rules": [{"when": {}, "to": "javascript:x"}]},
        "rules[0].to",
    ),
    ("POST", "/api/v1/codes", {"destination": URL, "placement": "nowhere"}, "placement"),
    ("POST", "/api/v1/codes", {"destination": URL, "campaign": 999}, "campaign"),
    ("POST", "/api/v1/codes", {"destination": URL, "campaign": 2**63}, "campaign"),
    ("POST", "/api/v1/codes", {"destination": URL, "template": 2**63}, "template"),
    ("POST", "/api/v1/qr/preview", {"template": 2**63, "format": "eps"}, "template"),
    ("POST", "/api/v1/qr/preview", {"template": 0}, "template"),
    ("POST", "/api/v1/qr/templates/1/apply", {"campaign": 2**63}, "campaign"),
    ("GET", "/api/v1/analytics/funnel?placement=%C2%B2", None, "placement"),  # "²" is a digit to isdigit
    ("GET", "/api/v1/analytics/funnel?campaign=9999999999999", None, "campaign"),
    (
        "POST",
        "/api/v1/campaigns/{campaign}/creatives",
        {"destination": "ascii", "variants": [{"label": "A"}]},
        "destination",
    ),
    (
        "POST",
        "/api/v1/campaigns/{campaign}/creatives",
        {"destination": URL, "variants": [{"label": "A"}, {"label": "B", "template": 0}]},
        "variants[1].template",
    ),
    (
        "POST",
        "/api/v1/campaigns/{campaign}/creatives",
        {"destination": URL, "variants": [{"label": "A", "slug": "a b"}]},
        "variants[0].slug",
    ),
    ("POST", "/api/v1/codes", [1, 2], "body"),
    ("PATCH", "/api/v1/codes/{slug}", {"destination": "ftp://x.example/"}, "destination"),
    ("PATCH", "/api/v1/codes/{slug}", {"destination": None}, "destination"),
    ("PATCH", "/api/v1/codes/{slug}", {"status": "deleted"}, "status"),
    ("PATCH", "/api/v1/codes/{slug}", {"slug": "renamed"}, "slug"),
    ("POST", "/api/v1/campaigns", {}, "name"),
    ("POST", "/api/v1/campaigns", {"name": ""}, "name"),
    ("POST", "/api/v1/campaigns", {"name": "n", "budget": -5}, "budget"),
    ("POST", "/api/v1/campaigns", {"name": "n", "budget": "1.234"}, "budget"),
    ("POST", "/api/v1/campaigns", {"name": "n", "currency": "EURO"}, "currency"),
    ("POST", "/api/v1/campaigns", {"name": "n", "currency": "QQQ", "budget": 5}, "currency"),
    ("POST", "/api/v1/campaigns", {"name": "n", "currency": "ftp"}, "currency"),
    ("POST", "/api/v1/placements", {"name": "n", "currency": "GET"}, "currency"),
    ("POST", "/api/v1/campaigns", {"name": "n", "currency": "XAU"}, "currency"),
    (
        "POST",
        "/api/v1/campaigns",
        {"name": "n", "starts_on": "2026-05-01", "ends_on": "2026-04-01"},
        "body",
    ),
    ("POST", "/api/v1/campaigns", {"name": "existing"}, "name"),
    ("PATCH", "/api/v1/campaigns/{campaign}", {"spend": "NaN"}, "spend"),
    ("POST", "/api/v1/placements", {"name": "p", "medium": "skywriting"}, "body"),
    ("POST", "/api/v1/placements", {"name": "p", "latitude": 91}, "latitude"),
    ("POST", "/api/v1/placements", {"name": "p", "country": "France"}, "country"),
    ("POST", "/api/v1/placements", {"name": "p", "print_run": -1}, "print_run"),
    ("PATCH", "/api/v1/placements/{placement}", {"name": None}, "name"),
    ("POST", "/api/v1/workspaces", {"slug": "Bad Slug"}, "slug"),
    ("POST", "/api/v1/workspaces", {"slug": "ok", "timezone": "Nowhere/Land"}, "timezone"),
    ("POST", "/api/v1/workspaces", {"slug": "acme"}, "slug"),
    ("PATCH", "/api/v1/workspaces/acme", {"currency": "dollars"}, "currency"),
    ("POST", "/api/v1/members", {"email": "not-an-email", "password": "password123"}, "email"),
    ("POST", "/api/v1/members", {"email": "new@x.example"}, "password"),
    ("POST", "/api/v1/members", {"email": "new@x.example", "password": "short"}, "password"),
    (
        "POST",
        "/api/v1/members",
        {"email": "new@x.example", "password": "password123", "role": "god"},
        "role",
    ),
    ("PATCH", "/api/v1/members/{member}", {"role": "owner", "extra": 1}, "extra"),
    ("POST", "/api/v1/keys", {"name": ""}, "name"),
    ("POST", "/api/v1/keys", {"name": "k", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ("POST", "/api/v1/keys", {"name": "k", "role": "superuser"}, "role"),
]


def snapshot(client: TestClient, t: Tenant) -> dict[str, Any]:
    """Everything the tenant can list."""
    h = t.auth()
    return {
        p: client.get(f"/api/v1/{p}", headers=h, params={"limit": 200}).json()["items"]
        for p in ("codes", "campaigns", "placements", "members", "keys", "workspaces")
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    CASES,
    ids=[f"{c[0]} {c[1]} {c[3]}#{i}" for i, c in enumerate(CASES)],
)
def test_bad_input(method: str, path: str, body: Any, field: str, client: TestClient, tenant: Tenant) -> None:
    h = tenant.auth()
    code = client.post("/api/v1/codes", json={"destination": URL, "slug": "fixture"}, headers=h).json()
    camp = client.post("/api/v1/campaigns", json={"name": "existing"}, headers=h).json()
    plac = client.post("/api/v1/placements", json={"name": "spot"}, headers=h).json()
    owner_id = client.get("/api/v1/members", headers=h).json()["items"]
    member = owner_id[0]["user_id"] if owner_id else 1
    before = snapshot(client, tenant)
    target = path.format(slug=code["slug"], campaign=camp["id"], placement=plac["id"], member=member)
    r = client.request(method, target, json=body, headers=h)
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == r.status_code
    fields = [e["field"] for e in problem.get("errors", [])]
    assert any(f == field or f.startswith(field) for f in fields), (fields, problem)
    assert all(e["reason"] for e in problem["errors"])
    assert snapshot(client, tenant) == before


def test_malformed_json_and_wrong_content_type(client: TestClient, tenant: Tenant) -> None:
    r = client.post(
        "/api/v1/codes",
        content=b"{not json",
        headers={**tenant.auth(), "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/codes", headers=tenant.auth()).json()["items"] == []


def test_last_owner_cannot_leave(client: TestClient, tenant: Tenant) -> None:
    h = tenant.auth()
    first = client.post(
        "/api/v1/members",
        json={"email": "o@x.example", "role": "owner", "password": "password123"},
        headers=h,
    ).json()
    second = client.post(
        "/api/v1/members",
        json={"email": "p@x.example", "role": "owner", "password": "password123"},
        headers=h,
    ).json()
    assert client.delete(f"/api/v1/members/{second['user_id']}", headers=h).status_code == 204
    r = client.patch(f"/api/v1/members/{first['user_id']}", json={"role": "viewer"}, headers=h)
    assert r.status_code == 409
    assert r.json()["errors"][0]["field"] == "role"
    r = client.delete(f"/api/v1/members/{first['user_id']}", headers=h)
    assert r.status_code == 409
    assert [m["role"] for m in client.get("/api/v1/members", headers=h).json()["items"]] == ["owner"]
