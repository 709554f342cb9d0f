"""Bulk print runs end to end, for the API (as a background job) and the CLI (in the foreground).

1. ``prepare`` — parse and validate the CSV and the sheet layout (nothing is written);
2. ``create`` — placements and codes in one transaction (all or nothing, errors name the row);
3. ``render`` — ZIP + PDF label sheet, every code's image decoded, QA reports stored.

The API does 1 and 2 inside the request (so a bad row is an immediate 422 naming it and nothing
is created) and 3 as a job (202 + job id). If rendering fails the codes stay, consistent and
usable; the job is marked failed with the reason and a new run can be started for the same codes
with ``POST /api/v1/bulk/render``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, StringConstraints

from scanroute.domain.code import Code
from scanroute.domain.errors import Invalid
from scanroute.domain.workspace import Principal, Role
from scanroute.qr import Label, SheetError, label_sheet
from scanroute.services.bulk import BulkRow, PrintOptions, create_codes, parse_csv
from scanroute.services.bulk_render import RenderItem, SheetLayout, render_run
from scanroute.services.codes import CodeService
from scanroute.services.common import require
from scanroute.storage.qr import JobRecord, set_code_qa

if TYPE_CHECKING:
    from scanroute.services.jobs import JobContext
    from scanroute.services.qr import QrService

__all__ = ["PrintRunService", "RenderAgain"]


class RenderAgain(PrintOptions):
    """Body of ``POST /api/v1/bulk/render``: print existing codes again."""

    slugs: list[Annotated[str, StringConstraints(max_length=64)]] = Field(min_length=1, max_length=20_000)
    captions: dict[str, Annotated[str, StringConstraints(max_length=60)]] | None = None


class PrintRunService:
    """Bulk print runs over the code service and the QR studio."""

    def __init__(self, codes: CodeService, qr: QrService) -> None:
        self.codes = codes
        self.qr = qr

    def prepare(self, principal: Principal, csv_text: str, options: PrintOptions) -> list[BulkRow]:
        """Validated rows; ``Invalid`` names the bad rows or layout option."""
        require(principal, Role.EDITOR, "creating codes")
        check_layout(options)
        return parse_csv(csv_text, options)

    def create(self, principal: Principal, rows: Sequence[BulkRow]) -> list[Code]:
        """Create everything in one transaction."""
        return create_codes(self.codes, principal, rows)

    def items(
        self, principal: Principal, codes: Sequence[Code], captions: Sequence[str | None]
    ) -> list[RenderItem]:
        """What to print for each code (designs resolved once per distinct design)."""
        ws = principal.workspace_id
        out = []
        with self.qr.db.read() as conn:
            placements = _placement_names(conn, ws, {c.placement_id for c in codes if c.placement_id})
            for code, caption in zip(codes, captions, strict=True):
                design = self.qr.build(conn, ws, self.qr.layers(conn, ws, code.template_id, code.design))
                out.append(
                    RenderItem(
                        code_id=code.id,
                        slug=code.slug,
                        short_url=self.qr.short_url(code.slug),
                        content=self.qr.content_of(code),
                        design=design,
                        placement=placements.get(code.placement_id or 0),
                        caption=caption if caption is not None else code.title or code.slug,
                        qa=code.qa,
                    )
                )
        return out

    def render(
        self,
        principal: Principal,
        items: Sequence[RenderItem],
        folder: Path,
        options: PrintOptions,
        progress: Callable[[int, int], None] | None = None,
        parallel: bool | None = None,
    ) -> dict[str, Any]:
        """Render, store every code's QA report, and fail if an image does not decode (unless forced)."""
        result = render_run(
            items,
            folder,
            formats=options.formats,
            layout=_layout(options),
            progress=progress,
            parallel=parallel,
        )
        reports = result.pop("qa")
        with self.qr.db.write() as conn:
            set_code_qa(conn, principal.workspace_id, list(reports.items()))
        failed = result["not_decoding"]
        if failed and not options.force:
            shown = ", ".join(failed[:10]) + (" …" if len(failed) > 10 else "")
            raise ValueError(f"{len(failed)} code image(s) do not decode ({shown}); the codes were kept")
        result["slugs"] = [i.slug for i in items]
        return result

    def start(
        self, principal: Principal, csv_text: str, options: PrintOptions
    ) -> tuple[JobRecord, list[Code]]:
        """Validate and create now; render in a background job."""
        rows = self.prepare(principal, csv_text, options)
        created = self.create(principal, rows)
        return self._job(principal, created, [r.caption for r in rows], options), created

    def again(self, principal: Principal, body: RenderAgain) -> JobRecord:
        """A new print run (job) for existing codes."""
        require(principal, Role.EDITOR, "printing codes")
        check_layout(body)
        with self.qr.db.read() as conn:
            found = []
            for i, slug in enumerate(dict.fromkeys(body.slugs)):
                try:
                    found.append(self.qr.code(conn, principal.workspace_id, slug))
                except Exception:  # noqa: BLE001 - NotFound, reported with the position
                    raise Invalid(f"code '{slug}' does not exist", field=f"slugs[{i}]") from None
        captions = [(body.captions or {}).get(c.slug) for c in found]
        options = PrintOptions.model_validate(body.model_dump(exclude={"slugs", "captions"}))
        return self._job(principal, found, captions, options)

    def _job(
        self,
        principal: Principal,
        codes: Sequence[Code],
        captions: Sequence[str | None],
        options: PrintOptions,
    ) -> JobRecord:
        items = self.items(principal, codes, captions)
        params = {
            "codes": len(items),
            "slugs": [i.slug for i in items][:50],
            "options": options.model_dump(exclude={"design"}),
        }

        def work(ctx: JobContext) -> dict[str, Any]:
            def progress(done: int, total: int) -> None:
                ctx.progress(done, total=total, stage="rendering")

            return self.render(principal, items, ctx.folder, options, progress)

        return self.qr.jobs.start(principal, "print_run", params, 2 * len(items), work)


def check_layout(options: PrintOptions) -> None:
    """Refuse a sheet layout that cannot be built, before anything is created."""
    try:
        label_sheet([Label("layout check")], **_layout(options).kwargs())
    except SheetError as exc:
        raise Invalid(str(exc), field="columns") from None


def _layout(options: PrintOptions) -> SheetLayout:
    return SheetLayout(
        paper=options.paper,
        columns=options.columns,
        rows=options.rows,
        margin_mm=options.margin_mm,
        gutter_mm=options.gutter_mm,
        crop_marks=options.crop_marks,
    )


def _placement_names(conn: Any, ws: int, ids: set[int]) -> dict[int, str]:
    from sqlalchemy import select

    from scanroute.storage.schema import placements

    if not ids:
        return {}
    rows = conn.execute(
        select(placements.c.id, placements.c.name).where(
            placements.c.workspace_id == ws, placements.c.id.in_(ids)
        )
    )
    return {int(r.id): str(r.name) for r in rows}
