"""Report pages: the overview and campaigns (list and detail)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from scanroute.bootstrap import Container
from scanroute.domain.campaign import Campaign
from scanroute.domain.code import Code
from scanroute.services.catalog import major
from scanroute.services.sessions import UserSession
from scanroute.storage.paging import ListQuery
from scanroute.web.dashboard.auth import require_session
from scanroute.web.dashboard.data import PERIODS, Insights, Period
from scanroute.web.dashboard.routing import page_router, pages

router = page_router(prefix="/app")

KPI_CARDS = (
    ("scans", "Scans", "count", True),
    ("unique_visitors", "Unique visitors", "count", True),
    ("conversions", "Conversions", "count", True),
    ("conversion_rate", "Conversion rate", "percent", True),
    ("revenue", "Revenue", "money", True),
    ("roi", "ROI", "percent", True),
    ("ghost_scan_rate", "Ghost-scan rate", "percent", False),
    ("bot_share", "Bot share", "percent", False),
)
"""(field, label, format, up-is-good) of the overview's KPI cards."""


def signed_in(request: Request) -> tuple[UserSession, Container]:
    """The session (or ``LoginRequired``) and the process container."""
    return require_session(request), request.app.state.container


def all_items(list_page: Any, session: UserSession, limit: int = 200, **filters: Any) -> list[Any]:
    """Up to ``limit`` items of a service's ``list`` (one page; dashboards of this size need no more)."""
    return list(list_page(session.principal, ListQuery(filters=filters, limit=limit)).items)


def period_days(request: Request) -> int | None:
    """The ``days`` query parameter when it is one of the offered periods."""
    raw = request.query_params.get("days", "")
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) in PERIODS else None


@router.get("/")
def overview(request: Request) -> Response:
    """KPIs with period comparison, scans over time with forecast and anomalies, top lists, funnel."""
    session, ctr = signed_in(request)
    period = Period.ending_today(session.workspace, period_days(request))
    ask = Insights(ctr, session.principal, period)
    breakdowns = {by: ask.breakdown(by) for by in ("campaign", "placement", "creative", "device", "country")}
    charts = {
        "series": ask.series(),
        "forecast": ask.forecast(),
        "anomalies": ask.anomalies(),
        "breakdowns": breakdowns,
        "funnel": ask.funnel(),
        "currency": session.workspace.currency,
    }
    return pages().render(
        request,
        "overview.html",
        session,
        active="overview",
        period=period,
        periods=PERIODS,
        summary=ask.summary(),
        cards=KPI_CARDS,
        breakdowns=breakdowns,
        funnel=charts["funnel"],
        anomalies=charts["anomalies"],
        charts=charts,
    )


@router.get("/campaigns")
def campaigns(request: Request) -> Response:
    """Campaigns with their scans, conversions, revenue, cost and ROI over the period."""
    session, ctr = signed_in(request)
    period = Period.ending_today(session.workspace, period_days(request))
    items = all_items(ctr.campaigns.list, session)
    stats = Insights(ctr, session.principal, period).by_key("campaign")
    return pages().render(
        request,
        "campaigns.html",
        session,
        active="campaigns",
        period=period,
        periods=PERIODS,
        campaigns=[(c, (stats or {}).get(str(c.id)), _money(c)) for c in items],
        analytics_ok=stats is not None,
    )


def _money(c: Campaign) -> dict[str, Any]:
    return {"budget": major(c.budget_minor, c.currency), "spend": major(c.spend_minor, c.currency)}


@router.get("/campaigns/{ident}")
def campaign_detail(request: Request, ident: int) -> Response:
    """One campaign: spend, revenue, ROI, CPA, ROAS, its placements and codes."""
    session, ctr = signed_in(request)
    campaign = ctr.campaigns.get(session.principal, ident)
    period = Period.ending_today(session.workspace, period_days(request))
    ask = Insights(ctr, session.principal, period, campaign=str(campaign.id))
    codes: list[Code] = all_items(ctr.codes.list, session, campaign_id=campaign.id)
    placement_ids = {c.placement_id for c in codes if c.placement_id}
    placements = [p for p in all_items(ctr.placements.list, session) if p.id in placement_ids]
    return pages().render(
        request,
        "campaign.html",
        session,
        active="campaigns",
        period=period,
        periods=PERIODS,
        campaign=campaign,
        money=_money(campaign),
        summary=ask.summary(),
        placements=placements,
        placement_stats=ask.by_key("placement") or {},
        codes=codes,
        code_stats=ask.by_key("code") or {},
        charts={"series": ask.series(), "currency": session.workspace.currency},
    )
