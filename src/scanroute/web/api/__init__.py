"""The management REST API (FastAPI) under ``/api/v1``."""

from __future__ import annotations

from fastapi import FastAPI

from scanroute import __version__
from scanroute.bootstrap import Container
from scanroute.web import dashboard
from scanroute.web.api import analytics, catalog, codes, conversions, insights, problems, qr, tenants


def build_api(container: Container) -> FastAPI:
    """The FastAPI application with every router, problem+json handlers and OpenAPI 3.1."""
    app = FastAPI(
        title="scanroute API",
        version=__version__,
        description=(
            "Dynamic QR codes as programmable touchpoints. "
            "Authenticate with `Authorization: Bearer <API key>`."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.container = container
    problems.install(app)
    for module in (codes, catalog, tenants, qr, conversions, analytics, insights):
        app.include_router(module.router, prefix="/api/v1")
    dashboard.mount(app)  # /, /login, /logout, /app/…, /static/…
    return app
