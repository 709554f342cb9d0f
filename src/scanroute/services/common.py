"""Pieces every service uses: the clock, role checks, shared input types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from scanroute.attribution.money import minor_unit
from scanroute.domain.errors import Forbidden, Invalid
from scanroute.domain.ids import MAX_ROW_ID
from scanroute.domain.workspace import Principal, Role

RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
"""A row id in a request body: out-of-range numbers are a 422 naming the field, never a query."""
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | RowId
"""A reference by name or by id (campaign, placement, template)."""


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def require(principal: Principal, role: Role, action: str) -> None:
    """Raise ``Forbidden`` unless the caller's role is at least ``role``."""
    if not principal.can(role):
        raise Forbidden(f"{action} needs the {role.value} role or higher; this key is {principal.role.value}")


def check_timezone(name: str) -> str:
    """An IANA time zone name, or ``Invalid``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("is not an IANA time zone name (e.g. Europe/Paris)") from exc
    return name


def check_currency(code: str) -> str:
    """An active ISO 4217 currency code with a minor unit, upper-cased (amounts are held in
    minor units, so a code without one, or an unknown one, could never be reported)."""
    code = code.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise ValueError("must be a three-letter ISO 4217 currency code")
    try:
        minor_unit(code)
    except ValueError:
        raise ValueError(f"{code} is not an active ISO 4217 currency code with a minor unit") from None
    return code


TimeZone = Annotated[str, AfterValidator(check_timezone)]
Currency = Annotated[str, AfterValidator(check_currency)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class Input(BaseModel):
    """Base for request bodies: unknown fields are refused so typos are caught."""

    model_config = ConfigDict(extra="forbid", str_max_length=4096)


def invalid(field: str, reason: str) -> Invalid:
    """Shorthand for an ``Invalid`` error naming a field."""
    return Invalid(reason, field=field)
