"""Rendering dashboard pages: the Jinja2 environment, shared page context and response headers.

Every page is HTML rendered on the server; data the browser needs for charts and widgets is
fetched by the page's script from ``/api/v1`` with the session cookie. Responses carry a strict
Content-Security-Policy (scripts and styles only from this server, no inline script), so page
data reaches scripts through ``data-*`` attributes or ``<script type="application/json">``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from scanroute.domain.workspace import Role
from scanroute.services.sessions import UserSession

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
VENDOR = STATIC / "vendor"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

NAV = (
    ("overview", "Overview", "/app/"),
    ("campaigns", "Campaigns", "/app/campaigns"),
    ("codes", "Codes", "/app/codes"),
    ("designer", "QR designer", "/app/qr"),
    ("placements", "Placements", "/app/placements"),
    ("conversions", "Conversions", "/app/conversions"),
    ("live", "Live", "/app/live"),
    ("settings", "Settings", "/app/settings"),
)


def _asset_version() -> str:
    """A short hash of every static file's name, size and mtime: part of asset URLs (cache busting)."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(STATIC)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def assets_missing() -> list[str]:
    """Vendor files the pages need that are not installed (``make install`` copies them)."""
    wanted = ("htmx.min.js", "chart.umd.min.js", "topojson-client.min.js", "countries-110m.json")
    return [name for name in wanted if not (VENDOR / name).is_file()]


def money(value: Decimal | float | int | str | None, currency: str) -> str:
    """``1234.5, "USD"`` → ``"USD 1,234.50"`` (``—`` for none)."""
    if value is None or value == "":
        return "—"
    return f"{currency} {Decimal(str(value)):,.2f}"


def decimal(value: Decimal | float | str | None) -> str:
    """A decimal without trailing zeros: ``1.080000000000`` → ``"1.08"``."""
    if value is None:
        return "—"
    return format(Decimal(str(value)).normalize(), "f")


def count(value: float | int | None) -> str:
    """``12345`` → ``"12,345"``; fractional credited counts keep one decimal (``"12.5"``)."""
    if value is None:
        return "—"
    number = float(value)
    return f"{number:,.0f}" if abs(number - round(number)) < 1e-9 else f"{number:,.1f}"


def percent(value: float | None) -> str:
    """``0.1234`` → ``"12.3 %"`` (``—`` for none)."""
    return "—" if value is None else f"{float(value) * 100:,.1f} %"


def when(value: datetime | None) -> str:
    """A timestamp as ``2026-11-30 14:05 UTC``."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


class Pages:
    """The template environment and the context every page shares."""

    def __init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.version = _asset_version()
        env = self.templates.env
        env.globals["static"] = self.static
        env.filters["money"] = money
        env.filters["count"] = count
        env.filters["decimal"] = decimal
        env.filters["percent"] = percent
        env.filters["when"] = when

    def static(self, name: str) -> str:
        """URL of a static file, versioned so that it can be cached for a year."""
        return f"/static/{name}?v={self.version}"

    def render(
        self,
        request: Request,
        name: str,
        session: UserSession | None,
        *,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        """Render ``name`` with the shared context (session, role flags, navigation)."""
        base: dict[str, Any] = {"session": session, "nav": NAV, "missing_assets": assets_missing()}
        if session is not None:
            base.update(
                ws=session.workspace,
                role=session.role.value,
                can_edit=session.role.allows(Role.EDITOR),
                is_admin=session.role.allows(Role.ADMIN),
                is_owner=session.role.allows(Role.OWNER),
                csrf=session.csrf_token,
            )
        base.update(context)
        response = self.templates.TemplateResponse(request, name, base, status_code=status)
        response.headers.update(SECURITY_HEADERS)
        return response
