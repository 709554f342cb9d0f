"""``analytics rebuild`` recomputes exactly what the incremental path maintained."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, select

from scanroute.analytics.clock import day_number
from scanroute.analytics.loader import load
from scanroute.analytics.rebuild import rebuild, rebuild_all
from scanroute.bootstrap import Container, build
from scanroute.storage.schema import (
    CREDIT_AGGREGATES,
    SCAN_ROLLUPS,
    attribution_credits,
    beacon_events,
    daily_visitors,
    rollup_credits,
    rollup_hourly,
    scans,
)
from tests.analytics.conftest import SPEC, Loaded, seed_catalog
from tests.conftest import make_settings

LOCAL: list[Table] = [*SCAN_ROLLUPS, rollup_credits, *CREDIT_AGGREGATES]
ALL: list[Table] = [rollup_hourly, daily_visitors, *LOCAL]


def snapshot(loaded: Loaded) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row, sorted."""
    with loaded.ctr.db.read() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(select(t))) for t in ALL}


def test_rebuilt_equals_incremental(loaded: Loaded) -> None:
    before = snapshot(loaded)
    assert all(before[t.name] for t in ALL), "every rollup has rows"
    with loaded.ctr.db.write() as conn:
        for table in ALL:
            conn.execute(delete(table))
        done = rebuild(conn, loaded.workspace_id)
    assert done.first == date(2026, 2, 23)
    assert done.scans == 2_400
    assert snapshot(loaded) == before


def test_rebuilding_a_middle_range_restores_it(loaded: Loaded) -> None:
    before = snapshot(loaded)
    first, last = date(2026, 3, 3), date(2026, 3, 6)
    d0, d1 = day_number(first), day_number(last)
    with loaded.ctr.db.write() as conn:
        for table in LOCAL:
            col = table.c.hour if "hour" in table.c and "day" not in table.c else table.c.day
            lo, hi = (d0 * 24, d1 * 24 + 23) if col.name == "hour" else (d0, d1)
            conn.execute(delete(table).where(col.between(lo, hi)))
        conn.execute(delete(daily_visitors).where(daily_visitors.c.day.between(first, last)))
        conn.execute(delete(rollup_hourly))
    assert snapshot(loaded) != before
    with loaded.ctr.db.write() as conn:
        rebuild(conn, loaded.workspace_id, first, last)
        conn.execute(delete(rollup_hourly))  # the UTC table was wiped entirely: rebuild all of it
        rebuild_all(conn)
    assert snapshot(loaded) == before


def test_rebuild_twice_changes_nothing(loaded: Loaded) -> None:
    before = snapshot(loaded)
    with loaded.ctr.db.write() as conn:
        rebuild(conn, loaded.workspace_id, date(2026, 3, 1), date(2026, 3, 10))
        rebuild(conn, loaded.workspace_id, date(2026, 3, 1), date(2026, 3, 10))
    assert snapshot(loaded) == before


def _fresh(sqlite_template: Path, tmp_path: Path, name: str) -> Container:
    shutil.copy(sqlite_template, tmp_path / f"{name}.db")
    return build(make_settings(f"sqlite:///{tmp_path / name}.db", tmp_path / name))


def test_bulk_path_equals_writer_path(sqlite_template: Path, tmp_path: Path) -> None:
    """The bulk loader (COPY + its own credits + SQL rebuild) stores exactly what production does
    (ScanWriter, beacon hook, attribution engine): same credits, same rollups."""
    spec = replace(SPEC, scans=1_200)
    stores = {}
    for mode in ("writer", "bulk"):
        ctr = _fresh(sqlite_template, tmp_path, mode)
        ws, _, _ = seed_catalog(ctr)
        load(ctr.db, ws, spec, mode=mode, parallel=mode == "bulk")
        with ctr.db.read() as conn:
            stores[mode] = {
                t.name: sorted(tuple(r) for r in conn.execute(select(t)))
                for t in (*ALL, attribution_credits, scans, beacon_events)
            }
        ctr.close()
    assert len(stores["bulk"]["attribution_credits"]) > 100
    for name, rows in stores["writer"].items():
        assert rows == stores["bulk"][name], name
