"""Request bodies of conversion intake and their validation into a ``Prepared`` conversion.

``ConversionIn`` is the body of ``POST /api/v1/conversions`` (DESIGN §3, extended);
``prepare`` turns it into what the store needs -- value in integer minor units of an active ISO
4217 currency, UTC time, idempotency key and request fingerprint -- raising ``Invalid`` that
names the field. Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationError, field_validator

from scanroute.attribution.coupons import normalise_coupon
from scanroute.attribution.intake import (
    CONVERSION_TYPE,
    MAX_VALUE,
    SCAN_ID,
    check_metadata,
    check_occurred_at,
    idempotency_key,
    request_hash,
)
from scanroute.attribution.money import to_minor
from scanroute.domain.errors import Invalid
from scanroute.services.common import Input
from scanroute.services.fx import check_iso_currency
from scanroute.storage.attribution import AttributionSettings

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ScanIdText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ConversionIn(Input):
    """Body of ``POST /api/v1/conversions``: one conversion."""

    scan_id: ScanIdText | None = Field(
        None,
        description="The `sr_sid` the landing page got; needed unless coupon_code or external_id says who.",
    )
    type: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=40)] = Field(
        description="purchase, lead, signup, redemption, or a custom name (a-z, 0-9, _; up to 40)."
    )
    value: Annotated[Decimal, Field(ge=0, le=MAX_VALUE, allow_inf_nan=False)] | None = Field(
        None, description="Amount in major units of `currency` (12.34), at most 10^9."
    )
    currency: Annotated[str, StringConstraints(strip_whitespace=True, max_length=8)] | None = Field(
        None, description="ISO 4217 code; default the workspace's reporting currency."
    )
    external_id: Text200 | None = Field(None, description="The customer's id in your systems.")
    order_id: Text200 | None = Field(None, description="Order id: also an idempotency key.")
    coupon_code: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="A one-time coupon issued to a scan (code option issue_coupon)."
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Up to 20 scalar values, 2 KB as JSON."
    )
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    occurred_at: datetime | None = Field(
        None, description="When it happened (ISO 8601 with offset); default now."
    )
    unattributed: bool = Field(
        False,
        description="Store the conversion even when its scan or coupon is unknown or another workspace's.",
    )

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if not CONVERSION_TYPE.match(value):
            raise ValueError("must be purchase, lead, signup, redemption or a custom name of a-z, 0-9 and _")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_metadata(value)

    @classmethod
    def parse_item(cls, raw: Any) -> ConversionIn:
        """Validate one item of a batch; errors become ``Invalid`` naming the field."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "item"
            reason = "is not a known field" if first["type"] == "extra_forbidden" else first["msg"]
            raise Invalid(reason.removeprefix("Value error, "), field=loc) from None


class IdentifyIn(Input):
    """Body of ``POST /api/v1/identify``."""

    scan_id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=SCAN_ID.pattern)] = Field(
        description="A scan id (`sr_sid`) of this workspace."
    )
    external_id: Text200 = Field(description="The customer's id in your systems.")


@dataclass(frozen=True, slots=True)
class Prepared:
    """A validated conversion, ready to store."""

    type: str
    scan_id: str | None
    coupon_code: str | None
    value_minor: int | None
    currency: str | None
    external_id: str | None
    order_id: str | None
    metadata: dict[str, Any]
    occurred_at: datetime
    key: str | None
    hash: str
    source: str
    unattributed: bool


def prepare(
    data: ConversionIn,
    settings: AttributionSettings,
    *,
    now: datetime,
    source: str,
    header_key: str | None = None,
) -> Prepared:
    """Validate ``data`` against the workspace; ``Invalid`` names the field."""
    if (
        data.scan_id is None
        and data.coupon_code is None
        and data.external_id is None
        and not data.unattributed
    ):
        raise Invalid(
            "is required unless coupon_code or external_id identifies the customer, or unattributed is true",
            field="scan_id",
        )
    if data.scan_id is not None and not SCAN_ID.match(data.scan_id) and not data.unattributed:
        raise Invalid("is not a scan id issued by this server (24 characters 0-9, a-v)", field="scan_id")
    scan_id = data.scan_id if data.scan_id is not None and SCAN_ID.match(data.scan_id) else None
    coupon = None
    if data.coupon_code is not None:
        coupon = normalise_coupon(data.coupon_code)
        if coupon is None and not data.unattributed:
            raise Invalid("is not a coupon code issued by this server", field="coupon_code")
    value_minor = currency = None
    if data.currency is not None and data.value is None:
        raise Invalid("needs a value", field="currency")
    if data.value is not None:
        currency = check_iso_currency(data.currency or settings.currency)
        try:
            value_minor = to_minor(data.value, currency)
        except ValueError as exc:
            raise Invalid(str(exc), field="value") from exc
    try:
        occurred_at = check_occurred_at(data.occurred_at or now, now)
    except ValueError as exc:
        raise Invalid(str(exc), field="occurred_at") from exc
    try:
        key = idempotency_key(header_key, data.idempotency_key, data.order_id)
    except ValueError as exc:
        raise Invalid(str(exc), field="idempotency_key") from exc
    fingerprint = request_hash(
        {
            "type": data.type,
            "scan_id": data.scan_id,
            "coupon_code": coupon or data.coupon_code,
            "value_minor": value_minor,
            "currency": currency,
            "external_id": data.external_id,
            "order_id": data.order_id,
            "metadata": data.metadata,
            "occurred_at": data.occurred_at.astimezone(occurred_at.tzinfo) if data.occurred_at else None,
            "unattributed": data.unattributed,
        }
    )
    return Prepared(
        type=data.type,
        scan_id=scan_id,
        coupon_code=coupon if coupon is not None else (data.coupon_code or None),
        value_minor=value_minor,
        currency=currency,
        external_id=data.external_id,
        order_id=data.order_id,
        metadata=data.metadata,
        occurred_at=occurred_at,
        key=key,
        hash=fingerprint,
        source=source,
        unattributed=data.unattributed,
    )
