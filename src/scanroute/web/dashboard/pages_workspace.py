"""Workspace pages: conversions (list, POS import, attribution models side by side), the live feed
and settings (workspace, members and roles, API keys, reporting currency and rates, password)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from fastapi import Request, Response

from scanroute.attribution.models import Model
from scanroute.domain.workspace import Role
from scanroute.storage.conversions import ConversionFilter
from scanroute.storage.paging import ListQuery
from scanroute.web.api.conversion_views import ConversionOut
from scanroute.web.dashboard.data import PERIODS, Insights, Period, attempt
from scanroute.web.dashboard.pages_reports import all_items, period_days, signed_in
from scanroute.web.dashboard.routing import page_router, pages

router = page_router(prefix="/app")

IMPORT_FIELDS = (
    ("order_id", "Order id", True),
    ("occurred_at", "Time of the order", True),
    ("value", "Amount", False),
    ("currency", "Currency", False),
    ("coupon_code", "Coupon code", False),
    ("scan_id", "Scan id (sr_sid)", False),
    ("external_id", "Customer id", False),
    ("store", "Store or placement", False),
    ("type", "Conversion type", False),
)
"""(field, label, required) of the POS import's column mapping."""
SOURCES = ("api", "pixel", "pos")


@router.get("/conversions")
def conversions(request: Request) -> Response:
    """Conversions (newest first, filters, paging), the POS import and the attribution comparison."""
    session, ctr = signed_in(request)
    params = request.query_params
    period = Period.ending_today(session.workspace, period_days(request))
    kind = (params.get("type") or "").strip().lower()[:40] or None
    source = params.get("source") if params.get("source") in SOURCES else None
    where = ConversionFilter(type=kind, source=source)
    currency = session.workspace.currency
    page = attempt(
        "conversions",
        lambda: ctr.attribution.list(session.principal, where, limit=50, cursor=params.get("cursor") or None),
    )
    ask = Insights(ctr, session.principal, period)
    models = {m.value: ask.attribution(m.value) for m in Model}
    groups: dict[str, dict[str, Any]] = {}
    for name, result in models.items():
        for row in (result or {}).get("rows", []):
            entry = groups.setdefault(row["key"] or "", {"label": row["label"], "models": {}})
            entry["models"][name] = row
    campaigns = {c.id: c.name for c in all_items(ctr.campaigns.list, session)}
    return pages().render(
        request,
        "conversions.html",
        session,
        active="conversions",
        period=period,
        periods=PERIODS,
        items=[ConversionOut.of(c, currency) for c in page.items] if page else None,
        next_cursor=page.next if page else None,
        params=params,
        sources=SOURCES,
        campaigns=campaigns,
        models=[m.value for m in Model],
        chosen_model=session.workspace.attribution_model,
        totals=next((r["models"] for r in models.values() if r), None),
        groups=groups,
        import_fields=IMPORT_FIELDS,
        summary=ask.summary(),
    )


@router.get("/live")
def live(request: Request) -> Response:
    """The live feed of scans and conversions (server-sent events from ``/api/v1/live``)."""
    session, ctr = signed_in(request)
    today = Period.ending_today(session.workspace, 7).last
    start = datetime.combine(today, time.min, tzinfo=UTC)
    recent = attempt(
        "recent conversions",
        lambda: ctr.attribution.list(session.principal, ConversionFilter(since=start), limit=10),
    )
    codes = {c.id: c.slug for c in all_items(ctr.codes.list, session)}
    return pages().render(
        request,
        "live.html",
        session,
        active="live",
        codes=codes,
        campaigns={c.id: c.name for c in all_items(ctr.campaigns.list, session)},
        recent=[ConversionOut.of(c, session.workspace.currency) for c in recent.items] if recent else [],
    )


@router.get("/settings")
def settings(request: Request) -> Response:
    """Workspace, members and roles, API keys, reporting currency and rates, password."""
    session, ctr = signed_in(request)
    who = session.principal
    is_admin = session.role.allows(Role.ADMIN)
    keys = (
        attempt("keys", lambda: ctr.keys.list(who, ListQuery(filters={}, limit=200)).items)
        if is_admin
        else None
    )
    return pages().render(
        request,
        "settings.html",
        session,
        active="settings",
        members=ctr.members.list(who),
        keys=keys,
        rates=attempt("rates", lambda: ctr.fx.list(who)) or [],
        roles=[r.value for r in Role if session.role.allows(r)],
        all_roles=[r.value for r in Role],
        models=[m.value for m in Model],
    )
