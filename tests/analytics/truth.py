"""Ground truth computed independently of the rollups: SQL over the raw tables (scans,
beacon_events, conversions, attribution_credits), windows cut with Python's zoneinfo."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from scanroute.attribution.money import convert, from_minor

SCAN_FILTERS = {
    "campaign": "s.campaign_id",
    "placement": "s.placement_id",
    "code": "s.code_id",
    "creative": "s.creative",
    "country": "s.country",
    "device": "s.device",
}
CREDIT_FILTERS = {
    "campaign": "ac.campaign_id",
    "placement": "ac.placement_id",
    "code": "ac.code_id",
    "creative": "ac.creative",
    "country": "s.country",
    "device": "s.device",
}


def bounds(tz: str, first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants of local midnight starting ``first`` and ending ``last``."""
    zone = ZoneInfo(tz)
    lo = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return lo, hi


def _ts(conn: Connection, moment: datetime) -> Any:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if conn.dialect.name == "sqlite" else moment


def _where(
    conn: Connection,
    ws: int,
    lo: datetime,
    hi: datetime,
    filters: dict[str, Any],
    columns: dict[str, str],
    ts: str,
) -> tuple[str, dict[str, Any]]:
    sql = f"{ts.split('.')[0]}.workspace_id = :ws AND {ts} >= :lo AND {ts} < :hi"
    params: dict[str, Any] = {"ws": ws, "lo": _ts(conn, lo), "hi": _ts(conn, hi)}
    for i, (name, value) in enumerate(filters.items()):
        sql += f" AND {columns[name]} = :f{i}"
        params[f"f{i}"] = value
    return sql, params


def scan_truth(conn: Connection, ws: int, lo: datetime, hi: datetime, **filters: Any) -> dict[str, int]:
    """Scans, bot scans, arrivals and engagements straight from ``scans`` and ``beacon_events``."""
    where, p = _where(conn, ws, lo, hi, filters, SCAN_FILTERS, "s.ts")
    row = conn.execute(
        text(
            "SELECT SUM(CASE WHEN s.is_bot THEN 0 ELSE 1 END), SUM(CASE WHEN s.is_bot THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN NOT s.is_bot AND EXISTS (SELECT 1 FROM beacon_events b WHERE b.scan_id = s.id"
            "  AND b.kind = 'arrived') THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN NOT s.is_bot AND EXISTS (SELECT 1 FROM beacon_events b WHERE b.scan_id = s.id"
            "  AND b.kind <> 'arrived') THEN 1 ELSE 0 END)"
            f" FROM scans s WHERE s.code_id IS NOT NULL AND {where}"
        ),
        p,
    ).one()
    scans, bots, arrived, engaged = (int(v or 0) for v in row)
    return {"scans": scans, "bot_scans": bots, "arrived": arrived, "engaged": engaged}


def visitor_truth(conn: Connection, ws: int, lo: datetime, hi: datetime, **filters: Any) -> dict[str, int]:
    """Visitor-code-days (UTC days) whose first scan (unique) or second (returning) lies in the window."""
    utc_day = "date(s.ts)" if conn.dialect.name == "sqlite" else "CAST(s.ts AT TIME ZONE 'UTC' AS DATE)"
    where, p = _where(conn, ws, lo, hi, filters, SCAN_FILTERS, "s.ts")
    row = conn.execute(
        text(
            "SELECT SUM(CASE WHEN n = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN n = 2 THEN 1 ELSE 0 END) FROM ("
            f" SELECT s.*, ROW_NUMBER() OVER (PARTITION BY {utc_day}, s.code_id, s.visitor"
            " ORDER BY s.ts, s.id) AS n"
            " FROM scans s WHERE NOT s.is_bot AND s.code_id IS NOT NULL AND s.visitor IS NOT NULL) s"
            f" WHERE {where}"
        ),
        p,
    ).one()
    return {"unique_visitors": int(row[0] or 0), "returning_visitors": int(row[1] or 0)}


def credit_truth(
    conn: Connection, ws: int, model: str, lo: datetime, hi: datetime, **filters: Any
) -> dict[str, int]:
    """Credit (ppm), orders (ppm) and value under ``model`` from ``attribution_credits``."""
    where, p = _where(conn, ws, lo, hi, filters, CREDIT_FILTERS, "ac.converted_at")
    p["model"] = model
    row = conn.execute(
        text(
            "SELECT SUM(ac.credit_ppm),"
            " SUM(CASE WHEN c.value_reporting_minor > 0 THEN ac.credit_ppm ELSE 0 END),"
            " SUM(ac.value_minor) FROM attribution_credits ac JOIN conversions c ON c.id = ac.conversion_id"
            f" LEFT JOIN scans s ON s.id = ac.scan_id WHERE ac.model = :model AND {where}"
        ),
        p,
    ).one()
    return {"credit_ppm": int(row[0] or 0), "order_ppm": int(row[1] or 0), "value_minor": int(row[2] or 0)}


def truth(conn: Connection, ws: int, tz: str, first: date, last: date, **filters: Any) -> dict[str, Any]:
    """Every count and money KPI of a window, from the raw tables."""
    lo, hi = bounds(tz, first, last)
    out: dict[str, Any] = scan_truth(conn, ws, lo, hi, **filters) | visitor_truth(conn, ws, lo, hi, **filters)
    c = credit_truth(conn, ws, "last", lo, hi, **filters)
    out["conversions"] = c["credit_ppm"] / 1_000_000
    out["orders"] = c["order_ppm"] / 1_000_000
    out["revenue"] = from_minor(c["value_minor"], "USD")
    return out


def item_cost(
    total_minor: int, currency: str, rate: Decimal | None, start: date, end: date, first: date, last: date
) -> int:
    """The definition of docs/analytics.md: R(last + 1) − R(first), R(d) = total × days before d / days."""
    if currency != "USD":
        assert rate is not None
        total_minor = convert(total_minor, currency, "USD", rate)
    days = (end - start).days + 1

    def spread(d: date) -> int:
        return round(Fraction(total_minor * min(max((d - start).days, 0), days), days))

    return spread(last + timedelta(days=1)) - spread(first)
