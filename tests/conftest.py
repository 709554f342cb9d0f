"""Shared fixtures: real SQLite files and the real PostgreSQL/Redis servers of this machine.

PostgreSQL and Redis tests skip with a clear reason when the servers are unreachable, unless
``SCANROUTE_TEST_REQUIRE`` names them (CI sets ``postgres,redis``): then they fail instead.

Property-based tests (hypothesis, and the OpenAPI fuzz test built on it) run derandomized by
default, so that ``make test`` and CI draw the same examples every time; ``make fuzz``
(``SCANROUTE_TEST_HYPOTHESIS=explore``) draws fresh random examples, five times as many.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from scanroute.bootstrap import Container, build
from scanroute.domain.workspace import Role
from scanroute.settings import Settings
from scanroute.storage import migrate
from scanroute.storage.db import Database
from scanroute.storage.schema import metadata
from scanroute.web.app import create_app

hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
HYPOTHESIS_PROFILE = os.environ.get("SCANROUTE_TEST_HYPOTHESIS", "repeatable")
hypothesis_settings.load_profile(HYPOTHESIS_PROFILE)
EXPLORE = HYPOTHESIS_PROFILE == "explore"

PG_URL = os.environ.get("SCANROUTE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SCANROUTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRED = {s.strip() for s in os.environ.get("SCANROUTE_TEST_REQUIRE", "").split(",") if s.strip()}
BASE_URL = "http://sr.test"


def unavailable(service: str, reason: str) -> None:
    """Skip (or, when CI requires the service, fail) with a clear reason."""
    message = f"{service} not reachable: {reason}"
    if service in REQUIRED:
        pytest.fail(f"{message} (required by SCANROUTE_TEST_REQUIRE)", pytrace=False)
    pytest.skip(message)


def _pg_error(url: str) -> str | None:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return None
    except Exception as exc:  # noqa: BLE001
        return f"{url}: {exc}".splitlines()[0]


@pytest.fixture(scope="session")
def pg_server() -> str:
    """Admin URL of the PostgreSQL server (skips or fails when down)."""
    error = _pg_error(PG_URL)
    if error:
        unavailable("postgres", error)
    return PG_URL


@pytest.fixture(scope="session")
def redis_server() -> str:
    """URL of the Redis server (skips or fails when down)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        unavailable("redis", f"{REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_server: str) -> Iterator[str]:
    """A key prefix private to one test; its keys are deleted afterwards."""
    import secrets

    import redis

    prefix = f"srtest-{secrets.token_hex(4)}"
    yield prefix
    client = redis.Redis.from_url(redis_server)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _replace_db(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_template(pg_server: str, worker_id: str) -> Iterator[str]:
    """A migrated database private to this test worker; dropped at the end."""
    name = f"scanroute_test_{worker_id}_{os.getpid()}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _replace_db(pg_server, name)
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    yield url
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


def truncate_all(url: str) -> None:
    """Empty every table of a PostgreSQL test database (identities restarted)."""
    db = Database(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated database: a SQLite file, then PostgreSQL (each test runs on both)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "scanroute.db"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_template")
    truncate_all(url)
    return url


def make_settings(db_url: str, data_dir: Path, **extra: object) -> Settings:
    """Settings for a test container."""
    return Settings(database_url=db_url, data_dir=data_dir, base_url=BASE_URL, **extra)  # type: ignore[arg-type]


@pytest.fixture
def ctr(db_url: str, tmp_path: Path) -> Iterator[Container]:
    """A container over the clean database."""
    container = build(make_settings(db_url, tmp_path / "data"))
    yield container
    container.close()


@pytest.fixture
def client(ctr: Container) -> Iterator[TestClient]:
    """An HTTP client through the full ASGI app (edge + API)."""
    with TestClient(create_app(ctr), base_url=BASE_URL) as c:
        yield c


@dataclass
class Tenant:
    """A workspace with one API key per role."""

    slug: str
    workspace_id: int
    keys: dict[Role, str]

    def auth(self, role: Role = Role.OWNER) -> dict[str, str]:
        """Authorization header for a role's key."""
        return {"Authorization": f"Bearer {self.keys[role]}"}


def make_tenant(ctr: Container, slug: str) -> Tenant:
    """Create a workspace and a key for each role."""
    from scanroute.services.tenants import WorkspaceCreate

    ws = ctr.workspaces.create(WorkspaceCreate(slug=slug))
    keys = {role: ctr.keys.issue(ws.id, f"{role.value} key", role, None)[0] for role in Role}
    return Tenant(slug, ws.id, keys)


@pytest.fixture
def tenant(ctr: Container) -> Tenant:
    """The caller's workspace."""
    return make_tenant(ctr, "acme")


@pytest.fixture
def other(ctr: Container) -> Tenant:
    """Another workspace, whose objects must never leak."""
    return make_tenant(ctr, "globex")


_outcomes: dict[str, dict[str, int]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count outcomes per service marker (CI checks that none was skipped)."""
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    for marker in ("postgres", "redis", "server", "browser"):
        if marker in report.keywords:
            counts = _outcomes.setdefault(marker, {"passed": 0, "failed": 0, "skipped": 0})
            counts[report.outcome] = counts.get(report.outcome, 0) + 1


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the per-marker outcome counts where ``SCANROUTE_TEST_REPORT`` says."""
    target = os.environ.get("SCANROUTE_TEST_REPORT")
    if not target:
        return
    import json

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    Path(target).mkdir(parents=True, exist_ok=True)
    (Path(target) / f"{worker}.json").write_text(json.dumps(_outcomes), encoding="utf-8")


@pytest.fixture
def pg_url(pg_template: str) -> str:
    """A clean, migrated PostgreSQL database (for PostgreSQL-only tests)."""
    truncate_all(pg_template)
    return pg_template


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A clean, migrated SQLite file (for SQLite-only tests)."""
    target = tmp_path / "scanroute.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"
