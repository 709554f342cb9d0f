"""Dashboard sign-in: server-side user sessions, CSRF tokens, login throttling, password change.

The browser holds a random session token in a cookie; the database keeps only its keyed hash
(HMAC-SHA-256 with the server's secret key), the user, the workspace the user is looking at and
the session's CSRF token. The role is read from the membership on every request, so a changed or
removed membership takes effect at once. Failed sign-ins are counted per client address (stored
as a keyed hash, never the raw address) over a sliding window; past the limit every attempt from
that address is refused with 429 until the window has passed.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from scanroute.domain.errors import DomainError, Forbidden, Invalid, NotFound, Unauthorized
from scanroute.domain.workspace import Principal, Role, Workspace, validate_email
from scanroute.services.common import utcnow
from scanroute.services.tenants import hash_password, verify_password
from scanroute.storage.db import Database
from scanroute.storage.schema import login_failures, user_sessions
from scanroute.storage.tenants import UserStore, WorkspaceStore

SESSION_IDLE = timedelta(days=7)
SESSION_MAX = timedelta(days=30)
TOUCH_EVERY = timedelta(minutes=5)
LOGIN_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 8
MAX_PASSWORD = 256
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))  # equalises timing for unknown e-mails


class TooManyAttempts(DomainError):
    """Too many failed sign-ins from one address."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class UserSession:
    """A signed-in user looking at one of their workspaces."""

    token_hash: str
    user_id: int
    email: str
    name: str
    workspace: Workspace
    role: Role
    csrf_token: str
    workspaces: tuple[tuple[Workspace, Role], ...]

    @property
    def principal(self) -> Principal:
        """The caller as the services see it."""
        return Principal(workspace_id=self.workspace.id, role=self.role, user_id=self.user_id)


class SessionService:
    """Creates, resolves and ends user sessions; throttles failed sign-ins."""

    def __init__(self, db: Database, secret: bytes, *, login_limit: int) -> None:
        self.db = db
        self.secret = secret
        self.login_limit = login_limit
        self.users = UserStore()
        self.workspaces = WorkspaceStore()

    def _digest(self, kind: str, value: str) -> str:
        return hmac.new(self.secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    # -- sign in and out -------------------------------------------------------------------------

    def login(self, email: str, password: str, address: str) -> tuple[str, UserSession]:
        """Check the credentials; answer a new session token and the session.

        Raises ``TooManyAttempts`` past the per-address limit, ``Unauthorized`` for a wrong
        e-mail or password (the same message for both) and ``Forbidden`` for a user without
        any workspace.
        """
        now = utcnow()
        who = self._digest("addr", address)
        with self.db.write() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.at < now - LOGIN_WINDOW))
            conn.execute(delete(user_sessions).where(user_sessions.c.expires_at < now))
            failures = conn.execute(
                select(func.count(), func.min(login_failures.c.at)).where(login_failures.c.address == who)
            ).one()
        if failures[0] >= self.login_limit:
            wait = max(1, math.ceil((failures[1] + LOGIN_WINDOW - now).total_seconds()))
            raise TooManyAttempts(
                f"too many failed sign-ins from this address; try again in {math.ceil(wait / 60)} minutes",
                retry_after=wait,
            )
        try:
            normalised = validate_email(email)
        except Invalid:
            normalised = ""
        with self.db.read() as conn:
            row = self.users.by_email(conn, normalised) if normalised else None
        ok = verify_password(row.password_hash if row is not None else _DUMMY_HASH, password)
        if row is None or not ok:
            with self.db.write() as conn:
                conn.execute(insert(login_failures).values(address=who, at=now))
            raise Unauthorized("the e-mail address or the password is wrong")
        with self.db.write() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.address == who))
            memberships = self.workspaces.for_user(conn, row.id)
            if not memberships:
                raise Forbidden("this account belongs to no workspace yet; ask an admin to add you")
            token = self._create(conn, row.id, memberships[0][0].id, now)
        session = self.resolve(token)
        assert session is not None
        return token, session

    def _create(self, conn: Connection, user_id: int, workspace_id: int, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        conn.execute(
            insert(user_sessions).values(
                token_hash=self._digest("session", token),
                user_id=user_id,
                workspace_id=workspace_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_MAX,
            )
        )
        return token

    def logout(self, token: str) -> None:
        """End a session (nothing happens for an unknown token)."""
        with self.db.write() as conn:
            conn.execute(
                delete(user_sessions).where(user_sessions.c.token_hash == self._digest("session", token))
            )

    # -- every request ---------------------------------------------------------------------------

    def resolve(self, token: str | None) -> UserSession | None:
        """The live session of a cookie token, or ``None`` (expired, idle too long, unknown)."""
        if not token or len(token) > 200:
            return None
        digest = self._digest("session", token)
        now = utcnow()
        with self.db.read() as conn:
            row = conn.execute(select(user_sessions).where(user_sessions.c.token_hash == digest)).first()
            if row is None or row.expires_at <= now or row.last_seen_at + SESSION_IDLE <= now:
                return None
            user = self.users.by_id(conn, row.user_id)
            memberships = tuple(self.workspaces.for_user(conn, row.user_id))
        if user is None or not memberships:
            return None
        current = next((m for m in memberships if m[0].id == row.workspace_id), memberships[0])
        changes: dict[str, Any] = {}
        if current[0].id != row.workspace_id:
            changes["workspace_id"] = current[0].id
        if now - row.last_seen_at >= TOUCH_EVERY:
            changes["last_seen_at"] = now
        if changes:
            with self.db.write() as conn:
                conn.execute(
                    update(user_sessions).where(user_sessions.c.token_hash == digest).values(**changes)
                )
        return UserSession(
            token_hash=digest,
            user_id=user.id,
            email=user.email,
            name=user.name,
            workspace=current[0],
            role=current[1],
            csrf_token=row.csrf_token,
            workspaces=memberships,
        )

    def check_csrf(self, session: UserSession, token: str | None) -> bool:
        """True when ``token`` is the session's CSRF token (constant-time comparison)."""
        return bool(token) and hmac.compare_digest(session.csrf_token.encode(), (token or "").encode())

    # -- account ---------------------------------------------------------------------------------

    def switch(self, session: UserSession, slug: str) -> UserSession:
        """Look at another workspace the user belongs to (``NotFound`` otherwise)."""
        target = next((ws for ws, _ in session.workspaces if ws.slug == slug), None)
        if target is None:
            raise NotFound(f"workspace '{slug}' does not exist", field="workspace")
        with self.db.write() as conn:
            conn.execute(
                update(user_sessions)
                .where(user_sessions.c.token_hash == session.token_hash)
                .values(workspace_id=target.id)
            )
        role = next(r for ws, r in session.workspaces if ws.id == target.id)
        return UserSession(
            session.token_hash,
            session.user_id,
            session.email,
            session.name,
            target,
            role,
            session.csrf_token,
            session.workspaces,
        )

    def change_password(self, session: UserSession, current: str, new: str) -> str:
        """Replace the user's password; ends every session of the user and answers a new token."""
        if len(new) < MIN_PASSWORD or len(new) > MAX_PASSWORD:
            raise Invalid(f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="new_password")
        with self.db.read() as conn:
            user = self.users.by_id(conn, session.user_id)
        if user is None or not verify_password(user.password_hash, current):
            raise Invalid("is not your current password", field="current_password")
        if current == new:
            raise Invalid("must differ from the current password", field="new_password")
        now = utcnow()
        with self.db.write() as conn:
            self.users.set_password(conn, session.user_id, hash_password(new))
            conn.execute(delete(user_sessions).where(user_sessions.c.user_id == session.user_id))
            return self._create(conn, session.user_id, session.workspace.id, now)
