"""Every dashboard page renders for each role with the demo catalogue (no browser; SQLite and
PostgreSQL): the right headings, edit controls only for editors, empty states, HTML errors."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from scanroute.bootstrap import Container
from scanroute.demo import populate
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import CodeCreate
from scanroute.storage.paging import ListQuery
from tests.conftest import Tenant
from tests.dashboard.conftest import User, add_user, sign_in

PAGES = {
    "/app/": "Overview",
    "/app/campaigns": "All campaigns",
    "/app/campaigns/1": "Autumn Latte Launch",
    "/app/codes": "Codes",
    "/app/codes/new": "New code",
    "/app/qr": "QR designer",
    "/app/placements": "All placements",
    "/app/conversions": "Attribution models compared",
    "/app/live": "Feed",
    "/app/settings": "Members and roles",
}


@pytest.fixture
def demo(ctr: Container, tenant: Tenant) -> Principal:
    """The demo catalogue (campaigns, placements, codes with rules) in the test workspace."""
    owner = Principal(workspace_id=tenant.workspace_id, role=Role.OWNER)
    populate(ctr, owner)
    return owner


@pytest.mark.parametrize("role", [Role.OWNER, Role.VIEWER])
def test_every_page_renders(
    client: TestClient, ctr: Container, tenant: Tenant, demo: Principal, role: Role
) -> None:
    user = add_user(ctr, tenant.workspace_id, f"{role.value}@example.com", role)
    sign_in(client, user)
    slug = ctr.codes.list(demo, ListQuery(filters={})).items[0].slug
    for path, heading in {**PAGES, f"/app/codes/{slug}": "Routing rules"}.items():
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert heading in r.text, path
        assert r.headers["content-type"].startswith("text/html")
        editing = ("data-api=" in r.text) or ('name="action"' in r.text)
        if role is Role.VIEWER:
            # only their own password form may be a write form for a viewer
            forms = re.findall(r'data-api="([A-Z]+ [^"]+)"', r.text)
            assert forms in ([], ["POST /app/account/password"]), (path, forms)
        elif path in ("/app/codes", "/app/settings", "/app/campaigns", "/app/placements"):
            assert editing, path


def test_codes_list_filters_and_htmx_partial(
    client: TestClient, owner: User, demo: Principal, ctr: Container
) -> None:
    sign_in(client, owner)
    everything = client.get("/app/codes").text
    assert everything.count('name="slug"') == 40
    berlin = client.get("/app/codes?q=berlin").text
    assert 0 < berlin.count('name="slug"') < 40
    partial = client.get("/app/codes?status=paused", headers={"HX-Request": "true", "HX-Target": "code-rows"})
    assert "<html" not in partial.text
    assert "No code matches" in partial.text


def test_bulk_pause_then_resume(client: TestClient, owner: User, demo: Principal, ctr: Container) -> None:
    csrf = sign_in(client, owner)
    slugs = [c.slug for c in ctr.codes.list(demo, ListQuery(filters={}, limit=3)).items]
    r = client.post("/app/codes/bulk", data={"action": "pause", "slug": slugs, "csrf_token": csrf})
    assert "3 codes paused" in r.text
    assert {ctr.codes.get(demo, s).status.value for s in slugs} == {"paused"}
    assert client.get("/app/codes?status=paused").text.count('name="slug"') == 3
    client.post("/app/codes/bulk", data={"action": "resume", "slug": slugs[:1], "csrf_token": csrf})
    assert ctr.codes.get(demo, slugs[0]).status.value == "active"


def test_empty_workspace_says_what_to_do(client: TestClient, owner: User) -> None:
    sign_in(client, owner)
    assert "No scans yet" in client.get("/app/").text
    assert "Create your first code" in client.get("/app/codes").text
    assert "No campaigns yet" in client.get("/app/campaigns").text
    assert "No placements yet" in client.get("/app/placements").text
    assert "No conversions yet" in client.get("/app/conversions").text


def test_unknown_pages_and_objects_are_html_errors(
    client: TestClient, owner: User, ctr: Container, other: Tenant
) -> None:
    sign_in(client, owner)
    foreign = ctr.codes.create(
        Principal(workspace_id=other.workspace_id, role=Role.OWNER),
        CodeCreate(destination="https://example.com/"),
    )
    for path in ("/app/nothing-here", f"/app/codes/{foreign.slug}", "/app/campaigns/999999"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
        assert "Back to the overview" in r.text
