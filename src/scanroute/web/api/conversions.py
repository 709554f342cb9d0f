"""REST endpoints for conversions, identity links, journeys, attribution results, exchange rates
and the pixel secret (thin: parse, call ``services.conversions``/``attribution``/``fx``, shape).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, File, Form, Header, Path, Query, Response, UploadFile
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from scanroute.attribution.models import Model
from scanroute.attribution.pos import MAX_BYTES
from scanroute.domain.errors import Invalid
from scanroute.services.conversion_import import ImportOptions
from scanroute.services.fx import RateIn
from scanroute.services.intake_rules import ConversionIn, IdentifyIn
from scanroute.storage.conversions import ConversionFilter
from scanroute.web.api.conversion_views import (
    BatchOut,
    ConversionOut,
    CreditRowOut,
    CreditsOut,
    IdentifyOut,
    ImportOut,
    ItemOut,
    JourneyOut,
    PixelOut,
    RateOut,
    RecordedOut,
)
from scanroute.web.api.deps import Auth, Ctr, Ident, OptionalId
from scanroute.web.api.views import ListOut

router = APIRouter()
MAX_BATCH = 1_000
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=500, description="`next` of the previous page.")]
Since = Annotated[datetime | None, Query(alias="from", description="From this time (ISO 8601, included).")]
Until = Annotated[datetime | None, Query(alias="to", description="Until this time (ISO 8601, excluded).")]
CurrencyPath = Annotated[str, Path(min_length=3, max_length=3, description="ISO 4217 code.")]
IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", max_length=255, description="Replays with this key return the first result."
    ),
]


class BatchIn(BaseModel):
    """Body of ``POST /api/v1/conversions/batch``: up to 1 000 conversions (each as for POST)."""

    items: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


def _currency(ctr: Ctr, who: Auth) -> str:
    return ctr.workspaces.current(who).currency


def _aware(moment: datetime | None, name: str) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise Invalid("must include a time zone offset (e.g. 2026-05-01T00:00:00Z)", field=name)
    return moment


@router.post("/conversions", status_code=201, response_model=RecordedOut, tags=["conversions"])
def record_conversion(
    body: ConversionIn, who: Auth, ctr: Ctr, response: Response, key: IdempotencyHeader = None
) -> RecordedOut:
    """Record a conversion: `201` when stored, `200` with the first result on a replay (same
    `Idempotency-Key` header, `idempotency_key` or `order_id`), `409` when that key was used with
    a different body, `422` when the scan id is unknown or another workspace's (unless
    `"unattributed": true`)."""
    outcome = ctr.conversions.record(who, body, header_key=key)
    response.status_code = outcome.status
    response.headers["Location"] = f"/api/v1/conversions/{outcome.conversion.id}"
    detail = ctr.attribution.get(who, outcome.conversion.id)
    return RecordedOut.outcome(outcome, _currency(ctr, who), detail.credits)


@router.post("/conversions/batch", response_model=BatchOut, tags=["conversions"])
def record_batch(body: BatchIn, who: Auth, ctr: Ctr) -> BatchOut:
    """Record up to 1 000 conversions; each item succeeds or fails on its own (per-item status)."""
    results = ctr.conversions.record_many(who, body.items)
    currency = _currency(ctr, who)
    return BatchOut(results=[ItemOut.of(r, currency) for r in results])


@router.post("/conversions/import", response_model=ImportOut, tags=["conversions"])
async def import_conversions(
    who: Auth,
    ctr: Ctr,
    file: Annotated[UploadFile, File(description="The POS export (CSV, UTF-8).")],
    mapping: Annotated[str, Form(max_length=4000, description='JSON: {"order_id": "Order", …}.')],
    currency: Annotated[str | None, Form(max_length=3)] = None,
    type: Annotated[str, Form(max_length=40)] = "purchase",
    dry_run: Annotated[bool, Form()] = False,
    skip_invalid: Annotated[bool, Form()] = False,
) -> ImportOut:
    """Import a POS CSV with a column mapping; a per-row report (matched, unmatched, duplicate,
    invalid). All-or-nothing unless `skip_invalid`; a malformed file imports nothing."""
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Invalid(f"is larger than {MAX_BYTES // (1024 * 1024)} MB", field="file")
    try:
        parsed = orjson.loads(mapping)
    except orjson.JSONDecodeError:
        raise Invalid('must be a JSON object like {"order_id": "Order"}', field="mapping") from None
    try:
        options = ImportOptions.model_validate(
            {
                "mapping": parsed,
                "currency": currency,
                "type": type,
                "dry_run": dry_run,
                "skip_invalid": skip_invalid,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(str(first["msg"]), field=".".join(str(p) for p in first["loc"])) from None
    report = await run_in_threadpool(ctr.conversion_import.run, who, data, options)
    return ImportOut.of(report)


@router.get("/conversions", response_model=ListOut[ConversionOut], tags=["conversions"])
def list_conversions(
    who: Auth,
    ctr: Ctr,
    limit: Limit = 50,
    cursor: Cursor = None,
    type: Annotated[str | None, Query(max_length=40)] = None,
    since: Since = None,
    until: Until = None,
    external_id: Annotated[str | None, Query(max_length=200)] = None,
    campaign_id: OptionalId = None,
    code: Annotated[str | None, Query(max_length=64, description="Code slug.")] = None,
    source: Annotated[str | None, Query(max_length=12, description="api, pixel or pos.")] = None,
) -> ListOut[ConversionOut]:
    """Conversions, newest first, with filters and cursor paging."""
    where = ConversionFilter(
        type=type.lower() if type else None,
        since=_aware(since, "from"),
        until=_aware(until, "to"),
        external_id=external_id,
        campaign_id=campaign_id,
        source=source,
    )
    page = ctr.attribution.list(who, where, code=code, limit=limit, cursor=cursor)
    currency = _currency(ctr, who)
    return ListOut[ConversionOut](items=[ConversionOut.of(c, currency) for c in page.items], next=page.next)


@router.get("/conversions/{ident}", response_model=ConversionOut, tags=["conversions"])
def get_conversion(ident: Ident, who: Auth, ctr: Ctr) -> ConversionOut:
    """One conversion with its credit rows under every model."""
    return ConversionOut.detail(ctr.attribution.get(who, ident), _currency(ctr, who))


@router.post("/identify", response_model=IdentifyOut, tags=["conversions"])
def identify(body: IdentifyIn, who: Auth, ctr: Ctr, response: Response) -> IdentifyOut:
    """Link a scan (and the visitor hash behind it) to a customer id; `201` when new, `200` when it
    already was; the customer's affected conversions are re-attributed."""
    outcome = ctr.conversions.identify(who, body)
    response.status_code = 201 if outcome.created else 200
    return IdentifyOut.of(outcome)


@router.get("/customers/{external_id}/journey", response_model=JourneyOut, tags=["conversions"])
def journey(
    external_id: Annotated[str, Path(min_length=1, max_length=200)],
    who: Auth,
    ctr: Ctr,
    at: Annotated[datetime | None, Query(description="End of the window (default now).")] = None,
) -> JourneyOut:
    """A customer's scans across codes and campaigns inside the lookback window, in time order."""
    found = ctr.attribution.journey(who, external_id, _aware(at, "at"))
    return JourneyOut.of(found, _currency(ctr, who))


@router.get("/attribution/credits", response_model=CreditsOut, tags=["conversions"])
def credits(
    who: Auth,
    ctr: Ctr,
    model: Annotated[Model | None, Query(description="Default: the workspace's model.")] = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> CreditsOut:
    """Credit rows of one model (one per conversion and touch), newest conversion first."""
    chosen, page = ctr.attribution.credits(
        who, model, _aware(since, "from"), _aware(until, "to"), limit=limit, cursor=cursor
    )
    currency = _currency(ctr, who)
    items = [CreditRowOut.row(c, currency) for c in page.items]
    return CreditsOut(model=chosen, reporting_currency=currency, items=items, next=page.next)


@router.post("/attribution/recompute", tags=["conversions"])
def recompute(who: Auth, ctr: Ctr) -> dict[str, int]:
    """Recompute every conversion's credits (admin)."""
    return {"conversions": ctr.attribution.reattribute(who)}


@router.get("/fx-rates", response_model=ListOut[RateOut], tags=["conversions"])
def list_rates(who: Auth, ctr: Ctr) -> ListOut[RateOut]:
    """The workspace's exchange rates into its reporting currency."""
    return ListOut[RateOut](items=[RateOut.of(r) for r in ctr.fx.list(who)], next=None)


@router.get("/fx-rates/{currency}", response_model=RateOut, tags=["conversions"])
def get_rate(currency: CurrencyPath, who: Auth, ctr: Ctr) -> RateOut:
    """One exchange rate."""
    return RateOut.of(ctr.fx.get(who, currency))


@router.put("/fx-rates/{currency}", response_model=RateOut, tags=["conversions"])
def set_rate(currency: CurrencyPath, body: RateIn, who: Auth, ctr: Ctr) -> RateOut:
    """Set the rate of a currency (admin): units of the reporting currency per one unit of it."""
    return RateOut.of(ctr.fx.set(who, currency, body))


@router.delete("/fx-rates/{currency}", status_code=204, tags=["conversions"])
def delete_rate(currency: CurrencyPath, who: Auth, ctr: Ctr) -> Response:
    """Remove a rate (admin)."""
    ctr.fx.delete(who, currency)
    return Response(status_code=204)


@router.get("/pixel", response_model=PixelOut, tags=["conversions"])
def pixel(who: Auth, ctr: Ctr) -> PixelOut:
    """The pixel secret and a signed example URL (admin)."""
    return PixelOut.of(ctr.attribution.pixel(who))


@router.post("/pixel/rotate", response_model=PixelOut, tags=["conversions"])
def rotate_pixel(who: Auth, ctr: Ctr) -> PixelOut:
    """Replace the pixel secret (admin): URLs signed with the old one stop working."""
    return PixelOut.of(ctr.attribution.pixel(who, rotate=True))
