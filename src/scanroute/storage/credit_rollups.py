"""Credit rollups: ``rollup_credits`` (one row per credit, with the touch's scan dimensions and the
conversion's local day and hour) and the aggregates over it (``schema.CREDIT_AGGREGATES``).

``sync_credits`` keeps them in step after the attribution engine (re)computed some conversions'
credits; ``insert_credits`` and ``regroup_credits`` are also what ``analytics.rebuild`` and the
bulk loader use.
"""

# ruff: noqa: S608 - SQL is assembled from schema names and integers computed here, never from input

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, text

from scanroute.analytics.clock import DAY, HOUR, offset_case, segments
from scanroute.storage.rollups import CHUNK, epoch_sql, time_key, zones
from scanroute.storage.schema import CREDIT_AGGREGATES, attribution_credits, rollup_credits


def insert_credits(
    conn: Connection,
    workspace_id: int,
    where: str,
    params: dict[str, Any],
    days: tuple[int, int] | None = None,
) -> None:
    """INSERT INTO rollup_credits from ``attribution_credits ac`` rows matching ``where``.

    The local day and hour come from the conversion time; the touch's device, OS, browser and
    geography from its scan. ``where`` is trusted SQL over ``ac`` with bound ``params``; ``days``
    keeps only conversions whose local day number lies in that inclusive range.
    """
    ac = attribution_credits.c
    span = conn.execute(
        text(
            f"SELECT min(ac.converted_at) AS lo, max(ac.converted_at) AS hi FROM attribution_credits ac "
            f"WHERE ac.workspace_id = :ws AND {where}"
        ).columns(lo=ac.converted_at.type, hi=ac.converted_at.type),
        {"ws": workspace_id, **params},
    ).one()
    if span.lo is None:
        return
    tz = zones(conn, [workspace_id])[workspace_id]
    epoch = epoch_sql(conn, "ac.converted_at")
    offsets = segments(tz, int(span.lo.timestamp()) - 1, int(span.hi.timestamp()) + 1)
    local = f"({epoch} + {offset_case(epoch, offsets)})"
    conn.execute(
        text(
            "INSERT INTO rollup_credits (workspace_id, model, day, conversion_id, scan_id, hour, code_id,"
            " campaign_id, placement_id, creative, device, os, browser, country, region, city,"
            " credit_ppm, value_minor, is_order) "
            f"SELECT ac.workspace_id, ac.model, {local} / {DAY}, ac.conversion_id, ac.scan_id,"
            f" {local} / {HOUR},"
            " COALESCE(ac.code_id, 0), COALESCE(ac.campaign_id, 0), COALESCE(ac.placement_id, 0),"
            " COALESCE(ac.creative, ''), COALESCE(s.device, ''), COALESCE(s.os, ''), COALESCE(s.browser, ''),"
            " COALESCE(s.country, ''), COALESCE(s.region, ''), COALESCE(s.city, ''),"
            " ac.credit_ppm, ac.value_minor, COALESCE(c.value_reporting_minor, 0) > 0"
            " FROM attribution_credits ac JOIN conversions c ON c.id = ac.conversion_id"
            " LEFT JOIN scans s ON s.id = ac.scan_id"
            f" WHERE ac.workspace_id = :ws AND {where}"
            + ("" if days is None else f" AND {local} / {DAY} BETWEEN {int(days[0])} AND {int(days[1])}")
        ),
        {"ws": workspace_id, **params},
    )


def _day_runs(days: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted distinct days as inclusive runs of consecutive days."""
    runs: list[tuple[int, int]] = []
    for d in sorted(set(days)):
        if runs and d == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def regroup_credits(conn: Connection, workspace_id: int, days: Sequence[int] | None = None) -> None:
    """Recompute every credit aggregate (``CREDIT_AGGREGATES``) of these local day numbers
    (default: every day) from ``rollup_credits``."""
    runs: list[tuple[int, int] | None] = [None] if days is None else list(_day_runs(days))
    for table in CREDIT_AGGREGATES:
        keys = ", ".join(c.name for c in table.primary_key.columns)
        hourly = time_key(table) == "hour"
        for run in runs:
            gone = delete(table).where(table.c.workspace_id == workspace_id)
            where, params = "", {"ws": workspace_id}
            if run is not None:
                lo, hi = (run[0] * 24, run[1] * 24 + 23) if hourly else run
                gone = gone.where(table.c[time_key(table)].between(lo, hi))
                where, params = " AND day BETWEEN :d0 AND :d1", params | {"d0": run[0], "d1": run[1]}
            conn.execute(gone)
            conn.execute(
                text(
                    f"INSERT INTO {table.name} ({keys}, credit_ppm, order_ppm, value_minor) "
                    f"SELECT {keys}, SUM(credit_ppm), SUM(CASE WHEN is_order THEN credit_ppm ELSE 0 END),"
                    f" SUM(value_minor) FROM rollup_credits WHERE workspace_id = :ws{where}"
                    f" GROUP BY {keys} ORDER BY {keys}"
                ),
                params,
            )


def sync_credits(conn: Connection, workspace_id: int, conversion_ids: Sequence[int]) -> None:
    """Replace the ``rollup_credits`` rows of these conversions by their current credits, and
    regroup the credit aggregates of the local days they left or reached.

    Call after ``attribution_credits`` of the conversions were written (same transaction).
    """
    ids = sorted({int(i) for i in conversion_ids})
    rc = rollup_credits.c
    days: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        mine = (rc.workspace_id == workspace_id, rc.conversion_id.in_(chunk))
        days.update(conn.execute(select(rc.day).where(*mine).distinct()).scalars())
        conn.execute(delete(rollup_credits).where(*mine))
        marks = ", ".join(f":c{i}" for i in range(len(chunk)))
        insert_credits(
            conn, workspace_id, f"ac.conversion_id IN ({marks})", {f"c{i}": v for i, v in enumerate(chunk)}
        )
        days.update(conn.execute(select(rc.day).where(*mine).distinct()).scalars())
    if days:
        regroup_credits(conn, workspace_id, sorted(days))
