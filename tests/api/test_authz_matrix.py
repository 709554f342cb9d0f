"""Every endpoint × every role × another workspace's object: no leak, no escalation."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scanroute.bootstrap import Container
from scanroute.domain.workspace import Principal, Role
from scanroute.services.catalog import CampaignCreate, PlacementCreate
from scanroute.services.codes import CodeCreate
from scanroute.services.common import utcnow
from scanroute.services.tenants import hash_password
from scanroute.storage.tenants import UserStore
from tests.conftest import Tenant, make_tenant

_counter = itertools.count()
PASSWORD_HASH = hash_password("password123")  # hashed once: argon2 is slow on purpose


def seed(ctr: Container, t: Tenant) -> dict[str, Any]:
    """Objects of every kind inside a tenant."""
    owner = Principal(workspace_id=t.workspace_id, role=Role.OWNER)
    n = next(_counter)
    code = ctr.codes.create(owner, CodeCreate(destination="https://example.com/", slug=f"code-{n}-{t.slug}"))
    camp = ctr.campaigns.create(owner, CampaignCreate(name=f"camp {n}"))
    plac = ctr.placements.create(owner, PlacementCreate(name=f"place {n}"))
    users = UserStore()
    with ctr.db.write() as conn:
        user_id = users.create(
            conn, email=f"m{n}@{t.slug}.example", name="", password_hash=PASSWORD_HASH, now=utcnow()
        )
        users.add_member(conn, t.workspace_id, user_id, Role.VIEWER, utcnow())
    key_id = ctr.keys.issue(t.workspace_id, "victim", Role.VIEWER, None)[1].id
    return {
        "slug": code.slug,
        "campaign": camp.id,
        "placement": plac.id,
        "member": user_id,
        "key": key_id,
        "ws": t.slug,
        "n": n,
    }


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # formatted with seed()'s dict
    needs: Role
    body: Callable[[dict[str, Any]], Any] | None = None
    scoped: bool = True  # names an object, so a foreign object must be 404

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("GET", "/api/v1/codes", Role.VIEWER, scoped=False),
    Endpoint(
        "POST",
        "/api/v1/codes",
        Role.EDITOR,
        lambda s: {"destination": "https://e.example/"},
        scoped=False,
    ),
    Endpoint("GET", "/api/v1/codes/{slug}", Role.VIEWER),
    Endpoint("PATCH", "/api/v1/codes/{slug}", Role.EDITOR, lambda s: {"title": "x"}),
    Endpoint("DELETE", "/api/v1/codes/{slug}", Role.EDITOR),
    Endpoint("GET", "/api/v1/campaigns", Role.VIEWER, scoped=False),
    Endpoint("POST", "/api/v1/campaigns", Role.EDITOR, lambda s: {"name": f"new {s['n']}"}, scoped=False),
    Endpoint("GET", "/api/v1/campaigns/{campaign}", Role.VIEWER),
    Endpoint("PATCH", "/api/v1/campaigns/{campaign}", Role.EDITOR, lambda s: {"goal": "x"}),
    Endpoint("DELETE", "/api/v1/campaigns/{campaign}", Role.EDITOR),
    Endpoint("GET", "/api/v1/placements", Role.VIEWER, scoped=False),
    Endpoint("POST", "/api/v1/placements", Role.EDITOR, lambda s: {"name": f"new {s['n']}"}, scoped=False),
    Endpoint("GET", "/api/v1/placements/{placement}", Role.VIEWER),
    Endpoint("PATCH", "/api/v1/placements/{placement}", Role.EDITOR, lambda s: {"city": "Oslo"}),
    Endpoint("DELETE", "/api/v1/placements/{placement}", Role.EDITOR),
    Endpoint("GET", "/api/v1/workspaces", Role.VIEWER, scoped=False),
    Endpoint("POST", "/api/v1/workspaces", Role.OWNER, lambda s: {"slug": f"new-{s['n']}"}, scoped=False),
    Endpoint("GET", "/api/v1/workspaces/{ws}", Role.VIEWER),
    Endpoint("PATCH", "/api/v1/workspaces/{ws}", Role.ADMIN, lambda s: {"name": "Renamed"}),
    Endpoint("DELETE", "/api/v1/workspaces/{ws}", Role.OWNER),
    Endpoint("GET", "/api/v1/members", Role.VIEWER, scoped=False),
    Endpoint(
        "POST",
        "/api/v1/members",
        Role.ADMIN,
        lambda s: {"email": f"new{s['n']}@x.example", "role": "viewer", "password": "password123"},
        scoped=False,
    ),
    Endpoint("PATCH", "/api/v1/members/{member}", Role.ADMIN, lambda s: {"role": "editor"}),
    Endpoint("DELETE", "/api/v1/members/{member}", Role.ADMIN),
    Endpoint("GET", "/api/v1/keys", Role.ADMIN, scoped=False),
    Endpoint("POST", "/api/v1/keys", Role.ADMIN, lambda s: {"name": "k", "role": "viewer"}, scoped=False),
    Endpoint("DELETE", "/api/v1/keys/{key}", Role.ADMIN),
]


def call(client: TestClient, ep: Endpoint, t: Tenant, role: Role, objects: dict[str, Any]) -> Any:
    body = ep.body(objects) if ep.body else None
    return client.request(ep.method, ep.path.format(**objects), json=body, headers=t.auth(role))


@pytest.mark.parametrize("ep", ENDPOINTS, ids=str)
def test_role_matrix(ep: Endpoint, ctr: Container, client: TestClient) -> None:
    for role in Role:
        t = make_tenant(ctr, f"w{next(_counter)}")
        objects = seed(ctr, t)
        r = call(client, ep, t, role, objects)
        if role.allows(ep.needs):
            assert r.status_code < 300, (role, r.status_code, r.text)
        else:
            assert r.status_code == 403, (role, r.status_code, r.text)
            assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("ep", [e for e in ENDPOINTS if e.scoped], ids=str)
def test_foreign_objects_are_not_found(ep: Endpoint, ctr: Container, client: TestClient) -> None:
    mine = make_tenant(ctr, f"w{next(_counter)}")
    theirs = make_tenant(ctr, f"w{next(_counter)}")
    seed(ctr, mine)
    foreign = seed(ctr, theirs)
    missing = {
        **foreign,
        "slug": "no-such-code",
        "campaign": 999_999,
        "placement": 999_999,
        "member": 999_999,
        "key": 999_999,
        "ws": "no-such-ws",
    }
    for role in Role:
        r = call(client, ep, mine, role, foreign)
        absent = call(client, ep, mine, role, missing)
        # a foreign object answers exactly like one that does not exist: nothing leaks
        assert r.status_code == absent.status_code, (role, r.status_code, absent.status_code)
        expected = 404 if role.allows(ep.needs) else 403
        assert r.status_code == expected, (role, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    # and the foreign objects are untouched
    owner = theirs.auth(Role.OWNER)
    assert client.get(f"/api/v1/codes/{foreign['slug']}", headers=owner).json()["title"] == ""
    assert client.get(f"/api/v1/campaigns/{foreign['campaign']}", headers=owner).json()["goal"] == ""
    assert client.get(f"/api/v1/placements/{foreign['placement']}", headers=owner).json()["city"] == ""
    assert client.get(f"/api/v1/workspaces/{foreign['ws']}", headers=owner).json()["name"] == foreign["ws"]
    roles = {m["user_id"]: m["role"] for m in client.get("/api/v1/members", headers=owner).json()["items"]}
    assert roles[foreign["member"]] == "viewer"
    assert foreign["key"] in {k["id"] for k in client.get("/api/v1/keys", headers=owner).json()["items"]}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/codes", "/api/v1/campaigns", "/api/v1/placements", "/api/v1/members", "/api/v1/keys"],
)
def test_lists_never_show_foreign_objects(path: str, ctr: Container, client: TestClient) -> None:
    mine = make_tenant(ctr, f"w{next(_counter)}")
    theirs = make_tenant(ctr, f"w{next(_counter)}")
    own = seed(ctr, mine)
    seed(ctr, theirs)
    items = client.get(path, headers=mine.auth(Role.OWNER)).json()["items"]
    assert items, "own objects are listed"
    text = str(items)
    assert theirs.slug not in text
    if path == "/api/v1/codes":
        assert [i["slug"] for i in items] == [own["slug"]]


def test_no_privilege_escalation(ctr: Container, client: TestClient) -> None:
    t = make_tenant(ctr, "esc")
    objects = seed(ctr, t)
    admin = t.auth(Role.ADMIN)
    r = client.post("/api/v1/keys", json={"name": "x", "role": "owner"}, headers=admin)
    assert r.status_code == 403
    r = client.post(
        "/api/v1/members",
        json={"email": "boss@x.example", "role": "owner", "password": "password123"},
        headers=admin,
    )
    assert r.status_code == 403
    r = client.patch(f"/api/v1/members/{objects['member']}", json={"role": "owner"}, headers=admin)
    assert r.status_code == 403
    owner_key_id = next(
        k["id"] for k in client.get("/api/v1/keys", headers=admin).json()["items"] if k["role"] == "owner"
    )
    assert client.delete(f"/api/v1/keys/{owner_key_id}", headers=admin).status_code == 403
    # the owner key still works
    assert client.get("/api/v1/keys", headers=t.auth(Role.OWNER)).status_code == 200
