"""Response shapes of the QR studio endpoints (what the OpenAPI document publishes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from scanroute.storage.qr import JobRecord, LogoRecord, Template


class PrintSize(BaseModel):
    """The smallest printed width for one scanning distance."""

    scan_distance_m: float
    min_print_width_mm: float


class QaOut(BaseModel):
    """A print-QA report. ``ok`` = decodes to the expected text and no problem was found."""

    model_config = ConfigDict(extra="allow")

    ok: bool
    decodes: bool
    decoded_text: str | None
    matches: bool
    version: int | None
    modules: int | None
    ecc: str | None
    image_px: int
    module_size_px: float | None
    print_width_mm: float | None
    module_size_mm: float | None
    scan_distance_m: float | None
    min_print_width_mm: float | None
    rule: str
    contrast_ratio: float
    logo_coverage: float
    logo_budget: float | None
    inverted: bool
    captures_decoded: int | None
    problems: list[str]
    warnings: list[str]
    scope: str
    print_sizes: list[PrintSize] = []


class TemplateOut(BaseModel):
    """A brand template."""

    id: int
    name: str
    design: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, t: Template) -> TemplateOut:
        """From the stored template."""
        return cls(id=t.id, name=t.name, design=t.design, created_at=t.created_at, updated_at=t.updated_at)


class ApplyOut(BaseModel):
    """Which codes got a template."""

    template_id: int
    applied: int
    slugs: list[str]


class LogoOut(BaseModel):
    """A stored logo; refer to it in designs as ``{"logo": {"ref": "<id>"}}``."""

    id: int
    name: str
    mime: str
    sha256: str
    size: int
    ref: dict[str, str]
    content_url: str
    created_at: datetime

    @classmethod
    def of(cls, r: LogoRecord) -> LogoOut:
        """From the stored record."""
        return cls(
            id=r.id,
            name=r.name,
            mime=r.mime,
            sha256=r.sha256,
            size=r.size,
            ref={"ref": str(r.id)},
            content_url=f"/api/v1/logos/{r.id}/content",
            created_at=r.created_at,
        )


class JobOut(BaseModel):
    """A background job: poll until ``status`` is ``succeeded`` or ``failed``."""

    id: int
    kind: str
    status: str
    progress: int
    total: int
    result: dict[str, Any] | None
    error: str | None
    downloads: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, j: JobRecord) -> JobOut:
        """From the stored record."""
        files = (j.result or {}).get("files") or {} if j.status == "succeeded" else {}
        return cls(
            id=j.id,
            kind=j.kind,
            status=j.status,
            progress=j.progress,
            total=j.total,
            result=j.result,
            error=j.error,
            downloads={name: f"/api/v1/jobs/{j.id}/download?file={name}" for name in files},
            created_at=j.created_at,
            updated_at=j.updated_at,
        )
