"""Read-only PostgreSQL roles for BI tools, each limited to one workspace.

``grant`` creates (or, for a role it made before, re-keys) a ``LOGIN NOINHERIT`` role with no
attributes beyond logging in, grants it USAGE on schema ``bi`` and SELECT on the ``bi`` views —
nothing on any table — and records the role → workspace mapping in ``bi_roles``, which the views
and the row-level-security policies read through ``current_user``. The connection that runs it
needs the CREATEROLE attribute (or a superuser).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from sqlalchemy import Connection, delete, insert, select, text
from sqlalchemy.engine import make_url

from scanroute.domain.errors import Conflict, Invalid, NotFound
from scanroute.storage.db import Database
from scanroute.storage.schema import bi_roles, workspaces

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CONNECTION_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Grant:
    """A BI role and how to connect with it (the password is shown once)."""

    role: str
    password: str
    workspace: str
    workspace_id: int
    host: str
    port: int
    database: str
    url: str
    created: bool


def default_role(workspace_slug: str) -> str:
    """``scanroute_bi_<slug>`` (hyphens become underscores)."""
    return f"scanroute_bi_{workspace_slug.replace('-', '_')}"[:63]


def _require_postgres(db: Database) -> None:
    if db.dialect != "postgresql":
        raise Invalid(
            "BI roles need PostgreSQL; on SQLite give the BI tool read access to the database file "
            "and point it at the bi_* views",
            field="database",
        )


def _run(conn: Connection, statement: sql.Composable) -> None:
    raw: Any = conn.connection.driver_connection
    raw.execute(statement)


def _workspace(conn: Connection, slug: str) -> tuple[int, str]:
    row = conn.execute(select(workspaces.c.id, workspaces.c.slug).where(workspaces.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"workspace {slug!r} does not exist", field="workspace")
    return int(row.id), str(row.slug)


def grant(
    db: Database, workspace: str, *, role: str | None = None, password: str | None = None, now: datetime
) -> Grant:
    """Create or re-key the BI role of a workspace; returns its connection details."""
    _require_postgres(db)
    with db.write() as conn:
        ws_id, ws_slug = _workspace(conn, workspace)
        role = role or default_role(ws_slug)
        if not ROLE_NAME.match(role) or role.startswith("pg_"):
            raise Invalid(
                "must be 1-63 lower-case letters, digits or _, not starting with a digit or pg_", field="role"
            )
        if password is not None and not 12 <= len(password) <= 200:
            raise Invalid("must be 12 to 200 characters", field="password")
        password = password or secrets.token_urlsafe(24)
        exists = (
            conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is not None
        )
        mapped = conn.execute(select(bi_roles.c.workspace_id).where(bi_roles.c.role_name == role)).scalar()
        if exists and mapped is None:
            raise Conflict(f"a database role {role!r} exists and is not a scanroute BI role", field="role")
        if mapped is not None and mapped != ws_id:
            raise Conflict(f"role {role!r} is the BI role of another workspace", field="role")
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        r, d = sql.Identifier(role), sql.Identifier(database)
        if exists:
            _run(conn, sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(r, sql.Literal(password)))
        else:
            _run(
                conn,
                sql.SQL(
                    "CREATE ROLE {} WITH LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
                    " NOBYPASSRLS CONNECTION LIMIT {} PASSWORD {}"
                ).format(r, sql.Literal(CONNECTION_LIMIT), sql.Literal(password)),
            )
        statements = [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(d, r),
            sql.SQL("GRANT USAGE ON SCHEMA bi TO {}").format(r),
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA bi TO {}").format(r),
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = bi").format(r, d),
            sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(r),
        ]
        owns_bi = conn.execute(
            text("SELECT pg_get_userbyid(nspowner) = current_user FROM pg_namespace WHERE nspname = 'bi'")
        ).scalar()
        if owns_bi:  # views that later migrations add to bi become readable too
            statements.append(
                sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA bi GRANT SELECT ON TABLES TO {}").format(r)
            )
        for statement in statements:
            _run(conn, statement)
        if mapped is None:
            conn.execute(insert(bi_roles).values(role_name=role, workspace_id=ws_id, created_at=now))
    url = make_url(db.url)
    host, port = url.host or "localhost", url.port or 5432
    shown = url.set(drivername="postgresql", username=role, password=password, query={})
    return Grant(
        role=role,
        password=password,
        workspace=ws_slug,
        workspace_id=ws_id,
        host=host,
        port=port,
        database=database,
        url=shown.render_as_string(hide_password=False),
        created=not exists,
    )


def revoke(db: Database, role: str) -> None:
    """Drop a BI role made by ``grant`` (its privileges in this database first)."""
    _require_postgres(db)
    with db.write() as conn:
        deleted = conn.execute(delete(bi_roles).where(bi_roles.c.role_name == role)).rowcount
        if not deleted:
            raise NotFound(f"{role!r} is not a scanroute BI role", field="role")
        r = sql.Identifier(role)
        _run(conn, sql.SQL("DROP OWNED BY {}").format(r))
        _run(conn, sql.SQL("DROP ROLE IF EXISTS {}").format(r))


def roles(db: Database) -> list[dict[str, Any]]:
    """Every BI role with its workspace."""
    with db.read() as conn:
        rows = conn.execute(
            select(bi_roles.c.role_name, workspaces.c.slug.label("workspace"), bi_roles.c.created_at)
            .join(workspaces, workspaces.c.id == bi_roles.c.workspace_id)
            .order_by(bi_roles.c.role_name)
        )
        return [{str(k): v for k, v in r._mapping.items()} for r in rows]
