"""REST endpoints of the QR studio: code images, previews, print QA, templates and logos.

Bulk print runs, jobs and creative variants are in ``qr_jobs.py`` (included here). Images carry
a strong ``ETag`` (content + normalised design), ``Cache-Control: public, max-age=300`` and a
``Content-Disposition`` (``attachment`` with ``download=true``); ``If-None-Match`` answers 304.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from scanroute.domain.errors import Invalid
from scanroute.qr.logo import MAX_LOGO_BYTES
from scanroute.services.logos import TooLarge
from scanroute.services.qr import CheckRequest, Image, PreviewRequest
from scanroute.services.templates import TemplateApply, TemplateCreate, TemplatePatch
from scanroute.web.api import qr_jobs
from scanroute.web.api.deps import Auth, Ctr, Ident, Paging
from scanroute.web.api.qr_views import ApplyOut, LogoOut, QaOut, TemplateOut
from scanroute.web.api.views import ListOut

router = APIRouter()
router.include_router(qr_jobs.router)

MAX_AGE = 300
MAX_PNG_PX = 6000
IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The image.",
        "content": {
            "image/svg+xml": {},
            "image/png": {},
            "application/pdf": {},
            "application/postscript": {},
        },
    },
    304: {"description": "Not modified (If-None-Match matched the ETag)."},
}
Fmt = Literal["svg", "png", "pdf", "eps"]


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


async def image_response(img: Image, request: Request, *, download: bool) -> Response:
    """The image (rendered off the event loop, cached) or 304, with caching headers."""
    if img.fmt == "png" and img.design.pixel_width > MAX_PNG_PX:
        raise Invalid(
            f"a PNG of {img.design.pixel_width} px is above the download limit of {MAX_PNG_PX} px; "
            "lower size_px/dpi, or use SVG or PDF for print",
            field="size_px",
        )
    headers = {
        "ETag": img.etag,
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "Content-Disposition": f'{"attachment" if download else "inline"}; filename="{img.filename}"',
        "Vary": "Authorization",
    }
    if _matches(request.headers.get("if-none-match"), img.etag):
        return Response(status_code=304, headers=headers)
    data = img.cache.get(img.key, img.fmt)
    if data is None:
        data = await run_in_threadpool(img.render)
    return Response(content=data, media_type=img.mime, headers=headers)


@router.get("/codes/{slug}/qr", tags=["qr"], response_class=Response, responses=IMAGE_RESPONSES)
async def code_qr(
    slug: str,
    who: Auth,
    ctr: Ctr,
    request: Request,
    format: Fmt = "svg",
    download: Annotated[bool, Query(description="Content-Disposition: attachment.")] = False,
    size_px: Annotated[int | None, Query(ge=64, le=4096)] = None,
    size_mm: Annotated[float | None, Query(ge=5, le=300)] = None,
    dpi: Annotated[int | None, Query(ge=72, le=1200)] = None,
    quiet_zone: Annotated[int | None, Query(ge=2, le=16)] = None,
    ecc: Literal["L", "M", "Q", "H"] | None = None,
    dark: Annotated[str | None, Query(max_length=20)] = None,
    light: Annotated[str | None, Query(max_length=20)] = None,
    eye_color: Annotated[str | None, Query(max_length=20)] = None,
    module_shape: Literal["square", "rounded", "dot"] | None = None,
    eye_shape: Literal["square", "rounded", "circle"] | None = None,
    frame: Literal["none", "box", "banner"] | None = None,
    caption: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    """The code's image: its short URL (static codes: their payload) with its saved design.

    Query options override the saved design for this download only (size, colours, …); the
    image never depends on the destination.
    """
    given = {
        "size_px": size_px,
        "size_mm": size_mm,
        "dpi": dpi,
        "quiet_zone": quiet_zone,
        "ecc": ecc,
        "dark": dark,
        "light": light,
        "eye_color": eye_color,
        "module_shape": module_shape,
        "eye_shape": eye_shape,
        "frame": frame,
        "caption": caption,
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    img = await run_in_threadpool(ctr.qr.code_image, who, slug, format, overrides)
    return await image_response(img, request, download=download)


@router.post("/qr/preview", tags=["qr"], response_class=Response, responses=IMAGE_RESPONSES)
async def preview(body: PreviewRequest, who: Auth, ctr: Ctr, request: Request) -> Response:
    """Render a design without saving anything (content: slug, data, payload, or a sample URL)."""
    img = await run_in_threadpool(ctr.qr.preview, who, body)
    return await image_response(img, request, download=False)


@router.post("/qr/check", response_model=QaOut, tags=["qr"])
def check(body: CheckRequest, who: Auth, ctr: Ctr) -> dict[str, Any]:
    """Print QA of a design: decodes?, contrast, logo budget, minimum print size per distance."""
    return ctr.qr.check(who, body)


@router.post("/qr/check-image", response_model=QaOut, tags=["qr"])
async def check_image(
    who: Auth,
    ctr: Ctr,
    file: Annotated[UploadFile, File(description="A PNG (or JPEG) of a QR code.")],
    expected: Annotated[str, Form(min_length=1, max_length=4000, description="Text it should decode to.")],
    scan_distance_m: Annotated[float | None, Form(gt=0, le=100)] = None,
) -> dict[str, Any]:
    """Print QA of any image: decode, contrast, minimum print size for a scanning distance."""
    data = await file.read(8 * 1024 * 1024 + 1)
    if len(data) > 8 * 1024 * 1024:
        raise TooLarge("is larger than 8 MB", field="file")
    return await run_in_threadpool(ctr.qr.check_png, data, expected, scan_distance_m)


# -- templates -------------------------------------------------------------------------------------
@router.get("/qr/templates", response_model=ListOut[TemplateOut], tags=["qr templates"])
def list_templates(who: Auth, ctr: Ctr, page: Paging) -> ListOut[TemplateOut]:
    """The workspace's brand templates (search `q` over names)."""
    result = ctr.qr.templates.list(who, page)
    return ListOut[TemplateOut](items=[TemplateOut.of(t) for t in result.items], next=result.next)


@router.post("/qr/templates", status_code=201, response_model=TemplateOut, tags=["qr templates"])
def create_template(body: TemplateCreate, who: Auth, ctr: Ctr, response: Response) -> TemplateOut:
    """Create a template; its design is validated and QA-checked (refused if it does not decode)."""
    template = ctr.qr.templates.create(who, body)
    response.headers["Location"] = f"/api/v1/qr/templates/{template.id}"
    return TemplateOut.of(template)


@router.get("/qr/templates/{ident}", response_model=TemplateOut, tags=["qr templates"])
def get_template(ident: Ident, who: Auth, ctr: Ctr) -> TemplateOut:
    """One template."""
    return TemplateOut.of(ctr.qr.templates.get(who, ident))


@router.patch("/qr/templates/{ident}", response_model=TemplateOut, tags=["qr templates"])
def update_template(ident: Ident, body: TemplatePatch, who: Auth, ctr: Ctr) -> TemplateOut:
    """Rename or redesign; every code using the template is re-validated and re-checked."""
    return TemplateOut.of(ctr.qr.templates.update(who, ident, body))


@router.delete("/qr/templates/{ident}", status_code=204, tags=["qr templates"])
def delete_template(ident: Ident, who: Auth, ctr: Ctr) -> Response:
    """Delete a template that no code uses (409 otherwise)."""
    ctr.qr.templates.delete(who, ident)
    return Response(status_code=204)


@router.post("/qr/templates/{ident}/apply", response_model=ApplyOut, tags=["qr templates"])
def apply_template(ident: Ident, body: TemplateApply, who: Auth, ctr: Ctr) -> dict[str, Any]:
    """Put the template on many codes (by slugs or campaign) in one transaction, with QA each."""
    return ctr.qr.templates.apply(who, ident, body)


# -- logos -----------------------------------------------------------------------------------------
@router.post("/logos", status_code=201, response_model=LogoOut, tags=["qr logos"])
async def upload_logo(
    who: Auth,
    ctr: Ctr,
    response: Response,
    file: Annotated[UploadFile, File(description="PNG or SVG, at most 512 KB.")],
    name: Annotated[str | None, Form(max_length=100)] = None,
) -> LogoOut:
    """Upload a logo once per workspace; designs refer to it as `{"logo": {"ref": "<id>"}}`.
    The same file again answers 200 with the stored logo."""
    data = await file.read(MAX_LOGO_BYTES + 1)
    if len(data) > MAX_LOGO_BYTES:
        raise TooLarge(f"is larger than {MAX_LOGO_BYTES // 1024} KB", field="file")
    record, created = await run_in_threadpool(
        lambda: ctr.qr.logos.upload(who, data, name=name or file.filename, content_type=file.content_type)
    )
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/api/v1/logos/{record.id}"
    return LogoOut.of(record)


@router.get("/logos", response_model=ListOut[LogoOut], tags=["qr logos"])
def list_logos(who: Auth, ctr: Ctr, page: Paging) -> ListOut[LogoOut]:
    """The workspace's logos (metadata)."""
    result = ctr.qr.logos.list(who, page)
    return ListOut[LogoOut](items=[LogoOut.of(r) for r in result.items], next=result.next)


@router.get("/logos/{ident}", response_model=LogoOut, tags=["qr logos"])
def get_logo(ident: Ident, who: Auth, ctr: Ctr) -> LogoOut:
    """One logo's metadata."""
    return LogoOut.of(ctr.qr.logos.get(who, ident))


@router.get(
    "/logos/{ident}/content",
    tags=["qr logos"],
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}},
)
def logo_content(ident: Ident, who: Auth, ctr: Ctr) -> Response:
    """The logo file (SVGs are served with a script-blocking Content-Security-Policy)."""
    data, mime = ctr.qr.logos.content(who, ident)
    headers = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox"}
    headers["X-Content-Type-Options"] = "nosniff"
    return Response(content=data, media_type=mime, headers=headers)


@router.delete("/logos/{ident}", status_code=204, tags=["qr logos"])
def delete_logo(ident: Ident, who: Auth, ctr: Ctr) -> Response:
    """Delete a logo no design uses (409 otherwise)."""
    ctr.qr.logos.delete(who, ident)
    return Response(status_code=204)
