"""QR studio use cases: what a code's image encodes and looks like, cached rendering, previews, QA.

* **Content.** A dynamic code encodes ``SCANROUTE_BASE_URL/{slug}`` (``Container.short_url``),
  never its destination, so changing the destination never changes the image. A static code
  encodes its payload.
* **Design.** The code's template design, updated with the code's own ``design`` (its keys win),
  then per-request overrides; a layer that sets ``size_px`` or ``size_mm`` drops the other one from
  the layers below. Logos are referenced as ``{"ref": "<logo id>"}``; an inline logo
  (``{"mime", "data"}``) in a saved design is stored once as a workspace logo and replaced by its
  reference (see :meth:`QrService.store_design`).
* **Caching.** One process-wide :class:`RenderCache` keyed by (content, normalised design);
  parsed designs and logo bytes are cached as well, so a repeated request costs a code lookup.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import orjson
from pydantic import Field
from sqlalchemy import Connection

from scanroute.domain.code import Code, CodeKind
from scanroute.domain.errors import Invalid, NotFound
from scanroute.domain.ids import row_id
from scanroute.domain.workspace import Principal
from scanroute.qr import FORMATS, MIME_TYPES, DesignError, Format, QrDesign, RenderCache, RenderError
from scanroute.qr.logo import LogoLoader
from scanroute.services.common import Input, Ref
from scanroute.services.qr_payload import PayloadType, static_payload
from scanroute.services.qr_qa import DEFAULT_DISTANCE_M, QaRun, stored_report
from scanroute.storage.catalog import code_by_slug
from scanroute.storage.db import Database
from scanroute.storage.qr import Template, logo_data, template_table

__all__ = ["CheckRequest", "DesignRequest", "Image", "PreviewRequest", "QrService", "merge_designs"]

K = TypeVar("K")
V = TypeVar("V")
_SIZE_KEYS = ("size_px", "size_mm")


class _Lru(Generic[K, V]):
    """A small thread-safe LRU mapping."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def merge_designs(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Later layers win; a layer that sets ``size_px`` or ``size_mm`` drops the other one."""
    out: dict[str, Any] = {}
    for layer in layers:
        if not layer:
            continue
        for key in _SIZE_KEYS:
            if layer.get(key) is not None:
                for other in _SIZE_KEYS:
                    out.pop(other, None)
        out.update(layer)
    return out


def design_invalid(exc: DesignError, prefix: str = "design") -> Invalid:
    """A design error as an ``Invalid`` naming ``design.<field>``."""
    return Invalid(exc.reason, field=f"{prefix}.{exc.field}" if prefix else exc.field)


@dataclass(frozen=True)
class Image:
    """A resolved image: what it encodes, how it looks; ``etag`` is known before rendering."""

    content: str
    design: QrDesign
    fmt: Format
    filename: str
    cache: RenderCache

    @property
    def key(self) -> str:
        """The render-cache key (content + normalised design)."""
        return self.design.cache_key(self.content)

    @property
    def etag(self) -> str:
        """A strong entity tag of the image bytes."""
        return f'"{self.key[:40]}.{self.fmt}"'

    @property
    def mime(self) -> str:
        """The media type of the format."""
        return MIME_TYPES[self.fmt]

    def data(self) -> bytes:
        """The image bytes (from the render cache when possible)."""
        return self.cache.get(self.key, self.fmt) or self.render()

    def render(self) -> bytes:
        """Render (a cache miss) and keep the bytes in the cache."""
        from scanroute.qr import render

        try:
            data = render(self.content, self.design, self.fmt)
        except RenderError as exc:
            raise Invalid(str(exc), field="content") from exc
        self.cache.put(self.key, self.fmt, data)
        return data


class DesignRequest(Input):
    """What to encode and how it looks, without saving anything.

    Content: ``slug`` (a saved code: its content and design are the base), or ``data`` (raw
    text), or ``payload_type`` + ``payload`` (a static payload). ``template`` and ``design`` are
    applied on top.
    """

    slug: str | None = Field(None, max_length=64)
    data: str | None = Field(None, min_length=1, max_length=4000, description="Raw text to encode.")
    payload_type: PayloadType | None = None
    payload: str | dict[str, Any] | None = Field(None, description="Static payload fields (see docs/qr.md).")
    template: Ref | None = Field(None, description="Brand template name or id.")
    design: dict[str, Any] | None = Field(None, description="Design options (see docs/qr.md).")


class PreviewRequest(DesignRequest):
    """Body of ``POST /api/v1/qr/preview``; without any content a sample short URL is used."""

    format: Literal["svg", "png", "pdf", "eps"] = "svg"


class CheckRequest(DesignRequest):
    """Body of ``POST /api/v1/qr/check``."""

    print_width_mm: float | None = Field(None, gt=0, le=5000, description="Intended printed width.")
    scan_distance_m: float = Field(DEFAULT_DISTANCE_M, gt=0, le=100, description="Scanning distance.")


class QrService:
    """Rendering, previews and QA for one process; holds the process-wide render cache."""

    def __init__(
        self,
        db: Database,
        *,
        base_url: str,
        slug_length: int,
        data_dir: Path,
        cache: RenderCache | None = None,
    ) -> None:
        from scanroute.services.jobs import JobService
        from scanroute.services.logos import LogoService
        from scanroute.services.qr_codes import CodeStudio
        from scanroute.services.templates import TemplateService

        self.db = db
        self.base_url = base_url
        self.slug_length = slug_length
        self.cache = cache or RenderCache(max_entries=4096, max_bytes=256 * 1024 * 1024)
        self._designs: _Lru[tuple[int, bytes], QrDesign] = _Lru(1024)
        self._logos: _Lru[tuple[int, str], tuple[bytes, str]] = _Lru(256)
        self.logos = LogoService(db, self)
        self.templates = TemplateService(db, self)
        self.jobs = JobService(db, data_dir / "jobs")
        self.saving = CodeStudio(self)

    # -- content ----------------------------------------------------------------------------------
    def short_url(self, slug: str) -> str:
        """What a dynamic code's image encodes."""
        return f"{self.base_url}/{slug}"

    def sample_content(self) -> str:
        """A short URL as long as a random slug's, for previews without a code."""
        return self.short_url("x" * self.slug_length)

    def content_of(self, code: Code) -> str:
        """The text a code's image carries: its payload if static, else its short URL."""
        if code.kind is CodeKind.STATIC:
            return code.payload or ""
        return self.short_url(code.slug)

    # -- designs --------------------------------------------------------------------------------
    def loader(self, conn: Connection, workspace_id: int) -> LogoLoader:
        """Resolves ``{"ref": id}`` to the workspace's logo bytes (cached per process)."""

        def load(ref: str) -> tuple[bytes, str]:
            cached = self._logos.get((workspace_id, ref))
            if cached is not None:
                return cached
            ident = row_id(ref)
            if ident is None:
                raise LookupError(f"logo {ref!r} does not exist")
            found = logo_data(conn, workspace_id, ident)
            if found is None:
                raise LookupError(f"logo {ref} does not exist in this workspace")
            self._logos.put((workspace_id, ref), found)
            return found

        return load

    def forget_logo(self, workspace_id: int, ident: int) -> None:
        """Drop a deleted logo from the caches."""
        self._logos.pop((workspace_id, str(ident)))
        self._designs.clear()

    def build(
        self, conn: Connection, workspace_id: int, data: Mapping[str, Any], *, prefix: str = "design"
    ) -> QrDesign:
        """Validate a full design dict; errors name ``<prefix>.<field>``. Parsed designs are cached."""
        try:
            key = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            key = None
        cacheable = key is not None and len(key) < 4096
        if cacheable:
            assert key is not None
            found = self._designs.get((workspace_id, key))
            if found is not None:
                return found
        try:
            design = QrDesign.from_dict(_normalise_refs(data), logo_loader=self.loader(conn, workspace_id))
        except DesignError as exc:
            raise design_invalid(exc, prefix) from None
        except (TypeError, ValueError) as exc:
            raise Invalid(str(exc), field=prefix) from None
        if cacheable:
            assert key is not None
            self._designs.put((workspace_id, key), design)
        return design

    def template(self, conn: Connection, workspace_id: int, ref: str | int) -> Template:
        """A template by id or name, or ``Invalid`` naming ``template``."""
        if isinstance(ref, int) and not isinstance(ref, bool):
            try:
                return template_table.get(conn, workspace_id, ref)
            except NotFound:
                raise Invalid(f"template {ref} does not exist", field="template") from None
        found = template_table.find(conn, workspace_id, name=str(ref).strip())
        if found is None:
            raise Invalid(f"template '{ref}' does not exist", field="template")
        return found

    def layers(
        self, conn: Connection, workspace_id: int, template_id: int | None, own: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Template design updated with a code's own design."""
        base: dict[str, Any] = {}
        if template_id is not None:
            try:
                base = template_table.get(conn, workspace_id, template_id).design
            except NotFound:
                base = {}
        return merge_designs(base, own)

    def store_design(self, conn: Connection, workspace_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """The form of a design kept in the database: inline logos become workspace logos."""
        if not isinstance(data, Mapping):
            raise Invalid("must be an object", field="design")
        out = dict(data)
        logo = out.get("logo")
        if isinstance(logo, Mapping) and logo.get("data") is not None:
            try:
                record = self.logos.store_inline(conn, workspace_id, logo)
            except DesignError as exc:
                raise design_invalid(exc) from None
            out["logo"] = {"ref": str(record.id)}
        elif isinstance(logo, Mapping) and logo.get("ref") is not None:
            out["logo"] = {"ref": str(logo["ref"])}
        return out

    # -- use cases --------------------------------------------------------------------------------
    def code_image(
        self, principal: Principal, slug: str, fmt: Format, overrides: Mapping[str, Any] | None = None
    ) -> Image:
        """A code's image (any role may download it); ``overrides`` are per-request design options."""
        if fmt not in FORMATS:
            raise Invalid(f"must be one of {', '.join(FORMATS)}", field="format")
        with self.db.read() as conn:
            code = self.code(conn, principal.workspace_id, slug)
            layers = merge_designs(
                self.layers(conn, principal.workspace_id, code.template_id, code.design), overrides
            )
            try:
                design = self.build(conn, principal.workspace_id, layers)
            except Invalid as exc:  # name a query option by its own name
                name = (exc.field or "").removeprefix("design.")
                if overrides and name in overrides:
                    raise Invalid(exc.detail, field=name) from None
                raise
        return Image(self.content_of(code), design, fmt, f"{code.slug}.{fmt}", self.cache)

    def code(self, conn: Connection, workspace_id: int, slug: str) -> Code:
        """A code of the workspace by slug, or ``NotFound``."""
        code = code_by_slug(conn, slug)
        if code is None or code.workspace_id != workspace_id:
            raise NotFound(f"code '{slug}' does not exist")
        return code

    def resolve(
        self, principal: Principal, req: DesignRequest, *, need_content: bool
    ) -> tuple[str, QrDesign]:
        """Content and design of a preview or check request."""
        given = [n for n in ("slug", "data", "payload") if getattr(req, n) is not None]
        if len(given) > 1:
            raise Invalid(f"give only one of slug, data or payload (got {', '.join(given)})", field=given[1])
        ws = principal.workspace_id
        with self.db.read() as conn:
            base: dict[str, Any] = {}
            if req.slug is not None:
                code = self.code(conn, ws, req.slug)
                content = self.content_of(code)
                base = self.layers(conn, ws, code.template_id, code.design)
            elif req.data is not None:
                content = req.data
            elif req.payload is not None or req.payload_type is not None:
                content = static_payload(req.payload_type, req.payload)["payload"] or ""
            elif need_content:
                raise Invalid("give slug, data or payload_type + payload", field="data")
            else:
                content = self.sample_content()
            template = self.template(conn, ws, req.template).design if req.template is not None else None
            design = self.build(conn, ws, merge_designs(base, template, req.design))
        return content, design

    def preview(self, principal: Principal, req: PreviewRequest) -> Image:
        """Render a design without saving it."""
        content, design = self.resolve(principal, req, need_content=False)
        return Image(content, design, req.format, f"preview.{req.format}", self.cache)

    def check(self, principal: Principal, req: CheckRequest) -> dict[str, Any]:
        """The QA report of a design (and content) at a print width and scanning distance."""
        from scanroute.qr import check

        content, design = self.resolve(principal, req, need_content=True)
        try:
            report = check(
                content, design, print_width_mm=req.print_width_mm, scan_distance_m=req.scan_distance_m
            )
        except RenderError as exc:
            raise Invalid(str(exc), field="data") from exc
        return stored_report(report, design)

    def check_png(self, png: bytes, expected: str, scan_distance_m: float | None) -> dict[str, Any]:
        """QA of any uploaded image (decode, contrast, minimum print size)."""
        from PIL import UnidentifiedImageError

        from scanroute.qr import check_image

        try:
            report = check_image(png, expected, scan_distance_m=scan_distance_m)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise Invalid(f"is not an image Pillow can read ({exc})", field="file") from exc
        out = report.to_dict()
        out["scope"] = "image"
        return out

    def new_run(self, *, per_code: bool = True) -> QaRun:
        """A QA run for a batch of saves."""
        return QaRun(per_code=per_code)

    def close(self) -> None:
        """Stop background jobs (running ones are marked interrupted when next read)."""
        self.jobs.close()


def _normalise_refs(data: Mapping[str, Any]) -> Mapping[str, Any]:
    logo = data.get("logo")
    if isinstance(logo, Mapping) and isinstance(logo.get("ref"), int) and not isinstance(logo["ref"], bool):
        return {**data, "logo": {**logo, "ref": str(logo["ref"])}}
    return data
