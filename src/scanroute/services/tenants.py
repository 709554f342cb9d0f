"""Workspace, member and API-key use cases, and API-key authentication."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import Field, StringConstraints, field_validator
from sqlalchemy.exc import IntegrityError

from scanroute.attribution.models import Model
from scanroute.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from scanroute.domain.workspace import (
    Principal,
    Role,
    Workspace,
    hash_api_key,
    new_api_key,
    validate_email,
    validate_workspace_slug,
)
from scanroute.services.common import Currency, Input, Name, TimeZone, require, utcnow
from scanroute.storage.db import Database
from scanroute.storage.paging import ListQuery, Page
from scanroute.storage.tenants import ApiKeyRecord, KeyStore, Member, UserStore, WorkspaceStore

DEFAULT_WORKSPACE = "default"
KEY_TOUCH_SECONDS = 60.0
_hasher = PasswordHasher()
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class WorkspaceCreate(Input):
    """Body of ``POST /api/v1/workspaces``."""

    slug: Annotated[str, StringConstraints(max_length=40)]
    name: Name | None = None
    currency: Currency | None = None
    timezone: TimeZone | None = None


class WorkspacePatch(Input):
    """Body of ``PATCH /api/v1/workspaces/{slug}``."""

    name: Name | None = None
    currency: Currency | None = None
    timezone: TimeZone | None = None
    attribution_model: Model | None = Field(None, description="Default model of KPIs (last unless changed).")
    lookback_days: int | None = Field(
        None, ge=1, le=90, description="Attribution lookback window (default 30)."
    )
    half_life_hours: int | None = Field(
        None,
        ge=1,
        le=90 * 24,
        description="Half-life of the time-decay model in hours (default 168 = 7 days).",
    )


class KeyCreate(Input):
    """Body of ``POST /api/v1/keys``."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Role = Role.VIEWER
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _future(cls, value: datetime | None) -> datetime | None:
        if value is not None and (value.tzinfo is None or value <= utcnow()):
            raise ValueError("must be a future time with a time zone offset")
        return value


class MemberCreate(Input):
    """Body of ``POST /api/v1/members``: adds an existing user or creates one."""

    email: Annotated[str, StringConstraints(max_length=254)]
    role: Role = Role.VIEWER
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    password: Password | None = Field(None, description="Required when the user does not exist yet.")


class MemberPatch(Input):
    """Body of ``PATCH /api/v1/members/{user_id}``."""

    role: Role


class WorkspaceService:
    """Workspaces: the tenants."""

    def __init__(self, db: Database, *, currency: str, timezone: str) -> None:
        self.db = db
        self.currency = currency
        self.timezone = timezone
        self.store = WorkspaceStore()

    def create(self, data: WorkspaceCreate) -> Workspace:
        """Create a workspace (``Conflict`` when the slug exists)."""
        slug = validate_workspace_slug(data.slug)
        try:
            with self.db.write() as conn:
                if self.store.by_slug(conn, slug) is not None:
                    raise Conflict(f"workspace '{slug}' already exists", field="slug")
                return self.store.create(
                    conn,
                    slug=slug,
                    name=data.name or slug,
                    currency=data.currency or self.currency,
                    timezone=data.timezone or self.timezone,
                    now=utcnow(),
                )
        except IntegrityError as exc:
            raise Conflict(f"workspace '{slug}' already exists", field="slug") from exc

    def ensure(self, slug: str | None) -> Workspace:
        """The named workspace; without a name, ``default`` (created on first use)."""
        with self.db.read() as conn:
            found = self.store.by_slug(conn, slug or DEFAULT_WORKSPACE)
        if found is not None:
            return found
        if slug is not None and slug != DEFAULT_WORKSPACE:
            raise NotFound(f"workspace '{slug}' does not exist")
        try:
            return self.create(WorkspaceCreate(slug=DEFAULT_WORKSPACE, name="Default"))
        except Conflict:
            return self.ensure(DEFAULT_WORKSPACE)

    def get(self, principal: Principal, slug: str) -> Workspace:
        """The caller's own workspace by slug (any other is 'not found')."""
        with self.db.read() as conn:
            ws = self.store.get(conn, principal.workspace_id)
        if ws.slug != slug:
            raise NotFound(f"workspace '{slug}' does not exist")
        return ws

    def current(self, principal: Principal) -> Workspace:
        """The caller's workspace."""
        with self.db.read() as conn:
            return self.store.get(conn, principal.workspace_id)

    def update(self, principal: Principal, slug: str, data: WorkspacePatch) -> Workspace:
        """Rename or re-currency the caller's workspace (admin)."""
        require(principal, Role.ADMIN, "changing the workspace")
        ws = self.get(principal, slug)
        values = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
        if "attribution_model" in values:
            values["attribution_model"] = Model(values["attribution_model"]).value
        with self.db.write() as conn:
            updated = self.store.update(conn, ws.id, values)
            if (updated.lookback_days, updated.half_life_hours) != (ws.lookback_days, ws.half_life_hours):
                # credits of every model depend on both windows: recompute them all
                from scanroute.attribution.engine import attribute
                from scanroute.storage.conversions import all_conversion_ids

                attribute(conn, ws.id, all_conversion_ids(conn, ws.id))
            return updated

    def delete(self, principal: Principal, slug: str) -> None:
        """Delete the caller's workspace and everything in it (owner)."""
        require(principal, Role.OWNER, "deleting the workspace")
        ws = self.get(principal, slug)
        with self.db.write() as conn:
            self.store.delete(conn, ws.id)

    def create_as(self, principal: Principal, data: WorkspaceCreate) -> tuple[Workspace, str]:
        """An owner creates another workspace; returns it and a new owner key for it."""
        require(principal, Role.OWNER, "creating workspaces")
        ws = self.create(data)
        users = UserStore()
        with self.db.write() as conn:
            for member in users.members(conn, principal.workspace_id):
                if member.role is Role.OWNER:
                    users.add_member(conn, ws.id, member.user_id, Role.OWNER, utcnow())
        key, _ = KeyService(self.db).issue(ws.id, "owner key", Role.OWNER, None)
        return ws, key


class KeyService:
    """API keys: shown once, stored as SHA-256."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.store = KeyStore()

    def issue(
        self, workspace_id: int, name: str, role: Role, expires_at: datetime | None
    ) -> tuple[str, ApiKeyRecord]:
        """Create a key without an authorisation check (CLI and bootstrap)."""
        key, prefix, digest = new_api_key()
        with self.db.write() as conn:
            record = self.store.create(
                conn,
                workspace_id=workspace_id,
                name=name,
                prefix=prefix,
                key_hash=digest,
                role=role,
                now=utcnow(),
                expires_at=expires_at,
            )
        return key, record

    def create(self, principal: Principal, data: KeyCreate) -> tuple[str, ApiKeyRecord]:
        """An admin creates a key no stronger than their own role."""
        require(principal, Role.ADMIN, "managing API keys")
        if not principal.can(data.role):
            raise Forbidden(f"cannot create a {data.role.value} key with a {principal.role.value} key")
        return self.issue(principal.workspace_id, data.name, data.role, data.expires_at)

    def list(self, principal: Principal, query: ListQuery) -> Page[ApiKeyRecord]:
        """The workspace's keys (never their secrets)."""
        require(principal, Role.ADMIN, "managing API keys")
        with self.db.read() as conn:
            return self.store.table.list(conn, principal.workspace_id, query)

    def delete(self, principal: Principal, ident: int) -> None:
        """Revoke a key (not one stronger than the caller's)."""
        require(principal, Role.ADMIN, "managing API keys")
        with self.db.write() as conn:
            record = self.store.table.get(conn, principal.workspace_id, ident)
            if not principal.can(record.role):
                raise Forbidden(f"cannot revoke a {record.role.value} key with a {principal.role.value} key")
            self.store.table.delete(conn, principal.workspace_id, ident)


class Authenticator:
    """Turns a bearer key into a ``Principal``; records last use at most once a minute."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.store = KeyStore()
        self._touched: dict[int, float] = {}
        self._lock = threading.Lock()

    def authenticate(self, key: str | None) -> Principal:
        """The principal for a key, or ``Unauthorized``."""
        if not key:
            raise Unauthorized("send 'Authorization: Bearer <API key>'")
        with self.db.read() as conn:
            record = self.store.by_hash(conn, hash_api_key(key))
        now = utcnow()
        if record is None:
            raise Unauthorized("the API key is not valid")
        if record.expires_at is not None and record.expires_at <= now:
            raise Unauthorized("the API key has expired")
        mono = time.monotonic()
        with self._lock:
            due = mono - self._touched.get(record.id, -KEY_TOUCH_SECONDS) >= KEY_TOUCH_SECONDS
            if due:
                self._touched[record.id] = mono
        if due:
            with self.db.write() as conn:
                self.store.touch(conn, record.id, now)
        return Principal(workspace_id=record.workspace_id, role=record.role, key_id=record.id)


class MemberService:
    """People in a workspace and their roles."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.users = UserStore()

    def list(self, principal: Principal) -> list[Member]:
        """Members of the caller's workspace."""
        with self.db.read() as conn:
            return self.users.members(conn, principal.workspace_id)

    def add(self, principal: Principal, data: MemberCreate) -> Member:
        """Add a user (created when new) with a role no stronger than the caller's."""
        require(principal, Role.ADMIN, "managing members")
        self._may_grant(principal, data.role)
        email = validate_email(data.email)
        now = utcnow()
        with self.db.write() as conn:
            row = self.users.by_email(conn, email)
            if row is None:
                if not data.password:
                    raise Invalid("is required to create a new user", field="password")
                user_id = self.users.create(
                    conn,
                    email=email,
                    name=data.name or "",
                    password_hash=hash_password(data.password),
                    now=now,
                )
            else:
                user_id = row.id
                if self.users.member(conn, principal.workspace_id, user_id) is not None:
                    raise Conflict(f"{email} is already a member", field="email")
            self.users.add_member(conn, principal.workspace_id, user_id, data.role, now)
            member = self.users.member(conn, principal.workspace_id, user_id)
        assert member is not None
        return member

    def set_role(self, principal: Principal, user_id: int, role: Role) -> Member:
        """Change a member's role (never leaving the workspace without an owner)."""
        require(principal, Role.ADMIN, "managing members")
        self._may_grant(principal, role)
        with self.db.write() as conn:
            current = self._member(conn, principal, user_id)
            self._may_grant(principal, current.role)
            if (
                current.role is Role.OWNER
                and role is not Role.OWNER
                and self.users.owner_count(conn, principal.workspace_id) <= 1
            ):
                raise Conflict("the last owner cannot be demoted", field="role")
            self.users.set_role(conn, principal.workspace_id, user_id, role)
            member = self.users.member(conn, principal.workspace_id, user_id)
        assert member is not None
        return member

    def remove(self, principal: Principal, user_id: int) -> None:
        """Remove a member (never the last owner)."""
        require(principal, Role.ADMIN, "managing members")
        with self.db.write() as conn:
            current = self._member(conn, principal, user_id)
            self._may_grant(principal, current.role)
            if current.role is Role.OWNER and self.users.owner_count(conn, principal.workspace_id) <= 1:
                raise Conflict("the last owner cannot be removed", field="user_id")
            self.users.remove_member(conn, principal.workspace_id, user_id)

    def _member(self, conn: object, principal: Principal, user_id: int) -> Member:
        member = self.users.member(conn, principal.workspace_id, user_id)  # type: ignore[arg-type]
        if member is None:
            raise NotFound(f"member {user_id} does not exist")
        return member

    @staticmethod
    def _may_grant(principal: Principal, role: Role) -> None:
        if not principal.can(role):
            raise Forbidden(f"a {principal.role.value} cannot manage {role.value}s")
