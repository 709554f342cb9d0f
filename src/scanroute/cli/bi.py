"""``scanroute bi grant|revoke|roles|views``: read-only database access for Tableau / Power BI."""

from __future__ import annotations

from typing import Annotated

import typer

from scanroute.bi import grant as bi
from scanroute.bi.views import VIEW_NAMES, qualified
from scanroute.cli.common import container, emit, handle_errors
from scanroute.services.common import utcnow
from scanroute.storage.db import Database

app = typer.Typer(no_args_is_help=True, help="BI views and read-only database roles (docs/bi.md).")
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AdminUrl = Annotated[
    str | None,
    typer.Option(
        "--admin-url",
        envvar="SCANROUTE_BI_ADMIN_URL",
        help="PostgreSQL URL of a role with CREATEROLE on the same database (default: the database URL).",
    ),
]


@app.command("grant")
@handle_errors
def grant(
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug the role may read.")],
    role: Annotated[str | None, typer.Option(help="Role name (default: scanroute_bi_<workspace>).")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password (default: generated). Rerunning re-keys the role.")
    ] = None,
    admin_url: AdminUrl = None,
    json: Json = False,
) -> None:
    """Create a read-only login role that sees one workspace through the bi views."""
    with container() as ctr:
        db = Database(admin_url) if admin_url else ctr.db
        try:
            result = bi.grant(db, workspace, role=role, password=password, now=utcnow())
        finally:
            if admin_url:
                db.dispose()
    emit(
        result,
        as_json=json,
        lines=lambda g: (
            f"{'created' if g.created else 'updated'} role {g.role} for workspace {g.workspace}\n"
            f"host: {g.host}  port: {g.port}  database: {g.database}  schema: bi\n"
            f"user: {g.role}  password: {g.password}\n"
            f"connection string: {g.url}"
        ),
    )


@app.command("revoke")
@handle_errors
def revoke(role: str, admin_url: AdminUrl = None) -> None:
    """Drop a BI role made by ``bi grant``."""
    with container() as ctr:
        db = Database(admin_url) if admin_url else ctr.db
        try:
            bi.revoke(db, role)
        finally:
            if admin_url:
                db.dispose()
    typer.echo(f"dropped role {role}")


@app.command("roles")
@handle_errors
def roles(json: Json = False) -> None:
    """BI roles and their workspaces."""
    with container() as ctr:
        items = bi.roles(ctr.db) if ctr.db.dialect == "postgresql" else []
    emit(items, as_json=json, lines=lambda rs: "\n".join(f"{r['role_name']}\t{r['workspace']}" for r in rs))


@app.command("views")
@handle_errors
def views(json: Json = False) -> None:
    """The names to select from on this database."""
    with container() as ctr:
        names = [qualified(ctr.db.dialect, v) for v in VIEW_NAMES]
    emit(names, as_json=json, lines=lambda ns: "\n".join(ns))
