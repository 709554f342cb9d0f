"""Queries of the insights features: daily scan series, anomalies, lead-score models and examples.

Daily series come from ``rollup_hourly`` (non-bot rows): SQL sums per hour and key, and the hours
are then put into the workspace's local days (SQLite has no time zones, so both dialects do this
step the same way, on at most 24 rows per key and day).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, and_, desc, false, func, insert, literal, or_, select, union_all
from sqlalchemy.dialects import postgresql, sqlite

from scanroute.domain.errors import NotFound
from scanroute.domain.ids import row_id
from scanroute.storage.paging import decode_cursor, encode_cursor
from scanroute.storage.schema import (
    anomalies,
    attribution_credits,
    campaigns,
    codes,
    conversions,
    lead_models,
    placements,
    rollup_hourly,
    scans,
    workspaces,
)

Scope = Literal["code", "campaign"]


@dataclass(frozen=True, slots=True)
class WorkspaceClock:
    """A workspace's id and time zone."""

    id: int
    zone: ZoneInfo


def workspace_clock(conn: Connection, workspace_id: int) -> WorkspaceClock:
    """The workspace's time zone."""
    tz = conn.execute(select(workspaces.c.timezone).where(workspaces.c.id == workspace_id)).scalar()
    if tz is None:
        raise NotFound(f"workspace {workspace_id} does not exist")
    return WorkspaceClock(workspace_id, ZoneInfo(tz))


def all_workspace_ids(conn: Connection) -> list[int]:
    """Every workspace id."""
    return list(conn.execute(select(workspaces.c.id).order_by(workspaces.c.id)).scalars())


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day begins."""
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def daily_series(
    conn: Connection,
    clock: WorkspaceClock,
    first: date,
    last: date,
    by: Scope | None,
    only: int | None = None,
) -> dict[int, np.ndarray]:
    """Non-bot scans per local day from ``first`` to ``last`` (inclusive), keyed by code or
    campaign id (``by``; ``None``: the whole workspace under key 0). Keys without scans in the
    range are absent unless asked for with ``only``."""
    days = (last - first).days + 1
    column = {"code": rollup_hourly.c.code_id, "campaign": rollup_hourly.c.campaign_id, None: literal(0)}[by]
    stmt = (
        select(column.label("k"), rollup_hourly.c.hour, func.sum(rollup_hourly.c.scans))
        .where(
            rollup_hourly.c.workspace_id == clock.id,
            rollup_hourly.c.is_bot == false(),
            rollup_hourly.c.hour >= local_midnight(first, clock.zone),
            rollup_hourly.c.hour < local_midnight(last + timedelta(days=1), clock.zone),
        )
        .group_by(column, rollup_hourly.c.hour)
    )
    if by is not None:
        stmt = stmt.where(column != 0)
    if only is not None:
        stmt = stmt.where(column == only)
    out: dict[int, np.ndarray] = {} if only is None else {only: np.zeros(days)}
    for key, hour, n in conn.execute(stmt):
        index = (hour.astimezone(clock.zone).date() - first).days
        if 0 <= index < days:
            out.setdefault(int(key), np.zeros(days))[index] += int(n)
    return out


def code_id_by_slug(conn: Connection, workspace_id: int, slug: str) -> int | None:
    """A workspace's code id by slug."""
    stmt = select(codes.c.id).where(codes.c.workspace_id == workspace_id, codes.c.slug == slug)
    found = conn.execute(stmt.limit(1)).scalar()
    return None if found is None else int(found)


def campaign_id_by_ref(conn: Connection, workspace_id: int, ref: str) -> int | None:
    """A workspace's campaign id from its id (digits) or its exact name."""
    stmt = select(campaigns.c.id).where(campaigns.c.workspace_id == workspace_id)
    ident = row_id(ref)
    if ident is not None:
        stmt = stmt.where(or_(campaigns.c.id == ident, campaigns.c.name == ref))
    else:
        stmt = stmt.where(campaigns.c.name == ref)
    found = conn.execute(stmt.order_by(campaigns.c.id).limit(1)).scalar()
    return None if found is None else int(found)


# -- anomalies ------------------------------------------------------------------------------------


def insert_anomalies(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert anomalies, skipping (workspace, scope, id, day) already recorded; returns new rows."""
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(anomalies).on_conflict_do_nothing(
        index_elements=["workspace_id", "scope", "scope_id", "day"]
    )
    return len(conn.execute(stmt.returning(anomalies.c.id), list(rows)).all())


def list_anomalies(
    conn: Connection,
    workspace_id: int,
    *,
    first: date | None,
    last: date | None,
    scope: Scope | None,
    direction: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of anomalies, newest day first, with code slugs and campaign names."""
    stmt = (
        select(anomalies, codes.c.slug, campaigns.c.name.label("campaign_name"))
        .outerjoin(codes, and_(anomalies.c.scope == "code", codes.c.id == anomalies.c.scope_id))
        .outerjoin(campaigns, and_(anomalies.c.scope == "campaign", campaigns.c.id == anomalies.c.scope_id))
        .where(anomalies.c.workspace_id == workspace_id)
    )
    if first is not None:
        stmt = stmt.where(anomalies.c.day >= first)
    if last is not None:
        stmt = stmt.where(anomalies.c.day <= last)
    if scope is not None:
        stmt = stmt.where(anomalies.c.scope == scope)
    if direction is not None:
        stmt = stmt.where(anomalies.c.direction == direction)
    if cursor:
        value, last_id = decode_cursor(cursor)
        try:
            after = date.fromisoformat(str(value))
        except ValueError:
            from scanroute.domain.errors import Invalid

            raise Invalid("is not a cursor this API issued", field="cursor") from None
        stmt = stmt.where(
            or_(anomalies.c.day < after, and_(anomalies.c.day == after, anomalies.c.id < last_id))
        )
    rows = conn.execute(stmt.order_by(desc(anomalies.c.day), desc(anomalies.c.id)).limit(limit + 1)).all()
    items = [{str(k): v for k, v in r._mapping.items()} for r in rows[:limit]]
    nxt = encode_cursor(items[-1]["day"], items[-1]["id"]) if len(rows) > limit and items else None
    return items, nxt


# -- lead score -----------------------------------------------------------------------------------


def save_lead_model(
    conn: Connection,
    workspace_id: int,
    status: str,
    card: dict[str, Any],
    model: dict[str, Any] | None,
    now: datetime,
) -> int:
    """Record a training result; returns its id."""
    stmt = insert(lead_models).values(
        workspace_id=workspace_id, status=status, card=card, model=model, created_at=now
    )
    return int(conn.execute(stmt.returning(lead_models.c.id)).scalar_one())


def latest_lead_model(conn: Connection, workspace_id: int, *, ready: bool = False) -> dict[str, Any] | None:
    """The newest training result (or the newest usable model, ``ready=True``)."""
    stmt = select(lead_models).where(lead_models.c.workspace_id == workspace_id)
    if ready:
        stmt = stmt.where(lead_models.c.status == "ready")
    row = conn.execute(stmt.order_by(desc(lead_models.c.id)).limit(1)).first()
    return None if row is None else {str(k): v for k, v in row._mapping.items()}


def _first_conversions(workspace_id: int, since: datetime) -> Any:
    """(scan id, first time a conversion named or credited it) for the workspace."""
    named = select(conversions.c.scan_id.label("scan_id"), conversions.c.occurred_at.label("at")).where(
        conversions.c.workspace_id == workspace_id,
        conversions.c.scan_id.is_not(None),
        conversions.c.occurred_at >= since,
    )
    credited = select(
        attribution_credits.c.scan_id.label("scan_id"), attribution_credits.c.converted_at.label("at")
    ).where(attribution_credits.c.workspace_id == workspace_id, attribution_credits.c.converted_at >= since)
    both = union_all(named, credited).subquery()
    return select(both.c.scan_id, func.min(both.c.at).label("at")).group_by(both.c.scan_id).subquery()


LEAD_COLUMNS = (
    scans.c.id,
    scans.c.ts,
    scans.c.device,
    scans.c.os,
    scans.c.browser,
    scans.c.country,
    scans.c.is_returning,
    scans.c.campaign_id,
    placements.c.medium,
)


def lead_rows(
    conn: Connection,
    workspace_id: int,
    since: datetime,
    until: datetime,
    *,
    limit: int,
    labels: bool,
    before_id: str | None = None,
) -> Iterator[Any]:
    """Non-bot scans of codes in [since, until), newest ``limit`` first (scan ids are time-ordered;
    ``before_id`` pages on); with ``labels`` also the first conversion time naming or crediting
    each scan (``None`` when none)."""
    columns: list[Any] = list(LEAD_COLUMNS)
    stmt = select(*columns).select_from(scans.outerjoin(placements, placements.c.id == scans.c.placement_id))
    if labels:
        first = _first_conversions(workspace_id, since)
        stmt = stmt.add_columns(first.c.at.label("converted_at")).outerjoin(
            first, first.c.scan_id == scans.c.id
        )
    stmt = stmt.where(
        scans.c.workspace_id == workspace_id,
        scans.c.is_bot == false(),
        scans.c.code_id.is_not(None),
        scans.c.ts >= since,
        scans.c.ts < until,
    )
    if before_id is not None:
        stmt = stmt.where(scans.c.id < before_id)
    yield from conn.execute(stmt.order_by(desc(scans.c.id)).limit(limit))


def lead_row(conn: Connection, workspace_id: int, scan_id: str) -> Any:
    """One scan's lead features, or ``None``."""
    stmt = (
        select(*LEAD_COLUMNS, scans.c.is_bot)
        .select_from(scans.outerjoin(placements, placements.c.id == scans.c.placement_id))
        .where(scans.c.workspace_id == workspace_id, scans.c.id == scan_id)
    )
    return conn.execute(stmt).first()
