"""Bulk print runs, part 1: a CSV of placements becomes codes — all of them, or none.

Columns (header row required, names case-insensitive, any order; unknown columns are refused):
``name`` (placement; created if new, reused if it exists), ``medium``, ``location_name``,
``address``, ``city``, ``country``, ``print_run``, ``campaign`` (created if new), ``destination``,
``variant`` (the creative label scans record), ``slug``, ``title``, ``tags`` (``;``-separated),
``caption`` (label text; default placement · city, else title, else slug), ``template``,
``fallback``, ``utm_source`` … ``utm_term``, and for static codes ``payload_type`` + ``payload``.

Every row is validated first and all row errors are reported together (at most 20), each naming
its row (1 = first data row) and line; then the placements and codes are created in ONE write
transaction (``CodeService.create_many``): a failure in any row leaves nothing behind. QA runs at
design level during creation (once per design); every code's own image is decoded while the ZIP
is rendered (``bulk_render``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError
from sqlalchemy import Connection, insert, select

from scanroute.domain.code import Code, CodeKind
from scanroute.domain.errors import Invalid
from scanroute.domain.workspace import Principal, Role
from scanroute.services.catalog import PlacementCreate
from scanroute.services.codes import CodeCreate, CodeService, RowError
from scanroute.services.common import Input, require, utcnow
from scanroute.storage.schema import placements, workspaces

__all__ = ["BULK_COLUMNS", "BulkRow", "PrintOptions", "create_codes", "parse_csv"]

BULK_COLUMNS = (
    "name",
    "medium",
    "location_name",
    "address",
    "city",
    "country",
    "print_run",
    "campaign",
    "destination",
    "variant",
    "slug",
    "title",
    "tags",
    "caption",
    "template",
    "fallback",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "payload_type",
    "payload",
)
PLACEMENT_COLUMNS = ("medium", "location_name", "address", "city", "country", "print_run")
MAX_ROWS = 20_000
MAX_ERRORS = 20


class PrintOptions(Input):
    """How a print run looks: defaults for every row, label sheet layout, ZIP formats."""

    template: Annotated[str, Field(min_length=1, max_length=100)] | int | None = Field(
        None, description="Template for rows without a template column value."
    )
    design: dict[str, Any] | None = Field(None, description="Design options for every code (logos by ref).")
    formats: list[Literal["svg", "png", "pdf", "eps"]] = Field(["svg", "png"], min_length=1, max_length=4)
    paper: Literal["A4", "Letter"] = "A4"
    columns: int = Field(3, ge=1, le=12)
    rows: int = Field(8, ge=1, le=24)
    margin_mm: float = Field(10.0, ge=0, le=50)
    gutter_mm: float = Field(4.0, ge=0, le=50)
    crop_marks: bool = True
    force: bool = Field(False, description="Keep going even if a design does not decode.")


@dataclass(frozen=True)
class BulkRow:
    """One validated CSV row: the code to create, its placement and its label caption."""

    number: int
    code: CodeCreate
    placement: PlacementCreate | None
    caption: str


def _where(number: int) -> str:
    return f"row {number} (line {number + 1})"


def _cells(row: dict[str, str]) -> dict[str, str]:
    return {k: v.strip() for k, v in row.items() if k and isinstance(v, str) and v.strip()}


def _row(number: int, cells: dict[str, str], options: PrintOptions) -> BulkRow:
    placement = None
    if "name" in cells:
        pdata: dict[str, Any] = {"name": cells["name"]}
        pdata.update({k: cells[k] for k in PLACEMENT_COLUMNS if k in cells})
        placement = PlacementCreate.model_validate(pdata)
    elif any(k in cells for k in PLACEMENT_COLUMNS):
        raise ValueError("name: is required when placement columns (medium, city, …) are given")
    data: dict[str, Any] = {
        k: cells[k] for k in ("destination", "slug", "campaign", "title", "fallback") if k in cells
    }
    if placement is not None:
        data["placement"] = placement.name
    if "variant" in cells:
        data["creative"] = cells["variant"]
    if "tags" in cells:
        data["tags"] = [t.strip() for t in cells["tags"].split(";") if t.strip()]
    utm = {k[4:]: v for k, v in cells.items() if k.startswith("utm_")}
    if utm:
        data["utm"] = utm
    if "payload" in cells or "payload_type" in cells:
        data.update(
            kind=CodeKind.STATIC.value, payload=cells.get("payload"), payload_type=cells.get("payload_type")
        )
    template = cells.get("template", options.template)
    if template is not None:
        data["template"] = template
    if options.design:
        data["design"] = options.design
    data["force"] = options.force
    code = CodeCreate.model_validate(data)
    if placement is not None and placement.city:
        default_caption = f"{placement.name} · {placement.city}"
    else:
        default_caption = placement.name if placement else (code.title or code.slug or "")
    return BulkRow(number, code, placement, cells.get("caption", default_caption)[:60])


def parse_csv(text: str, options: PrintOptions) -> list[BulkRow]:
    """Validate every row; ``Invalid`` lists the bad rows (``field`` is ``csv``)."""
    logo = (options.design or {}).get("logo")
    if isinstance(logo, dict) and logo.get("data") is not None:
        raise Invalid(
            "upload the logo once (POST /api/v1/logos) and refer to it as {ref: id}", field="design.logo"
        )
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))  # \r, \n, \r\n ends
    try:
        header = [h.strip().lower() for h in (reader.fieldnames or []) if h is not None]
    except csv.Error as exc:
        raise Invalid(f"is not valid CSV ({exc})", field="csv") from exc
    if not header:
        raise Invalid("is empty: a header row is required", field="csv")
    unknown = [h for h in header if h not in BULK_COLUMNS]
    if unknown:
        raise Invalid(
            f"unknown column(s) {', '.join(unknown)}; known: {', '.join(BULK_COLUMNS)}", field="csv"
        )
    if len(set(header)) != len(header):
        raise Invalid("a column appears twice in the header", field="csv")
    reader.fieldnames = header
    rows: list[BulkRow] = []
    errors: list[str] = []
    try:
        for number, raw in enumerate(reader, start=1):
            if number > MAX_ROWS:
                raise Invalid(f"has more than {MAX_ROWS} rows; split it", field="csv")
            if None in raw:
                errors.append(f"{_where(number)}: more cells than header columns")
                continue
            cells = _cells(raw)
            if not cells:
                continue
            try:
                rows.append(_row(number, cells, options))
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                where = f"{_where(number)}: {loc}: " if loc else f"{_where(number)}: "
                errors.append(where + err["msg"].removeprefix("Value error, "))
            except ValueError as exc:
                errors.append(f"{_where(number)}: {exc}")
    except csv.Error as exc:
        raise Invalid(f"is not valid CSV ({exc})", field="csv") from exc
    if errors:
        more = f" (and {len(errors) - MAX_ERRORS} more)" if len(errors) > MAX_ERRORS else ""
        raise Invalid("nothing was created: " + "; ".join(errors[:MAX_ERRORS]) + more, field="csv")
    if not rows:
        raise Invalid("has no data rows", field="csv")
    return rows


def create_codes(codes: CodeService, principal: Principal, rows: Sequence[BulkRow]) -> list[Code]:
    """Create the rows' placements and codes in one transaction; ``Invalid`` names the bad row."""
    require(principal, Role.EDITOR, "creating codes")

    def add_placements(conn: Connection) -> dict[tuple[str, str | int], int]:
        ws = principal.workspace_id
        currency = conn.execute(workspaces.select().where(workspaces.c.id == ws)).one().currency
        now = utcnow()
        wanted = {r.placement.name: r.placement for r in rows if r.placement is not None}
        existing = {
            str(n)
            for n in conn.execute(select(placements.c.name).where(placements.c.workspace_id == ws)).scalars()
        }
        new = []
        for name, p in wanted.items():
            if name in existing:
                continue
            values = {k: getattr(p, k) for k in ("name", "medium", "country", "print_run")}
            values.update({k: getattr(p, k) or "" for k in ("location_name", "address", "city")})
            values.update(
                workspace_id=ws, currency=currency, print_cost_minor=0, created_at=now, updated_at=now
            )
            new.append(values)
        if new:
            conn.execute(insert(placements), new)
        ids = conn.execute(select(placements.c.name, placements.c.id).where(placements.c.workspace_id == ws))
        return {("placement", str(name)): int(ident) for name, ident in ids if name in wanted}

    try:
        return codes.create_many(principal, [r.code for r in rows], before=add_placements, qa_per_code=False)
    except RowError as exc:
        number = rows[exc.row].number
        where = f"{exc.field}: " if exc.field else ""
        raise Invalid(f"nothing was created: {_where(number)}: {where}{exc.detail}", field="csv") from None
