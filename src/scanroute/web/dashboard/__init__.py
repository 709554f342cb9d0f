"""The dashboard: server-rendered pages under ``/app/``, sign-in at ``/login``, assets at ``/static/``.

``mount(app)`` adds it to the FastAPI application built by ``web.api.build_api``. Pages render on
the server (Jinja2) from the same services the REST API uses; their scripts call ``/api/v1`` with
the session cookie for interactive parts (rule builder, simulator, QR designer, live feed).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, Response

from scanroute.web.dashboard import account, pages_codes, pages_reports, pages_studio, pages_workspace
from scanroute.web.dashboard.assets import StaticAssets
from scanroute.web.dashboard.render import STATIC, assets_missing
from scanroute.web.dashboard.routing import error_page, page_router

log = logging.getLogger("scanroute.dashboard")

_fallback = page_router()


@_fallback.get("/app/{rest:path}")
def not_found(request: Request, rest: str) -> Response:
    """Any other path under ``/app``: an HTML 404."""
    del rest
    return error_page(request, 404, "Page not found", "There is no such page in the dashboard.")


def mount(app: FastAPI) -> None:
    """Add the dashboard's routes and its static files to ``app``."""
    missing = assets_missing()
    if missing:
        log.warning("dashboard assets missing (%s): run `make install` (npm ci)", ", ".join(missing))
    for module in (account, pages_reports, pages_codes, pages_studio, pages_workspace):
        app.include_router(module.router)
    app.include_router(_fallback)
    app.mount("/static", StaticAssets(directory=STATIC), name="static")
