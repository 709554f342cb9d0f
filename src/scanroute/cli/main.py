"""Entry point: ``scanroute serve``, ``db``, ``workspaces``, ``keys`` and the noun groups."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError

from scanroute.cli import analytics as analytics_cli
from scanroute.cli import bi as bi_cli
from scanroute.cli import bulk as bulk_cli
from scanroute.cli import catalog as catalog_cli
from scanroute.cli import codes as codes_cli
from scanroute.cli import conversions as conversions_cli
from scanroute.cli import export as export_cli
from scanroute.cli import jobs as jobs_cli
from scanroute.cli import qr as qr_cli
from scanroute.cli.common import as_owner, container, emit, fail, handle_errors
from scanroute.domain.workspace import Role
from scanroute.services.tenants import WorkspaceCreate, WorkspacePatch
from scanroute.settings import Settings, load_settings
from scanroute.storage import migrate

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="scanroute: dynamic QR codes as programmable touchpoints.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
ws_app = typer.Typer(no_args_is_help=True, help="Workspaces (tenants).")
keys_app = typer.Typer(no_args_is_help=True, help="API keys.")
app.add_typer(db_app, name="db")
app.add_typer(ws_app, name="workspaces")
app.add_typer(keys_app, name="keys")
app.add_typer(catalog_cli.campaigns_app, name="campaigns")
app.add_typer(catalog_cli.placements_app, name="placements")
app.add_typer(codes_cli.app, name="codes")
app.add_typer(conversions_cli.app, name="conversions")
app.add_typer(analytics_cli.app, name="analytics")
app.add_typer(qr_cli.app, name="qr")
app.add_typer(bulk_cli.app, name="bulk")
app.add_typer(jobs_cli.app, name="jobs")
app.add_typer(bi_cli.app, name="bi")
app.command("export")(export_cli.export)

Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
WorkspaceOpt = Annotated[
    str | None, typer.Option("--workspace", "-w", help="Workspace slug (default: default).")
]


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default SCANROUTE_HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SCANROUTE_PORT or 8080).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default SCANROUTE_WORKERS or 1).")
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Load the demo workspace if the database is empty.")
    ] = False,
) -> None:
    """Apply migrations and serve the redirect edge, API and dashboard.

    Scans are stored by a drainer process that this command starts, restarts if it dies and
    stops after the workers (``SCANROUTE_DRAINER=worker`` keeps the drainer in the workers).
    """
    from scanroute.demo import ensure_demo

    settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    try:
        with container() as ctr:
            if demo:
                info = ensure_demo(ctr)
                typer.echo(f"Demo workspace '{info.workspace}' ready.")
                typer.echo(f"  Dashboard login: {info.email} / {info.password}")
                typer.echo(f"  API key (owner): {info.api_key}")
    except OperationalError as exc:
        # The store is down: keep redirecting from the last-known-good snapshot; scans wait in the spool.
        typer.echo(
            f"warning: store unreachable ({str(exc).splitlines()[0]}); serving from the snapshot", err=True
        )
    os.environ.setdefault("SCANROUTE_BASE_URL", settings.public_base_url(host, port))
    typer.echo(f"scanroute serving on http://{host}:{port}  (API docs: /api/docs, dashboard: /app/)")
    os.environ.setdefault("SCANROUTE_DRAINER", "process")
    if os.environ["SCANROUTE_DRAINER"] == "process":
        _serve_with_drainer(host, port, workers, settings)
    else:
        _uvicorn(host, port, workers, settings.log_level)


def _uvicorn(host: str, port: int, workers: int, log_level: str) -> None:
    import uvicorn

    uvicorn.run(
        "scanroute.web.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level.lower(),
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )


def _serve_with_drainer(host: str, port: int, workers: int, settings: Settings) -> None:
    """uvicorn with the drainer process beside it, stopped only once the workers are gone.

    uvicorn (one worker) ends a signalled shutdown by re-raising the signal with the handler it
    found installed: ours turns it into ``KeyboardInterrupt`` (which ``uvicorn.run`` swallows),
    so the drainer's final sweep runs before this process exits, by the same signal. During
    that sweep a second Ctrl-C (or SIGTERM) stops the drainer at once; what it had not stored
    yet stays in the spool for the next start.
    """
    import signal

    from scanroute.capture.drain_process import read_status
    from scanroute.capture.supervisor import DrainerSupervisor

    caught: list[int] = []

    def interrupt(sig: int, _frame: object) -> None:
        caught.append(sig)
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
    spool_root = settings.data_dir / "spool"
    supervisor = DrainerSupervisor(status=lambda: read_status(spool_root))
    try:
        supervisor.start()
        _uvicorn(host, port, workers, settings.log_level)
    except KeyboardInterrupt:
        pass
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # from now on a signal only cuts the sweep short
            signal.signal(sig, lambda *_: supervisor.interrupt())
        supervisor.stop(limit=settings.drain_stop_timeout)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        signal.signal(caught[0], signal.SIG_DFL)
        signal.raise_signal(caught[0])


@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Apply pending migrations."""
    with container(migrate=True) as ctr:
        typer.echo(f"database at revision {migrate.current_revision(ctr.db)}")


@db_app.command("current")
@handle_errors
def db_current() -> None:
    """Print the database's migration revision and the newest known."""
    with container(migrate=False) as ctr:
        typer.echo(f"current: {migrate.current_revision(ctr.db)}  head: {migrate.head_revision()}")


@ws_app.command("create")
@handle_errors
def ws_create(
    slug: str,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    currency: Annotated[str | None, typer.Option(help="Reporting currency (default USD).")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone (default UTC).")] = None,
    json: Json = False,
) -> None:
    """Create a workspace."""
    with container() as ctr:
        ws = ctr.workspaces.create(
            WorkspaceCreate(slug=slug, name=name, currency=currency, timezone=timezone)
        )
    emit(
        ws,
        as_json=json,
        lines=lambda w: f"created workspace {w.slug} ({w.name}, {w.currency}, {w.timezone})",
    )


@ws_app.command("list")
@handle_errors
def ws_list(json: Json = False) -> None:
    """List workspaces."""
    with container() as ctr, ctr.db.read() as conn:
        from scanroute.storage.tenants import WorkspaceStore

        items = WorkspaceStore().all(conn)
    emit(
        items,
        as_json=json,
        lines=lambda ws: "\n".join(f"{w.slug}\t{w.name}\t{w.currency}\t{w.timezone}" for w in ws),
    )


@ws_app.command("show")
@handle_errors
def ws_show(slug: str, json: Json = False) -> None:
    """Show a workspace."""
    with container() as ctr:
        ws = ctr.workspaces.get(as_owner(ctr, slug), slug)
    emit(ws, as_json=json, lines=lambda w: f"{w.slug}\t{w.name}\t{w.currency}\t{w.timezone}")


@ws_app.command("update")
@handle_errors
def ws_update(
    slug: str,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    currency: Annotated[str | None, typer.Option(help="Reporting currency.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone.")] = None,
    json: Json = False,
) -> None:
    """Rename a workspace or change its currency or time zone."""
    with container() as ctr:
        ws = ctr.workspaces.update(
            as_owner(ctr, slug), slug, WorkspacePatch(name=name, currency=currency, timezone=timezone)
        )
    emit(
        ws, as_json=json, lines=lambda w: f"updated workspace {w.slug} ({w.name}, {w.currency}, {w.timezone})"
    )


@ws_app.command("delete")
@handle_errors
def ws_delete(
    slug: str, yes: Annotated[bool, typer.Option("--yes", help="Confirm: deletes everything in it.")] = False
) -> None:
    """Delete a workspace and everything it holds (asks for --yes)."""
    if not yes:
        fail(f"deleting '{slug}' removes all its codes, campaigns, scans and keys; add --yes to confirm")
    with container() as ctr:
        ctr.workspaces.delete(as_owner(ctr, slug), slug)
    typer.echo(f"deleted workspace {slug}")


@keys_app.command("create")
@handle_errors
def keys_create(
    name: Annotated[str, typer.Option("--name", help="What the key is for.")],
    role: Annotated[Role, typer.Option(help="owner, admin, editor or viewer.")] = Role.OWNER,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create an API key and print only the key (shown once)."""
    with container() as ctr:
        ws = ctr.workspaces.ensure(workspace)
        key, _ = ctr.keys.issue(ws.id, name, role, None)
    typer.echo(key)


@keys_app.command("list")
@handle_errors
def keys_list(workspace: WorkspaceOpt = None, json: Json = False) -> None:
    """List a workspace's keys (never their secrets)."""
    from scanroute.storage.paging import ListQuery

    with container() as ctr:
        page = ctr.keys.list(as_owner(ctr, workspace), ListQuery(filters={}, limit=200))
    emit(
        page.items,
        as_json=json,
        lines=lambda ks: "\n".join(f"{k.id}\t{k.prefix}…\t{k.role.value}\t{k.name}" for k in ks),
    )


@keys_app.command("revoke")
@handle_errors
def keys_revoke(ident: int, workspace: WorkspaceOpt = None) -> None:
    """Revoke a key by id."""
    with container() as ctr:
        ctr.keys.delete(as_owner(ctr, workspace), ident)
    typer.echo(f"revoked key {ident}")


@app.command("demo")
@handle_errors
def demo_cmd(
    scans: Annotated[
        int | None, typer.Option("--scans", min=1, help="Also generate this many scans of history, in bulk.")
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=3660, help="Days of history (with --scans).")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed (with --scans).")] = 7,
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Workspace (with --scans).")] = "demo",
) -> None:
    """Load the demo workspace (if the database has none) and print its credentials; with
    ``--scans N``, also generate N scans of realistic history with conversions."""
    from scanroute.demo import ensure_demo

    if scans is not None:
        analytics_cli.load_demo(workspace, scans, days, seed)
        return
    with container() as ctr:
        info = ensure_demo(ctr)
    typer.echo(f"workspace: {info.workspace}\nlogin: {info.email} / {info.password}\napi key: {info.api_key}")


def main() -> None:
    """Console-script entry point."""
    app()
