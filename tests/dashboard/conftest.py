"""Fixtures for the dashboard: users with passwords in a workspace, and a signed-in test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scanroute.bootstrap import Container, build
from scanroute.domain.workspace import Role
from scanroute.services.common import utcnow
from scanroute.services.tenants import hash_password
from scanroute.storage.tenants import UserStore
from scanroute.web.app import create_app
from tests.conftest import BASE_URL, Tenant, make_settings

# The browser tests' session-wide server, browser and signed-in page (see browsing.py).
from tests.dashboard.browsing import browser, demo, demo_slug, owner_state, page  # noqa: F401

PASSWORD = "correct horse battery"


@dataclass
class User:
    """A dashboard user of the test workspace."""

    email: str
    password: str
    user_id: int


def add_user(ctr: Container, workspace_id: int, email: str, role: Role, password: str = PASSWORD) -> User:
    """Create a user (or reuse one by e-mail) and give them ``role`` in the workspace."""
    users = UserStore()
    with ctr.db.write() as conn:
        row = users.by_email(conn, email)
        user_id = (
            row.id
            if row is not None
            else users.create(
                conn,
                email=email,
                name=email.split("@")[0],
                password_hash=hash_password(password),
                now=utcnow(),
            )
        )
        users.add_member(conn, workspace_id, user_id, role, utcnow())
    return User(email, password, user_id)


@pytest.fixture
def owner(ctr: Container, tenant: Tenant) -> User:
    """The owner of the test workspace."""
    return add_user(ctr, tenant.workspace_id, "owner@example.com", Role.OWNER)


@pytest.fixture
def viewer(ctr: Container, tenant: Tenant) -> User:
    """A viewer of the test workspace."""
    return add_user(ctr, tenant.workspace_id, "viewer@example.com", Role.VIEWER)


def login_token(client: TestClient) -> str:
    """The sign-in form's CSRF token (sets the form's cookie on the client)."""
    form = client.get("/login")
    assert form.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found
    return found.group(1)


def sign_in(client: TestClient, user: User) -> str:
    """Sign in through the form; answers the session's CSRF token (from the page)."""
    r = client.post(
        "/login",
        data={
            "email": user.email,
            "password": user.password,
            "csrf_token": login_token(client),
            "next": "/app/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    """The CSRF token a signed-in page carries."""
    html = client.get("/app/settings")
    assert html.status_code == 200, html.text
    found = re.search(r'data-csrf="([^"]+)"', html.text)
    assert found
    return found.group(1)


@pytest.fixture
def limited(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Container]]:
    """A client (and its container) of a server that allows 3 failed sign-ins per address."""
    container = build(make_settings(db_url, tmp_path / "limited", login_rate_limit=3))
    with TestClient(create_app(container), base_url=BASE_URL) as c:
        yield c, container
    container.close()
