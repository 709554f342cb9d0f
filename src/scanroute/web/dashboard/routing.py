"""Routes that answer HTML: sign-in redirects, CSRF refusals and error pages instead of problem+json.

Dashboard routes use :class:`PageRoute`, which turns the exceptions a page can meet into pages:
``LoginRequired`` → 303 to the sign-in page (or 401 for htmx requests), ``CsrfRejected`` → 403,
a ``DomainError`` from a service → its status with the message. The JSON API keeps its own
problem+json handlers; nothing here touches them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute, APIRouter

from scanroute.domain.errors import DomainError
from scanroute.web.dashboard.auth import CsrfRejected, LoginRequired, current_session, login_url
from scanroute.web.dashboard.render import Pages

log = logging.getLogger("scanroute.dashboard")
_pages: Pages | None = None


def pages() -> Pages:
    """The template environment (built once per process)."""
    global _pages
    if _pages is None:
        _pages = Pages()
    return _pages


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    """An HTML error page (the navigation stays when the user is signed in)."""
    try:
        session = current_session(request)
    except Exception:  # noqa: BLE001 - an error page must render even when the store is down
        session = None
    return pages().render(request, "error.html", session, status=status, title=title, detail=detail)


class PageRoute(APIRoute):
    """An ``APIRoute`` whose errors become HTML pages or redirects."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler with the dashboard's error translation."""
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await inner(request)
            except LoginRequired:
                if request.headers.get("hx-request"):
                    return Response(status_code=401, headers={"HX-Redirect": login_url(request.url.path)})
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(login_url(target), status_code=303)
            except CsrfRejected:
                return error_page(
                    request,
                    403,
                    "Form expired",
                    "The form was missing its security token or the session changed. Reload the page "
                    "and try again.",
                )
            except RequestValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors())
                return error_page(request, 400, "Bad request", f"Check these values: {fields or 'input'}.")
            except DomainError as exc:
                return error_page(request, exc.status, exc.title, exc.detail)

        return handler


def page_router(**kwargs: Any) -> APIRouter:
    """A router for dashboard pages (HTML errors, not in the OpenAPI document)."""
    return APIRouter(route_class=PageRoute, include_in_schema=False, **kwargs)
