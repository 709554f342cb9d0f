"""Analytics use cases shared by the API and the CLI: summary, time series, breakdown, funnel,
attribution and rebuild.

Validates the question (window, filters, grouping), resolves names to ids inside the caller's
workspace, asks ``analytics.query`` for summed metrics (one query for scans, one for credits per
window), allocates cost with ``analytics.costs`` and derives KPIs with ``analytics.report``. Every
group's metrics add up to the totals because the totals are their sum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, select

from scanroute.analytics import costs
from scanroute.analytics.clock import day_date, day_number, month_start, today, week_start, zone
from scanroute.analytics.query import DIMENSIONS, Filters, Query, Sums, Window, credit_sums, scan_sums
from scanroute.analytics.rebuild import Rebuilt, rebuild
from scanroute.analytics.report import (
    Attribution,
    Breakdown,
    Context,
    Funnel,
    Kpis,
    ModelTotal,
    Point,
    Row,
    Series,
    Stage,
    Summary,
    change,
    kpi_values,
    kpis,
)
from scanroute.attribution.models import Model
from scanroute.domain.errors import Invalid
from scanroute.domain.ids import row_id
from scanroute.domain.workspace import Principal, Role
from scanroute.services.common import require
from scanroute.storage.db import Database
from scanroute.storage.schema import campaigns, codes, placements, workspaces

MAX_DAYS = 3 * 366 + 1
# Dates a window may name: far enough from date's limits for the default window and the previous
# period (both up to MAX_DAYS away) never to leave the calendar.
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)
MAX_POINTS = 2_500
BREAKDOWNS = (*DIMENSIONS, "hour_of_day", "day_of_week")
GRANULARITIES = ("hour", "day", "week", "month")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Ask:
    """The common parameters of every analytics question (as given by the caller)."""

    first: date | None = None
    last: date | None = None
    campaign: str | None = None
    placement: str | None = None
    code: str | None = None
    creative: str | None = None
    country: str | None = None
    device: str | None = None
    compare: str | None = None  # "previous" or None


@dataclass(frozen=True, slots=True)
class _Scope:
    """A resolved question: workspace facts, window, filters, cost book."""

    workspace_id: int
    context: Context
    window: Window
    filters: Filters
    model: str
    book: costs.CostBook
    compare: bool


class AnalyticsService:
    """Answers analytics questions about the caller's workspace (any role may read)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the questions ------------------------------------------------------------------------------

    def summary(self, principal: Principal, ask: Ask) -> Summary:
        """KPIs of the window (and of the previous period with ``compare=previous``)."""
        with self.db.read() as conn:
            s = self._scope(conn, principal, ask)
            current = self._totals(conn, s, s.window)
            previous = self._totals(conn, s, s.window.previous()) if s.compare else None
        return Summary.model_construct(
            **current.model_dump(),
            context=s.context,
            previous=previous,
            change=change(current, previous) if previous is not None else None,
        )

    def timeseries(self, principal: Principal, ask: Ask, granularity: str) -> Series:
        """KPIs per hour, day, week or month of the workspace's time zone (dense: empty buckets are 0)."""
        if granularity not in GRANULARITIES:
            raise Invalid(f"must be one of {', '.join(GRANULARITIES)}", field="granularity")
        with self.db.read() as conn:
            s = self._scope(conn, principal, ask)
            if granularity == "hour" and s.window.length * 24 > MAX_POINTS:
                raise Invalid(f"hourly series cover at most {MAX_POINTS // 24} days", field="granularity")
            points, totals = self._series(conn, s, s.window, granularity)
            previous = self._series(conn, s, s.window.previous(), granularity)[0] if s.compare else None
        return Series(
            context=s.context, granularity=granularity, points=points, totals=totals, previous=previous
        )

    def breakdown(self, principal: Principal, ask: Ask, by: str, limit: int = 100) -> Breakdown:
        """KPIs per campaign, placement, code, creative, device, OS, browser, country, city, hour of day
        or day of week; rows beyond ``limit`` are summed into one "Other" row."""
        if by not in BREAKDOWNS:
            raise Invalid(f"must be one of {', '.join(BREAKDOWNS)}", field="by")
        with self.db.read() as conn:
            s = self._scope(conn, principal, ask)
            rows, totals, unallocated = self._rows(conn, s, by, s.model, limit)
        return Breakdown(context=s.context, by=by, rows=rows, totals=totals, unallocated_cost=unallocated)

    def funnel(self, principal: Principal, ask: Ask) -> Funnel:
        """scan → arrived → engaged → lead (any conversion) → customer (a conversion with a value)."""
        with self.db.read() as conn:
            s = self._scope(conn, principal, ask)
            stages = _stages(self._totals(conn, s, s.window))
            previous = _stages(self._totals(conn, s, s.window.previous())) if s.compare else None
        return Funnel(context=s.context, stages=stages, previous=previous)

    def attribution(
        self, principal: Principal, ask: Ask, model: str | None, by: str, limit: int = 100
    ) -> Attribution:
        """Credit, revenue, cost and ROI per group under one model, with every model's totals."""
        if model is not None and model not in {m.value for m in Model}:
            raise Invalid(f"must be one of {', '.join(m.value for m in Model)}", field="model")
        if by not in DIMENSIONS:
            raise Invalid(f"must be one of {', '.join(DIMENSIONS)}", field="by")
        with self.db.read() as conn:
            s = self._scope(conn, principal, ask)
            chosen = model or s.model
            rows, totals, _ = self._rows(conn, s, by, chosen, limit)
            q = Query(s.workspace_id, s.window, s.filters)
            models = [
                ModelTotal(model=m.value, conversions=t.conversions, revenue=t.revenue)
                for m in Model
                for t in [
                    kpis(
                        credit_sums(conn, q, m.value).get((), Sums()), s.context.currency, None, beacons=False
                    )
                ]
            ]
        return Attribution(context=s.context, model=chosen, by=by, rows=rows, totals=totals, models=models)

    def rebuild(self, principal: Principal, first: date | None, last: date | None) -> Rebuilt:
        """Recompute the workspace's rollups from raw events (admins and owners)."""
        require(principal, Role.ADMIN, "rebuilding analytics")
        if first and last and last < first:
            raise Invalid("must not be before from", field="to")
        with self.db.write() as conn:
            return rebuild(conn, principal.workspace_id, first, last)

    # -- building blocks ------------------------------------------------------------------------------

    def _scope(self, conn: Connection, principal: Principal, ask: Ask) -> _Scope:
        ws = conn.execute(select(workspaces).where(workspaces.c.id == principal.workspace_id)).one()
        tz = zone(ws.timezone)
        now = today(tz)
        for name, day in (("from", ask.first), ("to", ask.last)):
            if day is not None and not EARLIEST <= day <= LATEST:
                raise Invalid(f"must be between {EARLIEST} and {LATEST}", field=name)
        last = ask.last or (max(ask.first, min(ask.first + timedelta(days=29), now)) if ask.first else now)
        first = ask.first or last - timedelta(days=29)
        if last < first:
            raise Invalid("must not be before from", field="to")
        if (last - first).days + 1 > MAX_DAYS:
            raise Invalid(f"the window may span at most {MAX_DAYS} days", field="from")
        if ask.compare not in (None, "previous", "none"):
            raise Invalid("must be previous or none", field="compare")
        filters, shown = _filters(conn, principal.workspace_id, ask)
        book = costs.load(conn, principal.workspace_id, ws.currency, tz, now)
        context = Context(
            workspace=ws.slug,
            from_=first,
            to=last,
            timezone=ws.timezone,
            currency=ws.currency,
            attribution_model=ws.attribution_model,
            filters=shown,
            warnings=book.warnings,
        )
        return _Scope(
            principal.workspace_id,
            context,
            Window(first, last),
            filters,
            ws.attribution_model,
            book,
            ask.compare == "previous",
        )

    def _sums(
        self, conn: Connection, s: _Scope, window: Window, group: str | None, model: str
    ) -> dict[Any, Sums]:
        q = Query(s.workspace_id, window, s.filters, group)
        merged: dict[Any, Sums] = {}
        for part in (scan_sums(conn, q), credit_sums(conn, q, model)):
            for key, sums in part.items():
                merged.setdefault(key, Sums()).add(sums)
        return merged

    def _cost(self, s: _Scope, first: int, last: int, per: int = 1, **extra: int) -> int | None:
        given = s.filters.given() | extra
        owned = costs.scope(given)
        if owned is None:
            return None
        return sum(i.over(first, last, per) for i in s.book.select(**owned))

    def _totals(self, conn: Connection, s: _Scope, window: Window) -> Kpis:
        total = Sums()
        for sums in self._sums(conn, s, window, None, s.model).values():
            total.add(sums)
        d0, d1 = window.days
        return kpis(total, s.context.currency, self._cost(s, d0, d1), beacons=total.arrived > 0)

    def _series(
        self, conn: Connection, s: _Scope, window: Window, granularity: str
    ) -> tuple[list[Point], Kpis]:
        found = self._sums(conn, s, window, granularity, s.model)
        total = Sums()
        for sums in found.values():
            total.add(sums)
        beacons = total.arrived > 0
        buckets = _buckets(window, granularity)
        owned = costs.scope(s.filters.given())
        spread: list[int | None] = [None] * len(buckets)
        if owned is not None and buckets:
            bounds = [first for _, first, _, _ in buckets] + [buckets[-1][2] + 1]
            per = 24 if granularity == "hour" else 1
            spread = list(costs.bucket_costs(s.book.select(**owned), bounds, per))
        points = []
        for (key, _, _, label), cost in zip(buckets, spread, strict=True):
            values = kpi_values(found.get((key,), Sums()), s.context.currency, cost, beacons=beacons)
            points.append(Point.model_construct(start=label, **values))
        d0, d1 = window.days
        return points, kpis(total, s.context.currency, self._cost(s, d0, d1), beacons=beacons)

    def _rows(
        self, conn: Connection, s: _Scope, by: str, model: str, limit: int
    ) -> tuple[list[Row], Kpis, Any]:
        windows = [s.window, s.window.previous()] if s.compare else [s.window]
        found = [self._sums(conn, s, w, by, model) for w in windows]
        owner = {"campaign": "campaign_id", "placement": "placement_id"}.get(by)
        keys = set(found[0])
        if owner is not None and costs.scope(s.filters.given()) is not None:
            keys |= {(i,) for i in s.book.owned(by) if s.filters.given().get(owner, i) == i}
        if by in ("hour_of_day", "day_of_week"):
            keys |= {(k,) for k in range(24 if by == "hour_of_day" else 7)}
        labels = _labeller(conn, s.workspace_id, by)
        d0, d1 = s.window.days
        total = Sums()
        for sums in found[0].values():
            total.add(sums)
        beacons = total.arrived > 0
        currency = s.context.currency

        def cost_of(key: tuple[Any, ...], first: int, last: int) -> int | None:
            if owner is None:
                return None
            return self._cost(s, first, last, **{owner: key[0]}) if key[0] else 0

        ranked = sorted(keys, key=lambda k: (-found[0].get(k, Sums()).scans, str(k)))
        if by in ("hour_of_day", "day_of_week"):  # a fixed, small set: every bucket, in order
            ranked, limit = sorted(keys), len(keys)
        rows: list[Row] = []
        for key in ranked[:limit]:
            prev = None
            if s.compare:
                p0, p1 = s.window.previous().days
                prev = kpis(found[1].get(key, Sums()), currency, cost_of(key, p0, p1), beacons=beacons)
            k, label = labels(key)
            values = kpi_values(found[0].get(key, Sums()), currency, cost_of(key, d0, d1), beacons=beacons)
            rows.append(Row.model_construct(key=k, label=label, previous=prev, **values))
        if len(ranked) > limit:
            rest, rest_cost = Sums(), 0
            for key in ranked[limit:]:
                rest.add(found[0].get(key, Sums()))
                rest_cost += cost_of(key, d0, d1) or 0
            values = kpi_values(rest, currency, rest_cost if owner else None, beacons=beacons)
            rows.append(
                Row.model_construct(key="__other__", label=f"Other ({len(ranked) - limit})", **values)
            )
        totals = kpis(total, currency, self._cost(s, d0, d1), beacons=beacons)
        unallocated = None
        if totals.cost is not None:
            unallocated = totals.cost - sum(
                (r.cost for r in rows if r.cost is not None), start=totals.cost * 0
            )
        return rows, totals, unallocated


def _filters(conn: Connection, workspace_id: int, ask: Ask) -> tuple[Filters, dict[str, str | int]]:
    shown: dict[str, str | int] = {}
    campaign = _ref(conn, workspace_id, campaigns, ask.campaign, "campaign")
    placement = _ref(conn, workspace_id, placements, ask.placement, "placement")
    code_id = None
    if ask.code is not None:
        code_id = conn.execute(
            select(codes.c.id).where(codes.c.workspace_id == workspace_id, codes.c.slug == ask.code)
        ).scalar()
        if code_id is None:
            raise Invalid(f"no code '{ask.code}' in this workspace", field="code")
    country = ask.country.upper() if ask.country else None
    filters = Filters(campaign, placement, code_id, ask.creative, country, ask.device)
    for name, value in (
        ("campaign", campaign),
        ("placement", placement),
        ("code", ask.code),
        ("creative", ask.creative),
        ("country", country),
        ("device", ask.device),
    ):
        if value is not None:
            shown[name] = value
    return filters, shown


def _ref(conn: Connection, workspace_id: int, table: Any, ref: str | None, field: str) -> int | None:
    """A campaign or placement given by id or by name (ids of deleted ones still filter history)."""
    if ref is None:
        return None
    ident = row_id(ref)
    if ident is not None:
        return ident
    found = conn.execute(
        select(table.c.id).where(table.c.workspace_id == workspace_id, table.c.name == ref)
    ).scalar()
    if found is None:
        raise Invalid(f"no {field} named '{ref}' in this workspace", field=field)
    return int(found)


def _buckets(window: Window, granularity: str) -> list[tuple[int, int, int, str]]:
    """(group key, first, last, label) of each bucket; first/last are days (hours for ``hour``)."""
    d0, d1 = window.days
    if granularity == "hour":
        return [
            (h, h, h, f"{day_date(h // 24).isoformat()}T{h % 24:02d}:00")
            for h in range(d0 * 24, d1 * 24 + 24)
        ]
    if granularity == "day":
        return [(d, d, d, day_date(d).isoformat()) for d in range(d0, d1 + 1)]
    out: list[tuple[int, int, int, str]] = []
    start: Callable[[int], int] = week_start if granularity == "week" else month_start
    d = d0
    while d <= d1:
        first = start(d)
        nxt = (
            first + 7
            if granularity == "week"
            else day_number((day_date(first) + timedelta(days=32)).replace(day=1))
        )
        key = first
        if granularity == "month":
            m = day_date(first)
            key = m.year * 12 + m.month - 1
        out.append((key, d, min(nxt - 1, d1), day_date(first).isoformat()))
        d = nxt
    return out


def _labeller(
    conn: Connection, workspace_id: int, by: str
) -> Callable[[tuple[Any, ...]], tuple[str | None, str]]:
    names: dict[int, str] = {}
    if by in ("campaign", "placement"):
        table = campaigns if by == "campaign" else placements
        names = dict(
            conn.execute(select(table.c.id, table.c.name).where(table.c.workspace_id == workspace_id)).all()
        )
    slugs: dict[int, tuple[str, str]] = {}
    if by == "code":
        slugs = {
            r.id: (r.slug, r.title)
            for r in conn.execute(
                select(codes.c.id, codes.c.slug, codes.c.title).where(codes.c.workspace_id == workspace_id)
            )
        }

    def label(key: tuple[Any, ...]) -> tuple[str | None, str]:
        value = key[0]
        if by in ("campaign", "placement"):
            return (
                (str(value), names.get(value, f"{by} {value} (deleted)")) if value else (None, f"(no {by})")
            )
        if by == "code":
            slug, title = slugs.get(value, (str(value), "(deleted code)"))
            return slug, title or slug
        if by == "hour_of_day":
            return str(value), f"{value:02d}:00"
        if by == "day_of_week":
            return str(value), WEEKDAYS[value]
        if by == "city":
            country, region, city = key
            if not city:
                return None, f"(unknown city{', ' + country if country else ''})"
            text = ", ".join(p for p in (city, region, country) if p)
            return text, text
        return (str(value), str(value)) if value else (None, "(unknown)")

    return label


def _stages(k: Kpis) -> list[Stage]:
    counts = [
        ("scan", k.scans),
        ("arrived", k.arrived),
        ("engaged", k.engaged),
        ("lead", k.conversions),
        ("customer", k.orders),
    ]
    out = []
    for i, (name, n) in enumerate(counts):
        prev, start = counts[i - 1][1] if i else None, counts[0][1]
        out.append(
            Stage(
                stage=name,
                count=n,
                rate_from_previous=(n / prev) if prev else None,
                rate_from_start=(n / start) if start else None,
            )
        )
    return out
