"""``scanroute export KIND``: scans, conversions, attribution or rollups as CSV or Parquet."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from scanroute.cli.common import as_owner, container, handle_errors
from scanroute.exports import stream
from scanroute.services.common import require, utcnow
from scanroute.services.timerange import resolve
from scanroute.storage.insights import workspace_clock


@handle_errors
def export(
    kind: Annotated[
        Literal["scans", "conversions", "attribution", "rollups"], typer.Argument(help="What to export.")
    ],
    start: Annotated[
        str | None, typer.Option("--from", help="Date (local day) or ISO date-time (default: 30 days ago).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Date (included) or ISO date-time (default: now).")
    ] = None,
    fmt: Annotated[Literal["csv", "parquet"], typer.Option("--format", "-f", help="csv or parquet.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout, CSV only).")
    ] = None,
    workspace: Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace slug.")] = None,
) -> None:
    """Stream a time range to a file (or CSV to stdout) in constant memory."""
    from scanroute.domain.errors import Invalid
    from scanroute.domain.workspace import Role

    if fmt == "parquet" and output is None:
        raise Invalid("Parquet needs a file: give -o FILE", field="output")
    with container() as ctr:
        who = as_owner(ctr, workspace)
        require(who, Role.VIEWER, "exporting")
        with ctr.db.read() as conn:
            zone = workspace_clock(conn, who.workspace_id).zone
        since, until = resolve(start, end, zone, utcnow())
        chunks = stream.chunks(ctr.db, kind, fmt, who.workspace_id, since, until)
        if output is None:
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            return
        written = 0
        with output.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                written += len(chunk)
    typer.echo(
        f"wrote {written} bytes of {kind} ({since.isoformat()} – {until.isoformat()}) to {output}", err=True
    )
