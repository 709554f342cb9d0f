"""Stores for workspaces, users, memberships and API keys."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from scanroute.domain.errors import NotFound
from scanroute.domain.workspace import Role, Workspace
from scanroute.storage.paging import ScopedTable
from scanroute.storage.schema import api_keys, memberships, users, workspaces


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key as stored (never the secret)."""

    id: int
    workspace_id: int
    name: str
    prefix: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Member:
    """A user's membership of a workspace."""

    user_id: int
    workspace_id: int
    email: str
    name: str
    role: Role
    created_at: datetime


def _workspace(row: Row[Any]) -> Workspace:
    m = row._mapping
    return Workspace(
        m["id"],
        m["slug"],
        m["name"],
        m["currency"],
        m["timezone"],
        m["created_at"],
        attribution_model=m["attribution_model"],
        lookback_days=int(m["lookback_days"]),
        half_life_hours=int(m["half_life_hours"]),
    )


def _key(row: Row[Any]) -> ApiKeyRecord:
    m = row._mapping
    return ApiKeyRecord(
        m["id"],
        m["workspace_id"],
        m["name"],
        m["prefix"],
        Role(m["role"]),
        m["created_at"],
        m["expires_at"],
        m["last_used_at"],
    )


keys_table = ScopedTable(
    api_keys, _key, sortable=("id", "name", "created_at"), searchable=("name",), noun="key"
)


class WorkspaceStore:
    """Workspaces are the tenants themselves, so they are not scoped."""

    def create(
        self, conn: Connection, *, slug: str, name: str, currency: str, timezone: str, now: datetime
    ) -> Workspace:
        """Insert a workspace."""
        ident = conn.execute(
            insert(workspaces)
            .values(
                slug=slug,
                name=name,
                currency=currency,
                timezone=timezone,
                created_at=now,
                pixel_secret=secrets.token_hex(32),
            )
            .returning(workspaces.c.id)
        ).scalar_one()
        return self.get(conn, int(ident))

    def get(self, conn: Connection, ident: int) -> Workspace:
        """A workspace by id."""
        row = conn.execute(select(workspaces).where(workspaces.c.id == ident)).first()
        if row is None:
            raise NotFound(f"workspace {ident} does not exist")
        return _workspace(row)

    def by_slug(self, conn: Connection, slug: str) -> Workspace | None:
        """A workspace by slug, or ``None``."""
        row = conn.execute(select(workspaces).where(workspaces.c.slug == slug)).first()
        return None if row is None else _workspace(row)

    def all(self, conn: Connection) -> list[Workspace]:
        """Every workspace, by id."""
        return [_workspace(r) for r in conn.execute(select(workspaces).order_by(workspaces.c.id))]

    def update(self, conn: Connection, ident: int, values: dict[str, Any]) -> Workspace:
        """Update columns of a workspace."""
        if values:
            conn.execute(update(workspaces).where(workspaces.c.id == ident).values(**values))
        return self.get(conn, ident)

    def delete(self, conn: Connection, ident: int) -> None:
        """Delete a workspace and (by cascade) everything it owns."""
        conn.execute(workspaces.delete().where(workspaces.c.id == ident))

    def for_user(self, conn: Connection, user_id: int) -> list[tuple[Workspace, Role]]:
        """The workspaces a user belongs to, with the role in each."""
        stmt = (
            select(workspaces, memberships.c.role)
            .join(memberships, memberships.c.workspace_id == workspaces.c.id)
            .where(memberships.c.user_id == user_id)
            .order_by(workspaces.c.id)
        )
        return [(_workspace(r), Role(r.role)) for r in conn.execute(stmt)]


class KeyStore:
    """API keys: created, looked up by hash, listed and revoked."""

    table = keys_table

    def create(
        self,
        conn: Connection,
        *,
        workspace_id: int,
        name: str,
        prefix: str,
        key_hash: str,
        role: Role,
        now: datetime,
        expires_at: datetime | None,
    ) -> ApiKeyRecord:
        """Store a new key (its hash only)."""
        ident = self.table.insert(
            conn,
            {
                "workspace_id": workspace_id,
                "name": name,
                "prefix": prefix,
                "key_hash": key_hash,
                "role": role.value,
                "created_at": now,
                "expires_at": expires_at,
            },
        )
        return self.table.get(conn, workspace_id, ident)

    def by_hash(self, conn: Connection, key_hash: str) -> ApiKeyRecord | None:
        """The key with this SHA-256, or ``None``."""
        row = conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash)).first()
        return None if row is None else _key(row)

    def touch(self, conn: Connection, ident: int, now: datetime) -> None:
        """Record that a key was used."""
        conn.execute(update(api_keys).where(api_keys.c.id == ident).values(last_used_at=now))


class UserStore:
    """Users and their memberships."""

    def create(self, conn: Connection, *, email: str, name: str, password_hash: str, now: datetime) -> int:
        """Insert a user and return the id."""
        return int(
            conn.execute(
                insert(users)
                .values(email=email, name=name, password_hash=password_hash, created_at=now)
                .returning(users.c.id)
            ).scalar_one()
        )

    def by_email(self, conn: Connection, email: str) -> Row[Any] | None:
        """The user row for an e-mail address."""
        return conn.execute(select(users).where(users.c.email == email)).first()

    def by_id(self, conn: Connection, ident: int) -> Row[Any] | None:
        """The user row for an id."""
        return conn.execute(select(users).where(users.c.id == ident)).first()

    def set_password(self, conn: Connection, ident: int, password_hash: str) -> None:
        """Replace a user's password hash."""
        conn.execute(update(users).where(users.c.id == ident).values(password_hash=password_hash))

    def add_member(
        self, conn: Connection, workspace_id: int, user_id: int, role: Role, now: datetime
    ) -> None:
        """Give a user a role in a workspace."""
        conn.execute(
            insert(memberships).values(
                workspace_id=workspace_id, user_id=user_id, role=role.value, created_at=now
            )
        )

    def set_role(self, conn: Connection, workspace_id: int, user_id: int, role: Role) -> None:
        """Change a member's role."""
        result = conn.execute(
            update(memberships)
            .where(memberships.c.workspace_id == workspace_id, memberships.c.user_id == user_id)
            .values(role=role.value)
        )
        if result.rowcount == 0:
            raise NotFound(f"member {user_id} does not exist")

    def remove_member(self, conn: Connection, workspace_id: int, user_id: int) -> None:
        """Remove a user from a workspace."""
        result = conn.execute(
            memberships.delete().where(
                memberships.c.workspace_id == workspace_id, memberships.c.user_id == user_id
            )
        )
        if result.rowcount == 0:
            raise NotFound(f"member {user_id} does not exist")

    def member(self, conn: Connection, workspace_id: int, user_id: int) -> Member | None:
        """One membership, or ``None``."""
        rows = self.members(conn, workspace_id, user_id=user_id)
        return rows[0] if rows else None

    def members(self, conn: Connection, workspace_id: int, *, user_id: int | None = None) -> list[Member]:
        """Members of a workspace, by user id."""
        stmt = (
            select(
                users.c.id,
                users.c.email,
                users.c.name,
                memberships.c.role,
                memberships.c.created_at,
            )
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(memberships.c.workspace_id == workspace_id)
            .order_by(users.c.id)
        )
        if user_id is not None:
            stmt = stmt.where(users.c.id == user_id)
        return [
            Member(r.id, workspace_id, r.email, r.name, Role(r.role), r.created_at)
            for r in conn.execute(stmt)
        ]

    def owner_count(self, conn: Connection, workspace_id: int) -> int:
        """How many owners a workspace has."""
        stmt = (
            select(func.count())
            .select_from(memberships)
            .where(memberships.c.workspace_id == workspace_id, memberships.c.role == "owner")
        )
        return int(conn.execute(stmt).scalar_one())
