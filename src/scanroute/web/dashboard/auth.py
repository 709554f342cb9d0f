"""Dashboard authentication: the session cookie, CSRF checks and the client's address.

- ``sr_session``: the session token; HttpOnly, SameSite=Lax, ``Secure`` whenever the dashboard
  is reached over https (or the public base URL is https and the host is not loopback).
- CSRF: every unsafe request of a signed-in browser — dashboard form or ``/api/v1`` call made
  with the cookie — must carry the session's token, as the ``csrf_token`` form field or the
  ``X-CSRF-Token`` header. The sign-in form, which has no session yet, carries an HMAC of a
  random ``sr_login`` cookie (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote

from fastapi import Request, Response

from scanroute.bootstrap import Container, secret_key
from scanroute.capture.privacy import NetworkSet, parse_ip
from scanroute.domain.errors import Forbidden, Unauthorized
from scanroute.domain.workspace import Principal
from scanroute.services.sessions import SESSION_MAX, SessionService, UserSession

SESSION_COOKIE = "sr_session"
LOGIN_COOKIE = "sr_login"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_STATE = "dashboard_session"
_UNSET = object()


class LoginRequired(Exception):
    """A page needs a signed-in user; the handler redirects to the sign-in page."""


class CsrfRejected(Exception):
    """An unsafe dashboard request without the session's CSRF token."""


def _container(request: Request) -> Container:
    ctr: Container = request.app.state.container
    return ctr


def session_service(ctr: Container) -> SessionService:
    """The process's session service (created on first use, kept in ``container.extras``)."""
    svc = ctr.extras.get("sessions")
    if not isinstance(svc, SessionService):
        svc = SessionService(ctr.db, secret_key(ctr.settings), login_limit=ctr.settings.login_rate_limit)
        ctr.extras["sessions"] = svc
    return svc


def current_session(request: Request) -> UserSession | None:
    """The signed-in user of this request (resolved once per request), or ``None``."""
    cached = getattr(request.state, _STATE, _UNSET)
    if cached is _UNSET:
        token = request.cookies.get(SESSION_COOKIE)
        cached = session_service(_container(request)).resolve(token) if token else None
        setattr(request.state, _STATE, cached)
    return cached if isinstance(cached, UserSession) else None


def require_session(request: Request) -> UserSession:
    """The signed-in user, or ``LoginRequired``."""
    session = current_session(request)
    if session is None:
        raise LoginRequired
    return session


async def require_csrf(request: Request, session: UserSession) -> None:
    """Refuse an unsafe request whose CSRF token (header or form field) is not the session's."""
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not session_service(_container(request)).check_csrf(session, token):
        raise CsrfRejected


def api_principal(request: Request) -> Principal | None:
    """For ``/api/v1``: the principal of a session cookie (``None`` when the request has none).

    Unsafe methods must send the session's token in ``X-CSRF-Token`` (JSON calls from the
    dashboard's scripts); an expired session is 401 like a bad key.
    """
    if SESSION_COOKIE not in request.cookies:
        return None
    session = current_session(request)
    if session is None:
        raise Unauthorized("the dashboard session has expired; sign in again")
    if request.method not in SAFE_METHODS and not session_service(_container(request)).check_csrf(
        session, request.headers.get(CSRF_HEADER)
    ):
        raise Forbidden("send the session's CSRF token in the X-CSRF-Token header")
    return session.principal


def cookie_secure(request: Request) -> bool:
    """Whether cookies get the ``Secure`` flag: over https, or when the public URL is https (not loopback)."""
    if request.url.scheme == "https":
        return True
    if (request.url.hostname or "") in LOOPBACK:
        return False
    return _container(request).base_url.startswith("https://")


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Attach the session cookie (HttpOnly, SameSite=Lax, Secure when appropriate)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_MAX.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=cookie_secure(request)
    )


def login_form_token(request: Request) -> tuple[str, str | None]:
    """The sign-in form's CSRF token, and a new ``sr_login`` nonce to set (``None``: the browser
    has a usable one already)."""
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    fresh = None
    if not (16 <= len(nonce) <= 100):
        nonce = fresh = secrets.token_urlsafe(24)
    return _login_token(request, nonce), fresh


def set_login_cookie(request: Request, response: Response, nonce: str) -> None:
    """Attach the ``sr_login`` nonce the sign-in form's token is bound to."""
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=cookie_secure(request),
    )


def _login_token(request: Request, nonce: str) -> str:
    key = session_service(_container(request)).secret
    return hmac.new(key, f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


def login_token_ok(request: Request, token: str | None) -> bool:
    """True when the sign-in form's token matches its ``sr_login`` cookie."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not nonce or not token:
        return False
    return hmac.compare_digest(_login_token(request, nonce), token)


def client_address(request: Request) -> str:
    """The client's address: the TCP peer, or (behind a trusted proxy) the nearest untrusted hop of
    ``X-Forwarded-For``."""
    peer = request.client.host if request.client else ""
    trusted = NetworkSet.parse(_container(request).settings.trusted_proxies)
    address = parse_ip(peer)
    if address is None or address not in trusted:
        return peer or "unknown"
    for hop in reversed(request.headers.get("x-forwarded-for", "").split(",")[-32:]):
        candidate = parse_ip(hop.strip())
        if candidate is None:
            break
        address = candidate
        if candidate not in trusted:
            break
    return str(address)


def login_url(next_path: str) -> str:
    """The sign-in page that returns to ``next_path`` afterwards."""
    return f"/login?next={quote(next_path, safe='/')}"


def safe_next(value: str | None) -> str:
    """A local path under ``/app`` to return to after sign-in (anything else becomes ``/app/``)."""
    if value and (value == "/app" or value.startswith("/app/")) and "\\" not in value:
        return value
    return "/app/"
