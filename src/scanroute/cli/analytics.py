"""``scanroute analytics …``: rebuild rollups, print a summary; and the demo history loader."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from sqlalchemy import select

from scanroute.cli.common import as_owner, container, emit, fail, handle_errors
from scanroute.services.analytics import AnalyticsService, Ask

app = typer.Typer(no_args_is_help=True, help="Analytics: KPIs and rollups.")
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Ws = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace slug.")]
From = Annotated[datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="First local day.")]
To = Annotated[datetime | None, typer.Option("--to", formats=["%Y-%m-%d"], help="Last local day (included).")]


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


@app.command("rebuild")
@handle_errors
def rebuild_cmd(first: From = None, last: To = None, workspace: Ws = None) -> None:
    """Recompute rollups from raw scans, beacons and credits (default: every workspace, all time)."""
    from scanroute.analytics.rebuild import rebuild_all

    if first and last and last < first:
        fail("--to: must not be before --from")
    with container() as ctr:
        if workspace is not None:
            done = [AnalyticsService(ctr.db).rebuild(as_owner(ctr, workspace), _day(first), _day(last))]
        else:
            with ctr.db.write() as conn:
                done = rebuild_all(conn, _day(first), _day(last))
    for r in done:
        if r.first is not None:
            typer.echo(f"workspace {r.workspace_id}: rebuilt {r.first} … {r.last} ({r.scans} scans)")


@app.command("summary")
@handle_errors
def summary_cmd(
    first: From = None,
    last: To = None,
    workspace: Ws = None,
    campaign: Annotated[str | None, typer.Option(help="Campaign id or name.")] = None,
    code: Annotated[str | None, typer.Option(help="Code slug.")] = None,
    json: Json = False,
) -> None:
    """Print the KPIs of a window of local days (default: the last 30)."""
    with container() as ctr:
        result = AnalyticsService(ctr.db).summary(
            as_owner(ctr, workspace), Ask(_day(first), _day(last), campaign=campaign, code=code)
        )
    data = result.model_dump(mode="json", by_alias=True)
    ctx = data.pop("context")
    for key in ("previous", "change"):
        data.pop(key)

    def lines(d: dict[str, object]) -> str:
        head = f"{ctx['workspace']}  {ctx['from']} … {ctx['to']}  ({ctx['timezone']}, {ctx['currency']})"
        body = [f"{k:<22}{'—' if v is None else v}" for k, v in d.items()]
        return "\n".join([head, *body, *(f"warning: {w}" for w in ctx["warnings"])])

    emit(data | {"context": ctx} if json else data, as_json=json, lines=lines)


def load_demo(workspace: str, scans: int, days: int, seed: int) -> None:
    """Load ``scans`` generated scans (and their conversions) into a demo workspace, in bulk."""
    from rich.progress import Progress

    from scanroute.analytics.loader import load
    from scanroute.demo import DEMO_SLUG, ensure_demo, populate
    from scanroute.domain.workspace import Principal, Role
    from scanroute.storage.schema import codes
    from scanroute.storage.schema import scans as scans_table
    from scanroute.workload import Spec

    with container() as ctr:
        if workspace == DEMO_SLUG:
            info = ensure_demo(ctr, activity=False)  # the history comes from the workload below
            typer.echo(
                f"workspace: {info.workspace}\nlogin: {info.email} / {info.password}\napi key: {info.api_key}"
            )
        ws = ctr.workspaces.ensure(workspace)
        with ctr.db.read() as conn:
            has_codes = conn.execute(select(codes.c.id).where(codes.c.workspace_id == ws.id).limit(1)).first()
            has_scans = conn.execute(
                select(scans_table.c.id).where(scans_table.c.workspace_id == ws.id).limit(1)
            ).first()
        if has_scans is not None:
            fail(f"workspace '{workspace}' already has scans: load the demo history into a new --workspace")
        if has_codes is None:
            populate(ctr, Principal(workspace_id=ws.id, role=Role.OWNER), seed=seed)
        with Progress(transient=True) as bar:
            task = bar.add_task("generating and loading scans", total=scans)
            loaded = load(
                ctr.db,
                ws.id,
                Spec(scans=scans, days=days, seed=seed),
                progress=lambda n: bar.update(task, completed=n),
            )
    typer.echo(
        f"loaded {loaded.scans} scans, {loaded.beacons} beacons, {loaded.conversions} conversions into "
        f"'{workspace}' in {loaded.load_seconds:.1f} s; indexes + rollups {loaded.rebuild_seconds:.1f} s"
    )
    for a in loaded.workload.anomalies:
        typer.echo(f"injected anomaly: {a.kind} of code {a.slug} on {a.first} … {a.last} (×{a.factor})")
