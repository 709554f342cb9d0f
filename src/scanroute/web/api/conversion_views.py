"""Response shapes of the conversion and attribution endpoints (published in the OpenAPI document).

Money goes out as decimal amounts of its currency (``value`` in ``currency``; ``value_reporting``
and credit values in the workspace's ``reporting_currency``); credit as integer parts per million
(``credit_ppm``, summing to exactly 1 000 000 per conversion and model) and a rounded ``share``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from scanroute.attribution.journeys import Journey
from scanroute.attribution.models import PPM, Model
from scanroute.attribution.money import from_minor
from scanroute.domain.errors import DomainError
from scanroute.services.attribution import ConversionDetail, PixelInfo
from scanroute.services.conversion_import import ImportReport
from scanroute.services.conversions import IdentifyOutcome, ItemResult, Outcome
from scanroute.services.fx import Rate
from scanroute.storage.attribution import CreditRecord
from scanroute.storage.conversions import ConversionRecord, ScanRef


class CreditOut(BaseModel):
    """One touch's share of a conversion under one model."""

    model: str
    scan_id: str
    credit_ppm: int = Field(description="Parts per million; a conversion's credits sum to 1 000 000.")
    share: float = Field(description="credit_ppm / 1 000 000 (rounded for display).")
    value: Decimal = Field(description="This touch's part of the value, in the reporting currency.")
    code_id: int | None
    campaign_id: int | None
    placement_id: int | None
    creative: str | None
    touch_at: datetime

    @classmethod
    def of(cls, c: CreditRecord, reporting_currency: str) -> CreditOut:
        """From a stored credit row."""
        return cls(
            model=c.model,
            scan_id=c.scan_id,
            credit_ppm=c.credit_ppm,
            share=round(c.credit_ppm / PPM, 6),
            value=from_minor(c.value_minor, reporting_currency),
            code_id=c.code_id,
            campaign_id=c.campaign_id,
            placement_id=c.placement_id,
            creative=c.creative,
            touch_at=c.touch_at,
        )


class ConversionOut(BaseModel):
    """A conversion; ``credits`` (per model) only where the endpoint says so."""

    id: int
    type: str
    value: Decimal | None
    currency: str | None
    value_reporting: Decimal | None
    reporting_currency: str
    scan_id: str | None
    external_id: str | None
    order_id: str | None
    coupon_code: str | None
    metadata: dict[str, Any]
    occurred_at: datetime
    created_at: datetime
    source: str
    code_id: int | None
    campaign_id: int | None
    placement_id: int | None
    creative: str | None
    credits: dict[str, list[CreditOut]] | None = Field(
        None, description="Credit rows by model (last, first, linear, time_decay, position)."
    )

    @classmethod
    def of(
        cls, c: ConversionRecord, reporting_currency: str, credits: list[CreditRecord] | None = None
    ) -> ConversionOut:
        """From a stored conversion (and its credit rows)."""
        by_model: dict[str, list[CreditOut]] | None = None
        if credits is not None:
            by_model = {m.value: [] for m in Model}
            for row in credits:
                by_model.setdefault(row.model, []).append(CreditOut.of(row, reporting_currency))
        return cls(
            id=c.id,
            type=c.type,
            value=None
            if c.value_minor is None or c.currency is None
            else from_minor(c.value_minor, c.currency),
            currency=c.currency,
            value_reporting=(
                None
                if c.value_reporting_minor is None
                else from_minor(c.value_reporting_minor, reporting_currency)
            ),
            reporting_currency=reporting_currency,
            scan_id=c.scan_id,
            external_id=c.external_id,
            order_id=c.order_id,
            coupon_code=c.coupon_code,
            metadata=c.metadata,
            occurred_at=c.occurred_at,
            created_at=c.created_at,
            source=c.source,
            code_id=c.code_id,
            campaign_id=c.campaign_id,
            placement_id=c.placement_id,
            creative=c.creative,
            credits=by_model,
        )

    @classmethod
    def detail(cls, d: ConversionDetail, reporting_currency: str) -> ConversionOut:
        """A conversion with its credits."""
        return cls.of(d.conversion, reporting_currency, d.credits)


class RecordedOut(ConversionOut):
    """The answer to a recorded conversion."""

    result: str = Field(description="created, replay (an earlier identical request) or duplicate_lead.")
    attributed: bool = Field(description="A scan was found for it (or is awaited: pending_scan).")
    pending_scan: bool = Field(description="Its scan is not stored yet; credits follow when it is.")

    @classmethod
    def outcome(cls, o: Outcome, reporting_currency: str, credits: list[CreditRecord]) -> RecordedOut:
        """From an intake outcome."""
        base = ConversionOut.of(o.conversion, reporting_currency, credits).model_dump()
        return cls(**base, result=o.note, attributed=o.attributed, pending_scan=o.pending)


class ItemProblem(BaseModel):
    """Why one batch item was refused (the fields of a problem+json document)."""

    status: int
    title: str
    detail: str
    errors: list[dict[str, str]] = Field(default_factory=list)

    @classmethod
    def of(cls, exc: DomainError) -> ItemProblem:
        """From a domain error."""
        errors = [{"field": exc.field, "reason": exc.detail}] if exc.field else []
        detail = f"{exc.field}: {exc.detail}" if exc.field else exc.detail
        return cls(status=exc.status, title=exc.title, detail=detail, errors=errors)


class ItemOut(BaseModel):
    """One item of a batch: ``status`` 201/200 with ``conversion``, or 4xx with ``problem``."""

    index: int
    status: int
    conversion: RecordedOut | None = None
    problem: ItemProblem | None = None

    @classmethod
    def of(cls, r: ItemResult, reporting_currency: str) -> ItemOut:
        """From a batch item result."""
        if r.outcome is not None:
            return cls(
                index=r.index,
                status=r.outcome.status,
                conversion=RecordedOut.outcome(r.outcome, reporting_currency, []),
            )
        assert r.error is not None
        return cls(index=r.index, status=r.error.status, problem=ItemProblem.of(r.error))


class BatchOut(BaseModel):
    """Per-item results of a batch, in the order of the request."""

    results: list[ItemOut]


class IdentifyOut(BaseModel):
    """A scan linked to a customer."""

    scan_id: str
    external_id: str
    created: bool = Field(description="False when the link already existed.")
    pending_scan: bool
    reattributed: list[int] = Field(description="Conversions whose credits were recomputed.")

    @classmethod
    def of(cls, o: IdentifyOutcome) -> IdentifyOut:
        """From the service outcome."""
        return cls(
            scan_id=o.scan_id,
            external_id=o.external_id,
            created=o.created,
            pending_scan=o.pending,
            reattributed=o.reattributed,
        )


class TouchOut(BaseModel):
    """One scan of a customer's journey."""

    scan_id: str
    at: datetime
    code_id: int | None
    campaign_id: int | None
    placement_id: int | None
    creative: str | None

    @classmethod
    def of(cls, s: ScanRef) -> TouchOut:
        """From a stored scan."""
        return cls(
            scan_id=s.id,
            at=s.ts,
            code_id=s.code_id,
            campaign_id=s.campaign_id,
            placement_id=s.placement_id,
            creative=s.creative,
        )


class JourneyOut(BaseModel):
    """A customer's scans inside the lookback window, oldest first, and their conversions."""

    external_id: str
    since: datetime
    until: datetime
    touches: list[TouchOut]
    conversions: list[ConversionOut]

    @classmethod
    def of(cls, j: Journey, reporting_currency: str) -> JourneyOut:
        """From a journey."""
        return cls(
            external_id=j.external_id,
            since=j.since,
            until=j.until,
            touches=[TouchOut.of(s) for s in j.scans],
            conversions=[ConversionOut.of(c, reporting_currency) for c in j.conversions],
        )


class CreditRowOut(CreditOut):
    """A credit row with its conversion."""

    conversion_id: int
    converted_at: datetime

    @classmethod
    def row(cls, c: CreditRecord, reporting_currency: str) -> CreditRowOut:
        """From a stored credit row."""
        return cls(
            **CreditOut.of(c, reporting_currency).model_dump(),
            conversion_id=c.conversion_id,
            converted_at=c.converted_at,
        )


class CreditsOut(BaseModel):
    """A page of one model's credit rows."""

    model: str
    reporting_currency: str
    items: list[CreditRowOut]
    next: str | None


class RateOut(BaseModel):
    """An exchange rate: ``rate`` units of ``reporting_currency`` per one ``currency``."""

    currency: str
    rate: Decimal
    reporting_currency: str
    updated_at: datetime

    @classmethod
    def of(cls, r: Rate) -> RateOut:
        """From the service's rate."""
        return cls(
            currency=r.currency, rate=r.rate, reporting_currency=r.reporting_currency, updated_at=r.updated_at
        )


class PixelOut(BaseModel):
    """The pixel secret (admins only) and a signed example."""

    workspace: str
    secret: str
    algorithm: str = "HMAC-SHA256 (hex) over the sorted query without sig, name=value joined by &"
    signed_text: str
    example_url: str

    @classmethod
    def of(cls, p: PixelInfo) -> PixelOut:
        """From the service's pixel info."""
        return cls(
            workspace=p.workspace, secret=p.secret, signed_text=p.signed_text, example_url=p.example_url
        )


class ImportRowOut(BaseModel):
    """One row of a POS file (``line`` counts the header as 1)."""

    line: int
    status: str = Field(description="matched, unmatched, duplicate or invalid.")
    reason: str | None
    order_id: str | None
    conversion_id: int | None
    scan_id: str | None


class ImportOut(BaseModel):
    """The report of a POS import."""

    imported: bool
    dry_run: bool
    policy: str
    message: str
    counts: dict[str, int]
    rows: list[ImportRowOut]

    @classmethod
    def of(cls, r: ImportReport) -> ImportOut:
        """From the service's report (conversion ids are left out when nothing was stored)."""
        rows = [
            ImportRowOut(
                line=x.line,
                status=x.status,
                reason=x.reason,
                order_id=x.order_id,
                conversion_id=x.conversion_id if (r.imported or x.status == "duplicate") else None,
                scan_id=x.scan_id,
            )
            for x in r.rows
        ]
        return cls(
            imported=r.imported,
            dry_run=r.dry_run,
            policy=r.policy,
            message=r.message,
            counts=r.counts,
            rows=rows,
        )
