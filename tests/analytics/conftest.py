"""A seeded history with known ground truth, loaded once per module on SQLite and PostgreSQL.

The workspace reports in USD from Asia/Kolkata (UTC+05:30, so no local day is a whole number of
UTC hours); its campaigns and placements cost in USD, EUR and GBP over different date ranges; its
codes live in three time zones. ``Loaded`` carries the container, an HTTP client and keys.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from scanroute.analytics.loader import load
from scanroute.bootstrap import Container, build
from scanroute.domain.workspace import Principal, Role
from scanroute.services.catalog import CampaignCreate, PlacementCreate
from scanroute.services.codes import CodeCreate
from scanroute.services.tenants import WorkspaceCreate
from scanroute.storage import migrate
from scanroute.storage.db import Database
from scanroute.web.app import create_app
from scanroute.workload import Spec
from tests.conftest import make_settings

END = datetime(2026, 3, 16, tzinfo=UTC)  # history ends (exclusive) at this instant
TZ = "Asia/Kolkata"
SPEC = Spec(scans=2_400, days=21, seed=5, end=END, conversion_rate=0.05, known_share=0.25)
LAST = date(2026, 3, 15)  # the last local day with scans


@dataclass
class Loaded:
    """A loaded workspace and how to reach it."""

    ctr: Container
    client: TestClient
    workspace_id: int
    key: str
    viewer_key: str
    mode: str
    backend: str

    def get(self, path: str, **params: object) -> dict[str, object]:
        """GET an analytics endpoint with the owner key; asserts 200."""
        r = self.client.get(
            f"/api/v1/analytics/{path}", params=params, headers={"Authorization": f"Bearer {self.key}"}
        )
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        return body


def seed_catalog(ctr: Container, slug: str = "truth") -> tuple[int, str, str]:
    """The workspace, its costs and codes; returns (workspace id, owner key, viewer key)."""
    ws = ctr.workspaces.create(WorkspaceCreate(slug=slug, currency="USD", timezone=TZ))
    owner = Principal(workspace_id=ws.id, role=Role.OWNER)
    day = END.date()
    latte = ctr.campaigns.create(
        owner,
        CampaignCreate(
            name="Latte",
            spend=Decimal("900.00"),
            starts_on=day - timedelta(days=30),
            ends_on=day + timedelta(days=9),
        ),
    )
    app = ctr.campaigns.create(
        owner,
        CampaignCreate(
            name="App", spend=Decimal("500.00"), currency="EUR", starts_on=day - timedelta(days=20)
        ),
    )
    beans = ctr.campaigns.create(owner, CampaignCreate(name="Beans"))
    mumbai = ctr.placements.create(
        owner,
        PlacementCreate(
            name="Mumbai tent",
            medium="table_tent",
            city="Mumbai",
            country="IN",
            print_cost=Decimal("120.00"),
            installed_on=day - timedelta(days=25),
        ),
    )
    berlin = ctr.placements.create(
        owner,
        PlacementCreate(
            name="Berlin poster",
            medium="poster",
            city="Berlin",
            country="DE",
            print_cost=Decimal("80.00"),
            currency="GBP",
            installed_on=day - timedelta(days=40),
            removed_on=day - timedelta(days=10),
        ),
    )
    ny = ctr.placements.create(
        owner,
        PlacementCreate(
            name="NY pack",
            medium="packaging",
            city="New York",
            country="US",
            print_cost=Decimal("35.50"),
            installed_on=day - timedelta(days=15),
        ),
    )
    layout = [
        (latte, mumbai, "A", "Asia/Kolkata"),
        (latte, berlin, "B", "Europe/Berlin"),
        (app, berlin, "A", "Europe/Berlin"),
        (app, ny, "B", "America/New_York"),
        (beans, ny, "A", "America/New_York"),
        (beans, mumbai, None, "Asia/Kolkata"),
    ]
    ctr.codes.create_many(
        owner,
        [
            CodeCreate.model_validate(
                {
                    "destination": f"https://shop.example/{i}",
                    "campaign": c.id,
                    "placement": p.id,
                    "creative": cr,
                    "timezone": tz,
                    "slug": f"code{i}",
                }
            )
            for i, (c, p, cr, tz) in enumerate(layout)
        ],
    )
    key = ctr.keys.issue(ws.id, "owner", Role.OWNER, None)[0]
    viewer = ctr.keys.issue(ws.id, "viewer", Role.VIEWER, None)[0]
    return ws.id, key, viewer


def _pg_database(server: str, name: str) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(
    scope="module",
    params=[
        ("sqlite", "writer"),
        pytest.param(("postgres", "writer"), marks=pytest.mark.postgres),
        ("sqlite", "bulk"),
        pytest.param(("postgres", "bulk"), marks=pytest.mark.postgres),
    ],
    ids=lambda p: "-".join(p),
)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """The seeded history, loaded through the scan writer (incremental) or in bulk (+ rebuild)."""
    backend, mode = request.param
    tmp = tmp_path_factory.mktemp(f"truth-{backend}-{mode}")
    name = ""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp / "t.db")
        url = f"sqlite:///{tmp / 't.db'}"
    else:
        server: str = request.getfixturevalue("pg_server")
        name = f"scanroute_truth_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{mode}"
        url = _pg_database(server, name)
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
    ctr = build(make_settings(url, tmp / "data"))
    ws, key, viewer = seed_catalog(ctr)
    load(ctr.db, ws, SPEC, mode=mode)
    with TestClient(create_app(ctr), base_url="http://sr.test") as client:
        yield Loaded(ctr, client, ws, key, viewer, mode, backend)
    ctr.close()
    if name:
        with psycopg.connect(request.getfixturevalue("pg_server"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
