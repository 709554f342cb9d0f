"""Recompute rollups from raw events for a range of local days (``scanroute analytics rebuild``).

The same rules as the incremental path (``storage.rollups`` and ``ScanWriter``), in SQL: one
``INSERT … SELECT … GROUP BY`` per table. The range is done in chunks of ``CHUNK_DAYS`` local
days (bounded memory); a chunk's scans are staged once at the finest grain (local hour × every
dimension) and each local rollup is grouped from that stage. The visitor-code-day of a visitor
hash is a *UTC* day (hashes rotate at UTC midnight), so each chunk reads two more UTC days on
each side, and the UTC-keyed tables (``rollup_hourly``, ``daily_visitors``) are rebuilt for the
whole UTC days that overlap the range.

This is also the bulk path of the demo workload: raw rows are loaded with COPY/executemany and
the rollups computed here, in SQL, instead of row by row.
"""

# ruff: noqa: S608 - SQL is assembled from schema names and integers computed here, never from input

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, text

from scanroute.analytics.clock import (
    DAY,
    day_date,
    day_number,
    epoch_us,
    local_seconds,
    offset_case,
    segments,
)
from scanroute.storage.credit_rollups import insert_credits, regroup_credits
from scanroute.storage.rollups import (
    ARRIVED,
    epoch_sql,
    key_columns,
    time_key,
    ts_param,
    zones,
)
from scanroute.storage.schema import (
    CREDIT_AGGREGATES,
    ROLLUP_METRICS,
    SCAN_ROLLUPS,
    attribution_credits,
    daily_visitors,
    rollup_credits,
    rollup_hourly,
    scans,
    workspaces,
)

STAGE = "an_stage"
CHUNK_DAYS = 28
DIMS = "code_id, campaign_id, placement_id, creative, device, os, browser, country, region, city"


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a rebuild covered."""

    workspace_id: int
    first: date | None
    last: date | None
    scans: int


def _default_days(conn: Connection, workspace_id: int) -> tuple[int, int] | None:
    """Local day numbers of the workspace's first and last scan or conversion, if any."""
    tz = zones(conn, [workspace_id])[workspace_id]
    moments = []
    for col, ws in (
        (scans.c.ts, scans.c.workspace_id),
        (attribution_credits.c.converted_at, attribution_credits.c.workspace_id),
    ):
        for agg in (func.min, func.max):  # one aggregate per query: each is an index lookup
            moments.append(conn.execute(select(agg(col)).where(ws == workspace_id)).scalar())
    found = [m for m in moments if m is not None]
    if not found:
        return None
    days = [local_seconds(tz, epoch_us(m)) // DAY for m in found]
    return min(days), max(days)


def rebuild(
    conn: Connection, workspace_id: int, first: date | None = None, last: date | None = None
) -> Rebuilt:
    """Recompute every rollup of a workspace for local days ``first``…``last`` (default: all)."""
    span = _default_days(conn, workspace_id) if first is None or last is None else None
    if (first is None or last is None) and span is None:
        return Rebuilt(workspace_id, first, last, 0)
    d0 = day_number(first) if first is not None else span[0]  # type: ignore[index]
    d1 = day_number(last) if last is not None else span[1]  # type: ignore[index]
    if d1 < d0:
        return Rebuilt(workspace_id, day_date(d0), day_date(d1), 0)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
    staged = 0
    for a in range(d0, d1 + 1, CHUNK_DAYS):
        b = min(a + CHUNK_DAYS - 1, d1)
        staged += _chunk(conn, workspace_id, a, b)
        # the UTC days the local range touches, each rebuilt once
        _rebuild_utc(conn, workspace_id, (a - 1 if a == d0 else a) * DAY, (b + 2 if b == d1 else b + 1) * DAY)
    return Rebuilt(workspace_id, day_date(d0), day_date(d1), staged)


def _chunk(conn: Connection, workspace_id: int, d0: int, d1: int) -> int:
    """Rebuild the local rollups and credits of local days ``d0``…``d1``; returns the scans staged."""
    tz = zones(conn, [workspace_id])[workspace_id]
    lo_s, hi_s = (d0 - 2) * DAY, (d1 + 3) * DAY  # whole UTC days around the local range
    epoch = epoch_sql(conn, "s.ts")
    local = f"({epoch} + {offset_case(epoch, segments(tz, lo_s, hi_s))})"
    _clear_local(conn, workspace_id, d0, d1)
    staged = _stage(conn, workspace_id, local, epoch, lo_s, hi_s, d0, d1)
    sums = ", ".join(f"SUM({m})" for m in ROLLUP_METRICS)
    for table in SCAN_ROLLUPS:
        keys = ", ".join(key_columns(table))
        conn.execute(
            text(
                f"INSERT INTO {table.name} ({keys}, {', '.join(ROLLUP_METRICS)}) "
                f"SELECT {keys}, {sums} FROM {STAGE} GROUP BY {keys} ORDER BY {keys}"
            )
        )
    conn.execute(text(f"DROP TABLE {STAGE}"))
    insert_credits(
        conn,
        workspace_id,
        "ac.converted_at >= :lo AND ac.converted_at < :hi",
        {"lo": _ts(conn, lo_s), "hi": _ts(conn, hi_s)},
        days=(d0, d1),
    )
    regroup_credits(conn, workspace_id, range(d0, d1 + 1))
    return staged


def _ts(conn: Connection, epoch_s: int) -> Any:
    return ts_param(conn, datetime.fromtimestamp(epoch_s, UTC))


def _clear_local(conn: Connection, workspace_id: int, d0: int, d1: int) -> None:
    tables: list[Table] = [*SCAN_ROLLUPS, rollup_credits, *CREDIT_AGGREGATES]
    for table in tables:
        lo, hi = (d0 * 24, d1 * 24 + 23) if time_key(table) == "hour" else (d0, d1)
        col = table.c[time_key(table)]
        conn.execute(delete(table).where(table.c.workspace_id == workspace_id, col.between(lo, hi)))


def _beacons() -> tuple[str, str]:
    """SQL (arrived, engaged) of scan ``s``: one index probe each into ``beacon_events``' key."""
    probe = "EXISTS (SELECT 1 FROM beacon_events b WHERE b.scan_id = s.id AND b.kind {op} '{a}')"
    return probe.format(op="=", a=ARRIVED), probe.format(op="<>", a=ARRIVED)


def _stage(
    conn: Connection, workspace_id: int, local: str, epoch: str, lo_s: int, hi_s: int, d0: int, d1: int
) -> int:
    """Stage the range's scans at the finest grain; returns how many scans it held.

    A visitor-code-day's first scan (by time, then id) counts a unique visitor, its second a
    returning one; bots count only as bot scans; beacons only for human scans.
    """
    arrived, engaged = _beacons()
    conn.execute(
        text(
            f"CREATE TEMP TABLE {STAGE} AS SELECT workspace_id, hour, day, {DIMS},"
            " SUM(CASE WHEN is_bot THEN 0 ELSE 1 END) AS scans,"
            " SUM(CASE WHEN is_bot THEN 1 ELSE 0 END) AS bot_scans,"
            " SUM(CASE WHEN has_visitor AND rn = 1 THEN 1 ELSE 0 END) AS visitors,"
            " SUM(CASE WHEN has_visitor AND rn = 2 THEN 1 ELSE 0 END) AS returning_visitors,"
            " SUM(arrived) AS arrived, SUM(engaged) AS engaged "
            f"FROM (SELECT s.workspace_id, s.is_bot, {local} / 3600 AS hour, {local} / {DAY} AS day,"
            " s.code_id, COALESCE(s.campaign_id, 0) AS campaign_id,"
            " COALESCE(s.placement_id, 0) AS placement_id, COALESCE(s.creative, '') AS creative,"
            " COALESCE(s.device, '') AS device, COALESCE(s.os, '') AS os,"
            " COALESCE(s.browser, '') AS browser, COALESCE(s.country, '') AS country,"
            " COALESCE(s.region, '') AS region, COALESCE(s.city, '') AS city,"
            " (NOT s.is_bot AND s.visitor IS NOT NULL AND s.visitor <> '') AS has_visitor,"
            f" ROW_NUMBER() OVER (PARTITION BY s.is_bot, {epoch} / {DAY}, s.code_id, s.visitor"
            " ORDER BY s.ts, s.id) AS rn,"
            f" CASE WHEN s.is_bot THEN 0 WHEN {arrived} THEN 1 ELSE 0 END AS arrived,"
            f" CASE WHEN s.is_bot THEN 0 WHEN {engaged} THEN 1 ELSE 0 END AS engaged"
            " FROM scans s WHERE s.workspace_id = :ws AND s.code_id IS NOT NULL"
            " AND s.ts >= :lo AND s.ts < :hi) x "
            f"WHERE day BETWEEN {int(d0)} AND {int(d1)} GROUP BY workspace_id, hour, day, {DIMS}"
        ),
        {"ws": workspace_id, "lo": _ts(conn, lo_s), "hi": _ts(conn, hi_s)},
    )
    total = conn.execute(text(f"SELECT COALESCE(SUM(scans + bot_scans), 0) FROM {STAGE}")).scalar_one()
    return int(total)


def _rebuild_utc(conn: Connection, workspace_id: int, lo_s: int, hi_s: int) -> None:
    """``rollup_hourly`` and ``daily_visitors`` for the whole UTC days in ``[lo_s, hi_s)``."""
    lo, hi = _ts(conn, lo_s), _ts(conn, hi_s)
    rh, dv = rollup_hourly.c, daily_visitors.c
    conn.execute(
        delete(rollup_hourly).where(
            rh.workspace_id == workspace_id,
            rh.hour >= datetime.fromtimestamp(lo_s, UTC),
            rh.hour < datetime.fromtimestamp(hi_s, UTC),
        )
    )
    conn.execute(
        delete(daily_visitors).where(
            dv.workspace_id == workspace_id, dv.day >= day_date(lo_s // DAY), dv.day < day_date(hi_s // DAY)
        )
    )
    if conn.dialect.name == "postgresql":
        hour = "date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        day = "CAST(ts AT TIME ZONE 'UTC' AS DATE)"
    else:
        hour, day = "strftime('%Y-%m-%d %H:00:00.000000', ts)", "date(ts)"
    dims = (
        "COALESCE(code_id, 0), COALESCE(campaign_id, 0), COALESCE(placement_id, 0), COALESCE(creative, ''),"
        " COALESCE(device, ''), COALESCE(os, ''), COALESCE(browser, ''), COALESCE(country, ''), is_bot"
    )
    params = {"ws": workspace_id, "lo": lo, "hi": hi}
    conn.execute(
        text(
            "INSERT INTO rollup_hourly (workspace_id, hour, code_id, campaign_id, placement_id, creative,"
            " device, os, browser, country, is_bot, scans, returning_scans) "
            f"SELECT workspace_id, {hour}, {dims}, COUNT(*), SUM(CASE WHEN is_returning THEN 1 ELSE 0 END) "
            "FROM scans WHERE workspace_id = :ws AND ts >= :lo AND ts < :hi "
            f"GROUP BY workspace_id, {hour}, {dims} ORDER BY {hour}, {dims}"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO daily_visitors (workspace_id, day, code_id, visitor, scans) "
            f"SELECT workspace_id, {day}, code_id, visitor, COUNT(*) FROM scans "
            "WHERE workspace_id = :ws AND ts >= :lo AND ts < :hi AND NOT is_bot AND code_id IS NOT NULL"
            " AND visitor IS NOT NULL AND visitor <> '' "
            f"GROUP BY workspace_id, {day}, code_id, visitor ORDER BY {day}, code_id, visitor"
        ),
        params,
    )


def rebuild_all(conn: Connection, first: date | None = None, last: date | None = None) -> list[Rebuilt]:
    """Rebuild every workspace (and the orphan scans of unknown slugs, workspace 0)."""
    ids = [0, *conn.execute(select(workspaces.c.id).order_by(workspaces.c.id)).scalars()]
    return [rebuild(conn, int(i), first, last) for i in ids]
