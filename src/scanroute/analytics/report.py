"""KPIs derived from summed metrics, and the result shapes of every analytics answer.

The formulas (docs/analytics.md is the reference): rates are ``null`` when their denominator is
zero; money is exact in the workspace currency (decimal strings in JSON); conversions and orders
are credited counts under the workspace's attribution model (parts per million, so a linear
split of one conversion over three codes gives 0.333334 + 0.333333 + 0.333333).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from scanroute.analytics.query import Sums
from scanroute.attribution.models import PPM
from scanroute.attribution.money import from_minor

KPI_NAMES = (
    "scans",
    "bot_scans",
    "bot_share",
    "unique_visitors",
    "returning_visitors",
    "return_visitor_rate",
    "arrived",
    "engaged",
    "ghost_scans",
    "ghost_scan_rate",
    "conversions",
    "orders",
    "conversion_rate",
    "revenue",
    "average_order_value",
    "cost",
    "roi",
    "cpa",
    "roas",
)


class Kpis(BaseModel):
    """The KPIs of one window, group or bucket (bots never count as scans)."""

    scans: int = Field(
        description="Human scans of the workspace's codes (bots and preview fetchers excluded)."
    )
    bot_scans: int = Field(description="Scans by bots and link-preview fetchers.")
    bot_share: float | None = Field(description="bot_scans / (scans + bot_scans).")
    unique_visitors: int = Field(
        description="Visitor-code-days: Σ over UTC days and codes of distinct visitor hashes."
    )
    returning_visitors: int = Field(description="Visitor-code-days with a second scan the same day.")
    return_visitor_rate: float | None = Field(description="returning_visitors / unique_visitors.")
    arrived: int = Field(description="Human scans whose landing-page beacon arrived.")
    engaged: int = Field(description="Human scans with an engagement beacon.")
    ghost_scans: int | None = Field(description="scans − arrived; null when no beacon arrived in the window.")
    ghost_scan_rate: float | None = Field(description="ghost_scans / scans.")
    conversions: float = Field(description="Credited conversions under the attribution model.")
    orders: float = Field(description="Credited conversions with a positive value.")
    conversion_rate: float | None = Field(description="conversions / scans.")
    revenue: Decimal = Field(description="Credited conversion value, workspace currency.")
    average_order_value: Decimal | None = Field(description="revenue / orders.")
    cost: Decimal | None = Field(description="Allocated spend and print cost; null when not attributable.")
    roi: float | None = Field(description="(revenue − cost) / cost.")
    cpa: Decimal | None = Field(description="cost / conversions.")
    roas: float | None = Field(description="revenue / cost.")


def _ratio(num: int, den: int) -> float | None:
    return None if not den else num / den  # int / int: correctly rounded


def _half_even(num: int, den: int) -> int:
    q, r = divmod(num, den)
    return q + 1 if 2 * r > den or (2 * r == den and q % 2) else q


def kpi_values(s: Sums, currency: str, cost_minor: int | None, *, beacons: bool) -> dict[str, Any]:
    """Every KPI of summed metrics, as plain values (``beacons``: whether the window saw any
    arrival). Integer arithmetic throughout; money is rounded half-even to the minor unit once."""
    ghost = s.scans - s.arrived if beacons else None
    aov = _half_even(s.value_minor * PPM, s.order_ppm) if s.order_ppm else None
    cpa = _half_even(cost_minor * PPM, s.credit_ppm) if cost_minor is not None and s.credit_ppm else None
    return {
        "scans": s.scans,
        "bot_scans": s.bot_scans,
        "bot_share": _ratio(s.bot_scans, s.scans + s.bot_scans),
        "unique_visitors": s.visitors,
        "returning_visitors": s.returning_visitors,
        "return_visitor_rate": _ratio(s.returning_visitors, s.visitors),
        "arrived": s.arrived,
        "engaged": s.engaged,
        "ghost_scans": ghost,
        "ghost_scan_rate": None if ghost is None else _ratio(ghost, s.scans),
        "conversions": s.credit_ppm / PPM,
        "orders": s.order_ppm / PPM,
        "conversion_rate": _ratio(s.credit_ppm, s.scans * PPM),
        "revenue": from_minor(s.value_minor, currency),
        "average_order_value": None if aov is None else from_minor(aov, currency),
        "cost": None if cost_minor is None else from_minor(cost_minor, currency),
        "roi": _ratio(s.value_minor - cost_minor, cost_minor) if cost_minor else None,
        "cpa": None if cpa is None else from_minor(cpa, currency),
        "roas": _ratio(s.value_minor, cost_minor) if cost_minor else None,
    }


def kpis(s: Sums, currency: str, cost_minor: int | None, *, beacons: bool) -> Kpis:
    """``kpi_values`` as a ``Kpis`` (built without re-validation: the values are exact already)."""
    return Kpis.model_construct(**kpi_values(s, currency, cost_minor, beacons=beacons))


def change(current: Kpis, previous: Kpis) -> dict[str, float | None]:
    """Relative change of every numeric KPI against the previous period (null from zero)."""
    out: dict[str, float | None] = {}
    for name in KPI_NAMES:
        now, before = getattr(current, name), getattr(previous, name)
        out[name] = (
            None
            if now is None or not before
            else float((Decimal(str(now)) - Decimal(str(before))) / Decimal(str(before)))
        )
    return out


class Context(BaseModel):
    """What every answer is about."""

    workspace: str
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    timezone: str
    currency: str
    attribution_model: str
    filters: dict[str, str | int]
    warnings: list[str] = []

    model_config = {"populate_by_name": True}


class Summary(Kpis):
    """``GET /api/v1/analytics/summary``."""

    context: Context
    previous: Kpis | None = None
    change: dict[str, float | None] | None = None


class Point(Kpis):
    """One bucket of a time series: ``start`` is a local date, or a local ``YYYY-MM-DDTHH:00``."""

    start: str


class Series(BaseModel):
    """``GET /api/v1/analytics/timeseries``."""

    context: Context
    granularity: str
    points: list[Point]
    totals: Kpis
    previous: list[Point] | None = None


class Row(Kpis):
    """One group of a breakdown (``key`` null: none/unknown)."""

    key: str | None
    label: str
    previous: Kpis | None = None


class Breakdown(BaseModel):
    """``GET /api/v1/analytics/breakdown``: rows add up to ``totals``; cost of rows + ``unallocated_cost``
    = totals.cost."""

    context: Context
    by: str
    rows: list[Row]
    totals: Kpis
    unallocated_cost: Decimal | None


class Stage(BaseModel):
    """One step of the funnel."""

    stage: str
    count: float
    rate_from_previous: float | None
    rate_from_start: float | None


class Funnel(BaseModel):
    """``GET /api/v1/analytics/funnel``: scan → arrived → engaged → lead → customer."""

    context: Context
    stages: list[Stage]
    previous: list[Stage] | None = None


class ModelTotal(BaseModel):
    """Totals of one attribution model (they agree on conversions; they differ per group)."""

    model: str
    conversions: float
    revenue: Decimal


class Attribution(BaseModel):
    """``GET /api/v1/analytics/attribution``: credit per group under one model."""

    context: Context
    model: str
    by: str
    rows: list[Row]
    totals: Kpis
    models: list[ModelTotal]
