"""``rollup_day_countries`` (code keys × country per local day) equals the raw scans.

Computed here from ``scans`` and ``beacon_events`` alone (local days with zoneinfo, the
first/second scan of a visitor-code-UTC-day by time), for history loaded incrementally and in
bulk, on SQLite and PostgreSQL; it survives ``analytics rebuild``; and a breakdown by campaign
with a country filter reads it and answers the raw numbers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date
from typing import Any
from zoneinfo import ZoneInfo

from alembic import command
from sqlalchemy import delete, select

from scanroute.analytics.query import pick_table
from scanroute.analytics.rebuild import rebuild
from scanroute.storage import migrate
from scanroute.storage.migrate import alembic_config
from scanroute.storage.schema import ROLLUP_METRICS, beacon_events, rollup_day_countries, rollup_hours, scans
from tests.analytics.conftest import LAST, TZ, Loaded

FIRST = date(2026, 2, 23)
Key = tuple[int, int, int, int, str, str]  # local day, code, campaign, placement, creative, country


def raw_truth(loaded: Loaded) -> dict[Key, list[int]]:
    """The table's rows recomputed from the raw tables (metrics in ``ROLLUP_METRICS`` order)."""
    zone = ZoneInfo(TZ)
    with loaded.ctr.db.read() as conn:
        kinds: dict[str, set[str]] = defaultdict(set)
        for scan_id, kind in conn.execute(select(beacon_events.c.scan_id, beacon_events.c.kind)):
            kinds[scan_id].add(kind)
        rows = conn.execute(
            select(scans)
            .where(scans.c.workspace_id == loaded.workspace_id, scans.c.code_id.is_not(None))
            .order_by(scans.c.ts, scans.c.id)
        ).all()
    out: dict[Key, list[int]] = defaultdict(lambda: [0] * len(ROLLUP_METRICS))
    seen: dict[tuple[Any, ...], int] = defaultdict(int)  # human scans so far per visitor-code-UTC-day
    for r in rows:
        ts = r.ts.astimezone(UTC)
        day = (ts.astimezone(zone).date() - date(1970, 1, 1)).days
        key = (day, r.code_id, r.campaign_id or 0, r.placement_id or 0, r.creative or "", r.country or "")
        m = out[key]
        if r.is_bot:
            m[1] += 1
            continue
        m[0] += 1
        m[4] += int("arrived" in kinds[r.id])
        m[5] += int(bool(kinds[r.id] - {"arrived"}))
        if r.visitor:
            group = (ts.date(), r.code_id, r.visitor)
            rank = seen[group]
            seen[group] += 1
            if rank < 2:
                m[2 + rank] += 1
    return dict(out)


def stored(loaded: Loaded) -> dict[Key, list[int]]:
    """The table's rows of the workspace, keyed like ``raw_truth``."""
    t = rollup_day_countries.c
    with loaded.ctr.db.read() as conn:
        rows = conn.execute(select(rollup_day_countries).where(t.workspace_id == loaded.workspace_id))
        return {
            (r.day, r.code_id, r.campaign_id, r.placement_id, r.creative, r.country): [
                int(getattr(r, m)) for m in ROLLUP_METRICS
            ]
            for r in rows
        }


def test_country_rollup_equals_raw_scans_and_survives_rebuild(loaded: Loaded) -> None:
    truth = raw_truth(loaded)
    assert len({k[5] for k in truth}) > 3, "several countries"
    assert sum(m[2] for m in truth.values()) > 100, "unique visitors to count"
    assert sum(m[3] for m in truth.values()) > 10, "returning visitors to count"
    assert stored(loaded) == truth
    with loaded.ctr.db.write() as conn:
        conn.execute(delete(rollup_day_countries))
    assert stored(loaded) == {}
    with loaded.ctr.db.write() as conn:
        rebuild(conn, loaded.workspace_id)
    assert stored(loaded) == truth


def test_campaign_breakdown_with_a_country_reads_it(loaded: Loaded) -> None:
    assert pick_table({"campaign_id", "country"}, hourly=False) is rollup_day_countries
    assert pick_table({"code_id", "country"}, hourly=False) is rollup_day_countries
    assert pick_table({"country"}, hourly=False) is not rollup_day_countries  # the smaller one
    assert pick_table(set(), hourly=True) is rollup_hours  # an hourly series over every code
    d0, d1 = ((d - date(1970, 1, 1)).days for d in (FIRST, LAST))
    expected: dict[str, int] = defaultdict(int)
    for (day, _, campaign, _, _, country), m in raw_truth(loaded).items():
        if country == "US" and d0 <= day <= d1 and m[0]:
            expected[str(campaign)] += m[0]
    body = loaded.get(
        "breakdown", by="campaign", country="US", **{"from": FIRST.isoformat(), "to": LAST.isoformat()}
    )
    got = {str(r["key"]): r["scans"] for r in body["rows"] if r["scans"]}  # type: ignore[union-attr]
    assert len(expected) >= 2
    assert got == dict(expected)


def test_migrations_0010_and_0011_fill_the_tables_from_the_older_rollups(loaded: Loaded) -> None:
    """Dropped (downgrade to 0009) and re-created by the migrations, both tables hold the same rows
    as the loader and the drainer wrote."""
    tables = (rollup_day_countries, rollup_hours)
    with loaded.ctr.db.read() as conn:
        before = {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in tables}
    assert all(before.values())
    with loaded.ctr.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0009")
    assert migrate.current_revision(loaded.ctr.db) == "0009"
    migrate.upgrade(loaded.ctr.db)
    with loaded.ctr.db.read() as conn:
        assert {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in tables} == before
