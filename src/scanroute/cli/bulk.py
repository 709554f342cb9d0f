"""``scanroute bulk create``: a placements CSV → codes (all or none), a ZIP and a label-sheet PDF."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from scanroute.cli.common import as_owner, container, emit, fail, handle_errors
from scanroute.services.bulk import PrintOptions
from scanroute.services.printrun import PrintRunService

app = typer.Typer(no_args_is_help=True, help="Bulk print runs: many codes from a CSV, ZIP + label PDF.")
Ws = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace slug (default: default).")]


def _design(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        fail(f"--design: not valid JSON ({exc})")
    if not isinstance(value, dict):
        fail("--design: must be a JSON object of design options")
    return value  # type: ignore[no-any-return]


@app.command("create")
@handle_errors
def create(
    csv_file: Annotated[Path, typer.Option("--csv", help="Placements CSV with a header row (docs/qr.md).")],
    zip_path: Annotated[
        Path | None, typer.Option("--zip", help="ZIP to write (default: <csv>-codes.zip).")
    ] = None,
    pdf_path: Annotated[
        Path | None, typer.Option("--pdf", help="Label PDF to write (default: <csv>-labels.pdf).")
    ] = None,
    paper: Annotated[str, typer.Option(help="A4 or Letter.")] = "A4",
    columns: Annotated[int, typer.Option(help="Labels per row.")] = 3,
    rows: Annotated[int, typer.Option(help="Label rows per page.")] = 8,
    template: Annotated[str | None, typer.Option(help="Template for rows without one.")] = None,
    design: Annotated[str | None, typer.Option(help="Design options for every code, as JSON.")] = None,
    formats: Annotated[str, typer.Option(help="Formats in the ZIP, comma-separated.")] = "svg,png",
    force: Annotated[bool, typer.Option("--force", help="Keep codes whose design does not decode.")] = False,
    workspace: Ws = None,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Create every code of the CSV in one transaction (a bad row creates nothing and names the
    row), then write the ZIP (SVG + PNG per code, manifest.csv) and the label-sheet PDF."""
    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{csv_file}: {exc}")
    stem = csv_file.with_suffix("")
    zip_out = zip_path or stem.with_name(f"{stem.name}-codes.zip")
    pdf_out = pdf_path or stem.with_name(f"{stem.name}-labels.pdf")
    options = PrintOptions.model_validate(
        {
            "paper": paper,
            "columns": columns,
            "rows": rows,
            "template": template,
            "design": _design(design),
            "formats": [f.strip() for f in formats.split(",") if f.strip()],
            "force": force,
        }
    )
    with container() as ctr:
        who = as_owner(ctr, workspace)
        runs = PrintRunService(ctr.codes, ctr.qr)
        parsed = runs.prepare(who, text, options)
        created = runs.create(who, parsed)
        typer.echo(f"created {len(created)} codes", err=True)
        items = runs.items(who, created, [r.caption for r in parsed])
        with tempfile.TemporaryDirectory(prefix="scanroute-bulk-") as tmp, _bar() as bar:
            task = bar.add_task("rendering ZIP + labels", total=2 * len(items))

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = runs.render(who, items, Path(tmp), options, progress)
            for src, dest in ((result["files"]["zip"], zip_out), (result["files"]["pdf"], pdf_out)):
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(Path(tmp) / src), dest)
    summary = {
        "created": len(created),
        "zip": str(zip_out),
        "pdf": str(pdf_out),
        "slugs": [c.slug for c in created],
        "not_decoding": result["not_decoding"],
    }
    emit(summary, as_json=json, lines=lambda s: f"wrote {s['zip']} and {s['pdf']} ({s['created']} codes)")


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
