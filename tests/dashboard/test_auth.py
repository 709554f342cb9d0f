"""Sign-in, sessions, CSRF, the login rate limit and password change (no browser; SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from scanroute.bootstrap import Container, secret_key
from scanroute.domain.workspace import Role
from scanroute.services.common import utcnow
from scanroute.services.tenants import WorkspaceCreate
from scanroute.settings import Settings
from scanroute.storage.schema import user_sessions
from tests.conftest import Tenant
from tests.dashboard.conftest import PASSWORD, User, add_user, login_token, sign_in


def test_pages_need_a_session(client: TestClient) -> None:
    r = client.get("/app/codes?q=x", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/app/codes%3Fq%3Dx"
    assert client.get("/", follow_redirects=False).headers["location"] == "/app/"


def test_sign_in_sets_a_hardened_cookie_and_returns_to_next(client: TestClient, owner: User) -> None:
    token = login_token(client)
    r = client.post(
        "/login",
        data={"email": owner.email.upper(), "password": PASSWORD, "csrf_token": token, "next": "/app/codes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/app/codes"
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("sr_session="))
    flags = cookie.lower()
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags  # plain http on a non-https base URL
    page = client.get("/app/codes")
    assert page.status_code == 200
    assert owner.email in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_cookie_is_secure_over_https(ctr: Container, owner: User) -> None:
    from scanroute.web.app import create_app

    with TestClient(create_app(ctr), base_url="https://sr.test") as c:
        r = c.post(
            "/login",
            data={"email": owner.email, "password": PASSWORD, "csrf_token": login_token(c)},
            follow_redirects=False,
        )
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("sr_session="))
    assert "secure" in cookie.lower()


def test_next_never_leaves_the_dashboard(client: TestClient, owner: User) -> None:
    for target in ("https://evil.example/", "//evil.example/app", "/api/v1/keys", "/app\\..\\x"):
        client.cookies.clear()
        r = client.post(
            "/login",
            data={
                "email": owner.email,
                "password": PASSWORD,
                "csrf_token": login_token(client),
                "next": target,
            },
            follow_redirects=False,
        )
        assert r.headers["location"] == "/app/", target


def test_wrong_password_and_missing_form_token_are_refused(client: TestClient, owner: User) -> None:
    r = client.post(
        "/login",
        data={"email": owner.email, "password": "nope-nope", "csrf_token": login_token(client)},
        follow_redirects=False,
    )
    assert r.status_code == 401
    assert "The e-mail address or the password is wrong" in r.text
    assert "sr_session" not in r.headers.get("set-cookie", "")
    r = client.post("/login", data={"email": owner.email, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    assert "expired" in r.text
    assert client.get("/app/", follow_redirects=False).status_code == 303


def test_failed_logins_are_rate_limited_per_address(limited: tuple[TestClient, Container]) -> None:
    client, ctr = limited
    ws = ctr.workspaces.create(WorkspaceCreate(slug="acme"))
    user = add_user(ctr, ws.id, "someone@example.com", Role.EDITOR)
    for _ in range(3):
        r = client.post(
            "/login",
            data={"email": user.email, "password": "wrong-password", "csrf_token": login_token(client)},
            follow_redirects=False,
        )
        assert r.status_code == 401
    r = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": login_token(client)},
        follow_redirects=False,
    )
    assert r.status_code == 429
    assert "Too many failed sign-ins from this address" in r.text
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60


def test_session_authenticates_the_api_with_csrf_for_writes(
    client: TestClient, owner: User, tenant: Tenant
) -> None:
    csrf = sign_in(client, owner)
    assert client.get("/api/v1/codes").status_code == 200
    body = {"destination": "https://example.com/menu"}
    refused = client.post("/api/v1/codes", json=body)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.post("/api/v1/codes", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    created = client.post("/api/v1/codes", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    # a bearer key still decides when it is sent, cookie or not
    assert client.get("/api/v1/keys", headers=tenant.auth(Role.VIEWER)).status_code == 403
    assert client.get("/api/v1/keys", headers={"Authorization": "Bearer sr_bad"}).status_code == 401


def test_viewer_sees_no_edit_controls_and_the_server_refuses(
    client: TestClient, viewer: User, ctr: Container, tenant: Tenant
) -> None:
    from scanroute.domain.workspace import Principal
    from scanroute.services.codes import CodeCreate

    owner = Principal(workspace_id=tenant.workspace_id, role=Role.OWNER)
    code = ctr.codes.create(owner, CodeCreate(destination="https://example.com/"))
    csrf = sign_in(client, viewer)
    page = client.get(f"/app/codes/{code.slug}").text
    assert "data-api-delete" not in page
    assert "Save settings" not in page
    assert '"can_edit": false' in page
    assert "New code" not in client.get("/app/codes").text
    r = client.patch(f"/api/v1/codes/{code.slug}", json={"rules": []}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    r = client.post("/app/codes/bulk", data={"action": "pause", "slug": [code.slug], "csrf_token": csrf})
    assert r.status_code == 200
    assert "0 codes paused; 1 refused" in r.text
    assert ctr.codes.get(owner, code.slug).status.value == "active"


def test_dashboard_forms_need_the_csrf_token(client: TestClient, owner: User) -> None:
    csrf = sign_in(client, owner)
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/app/").status_code == 200  # still signed in
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/app/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_on_the_server(client: TestClient, owner: User) -> None:
    csrf = sign_in(client, owner)
    stolen = client.cookies.get("sr_session")
    client.post("/logout", data={"csrf_token": csrf})
    client.cookies.set("sr_session", stolen or "")
    assert client.get("/app/", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/codes").status_code == 401


def test_expired_and_idle_sessions_end(client: TestClient, owner: User, ctr: Container) -> None:
    sign_in(client, owner)
    with ctr.db.write() as conn:
        conn.execute(update(user_sessions).values(last_seen_at=utcnow() - timedelta(days=8)))
    assert client.get("/app/", follow_redirects=False).status_code == 303


def test_password_change(client: TestClient, owner: User, ctr: Container) -> None:
    other = TestClient(client.app, base_url=str(client.base_url))
    sign_in(other, owner)
    csrf = sign_in(client, owner)
    bad = client.post(
        "/app/account/password",
        json={
            "current_password": "wrong",
            "new_password": "n3w-password!",
            "confirm_password": "n3w-password!",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "current_password", "reason": "is not your current password"}]
    mismatch = client.post(
        "/app/account/password",
        json={"current_password": PASSWORD, "new_password": "n3w-password!", "confirm_password": "other"},
        headers={"X-CSRF-Token": csrf},
    )
    assert mismatch.json()["errors"][0]["field"] == "confirm_password"
    ok = client.post(
        "/app/account/password",
        json={
            "current_password": PASSWORD,
            "new_password": "n3w-password!",
            "confirm_password": "n3w-password!",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert ok.status_code == 204
    assert client.get("/app/").status_code == 200  # this browser got a new session
    assert other.get("/app/", follow_redirects=False).status_code == 303  # every other one ended
    fresh = TestClient(client.app, base_url=str(client.base_url))
    sign_in(fresh, User(owner.email, "n3w-password!", owner.user_id))


def test_workspace_switcher(client: TestClient, owner: User, ctr: Container) -> None:
    second = ctr.workspaces.create(WorkspaceCreate(slug="second", name="Second Shop"))
    add_user(ctr, second.id, owner.email, Role.VIEWER)
    csrf = sign_in(client, owner)
    assert client.get("/api/v1/workspaces").json()["items"][0]["slug"] == "acme"
    assert "Second Shop (viewer)" in client.get("/app/").text
    r = client.post(
        "/app/workspace", data={"workspace": "second", "csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get("/api/v1/workspaces").json()["items"][0]["slug"] == "second"
    r = client.post(
        "/api/v1/codes", json={"destination": "https://example.com/"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 403  # a viewer there
    r = client.post("/app/workspace", data={"workspace": "not-mine", "csrf_token": csrf})
    assert r.status_code == 404


def test_removed_member_loses_access_at_once(
    client: TestClient, owner: User, viewer: User, tenant: Tenant
) -> None:
    sign_in(client, viewer)
    assert client.get("/app/").status_code == 200
    r = client.delete(f"/api/v1/members/{viewer.user_id}", headers=tenant.auth(Role.OWNER))
    assert r.status_code == 204
    assert client.get("/app/", follow_redirects=False).status_code == 303


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")  # type: ignore[call-arg]
    first = secret_key(settings)
    assert len(first) >= 32
    assert secret_key(settings) == first
    path = tmp_path / "d" / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    given = Settings(data_dir=tmp_path / "d", secret_key="from-the-environment")  # type: ignore[call-arg]
    assert secret_key(given) == b"from-the-environment"


@pytest.mark.parametrize("path", ["/static/app.css", "/static/js/app.js", "/static/vendor/htmx.min.js"])
def test_static_assets_are_served_locally_with_long_cache(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert "max-age=31536000" in r.headers["cache-control"]
    assert r.headers["x-content-type-options"] == "nosniff"
