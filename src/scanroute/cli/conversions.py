"""``scanroute conversions …``: POS import, listing, exchange rates, the pixel secret, re-attribution."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from scanroute.attribution.money import from_minor
from scanroute.attribution.pos import MAX_BYTES, Malformed, parse_mapping_pairs
from scanroute.cli.common import as_owner, container, emit, fail, handle_errors
from scanroute.services.conversion_import import ImportOptions, ImportReport
from scanroute.services.fx import RateIn
from scanroute.storage.conversions import ConversionFilter, ConversionRecord

app = typer.Typer(no_args_is_help=True, help="Conversions: POS import, listing, exchange rates, pixel.")
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Ws = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace slug (default: default).")]


def _report_lines(r: ImportReport) -> str:
    lines = [f"line {x.line}\t{x.status}\t{x.order_id or ''}\t{x.reason or ''}".rstrip() for x in r.rows]
    counts = ", ".join(f"{n} {s}" for s, n in r.counts.items())
    lines.append(f"{r.message} ({counts}; {r.policy})")
    return "\n".join(lines)


@app.command("import")
@handle_errors
def import_(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="POS export (CSV).")
    ],
    mapping: Annotated[
        str,
        typer.Option(
            help="field=Column pairs, e.g. order_id=Order,occurred_at=Time,value=Amount,coupon_code=Coupon "
            "(fields: order_id, occurred_at, value, currency, coupon_code, scan_id, store, type, external_id)"
        ),
    ],
    currency: Annotated[str | None, typer.Option(help="Currency of rows without one.")] = None,
    type_: Annotated[str, typer.Option("--type", help="Conversion type of rows without one.")] = "purchase",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; store nothing.")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the valid rows even when some are invalid.")
    ] = False,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Import a POS CSV: per-row report; all rows or none unless --skip-invalid (exit 1 when nothing
    was imported because of invalid rows)."""
    if file.stat().st_size > MAX_BYTES:
        fail(f"{file}: larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        pairs = parse_mapping_pairs(mapping)
    except Malformed as exc:
        fail(f"--{exc}")
    options = ImportOptions(
        mapping=pairs, currency=currency, type=type_, dry_run=dry_run, skip_invalid=skip_invalid
    )
    with container() as ctr:
        report = ctr.conversion_import.run(as_owner(ctr, workspace), file.read_bytes(), options)
    emit(report, as_json=json, lines=_report_lines)
    if not report.imported and not report.dry_run and report.counts["invalid"]:
        raise typer.Exit(1)


def _line(c: ConversionRecord) -> str:
    value = (
        ""
        if c.value_minor is None or c.currency is None
        else f"{from_minor(c.value_minor, c.currency)} {c.currency}"
    )
    return "\t".join(
        [str(c.id), c.occurred_at.isoformat(), c.type, value, c.order_id or "", c.scan_id or "", c.source]
    )


@app.command("list")
@handle_errors
def list_(
    workspace: Ws = None,
    type_: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    external_id: Annotated[str | None, typer.Option(help="Only this customer.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many (newest first).")] = 100,
    json: Json = False,
) -> None:
    """List conversions, newest first."""
    items: list[ConversionRecord] = []
    with container() as ctr:
        who = as_owner(ctr, workspace)
        cursor = None
        where = ConversionFilter(type=type_, external_id=external_id)
        while len(items) < limit:
            page = ctr.attribution.list(who, where, limit=min(200, limit - len(items)), cursor=cursor)
            items.extend(page.items)
            if page.next is None:
                break
            cursor = page.next
    emit(items, as_json=json, lines=lambda cs: "\n".join(map(_line, cs)))


@app.command("fx-set")
@handle_errors
def fx_set(
    currency: Annotated[str, typer.Argument(help="ISO 4217 code, e.g. EUR.")],
    rate: Annotated[str, typer.Argument(help="Units of the reporting currency per one unit of CURRENCY.")],
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Set an exchange rate into the workspace's reporting currency."""
    try:
        value = Decimal(rate)
    except InvalidOperation:
        fail(f"RATE: '{rate}' is not a number")
    with container() as ctr:
        saved = ctr.fx.set(as_owner(ctr, workspace), currency, RateIn(rate=value))
    emit(
        saved,
        as_json=json,
        lines=lambda r: f"1 {r.currency} = {r.rate} {r.reporting_currency}",
    )


@app.command("fx-list")
@handle_errors
def fx_list(workspace: Ws = None, json: Json = False) -> None:
    """List the workspace's exchange rates."""
    with container() as ctr:
        rates = ctr.fx.list(as_owner(ctr, workspace))
    emit(
        rates,
        as_json=json,
        lines=lambda rs: "\n".join(f"{r.currency}\t{r.rate}\t{r.reporting_currency}" for r in rs),
    )


@app.command("pixel")
@handle_errors
def pixel(
    workspace: Ws = None,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Replace the secret (old signatures stop working).")
    ] = False,
    json: Json = False,
) -> None:
    """Show the pixel secret and a signed example URL."""
    with container() as ctr:
        info = ctr.attribution.pixel(as_owner(ctr, workspace), rotate=rotate)
    emit(
        info,
        as_json=json,
        lines=lambda p: f"secret: {p.secret}\nsigned text: {p.signed_text}\nexample: {p.example_url}",
    )


@app.command("reattribute")
@handle_errors
def reattribute(workspace: Ws = None) -> None:
    """Recompute every conversion's credits (after changing the lookback or half-life by hand)."""
    with container() as ctr:
        count = ctr.attribution.reattribute(as_owner(ctr, workspace))
    typer.echo(f"re-attributed {count} conversion(s)")
