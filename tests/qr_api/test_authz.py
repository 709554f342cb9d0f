"""Roles and tenancy of every QR studio endpoint: viewers read, editors write, foreign objects are 404."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scanroute.bootstrap import Container
from scanroute.domain.workspace import Role
from tests.conftest import Tenant, make_tenant
from tests.qr_api.conftest import make_png, upload_logo, wait_job

_n = iter(range(10**6))


def seed(client: TestClient, t: Tenant) -> dict[str, Any]:
    """A code, a template, a logo, a campaign and a finished job inside a tenant."""
    n = next(_n)
    owner = t.auth(Role.OWNER)
    code = client.post("/api/v1/codes", json={"destination": "https://e.example/"}, headers=owner).json()
    tpl = client.post("/api/v1/qr/templates", json={"name": f"t{n}", "design": {}}, headers=owner).json()
    logo = upload_logo(client, t, make_png(40 + n % 50)).json()
    camp = client.post("/api/v1/campaigns", json={"name": f"c{n}"}, headers=owner).json()
    job = client.post("/api/v1/bulk/render", json={"slugs": [code["slug"]]}, headers=owner).json()
    wait_job(client, t, job["id"])
    return {
        "slug": code["slug"],
        "tpl": tpl["id"],
        "logo": logo["id"],
        "camp": camp["id"],
        "job": job["id"],
        "n": n,
    }


@dataclass(frozen=True)
class Ep:
    method: str
    path: str
    needs: Role
    body: Callable[[dict[str, Any]], Any] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Ep("GET", "/api/v1/codes/{slug}/qr", Role.VIEWER),
    Ep("GET", "/api/v1/qr/templates/{tpl}", Role.VIEWER),
    Ep("PATCH", "/api/v1/qr/templates/{tpl}", Role.EDITOR, lambda s: {"name": f"renamed {s['n']}"}),
    Ep("POST", "/api/v1/qr/templates/{tpl}/apply", Role.EDITOR, lambda s: {"slugs": [s["slug"]]}),
    Ep("DELETE", "/api/v1/qr/templates/{tpl}", Role.EDITOR),
    Ep("GET", "/api/v1/logos/{logo}", Role.VIEWER),
    Ep("GET", "/api/v1/logos/{logo}/content", Role.VIEWER),
    Ep("DELETE", "/api/v1/logos/{logo}", Role.EDITOR),
    Ep("GET", "/api/v1/jobs/{job}", Role.VIEWER),
    Ep("GET", "/api/v1/jobs/{job}/download?file=pdf", Role.VIEWER),
    Ep(
        "POST",
        "/api/v1/campaigns/{camp}/creatives",
        Role.EDITOR,
        lambda s: {"destination": "https://e.example/", "variants": [{"label": "a"}]},
    ),
]
MISSING = {"slug": "no-such-code", "tpl": 999_999, "logo": 999_999, "camp": 999_999, "job": 999_999}


def call(client: TestClient, ep: Ep, t: Tenant, role: Role, objs: dict[str, Any]) -> Any:
    body = ep.body(objs) if ep.body else None
    return client.request(ep.method, ep.path.format(**objs), json=body, headers=t.auth(role))


@pytest.mark.parametrize("ep", ENDPOINTS, ids=str)
def test_roles_and_foreign_objects(ep: Ep, ctr: Container, client: TestClient) -> None:
    mine, theirs = make_tenant(ctr, f"m{next(_n)}"), make_tenant(ctr, f"t{next(_n)}")
    seed(client, mine)
    foreign = seed(client, theirs)
    for role in Role:
        r = call(client, ep, mine, role, foreign)
        absent = call(client, ep, mine, role, {**foreign, **MISSING})
        assert r.status_code == absent.status_code, (role, r.text, absent.text)
        assert r.status_code == (404 if role.allows(ep.needs) else 403), (role, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    for role in Role:  # and on own objects, each role gets exactly its rights
        own = seed(client, mine)
        r = call(client, ep, mine, role, own)
        expected_ok = role.allows(ep.needs)
        assert (r.status_code < 300) == expected_ok, (role, r.status_code, r.text)
        if not expected_ok:
            assert r.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/qr/templates", {"name": "x", "design": {}}),
        ("POST", "/api/v1/bulk", {"csv": "destination\nhttps://e.example/\n"}),
        ("POST", "/api/v1/bulk/render", {"slugs": ["x"]}),
    ],
)
def test_viewers_cannot_write(client: TestClient, tenant: Tenant, method: str, path: str, body: Any) -> None:
    r = client.request(method, path, json=body, headers=tenant.auth(Role.VIEWER))
    assert r.status_code == 403
    assert "editor" in r.json()["detail"]
    assert upload_logo(client, tenant, make_png()).status_code == 201  # editors can
    r = client.post(
        "/api/v1/logos", files={"file": ("l.png", make_png(), "image/png")}, headers=tenant.auth(Role.VIEWER)
    )
    assert r.status_code == 403
