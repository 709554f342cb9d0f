"""Code pages: the list (search, filters, bulk actions), the new-code form and a code's page (QR,
print QA, rule builder with simulator, scan history, settings)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse

from scanroute.domain.code import CodeStatus
from scanroute.domain.errors import DomainError, Invalid
from scanroute.domain.ids import row_id
from scanroute.services.codes import CodePatch
from scanroute.storage.paging import ListQuery
from scanroute.web.dashboard.auth import require_csrf
from scanroute.web.dashboard.data import Insights, Period
from scanroute.web.dashboard.pages_reports import all_items, signed_in
from scanroute.web.dashboard.routing import page_router, pages

router = page_router(prefix="/app")

PAGE_SIZE = 50
SORTS = {
    "-created_at": "Newest first",
    "created_at": "Oldest first",
    "slug": "Slug A–Z",
    "title": "Title A–Z",
}
BULK = {
    "pause": ("paused", CodeStatus.PAUSED),
    "resume": ("resumed", CodeStatus.ACTIVE),
    "archive": ("archived", CodeStatus.ARCHIVED),
}
"""Bulk action → (past tense, new status); ``delete`` is handled on its own."""


def _int(raw: str | None) -> int | None:
    return row_id(raw) if raw else None


@router.get("/codes")
def codes(request: Request) -> Response:
    """Codes with search, status/campaign/placement filters, sorting and paging (htmx swaps the table)."""
    session, ctr = signed_in(request)
    params = request.query_params
    status = params.get("status") if params.get("status") in {s.value for s in CodeStatus} else None
    sort = params.get("sort") if params.get("sort") in SORTS else "-created_at"
    filters = {
        "status": status,
        "campaign_id": _int(params.get("campaign")),
        "placement_id": _int(params.get("placement")),
    }
    query = ListQuery(
        filters=filters,
        search=(params.get("q") or "").strip()[:200] or None,
        sort=sort or "-created_at",
        limit=PAGE_SIZE,
        cursor=params.get("cursor") or None,
    )
    page = ctr.codes.list(session.principal, query)
    period = Period.ending_today(session.workspace, 30)
    stats = Insights(ctr, session.principal, period).by_key("code")
    shown = {k: v for k, v in params.items() if k != "cursor" and v}
    context: dict[str, Any] = {
        "active": "codes",
        "codes": page.items,
        "next_url": f"/app/codes?{urlencode({**shown, 'cursor': page.next})}" if page.next else None,
        "stats": stats or {},
        "campaigns": {c.id: c for c in all_items(ctr.campaigns.list, session)},
        "placements": {p.id: p for p in all_items(ctr.placements.list, session)},
        "params": params,
        "sorts": SORTS,
        "statuses": [s.value for s in CodeStatus],
        "filtered": any(filters.values()) or bool(query.search),
        "more": bool(params.get("cursor")),
        "bulk_done": params.get("done"),
    }
    partial = request.headers.get("hx-request") and request.headers.get("hx-target") in (
        "code-rows",
        "more-row",
    )
    return pages().render(request, "_code_rows.html" if partial else "codes.html", session, **context)


@router.post("/codes/bulk")
async def bulk(
    request: Request,
    action: Annotated[str, Form(max_length=20)],
    slug: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Pause, resume, archive or delete the selected codes (each one checked by the service)."""
    session, ctr = signed_in(request)
    await require_csrf(request, session)
    slugs = list(dict.fromkeys(slug or []))[:200]
    if action not in {*BULK, "delete"}:
        raise Invalid("is not a bulk action", field="action")
    done, failed = 0, []
    for one in slugs:
        try:
            if action == "delete":
                ctr.codes.delete(session.principal, one)
            else:
                ctr.codes.update(session.principal, one, CodePatch(status=BULK[action][1]))
            done += 1
        except DomainError as exc:
            failed.append(f"{one}: {exc.detail}")
    verb = "deleted" if action == "delete" else BULK[action][0]
    message = f"{done} code{'s' if done != 1 else ''} {verb}" + (
        f"; {len(failed)} refused — {failed[0]}" if failed else ""
    )
    return RedirectResponse(f"/app/codes?{urlencode({'done': message})}", status_code=303)


@router.get("/codes/new")
def new_code(request: Request) -> Response:
    """The form that creates a code (then the rule builder opens on its page)."""
    session, ctr = signed_in(request)
    return pages().render(
        request,
        "code_new.html",
        session,
        active="codes",
        campaigns=all_items(ctr.campaigns.list, session),
        placements=all_items(ctr.placements.list, session),
        chosen_campaign=_int(request.query_params.get("campaign")),
    )


@router.get("/codes/{slug}")
def code_detail(request: Request, slug: str) -> Response:
    """A code: QR image and downloads, print QA, rule builder and simulator, scan history, settings."""
    session, ctr = signed_in(request)
    code = ctr.codes.get(session.principal, slug)
    period = Period.ending_today(session.workspace, 30)
    ask = Insights(ctr, session.principal, period, code=code.slug)
    campaign = ctr.campaigns.get(session.principal, code.campaign_id) if code.campaign_id else None
    placement = ctr.placements.get(session.principal, code.placement_id) if code.placement_id else None
    by_device = ask.breakdown("device")
    by_country = ask.breakdown("country")
    editor = {
        "slug": code.slug,
        "rules": code.rules,
        "timezone": code.timezone or session.workspace.timezone,
        "destination": code.destination,
        "can_edit": session.role.value != "viewer",
    }
    return pages().render(
        request,
        "code.html",
        session,
        active="codes",
        code=code,
        short_url=ctr.short_url(code.slug),
        campaign=campaign,
        placement=placement,
        campaigns=all_items(ctr.campaigns.list, session),
        placements=all_items(ctr.placements.list, session),
        summary=ask.summary(),
        breakdowns={"device": by_device, "country": by_country},
        charts={
            "series": ask.series(),
            "forecast": ask.forecast(code=code.slug),
            "anomalies": [a for a in ask.anomalies() if a.get("slug") == code.slug],
            "breakdowns": {"device": by_device, "country": by_country},
        },
        editor=editor,
        period=period,
    )
