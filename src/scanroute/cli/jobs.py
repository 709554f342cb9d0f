"""``scanroute jobs list|run|history``: the scheduled jobs (see docs/jobs.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scanroute.cli.common import container, emit, fail, handle_errors
from scanroute.jobs.registry import REGISTRY
from scanroute.jobs.scheduler import Busy, Scheduler
from scanroute.storage import jobs as store

app = typer.Typer(no_args_is_help=True, help="Scheduled jobs (anomaly scan, lead-score retraining).")
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("list")
@handle_errors
def list_jobs(json: Json = False) -> None:
    """Every job with its interval and its last run."""
    with container() as ctr, ctr.db.read() as conn:
        last = store.latest_runs(conn)
    rows: list[dict[str, Any]] = []
    for job in REGISTRY.values():
        run = last.get(job.name)
        rows.append(
            {
                "name": job.name,
                "interval_hours": job.interval.total_seconds() / 3600,
                "description": job.description,
                "last_started_at": run["started_at"] if run else None,
                "last_status": run["status"] if run else None,
            }
        )
    emit(
        rows,
        as_json=json,
        lines=lambda rs: "\n".join(
            f"{r['name']}\tevery {r['interval_hours']:g} h\t"
            f"last: {r['last_started_at'] or 'never'} {r['last_status'] or ''}".rstrip()
            for r in rs
        ),
    )


@app.command("run")
@handle_errors
def run_job(name: str, json: Json = False) -> None:
    """Run a job now (waits for it; exits non-zero when it fails or runs elsewhere)."""
    if name not in REGISTRY:
        fail(f"unknown job {name!r}; known: {', '.join(sorted(REGISTRY))}")
    with container() as ctr:
        try:
            result = Scheduler(ctr).run(name)
        except Busy as exc:
            fail(str(exc))
            return
    emit(
        {"name": result.name, "run_id": result.run_id, "status": result.status, "result": result.result,
         "error": result.error},
        as_json=json,
        lines=lambda r: f"{r['name']}: {r['status']} {r['result'] if r['status'] == 'ok' else r['error']}",
    )  # fmt: skip
    if result.status != "ok":
        raise typer.Exit(1)


@app.command("history")
@handle_errors
def history(
    name: Annotated[str | None, typer.Argument(help="One job (default: all).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    json: Json = False,
) -> None:
    """Recent runs, newest first."""
    with container() as ctr, ctr.db.read() as conn:
        runs = store.history(conn, name, limit)
    emit(
        runs,
        as_json=json,
        lines=lambda rs: "\n".join(
            f"{r['id']}\t{r['name']}\t{r['trigger']}\t{r['status']}\t{r['started_at']}" for r in rs
        ),
    )
