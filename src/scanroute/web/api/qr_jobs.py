"""REST endpoints for bulk print runs, their jobs, and creative variants of a campaign.

``POST /bulk`` (JSON) or ``POST /bulk/upload`` (multipart CSV) validate the CSV and create every
code in one transaction inside the request — a bad row is a 422 naming it and nothing is created
— then answer ``202`` with the job that renders the ZIP and the label PDF (``Location`` points at
it). ``GET /jobs/{id}`` shows status and progress; ``GET /jobs/{id}/download?file=zip|pdf``
streams a result.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, StringConstraints, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool

from scanroute.domain.errors import Invalid
from scanroute.domain.workspace import Role
from scanroute.services.bulk import PrintOptions
from scanroute.services.codes import CodeCreate, RowError, Utm
from scanroute.services.common import Input, Ref, require
from scanroute.services.logos import TooLarge
from scanroute.services.printrun import PrintRunService, RenderAgain
from scanroute.storage.qr import JobRecord
from scanroute.web.api.deps import Auth, Ctr, Ident, Paging
from scanroute.web.api.qr_views import JobOut
from scanroute.web.api.views import CodeOut, ListOut

router = APIRouter()
MAX_CSV = 5 * 1024 * 1024
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class BulkRequest(PrintOptions):
    """Body of ``POST /api/v1/bulk``: the CSV text and the print options."""

    csv: str = Field(min_length=1, max_length=MAX_CSV, description="Placements CSV (see docs/qr.md).")


class BulkCode(BaseModel):
    """A code created by a print run."""

    slug: str
    short_url: str
    creative: str | None
    placement_id: int | None


class BulkOut(BaseModel):
    """A started print run: the codes (already created) and the job rendering them."""

    created: int
    codes: list[BulkCode]
    job: JobOut


def _accepted(job: JobRecord, response: Response) -> None:
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"


def _bulk(ctr: Ctr, who: Auth, csv_text: str, options: PrintOptions, response: Response) -> BulkOut:
    job, created = PrintRunService(ctr.codes, ctr.qr).start(who, csv_text, options)
    _accepted(job, response)
    return BulkOut(
        created=len(created),
        codes=[
            BulkCode(
                slug=c.slug, short_url=ctr.short_url(c.slug), creative=c.creative, placement_id=c.placement_id
            )
            for c in created
        ],
        job=JobOut.of(job),
    )


@router.post("/bulk", status_code=202, response_model=BulkOut, tags=["qr bulk"])
def bulk(body: BulkRequest, who: Auth, ctr: Ctr, response: Response) -> BulkOut:
    """Create every code of a placements CSV (all or nothing), then render ZIP + label PDF as a job."""
    options = PrintOptions.model_validate(body.model_dump(exclude={"csv"}))
    return _bulk(ctr, who, body.csv, options, response)


@router.post("/bulk/upload", status_code=202, response_model=BulkOut, tags=["qr bulk"])
async def bulk_upload(
    who: Auth,
    ctr: Ctr,
    response: Response,
    file: Annotated[UploadFile, File(description="Placements CSV, UTF-8, at most 5 MB.")],
    paper: Annotated[Literal["A4", "Letter"], Form()] = "A4",
    columns: Annotated[int, Form(ge=1, le=12)] = 3,
    rows: Annotated[int, Form(ge=1, le=24)] = 8,
    template: Annotated[str | None, Form(max_length=100)] = None,
    formats: Annotated[str, Form(max_length=40, description="Comma-separated: svg,png,pdf,eps.")] = "svg,png",
    force: Annotated[bool, Form()] = False,
) -> BulkOut:
    """The same as ``POST /bulk`` with the CSV as a file upload and options as form fields."""
    data = await file.read(MAX_CSV + 1)
    if len(data) > MAX_CSV:
        raise TooLarge(f"is larger than {MAX_CSV // (1024 * 1024)} MB", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"is not UTF-8 text ({exc.reason} at byte {exc.start})", field="file") from None
    try:
        options = PrintOptions.model_validate(
            {
                "paper": paper,
                "columns": columns,
                "rows": rows,
                "template": template,
                "formats": [f.strip() for f in formats.split(",") if f.strip()],
                "force": force,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(str(first["msg"]), field=".".join(str(p) for p in first["loc"])) from None
    return await run_in_threadpool(_bulk, ctr, who, text, options, response)


@router.post("/bulk/render", status_code=202, response_model=JobOut, tags=["qr bulk"])
def bulk_render(body: RenderAgain, who: Auth, ctr: Ctr, response: Response) -> JobOut:
    """Render ZIP + label PDF again for existing codes (for example after a failed run)."""
    job = PrintRunService(ctr.codes, ctr.qr).again(who, body)
    _accepted(job, response)
    return JobOut.of(job)


@router.get("/jobs", response_model=ListOut[JobOut], tags=["qr bulk"])
def list_jobs(who: Auth, ctr: Ctr, page: Paging) -> ListOut[JobOut]:
    """The workspace's jobs."""
    result = ctr.qr.jobs.list(who, page)
    return ListOut[JobOut](items=[JobOut.of(j) for j in result.items], next=result.next)


@router.get("/jobs/{ident}", response_model=JobOut, tags=["qr bulk"])
def get_job(ident: Ident, who: Auth, ctr: Ctr) -> JobOut:
    """A job's status and progress (``progress`` of ``total`` steps)."""
    return JobOut.of(ctr.qr.jobs.get(who, ident))


@router.get(
    "/jobs/{ident}/download",
    tags=["qr bulk"],
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}, "application/pdf": {}}}},
)
def download(ident: Ident, who: Auth, ctr: Ctr, file: Literal["zip", "pdf"] = "zip") -> FileResponse:
    """A finished job's ZIP (codes + manifest.csv) or label-sheet PDF."""
    path = ctr.qr.jobs.file(who, ident, file)
    media = "application/zip" if file == "zip" else "application/pdf"
    return FileResponse(path, media_type=media, filename=f"print-run-{ident}.{file}")


# -- creative variants -------------------------------------------------------------------------------
SHARED = ("destination", "placement", "utm")  # the body's fields, the same for every variant's code


def _variant_field(row: int, name: str) -> str:
    """Where a field of variant ``row``'s code is in the request body."""
    if name.split(".")[0] in SHARED:
        return name
    return f"variants[{row}].{name}" if name else f"variants[{row}]"


class Variant(Input):
    """One creative of a campaign: its label (recorded on every scan) and its look."""

    label: Label
    template: Ref | None = None
    design: dict[str, object] | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    slug: str | None = Field(None, max_length=64)


class CreativesCreate(Input):
    """Body of ``POST /api/v1/campaigns/{id}/creatives``: one code per variant."""

    destination: str = Field(max_length=2048)
    placement: Ref | None = None
    utm: Utm | None = None
    variants: list[Variant] = Field(min_length=1, max_length=26)
    force: bool = False

    @model_validator(mode="after")
    def _unique(self) -> CreativesCreate:
        labels = [v.label for v in self.variants]
        if len(set(labels)) != len(labels):
            raise ValueError("variant labels must be unique")
        return self


@router.post("/campaigns/{ident}/creatives", status_code=201, response_model=ListOut[CodeOut], tags=["qr"])
def create_creatives(ident: Ident, body: CreativesCreate, who: Auth, ctr: Ctr) -> ListOut[CodeOut]:
    """Several designs for one campaign: one code per variant, its label recorded on every scan
    (``creative``), so creative performance can be compared. All codes or none."""
    require(who, Role.EDITOR, "creating codes")
    ctr.campaigns.get(who, ident)
    items = []
    own = ("template", "design", "title", "slug")
    for row, v in enumerate(body.variants):
        data = {"destination": body.destination, "campaign": ident, "creative": v.label, "force": body.force}
        data.update({k: getattr(v, k) for k in own if getattr(v, k) is not None})
        if body.placement is not None:
            data["placement"] = body.placement
        if body.utm is not None:
            data["utm"] = body.utm.as_dict()
        try:
            items.append(CodeCreate.model_validate(data))
        except ValidationError as exc:  # a code's own rules (e.g. the destination's scheme): a 422
            err = exc.errors()[0]
            loc = ".".join(str(part) for part in err["loc"])
            raise Invalid(err["msg"].removeprefix("Value error, "), field=_variant_field(row, loc)) from None
    try:
        created = ctr.codes.create_many(who, items)
    except RowError as exc:
        raise type(exc.error)(exc.detail, field=_variant_field(exc.row, exc.field or "")) from None
    return ListOut[CodeOut](items=[CodeOut.of(c, ctr) for c in created], next=None)
