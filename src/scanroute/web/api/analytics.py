"""REST endpoints for analytics under ``/api/v1/analytics`` (thin: ``services.analytics`` answers)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from scanroute.analytics.report import Attribution, Breakdown, Funnel, Series, Summary
from scanroute.services.analytics import AnalyticsService, Ask
from scanroute.web.api.deps import Auth, Ctr

router = APIRouter(prefix="/analytics", tags=["analytics"])

Breakdowns = Literal[
    "campaign",
    "placement",
    "code",
    "creative",
    "device",
    "os",
    "browser",
    "country",
    "city",
    "hour_of_day",
    "day_of_week",
]
Groups = Literal["campaign", "placement", "code", "creative", "device", "os", "browser", "country", "city"]
Models = Literal["last", "first", "linear", "time_decay", "position"]
Limit = Annotated[int, Query(ge=1, le=1000, description="Rows to list; the rest are summed into one row.")]


def ask(
    first: Annotated[
        date | None, Query(alias="from", description="First local day (default: 29 days before `to`).")
    ] = None,
    last: Annotated[
        date | None, Query(alias="to", description="Last local day, included (default: today).")
    ] = None,
    campaign: Annotated[str | None, Query(max_length=200, description="Campaign id or name.")] = None,
    placement: Annotated[str | None, Query(max_length=200, description="Placement id or name.")] = None,
    code: Annotated[str | None, Query(max_length=64, description="Code slug.")] = None,
    creative: Annotated[str | None, Query(max_length=100)] = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2.")] = None,
    device: Annotated[Literal["mobile", "tablet", "desktop"] | None, Query()] = None,
    compare: Annotated[
        Literal["previous", "none"] | None,
        Query(description="`previous`: add the previous period of equal length."),
    ] = None,
) -> Ask:
    """The window, filters and comparison every analytics endpoint takes."""
    return Ask(first, last, campaign, placement, code, creative, country, device, compare)


Question = Annotated[Ask, Depends(ask)]


def service(ctr: Ctr) -> AnalyticsService:
    """The analytics use cases over the process's database."""
    return AnalyticsService(ctr.db)


Service = Annotated[AnalyticsService, Depends(service)]


def _json(answer: BaseModel) -> Response:
    """The answer as JSON. The service built it from exact values already: skipping FastAPI's
    re-validation of ``response_model`` (which documents the shape) saves milliseconds per call."""
    return Response(answer.model_dump_json(by_alias=True), media_type="application/json")


@router.get("/summary", response_model=Summary)
def summary(who: Auth, svc: Service, q: Question) -> Response:
    """KPIs of a window of local days: scans, unique visitors, conversions, revenue, cost, ROI, …"""
    return _json(svc.summary(who, q))


@router.get("/timeseries", response_model=Series)
def timeseries(
    who: Auth,
    svc: Service,
    q: Question,
    granularity: Annotated[Literal["hour", "day", "week", "month"], Query()] = "day",
) -> Response:
    """KPIs per hour, day, ISO week or calendar month of the workspace's time zone."""
    return _json(svc.timeseries(who, q, granularity))


@router.get("/breakdown", response_model=Breakdown)
def breakdown(
    who: Auth, svc: Service, q: Question, by: Breakdowns = "campaign", limit: Limit = 100
) -> Response:
    """KPIs per group; the rows add up to `totals` (cost: with `unallocated_cost`)."""
    return _json(svc.breakdown(who, q, by, limit))


@router.get("/funnel", response_model=Funnel)
def funnel(who: Auth, svc: Service, q: Question) -> Response:
    """scan → arrived → engaged → lead → customer."""
    return _json(svc.funnel(who, q))


@router.get("/attribution", response_model=Attribution)
def attribution(
    who: Auth,
    svc: Service,
    q: Question,
    model: Models | None = None,
    by: Groups = "campaign",
    limit: Limit = 100,
) -> Response:
    """Credited conversions, revenue and ROI per group under one attribution model (default: the
    workspace's), with every model's totals side by side."""
    return _json(svc.attribution(who, q, model, by, limit))
