"""``scanroute qr …``: previews, print QA, brand templates and logos of the QR studio.

(A code's own image is ``scanroute codes qr SLUG``; bulk print runs are ``scanroute bulk``.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from scanroute.cli.common import as_owner, container, emit, fail, handle_errors
from scanroute.services.qr import CheckRequest, PreviewRequest
from scanroute.services.templates import TemplateApply, TemplateCreate, TemplatePatch
from scanroute.storage.paging import ListQuery

app = typer.Typer(no_args_is_help=True, help="QR studio: previews, print QA, templates, logos.")
templates_app = typer.Typer(no_args_is_help=True, help="Brand templates (named design presets).")
logos_app = typer.Typer(no_args_is_help=True, help="Logos for designs (upload once, refer by id).")
app.add_typer(templates_app, name="templates")
app.add_typer(logos_app, name="logos")

Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Ws = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace slug (default: default).")]
DesignOpt = Annotated[str | None, typer.Option("--design", help="Design options as JSON (docs/qr.md).")]


def json_object(text: str | None, option: str) -> dict[str, Any] | None:
    """Parse a JSON-object option, failing with a clear message."""
    if text is None:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        fail(f"{option}: not valid JSON ({exc})")
    if not isinstance(value, dict):
        fail(f"{option}: must be a JSON object")
    return value  # type: ignore[no-any-return]


def _report_lines(r: dict[str, Any]) -> str:
    lines = [
        f"{'OK' if r['ok'] else 'PROBLEMS'}: decodes={r['decodes']} version={r['version']} ecc={r['ecc']}",
        f"minimum print width: {r['min_print_width_mm']} mm at {r['scan_distance_m']} m",
    ]
    lines += [
        f"  {p['scan_distance_m']:g} m → {p['min_print_width_mm']:g} mm" for p in r.get("print_sizes", [])
    ]
    lines += [f"problem: {p}" for p in r["problems"]] + [f"warning: {w}" for w in r["warnings"]]
    return "\n".join(lines)


@app.command("preview")
@handle_errors
def preview(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    data: Annotated[str | None, typer.Option(help="Text to encode (default: a sample short URL).")] = None,
    slug: Annotated[str | None, typer.Option(help="Start from a saved code.")] = None,
    template: Annotated[str | None, typer.Option(help="Template name.")] = None,
    design: DesignOpt = None,
    format: Annotated[str, typer.Option("--format", help="svg, png, pdf or eps.")] = "svg",
    workspace: Ws = None,
) -> None:
    """Render a design without saving anything."""
    req = PreviewRequest.model_validate(
        {
            "data": data,
            "slug": slug,
            "template": template,
            "design": json_object(design, "--design"),
            "format": format,
        }
    )
    with container() as ctr:
        img = ctr.qr.preview(as_owner(ctr, workspace), req)
        output.write_bytes(img.data())
    typer.echo(f"wrote {output}", err=True)


@app.command("check")
@handle_errors
def check(
    data: Annotated[str | None, typer.Option(help="Text to encode.")] = None,
    slug: Annotated[str | None, typer.Option(help="A saved code.")] = None,
    template: Annotated[str | None, typer.Option(help="Template name.")] = None,
    design: DesignOpt = None,
    print_width_mm: Annotated[float | None, typer.Option(help="Intended printed width.")] = None,
    distance: Annotated[float, typer.Option(help="Scanning distance in metres.")] = 1.0,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Print QA: does it decode, contrast, logo budget, minimum print size for the distance."""
    req = CheckRequest.model_validate(
        {
            "data": data,
            "slug": slug,
            "template": template,
            "design": json_object(design, "--design"),
            "print_width_mm": print_width_mm,
            "scan_distance_m": distance,
        }
    )
    with container() as ctr:
        report = ctr.qr.check(as_owner(ctr, workspace), req)
    emit(report, as_json=json, lines=_report_lines)
    if not report["ok"]:
        raise typer.Exit(1)


@app.command("check-image")
@handle_errors
def check_image(
    file: Annotated[Path, typer.Argument(help="PNG or JPEG of a QR code.")],
    expected: Annotated[str, typer.Option(help="Text it must decode to.")],
    distance: Annotated[float | None, typer.Option(help="Scanning distance in metres.")] = None,
    json: Json = False,
) -> None:
    """Print QA of any image file."""
    with container() as ctr:
        report = ctr.qr.check_png(file.read_bytes(), expected, distance)
    emit(report, as_json=json, lines=_report_lines)
    if not report["ok"]:
        raise typer.Exit(1)


# -- templates -----------------------------------------------------------------------------------
def _template_line(t: Any) -> str:
    return f"{t.id}\t{t.name}\t{orjson.dumps(t.design).decode()}"


@templates_app.command("list")
@handle_errors
def templates_list(workspace: Ws = None, json: Json = False) -> None:
    """List templates."""
    with container() as ctr:
        page = ctr.qr.templates.list(as_owner(ctr, workspace), ListQuery(filters={}, limit=200))
    emit(page.items, as_json=json, lines=lambda ts: "\n".join(map(_template_line, ts)))


@templates_app.command("create")
@handle_errors
def templates_create(
    name: str,
    design: Annotated[str, typer.Option("--design", help="Design options as JSON.")],
    force: Annotated[bool, typer.Option("--force", help="Save even if it does not decode.")] = False,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Create a template (validated and QA-checked)."""
    body = TemplateCreate(name=name, design=json_object(design, "--design") or {}, force=force)
    with container() as ctr:
        t = ctr.qr.templates.create(as_owner(ctr, workspace), body)
    emit(t, as_json=json, lines=_template_line)


@templates_app.command("update")
@handle_errors
def templates_update(
    ident: int,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    design: DesignOpt = None,
    force: Annotated[bool, typer.Option("--force")] = False,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Rename or redesign a template (codes using it are re-checked)."""
    body = TemplatePatch(name=name, design=json_object(design, "--design"), force=force)
    with container() as ctr:
        t = ctr.qr.templates.update(as_owner(ctr, workspace), ident, body)
    emit(t, as_json=json, lines=_template_line)


@templates_app.command("delete")
@handle_errors
def templates_delete(ident: int, workspace: Ws = None) -> None:
    """Delete a template no code uses."""
    with container() as ctr:
        ctr.qr.templates.delete(as_owner(ctr, workspace), ident)
    typer.echo(f"deleted template {ident}")


@templates_app.command("apply")
@handle_errors
def templates_apply(
    ident: int,
    slug: Annotated[list[str] | None, typer.Option("--slug", help="Repeatable.")] = None,
    campaign: Annotated[str | None, typer.Option(help="Every code of this campaign.")] = None,
    reset_design: Annotated[
        bool, typer.Option("--reset-design", help="Drop the codes' own options.")
    ] = False,
    workspace: Ws = None,
) -> None:
    """Put a template on many codes at once."""
    body = TemplateApply(slugs=slug, campaign=campaign, keep_design=not reset_design)
    with container() as ctr:
        result = ctr.qr.templates.apply(as_owner(ctr, workspace), ident, body)
    typer.echo(f"template {ident} applied to {result['applied']} code(s)")


# -- logos ---------------------------------------------------------------------------------------
@logos_app.command("add")
@handle_errors
def logos_add(
    file: Annotated[Path, typer.Argument(help="PNG or SVG, at most 512 KB.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the file name).")] = None,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Upload a logo; prints its id (use {"logo": {"ref": "<id>"}} in designs)."""
    with container() as ctr:
        record, created = ctr.qr.logos.upload(
            as_owner(ctr, workspace), file.read_bytes(), name=name or file.name
        )
    emit(
        record,
        as_json=json,
        lines=lambda r: f"{r.id}\t{r.name}\t{r.mime}\t{'new' if created else 'existing'}",
    )


@logos_app.command("list")
@handle_errors
def logos_list(workspace: Ws = None, json: Json = False) -> None:
    """List logos."""
    with container() as ctr:
        page = ctr.qr.logos.list(as_owner(ctr, workspace), ListQuery(filters={}, limit=200))
    emit(
        page.items,
        as_json=json,
        lines=lambda rs: "\n".join(f"{r.id}\t{r.name}\t{r.mime}\t{r.size}" for r in rs),
    )


@logos_app.command("delete")
@handle_errors
def logos_delete(ident: int, workspace: Ws = None) -> None:
    """Delete a logo no design uses."""
    with container() as ctr:
        ctr.qr.logos.delete(as_owner(ctr, workspace), ident)
    typer.echo(f"deleted logo {ident}")
