"""Studio pages: the QR designer, and placements with their map and bulk print runs."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from scanroute.domain.campaign import MEDIA
from scanroute.services.catalog import major
from scanroute.storage.paging import ListQuery
from scanroute.web.dashboard.data import Insights, Period, attempt
from scanroute.web.dashboard.pages_reports import all_items, period_days, signed_in
from scanroute.web.dashboard.routing import page_router, pages

router = page_router(prefix="/app")

SAMPLE_CSV = (
    "name,medium,city,country,campaign,destination,variant,caption\n"
    "Berlin window #9,window,Berlin,DE,Autumn Latte Launch,https://example.com/latte,A,Scan for 10 % off\n"
    "Paris menu #3,menu,Paris,FR,Autumn Latte Launch,https://example.com/latte,B,Scannez-moi\n"
)


@router.get("/qr")
def designer(request: Request) -> Response:
    """The QR designer: live preview while changing the design, print QA beside it."""
    session, ctr = signed_in(request)
    codes = all_items(ctr.codes.list, session)
    chosen = request.query_params.get("slug")
    code = next((c for c in codes if c.slug == chosen), None)
    if chosen and code is None:
        code = attempt("designer code", lambda: ctr.codes.get(session.principal, chosen))
    studio = ctr.qr
    templates = attempt(
        "templates", lambda: studio.templates.list(session.principal, ListQuery(filters={})).items
    )
    logos = attempt("logos", lambda: studio.logos.list(session.principal, ListQuery(filters={})).items)
    initial: dict[str, Any] = {
        "slug": code.slug if code else None,
        "design": dict(code.design or {}) if code else {},
        "templates": [{"id": t.id, "name": t.name, "design": t.design} for t in templates or []],
        "logos": [{"id": lg.id, "name": lg.name} for lg in logos or []],
    }
    return pages().render(
        request,
        "designer.html",
        session,
        active="designer",
        codes=codes,
        code=code,
        initial=initial,
    )


@router.get("/placements")
def placements(request: Request) -> Response:
    """Placements on a map and in a table, with scans per placement; bulk print runs."""
    session, ctr = signed_in(request)
    period = Period.ending_today(session.workspace, period_days(request))
    items = all_items(ctr.placements.list, session)
    by_id = Insights(ctr, session.principal, period).by_key("placement") or {}
    points = [
        {
            "id": p.id,
            "name": p.name,
            "city": p.city,
            "lat": p.latitude,
            "lon": p.longitude,
            "scans": (by_id.get(str(p.id)) or {}).get("scans", 0),
        }
        for p in items
        if p.latitude is not None and p.longitude is not None
    ]
    jobs = attempt(
        "jobs", lambda: ctr.qr.jobs.list(session.principal, ListQuery(filters={}, sort="-id", limit=10))
    )
    return pages().render(
        request,
        "placements.html",
        session,
        active="placements",
        period=period,
        placements=[(p, by_id.get(str(p.id)), major(p.print_cost_minor, p.currency)) for p in items],
        points=points,
        media=MEDIA,
        campaigns=all_items(ctr.campaigns.list, session),
        jobs=jobs.items if jobs else [],
        sample_csv=SAMPLE_CSV,
    )
