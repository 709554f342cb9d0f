"""Sign in, sign out, password change and the workspace switcher."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from scanroute.domain.errors import DomainError, Invalid
from scanroute.services.sessions import MAX_PASSWORD, TooManyAttempts
from scanroute.storage.tenants import WorkspaceStore
from scanroute.web.api.problems import problem
from scanroute.web.dashboard.auth import (
    LOGIN_COOKIE,
    clear_session_cookie,
    client_address,
    current_session,
    login_form_token,
    login_token_ok,
    require_csrf,
    require_session,
    safe_next,
    session_service,
    set_login_cookie,
    set_session_cookie,
)
from scanroute.web.dashboard.routing import page_router, pages

router = page_router()


def _login_page(
    request: Request, next_path: str, *, email: str = "", error: str | None = None, status: int = 200
) -> Response:
    token, fresh = login_form_token(request)
    page = pages().render(
        request,
        "login.html",
        None,
        status=status,
        token=token,
        next=next_path,
        email=email,
        error=error,
        demo=_demo_login(request),
    )
    if fresh is not None:
        set_login_cookie(request, page, fresh)
    return page


def _demo_login(request: Request) -> tuple[str, str] | None:
    """The published demo login, when this server has the demo workspace."""
    from scanroute.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_SLUG

    with request.app.state.container.db.read() as conn:
        found = WorkspaceStore().by_slug(conn, DEMO_SLUG)
    return (DEMO_EMAIL, DEMO_PASSWORD) if found is not None else None


@router.get("/")
def root() -> RedirectResponse:
    """The dashboard lives under ``/app/``."""
    return RedirectResponse("/app/", status_code=302)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in page (signed-in users go straight on)."""
    target = safe_next(next)
    if current_session(request) is not None:
        return RedirectResponse(target, status_code=303)
    return _login_page(request, target)


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=MAX_PASSWORD)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/app/",
) -> Response:
    """Check the credentials, start a session and go to ``next``."""
    target = safe_next(next)
    if not login_token_ok(request, csrf_token):
        return _login_page(
            request, target, email=email, status=403, error="The form expired. Please sign in again."
        )
    svc = session_service(request.app.state.container)
    try:
        token, _ = svc.login(email, password, client_address(request))
    except TooManyAttempts as exc:
        page = _login_page(request, target, email=email, status=429, error=exc.detail.capitalize() + ".")
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except DomainError as exc:
        return _login_page(
            request, target, email=email, status=exc.status, error=exc.detail.capitalize() + "."
        )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session and return to the sign-in page."""
    session = current_session(request)
    if session is not None:
        await require_csrf(request, session)
        token = request.cookies.get("sr_session")
        if token:
            session_service(request.app.state.container).logout(token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response)
    return response


class PasswordChange(BaseModel):
    """Body of ``POST /app/account/password`` (sent by the settings page's script)."""

    current_password: str = Field(max_length=MAX_PASSWORD)
    new_password: str = Field(max_length=MAX_PASSWORD)
    confirm_password: str = Field(max_length=MAX_PASSWORD)


@router.post("/app/account/password")
async def change_password(request: Request, body: PasswordChange) -> Response:
    """Change the signed-in user's password; every other session of the user ends."""
    session = require_session(request)
    await require_csrf(request, session)
    try:
        if body.new_password != body.confirm_password:
            raise Invalid("does not match the new password", field="confirm_password")
        token = session_service(request.app.state.container).change_password(
            session, body.current_password, body.new_password
        )
    except DomainError as exc:
        errors = [{"field": exc.field, "reason": exc.detail}] if exc.field else None
        return problem(exc.status, exc.title, exc.detail, errors=errors)
    response = Response(status_code=204)
    set_session_cookie(request, response, token)
    return response


@router.post("/app/workspace")
async def switch_workspace(
    request: Request, workspace: Annotated[str, Form(max_length=40)], next: Annotated[str, Form()] = "/app/"
) -> Response:
    """Look at another of the user's workspaces."""
    session = require_session(request)
    await require_csrf(request, session)
    session_service(request.app.state.container).switch(session, workspace)
    return RedirectResponse(safe_next(next), status_code=303)
