"""``scanroute codes …``: create, list, show, update, pause, resume, delete, import, export."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError

from scanroute.cli.common import as_owner, container, emit, fail, handle_errors
from scanroute.cli.qr import json_object
from scanroute.domain.code import Code, CodeStatus
from scanroute.services.codes import CodeCreate, CodePatch, RowError
from scanroute.storage.paging import ListQuery

app = typer.Typer(no_args_is_help=True, help="QR codes.")
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Ws = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace slug (default: default).")]
CSV_COLUMNS = (
    "slug",
    "destination",
    "status",
    "campaign",
    "placement",
    "creative",
    "title",
    "tags",
    "fallback",
    "timezone",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "rules",
    "kind",
    "payload_type",
    "payload",
)


def _line(c: Code) -> str:
    return f"{c.slug}\t{c.status.value}\t{c.destination or c.payload or ''}"


def _rules(text: str | None) -> list[Any] | None:
    if text is None:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        fail(f"--rules: not valid JSON ({exc})")
    if not isinstance(value, list):
        fail("--rules: must be a JSON list of rules")
    return value  # type: ignore[no-any-return]


@app.command("create")
@handle_errors
def create(
    destination: str,
    slug: Annotated[str | None, typer.Option(help="Custom slug (random when omitted).")] = None,
    campaign: Annotated[str | None, typer.Option(help="Campaign name (created if new).")] = None,
    placement: Annotated[str | None, typer.Option(help="Placement name.")] = None,
    creative: Annotated[str | None, typer.Option(help="Creative-variant label.")] = None,
    title: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Repeatable.")] = None,
    fallback: Annotated[str | None, typer.Option(help="Where paused/expired scans go.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA zone for time rules.")] = None,
    rules: Annotated[str | None, typer.Option(help="Routing rules as a JSON list.")] = None,
    template: Annotated[str | None, typer.Option(help="QR brand template name.")] = None,
    design: Annotated[str | None, typer.Option(help="QR design options as JSON (docs/qr.md).")] = None,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Create a dynamic code and print its slug and short URL."""
    data = {
        k: v
        for k, v in {
            "destination": destination,
            "slug": slug,
            "campaign": campaign,
            "placement": placement,
            "creative": creative,
            "title": title,
            "tags": tag,
            "fallback": fallback,
            "timezone": timezone,
            "rules": _rules(rules),
            "template": template,
            "design": json_object(design, "--design"),
        }.items()
        if v is not None
    }
    with container() as ctr:
        code = ctr.codes.create(as_owner(ctr, workspace), CodeCreate.model_validate(data))
        url = ctr.short_url(code.slug)
    emit(
        {"slug": code.slug, "short_url": url, "destination": code.destination},
        as_json=json,
        lines=lambda d: f"{d['slug']}\t{d['short_url']}\t{d['destination']}",
    )


@app.command("list")
@handle_errors
def list_(
    workspace: Ws = None,
    status: Annotated[CodeStatus | None, typer.Option()] = None,
    search: Annotated[str | None, typer.Option("--search")] = None,
    json: Json = False,
) -> None:
    """List codes (all pages)."""
    items: list[Code] = []
    with container() as ctr:
        who = as_owner(ctr, workspace)
        cursor = None
        while True:
            page = ctr.codes.list(
                who,
                ListQuery(
                    filters={"status": status.value if status else None},
                    search=search,
                    limit=200,
                    cursor=cursor,
                ),
            )
            items.extend(page.items)
            if page.next is None:
                break
            cursor = page.next
    emit(items, as_json=json, lines=lambda cs: "\n".join(map(_line, cs)))


@app.command("show")
@handle_errors
def show(slug: str, workspace: Ws = None, json: Json = False) -> None:
    """Show one code."""
    with container() as ctr:
        code = ctr.codes.get(as_owner(ctr, workspace), slug)
    emit(code, as_json=json, lines=_line)


@app.command("update")
@handle_errors
def update(
    slug: str,
    destination: Annotated[str | None, typer.Option()] = None,
    title: Annotated[str | None, typer.Option()] = None,
    fallback: Annotated[str | None, typer.Option()] = None,
    rules: Annotated[str | None, typer.Option(help="Routing rules as a JSON list.")] = None,
    status: Annotated[CodeStatus | None, typer.Option()] = None,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Change a code (the printed image never changes)."""
    data = {
        k: v
        for k, v in {
            "destination": destination,
            "title": title,
            "fallback": fallback,
            "rules": _rules(rules),
            "status": status,
        }.items()
        if v is not None
    }
    with container() as ctr:
        code = ctr.codes.update(as_owner(ctr, workspace), slug, CodePatch.model_validate(data))
    emit(code, as_json=json, lines=_line)


def _set_status(slug: str, workspace: str | None, status: CodeStatus) -> None:
    with container() as ctr:
        ctr.codes.update(as_owner(ctr, workspace), slug, CodePatch(status=status))
    typer.echo(f"{slug} is {status.value}")


@app.command("pause")
@handle_errors
def pause(slug: str, workspace: Ws = None) -> None:
    """Pause a code: scans go to its fallback URL or a clear page."""
    _set_status(slug, workspace, CodeStatus.PAUSED)


@app.command("resume")
@handle_errors
def resume(slug: str, workspace: Ws = None) -> None:
    """Make a paused code active again."""
    _set_status(slug, workspace, CodeStatus.ACTIVE)


@app.command("delete")
@handle_errors
def delete(slug: str, workspace: Ws = None) -> None:
    """Delete a code (its scans stay for reporting)."""
    with container() as ctr:
        ctr.codes.delete(as_owner(ctr, workspace), slug)
    typer.echo(f"deleted {slug}")


def _row_to_create(row: dict[str, str]) -> CodeCreate:
    data: dict[str, Any] = {}
    for key in (
        "slug",
        "destination",
        "status",
        "campaign",
        "placement",
        "creative",
        "title",
        "fallback",
        "timezone",
    ):
        if (row.get(key) or "").strip():
            data[key] = row[key].strip()
    if (row.get("tags") or "").strip():
        data["tags"] = [t.strip() for t in row["tags"].split(";") if t.strip()]
    utm = {k[4:]: v.strip() for k, v in row.items() if k and k.startswith("utm_") and (v or "").strip()}
    if utm:
        data["utm"] = utm
    kind = (row.get("kind") or "").strip()
    if kind or (row.get("payload") or "").strip():
        data["kind"] = kind or "static"
        for key in ("payload_type", "payload"):
            if (row.get(key) or "").strip():
                data[key] = row[key] if key == "payload" else row[key].strip()
    if (row.get("rules") or "").strip():
        try:
            data["rules"] = orjson.loads(row["rules"])
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"rules: not valid JSON ({exc})") from exc
    return CodeCreate.model_validate(data)


@app.command("import")
@handle_errors
def import_(
    file: Annotated[Path, typer.Argument(help="CSV with a header row; columns as `codes export` writes.")],
    workspace: Ws = None,
) -> None:
    """Create codes from a CSV: all rows or none; errors name the line."""
    try:
        with file.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            unknown = set(reader.fieldnames or ()) - set(CSV_COLUMNS)
            if not reader.fieldnames or not {"destination", "payload"} & set(reader.fieldnames):
                fail(
                    f"{file}: the header must include 'destination' or 'payload' "
                    f"(known columns: {', '.join(CSV_COLUMNS)})"
                )
            if unknown:
                fail(f"{file}: unknown column(s) {', '.join(sorted(unknown))}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        fail(f"{file}: {exc}")
    items, errors = [], []
    for number, row in enumerate(rows, start=2):
        try:
            items.append(_row_to_create(row))
        except ValidationError as exc:
            err = exc.errors()[0]
            errors.append(
                f"line {number}: {'.'.join(map(str, err['loc']))}: {err['msg'].removeprefix('Value error, ')}"
            )
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
    if errors:
        fail("nothing imported:\n  " + "\n  ".join(errors[:20]))
    with container() as ctr:
        try:
            created = ctr.codes.create_many(as_owner(ctr, workspace), items)
        except RowError as exc:
            fail(f"nothing imported: line {exc.row + 2}: {exc.field + ': ' if exc.field else ''}{exc.detail}")
    typer.echo(f"imported {len(created)} codes")


@app.command("export")
@handle_errors
def export(
    workspace: Ws = None, output: Annotated[Path | None, typer.Option("-o", "--output")] = None
) -> None:
    """Write all codes as CSV (to a file or stdout); `codes import` reads it back."""
    with container() as ctr:
        who = as_owner(ctr, workspace)
        from scanroute.storage.catalog import campaign_table, placement_table

        with ctr.db.read() as conn:
            camp = {
                c.id: c.name
                for c in campaign_table.list(conn, who.workspace_id, ListQuery({}, limit=200)).items
            }
            plac = {
                p.id: p.name
                for p in placement_table.list(conn, who.workspace_id, ListQuery({}, limit=200)).items
            }
        codes, cursor = [], None
        while True:
            page = ctr.codes.list(who, ListQuery(filters={}, limit=200, cursor=cursor))
            codes.extend(page.items)
            if not (cursor := page.next):
                break
    out = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for c in codes:
        writer.writerow(
            {
                "slug": c.slug,
                "destination": c.destination or "",
                "status": c.status.value,
                "campaign": camp.get(c.campaign_id or 0, ""),
                "placement": plac.get(c.placement_id or 0, ""),
                "creative": c.creative or "",
                "title": c.title,
                "tags": ";".join(c.tags),
                "fallback": c.fallback_url or "",
                "timezone": c.timezone or "",
                **{f"utm_{k}": c.utm.get(k, "") for k in ("source", "medium", "campaign", "content", "term")},
                "rules": orjson.dumps(c.rules).decode() if c.rules else "",
                "kind": c.kind.value,
                "payload_type": c.payload_type or "",
                "payload": c.payload or "",
            }
        )
    if output:
        out.close()
        typer.echo(f"exported {len(codes)} codes to {output}", err=True)


@app.command("qr")
@handle_errors
def qr(
    slug: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    format: Annotated[
        str | None, typer.Option("--format", help="svg, png, pdf or eps (default: from -o).")
    ] = None,
    size_px: Annotated[int | None, typer.Option(help="Width in pixels (PNG).")] = None,
    size_mm: Annotated[float | None, typer.Option(help="Printed width in millimetres.")] = None,
    dpi: Annotated[int | None, typer.Option(help="Resolution for --size-mm (PNG).")] = None,
    workspace: Ws = None,
) -> None:
    """Write a code's QR image (its short URL with its saved design; never the destination)."""
    fmt = format or output.suffix.lstrip(".").lower() or "svg"
    if fmt not in ("svg", "png", "pdf", "eps"):
        fail(f"--format: must be svg, png, pdf or eps (got {fmt!r})")
    overrides = {
        k: v for k, v in {"size_px": size_px, "size_mm": size_mm, "dpi": dpi}.items() if v is not None
    }
    with container() as ctr:
        img = ctr.qr.code_image(as_owner(ctr, workspace), slug, fmt, overrides)  # type: ignore[arg-type]
        output.write_bytes(img.data())
        content = img.content
    typer.echo(f"wrote {output} ({fmt}, encodes {content})", err=True)


@app.command("static")
@handle_errors
def static(
    payload_type: Annotated[
        str, typer.Argument(help="wifi, vcard, mecard, text, url, geo, email, sms, phone, event")
    ],
    payload: Annotated[str, typer.Argument(help="The fields as a JSON object, or the raw payload text.")],
    slug: Annotated[str | None, typer.Option(help="Custom slug (random when omitted).")] = None,
    title: Annotated[str | None, typer.Option()] = None,
    template: Annotated[str | None, typer.Option(help="QR brand template name.")] = None,
    design: Annotated[str | None, typer.Option(help="QR design options as JSON.")] = None,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Create a static code: the payload is in the image itself; it never redirects."""
    fields: Any = payload
    if payload.lstrip().startswith("{"):
        fields = json_object(payload, "PAYLOAD")
    data = {
        k: v
        for k, v in {
            "kind": "static",
            "payload_type": payload_type,
            "payload": fields,
            "slug": slug,
            "title": title,
            "template": template,
            "design": json_object(design, "--design"),
        }.items()
        if v is not None
    }
    with container() as ctr:
        code = ctr.codes.create(as_owner(ctr, workspace), CodeCreate.model_validate(data))
    emit(
        {"slug": code.slug, "payload_type": code.payload_type, "payload": code.payload},
        as_json=json,
        lines=lambda d: f"{d['slug']}\t{d['payload_type']}\t{d['payload']!r}",
    )
