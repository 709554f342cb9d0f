"""The BI views on both dialects, and ``scanroute bi grant`` on the real PostgreSQL: a role that
reads its own workspace through every view and nothing else."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from sqlalchemy import insert, text
from typer.testing import CliRunner

from scanroute.bi.views import VIEW_NAMES, qualified
from scanroute.bootstrap import Container, build
from scanroute.cli.main import app as cli
from scanroute.services.catalog import CampaignCreate, PlacementCreate
from scanroute.storage.schema import attribution_credits
from tests.conftest import Tenant, make_settings, make_tenant
from tests.insights.conftest import add_conversion, event, make_code, owner, store

T0 = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
runner = CliRunner()


def seed(ctr: Container, tenant: Tenant, n: int, country: str) -> None:
    ws = tenant.workspace_id
    campaign = ctr.campaigns.create(owner(ws), CampaignCreate(name=f"c-{tenant.slug}")).id
    placement = ctr.placements.create(owner(ws), PlacementCreate(name=f"p-{tenant.slug}", medium="poster")).id
    code = make_code(ctr, ws, f"bi-{tenant.slug}", campaign=campaign, placement=placement)
    events = [
        event(
            ws,
            code,
            T0 + timedelta(minutes=37 * i),
            campaign=campaign,
            placement=placement,
            country=country,
            city="Lyon" if i % 2 else None,
            device="desktop" if i % 3 else "mobile",
            bot=i % 7 == 0,
        )
        for i in range(n)
    ]
    store(ctr, events)
    for e in events[:3]:
        cid = add_conversion(ctr, ws, e.id, T0 + timedelta(hours=1), value_minor=500, code_id=code)
        with ctr.db.write() as conn:
            conn.execute(
                insert(attribution_credits).values(
                    conversion_id=cid, model="last", scan_id=e.id, workspace_id=ws, credit_ppm=1_000_000,
                    value_minor=500, code_id=code, touch_at=T0, converted_at=T0 + timedelta(hours=1),
                )
            )  # fmt: skip


def counts(conn: Any, dialect: str) -> dict[str, dict[int, int]]:
    out = {}
    for view in VIEW_NAMES:
        if view == "dim_date":
            continue
        rows = conn.execute(
            text(f"SELECT workspace_id, count(*) FROM {qualified(dialect, view)} GROUP BY workspace_id")
        )
        out[view] = {int(w): int(n) for w, n in rows}
    return out


def test_views_read_the_store(ctr: Container, tenant: Tenant, other: Tenant) -> None:
    seed(ctr, tenant, 40, "FR")
    seed(ctr, other, 25, "US")
    dialect = ctr.db.dialect
    a, b = tenant.workspace_id, other.workspace_id
    with ctr.db.read() as conn:
        got = counts(conn, dialect)
        assert got["fact_scan"] == {a: 40, b: 25}
        assert got["fact_conversion"] == got["fact_attribution"] == {a: 3, b: 3}
        assert got["dim_code"] == got["dim_campaign"] == got["dim_placement"] == {a: 1, b: 1}
        assert got["dim_geo"] == {a: 2, b: 2}  # with and without a city
        scans_by_day = conn.execute(
            text(f"SELECT sum(scans) FROM {qualified(dialect, 'agg_scan_daily')} WHERE workspace_id = :w"),
            {"w": a},
        ).scalar_one()
        assert scans_by_day == 40
        columns = set(conn.execute(text(f"SELECT * FROM {qualified(dialect, 'fact_scan')} LIMIT 1")).keys())
        assert "ip_net" not in columns
        assert {"scan_id", "geo_key", "device_key", "is_bot", "date"} <= columns
        fact, device = qualified(dialect, "fact_scan"), qualified(dialect, "dim_device")
        keys = conn.execute(
            text(
                f"SELECT count(*) FROM {fact} f JOIN {device} d"
                " ON d.workspace_id = f.workspace_id AND d.device_key = f.device_key"
            )
        ).scalar_one()
        assert keys == 65  # every fact finds its device
        geo = conn.execute(text(
            f"SELECT count(*) FROM {qualified(dialect, 'fact_scan')} f JOIN {qualified(dialect, 'dim_geo')} g"
            " ON g.workspace_id = f.workspace_id AND g.geo_key = f.geo_key"
        )).scalar_one()  # fmt: skip
        assert geo == 65
        dates = conn.execute(
            text(
                "SELECT date, iso_year, iso_week, day_of_week, day_name, month_name, quarter, is_weekend"
                f" FROM {qualified(dialect, 'dim_date')}"
                " WHERE date IN ('2020-01-01', '2021-01-03', '2024-12-30', '2026-03-01') ORDER BY date"
            )
        ).all()
    expected = []
    for d in (date(2020, 1, 1), date(2021, 1, 3), date(2024, 12, 30), date(2026, 3, 1)):
        iso = d.isocalendar()
        expected.append((str(d), iso.year, iso.week, iso.weekday, d.strftime("%A"), d.strftime("%B"),
                         (d.month + 2) // 3, iso.weekday >= 6))  # fmt: skip
    assert [(str(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7])) for r in dates] == expected


def test_sqlite_has_no_roles(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCANROUTE_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SCANROUTE_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(cli, ["bi", "grant", "-w", "default"])
    assert result.exit_code != 0
    assert "database" in result.stderr
    assert "PostgreSQL" in result.stderr
    result = runner.invoke(cli, ["bi", "views"])
    assert result.stdout.split() == [f"bi_{v}" for v in VIEW_NAMES]


@pytest.fixture
def pg(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Container, str]]:
    monkeypatch.setenv("SCANROUTE_DATABASE_URL", pg_url)
    monkeypatch.setenv("SCANROUTE_DATA_DIR", str(tmp_path / "data"))
    ctr = build(make_settings(pg_url, tmp_path / "data"))
    yield ctr, pg_url
    ctr.close()


@pytest.fixture
def role_names(pg_url: str) -> Iterator[list[str]]:
    """Unique role names (roles are cluster-wide); dropped afterwards."""
    names = [f"srbi_{secrets.token_hex(5)}" for _ in range(2)]
    yield names
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for name in names:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def grant(*args: str) -> Any:
    result = runner.invoke(cli, ["bi", "grant", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(conn: psycopg.Connection[Any], statement: str) -> type[Exception]:
    with pytest.raises(psycopg.Error) as info:
        conn.execute(statement)
    conn.rollback()
    return type(info.value)


@pytest.mark.postgres
def test_bi_grant_role_reads_its_workspace_and_nothing_else(
    pg: tuple[Container, str], role_names: list[str]
) -> None:
    ctr, admin_url = pg
    acme, globex = make_tenant(ctr, "acme"), make_tenant(ctr, "globex")
    seed(ctr, acme, 40, "FR")
    seed(ctr, globex, 25, "US")
    role = role_names[0]
    made = grant("-w", "acme", "--role", role)
    assert made["created"]
    assert made["role"] == role
    assert made["workspace"] == "acme"
    assert made["url"].startswith(f"postgresql://{role}:")
    assert made["url"].endswith(f"/{made['database']}")

    with psycopg.connect(made["url"]) as conn:
        assert conn.execute("SHOW search_path").fetchone() == ("bi",)
        for view in VIEW_NAMES:  # every view: only acme's rows, and some of them
            if view == "dim_date":
                assert conn.execute("SELECT count(*) FROM dim_date").fetchone()[0] > 2000
                continue
            ids = conn.execute(f"SELECT DISTINCT workspace_id FROM bi.{view}").fetchall()
            assert ids == [(acme.workspace_id,)], view
        assert conn.execute("SELECT count(*) FROM fact_scan").fetchone() == (40,)
        assert conn.execute("SELECT count(*) FROM bi.fact_conversion").fetchone() == (3,)
        tables = (
            "scans",
            "conversions",
            "attribution_credits",
            "codes",
            "workspaces",
            "bi_roles",
            "api_keys",
        )
        for table in (*tables, "rollup_hourly", "users"):
            assert refused(conn, f"SELECT * FROM public.{table} LIMIT 1") is errors.InsufficientPrivilege, (
                table
            )
        assert refused(conn, "CREATE TEMP TABLE scratch (x int)") is errors.ReadOnlySqlTransaction
        conn.execute("SET default_transaction_read_only = off")  # the default is only a default …
        conn.commit()
        denied = (errors.InsufficientPrivilege, errors.ObjectNotInPrerequisiteState)  # (joins: not updatable)
        assert refused(conn, "DELETE FROM bi.fact_scan") in denied
        for statement in (  # … privileges are what forbid writing
            "UPDATE bi.dim_code SET slug = 'x'",
            "DELETE FROM bi.dim_campaign",
            "INSERT INTO public.scans (id, workspace_id, slug, ts, outcome) VALUES ('x', 2, 's', now(), 'r')",
            "CREATE TABLE bi.mine (x int)",
            "CREATE TABLE public.mine (x int)",
            "CREATE VIEW bi.v AS SELECT 1",
            "ALTER VIEW bi.fact_scan RENAME TO f",
            "TRUNCATE public.scans",
            "INSERT INTO public.bi_roles VALUES ('x', 2, now())",
        ):
            assert refused(conn, statement) is errors.InsufficientPrivilege, statement

    # the second wall: even granted a base table by mistake, row-level security keeps it to acme
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("GRANT SELECT ON scans, codes, workspaces TO {}").format(sql.Identifier(role)))
    with psycopg.connect(made["url"]) as conn:
        assert conn.execute("SELECT DISTINCT workspace_id FROM public.scans").fetchall() == [
            (acme.workspace_id,)
        ]
        assert conn.execute("SELECT count(*) FROM public.codes").fetchone() == (1,)
        assert conn.execute("SELECT slug FROM public.workspaces").fetchall() == [("acme",)]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("REVOKE SELECT ON scans, codes, workspaces FROM {}").format(sql.Identifier(role))
        )
        # the application's own role is not limited by the policies
        assert admin.execute("SELECT count(DISTINCT workspace_id) FROM scans").fetchone() == (2,)
        assert admin.execute("SELECT count(*) FROM bi.fact_scan").fetchone() == (65,)


@pytest.mark.postgres
def test_bi_grant_rekeys_refuses_strangers_and_revokes(
    pg: tuple[Container, str], role_names: list[str]
) -> None:
    ctr, admin_url = pg
    make_tenant(ctr, "acme")
    make_tenant(ctr, "globex")
    role, stranger = role_names
    first = grant("-w", "acme", "--role", role)
    again = grant("-w", "acme", "--role", role, "--password", "a-new-long-password")
    assert not again["created"]
    assert again["password"] == "a-new-long-password"
    with psycopg.connect(again["url"]) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (role,)
    assert first["password"] != again["password"]

    other_ws = runner.invoke(cli, ["bi", "grant", "-w", "globex", "--role", role])
    assert other_ws.exit_code != 0
    assert "another workspace" in other_ws.stderr
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(stranger)))
    existing = runner.invoke(cli, ["bi", "grant", "-w", "acme", "--role", stranger])
    assert existing.exit_code != 0
    assert "not a scanroute BI role" in existing.stderr
    for bad, field in (("Robert'); DROP TABLE scans;--", "role"), ("pg_admin", "role")):
        result = runner.invoke(cli, ["bi", "grant", "-w", "acme", "--role", bad])
        assert result.exit_code != 0
        assert f"{field}:" in result.stderr
    assert runner.invoke(cli, ["bi", "grant", "-w", "nowhere"]).exit_code != 0

    listed = runner.invoke(cli, ["bi", "roles"])
    assert f"{role}\tacme" in listed.stdout
    assert runner.invoke(cli, ["bi", "revoke", role]).exit_code == 0
    with psycopg.connect(admin_url) as admin:
        assert admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None
    assert runner.invoke(cli, ["bi", "revoke", stranger]).exit_code != 0  # never drops a role it did not make


def test_sqlite_batch_migrations_still_recreate_tables_under_the_views(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alembic's SQLite batch mode copies, drops and renames a table; the bi_* views must not
    veto the rename (``migrate.upgrade`` turns on ``legacy_alter_table``)."""
    import sqlalchemy as sa
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from scanroute.storage import migrate
    from scanroute.storage.db import Database

    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(db)

    def later_migration(config: Any, revision: str) -> None:
        ops = Operations(
            MigrationContext.configure(config.attributes["connection"], opts={"render_as_batch": True})
        )
        with ops.batch_alter_table("scans", recreate="always") as batch:
            batch.add_column(sa.Column("extra", sa.Integer()))

    monkeypatch.setattr(migrate.command, "upgrade", later_migration)
    migrate.upgrade(db)
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM bi_fact_scan")).scalar_one() == 0
        assert "extra" in {c["name"] for c in sa.inspect(conn).get_columns("scans")}
    db.dispose()
