"""Exchange rates a workspace maintains itself (no network FX), and conversion into its reporting
currency.

A rate is "units of the reporting currency per one unit of ``currency``" (reporting USD, EUR
1.08: 1 EUR = 1.08 USD). Conversion values are converted once, at intake, with the rate of that
moment, and stored in both currencies; changing a rate later does not rewrite history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field
from sqlalchemy import Connection

from scanroute.attribution.money import convert, minor_unit
from scanroute.domain.errors import Invalid, NotFound
from scanroute.domain.workspace import Principal, Role
from scanroute.services.common import Input, require, utcnow
from scanroute.storage import attribution as store
from scanroute.storage.db import Database


class RateIn(Input):
    """Body of ``PUT /api/v1/fx-rates/{currency}``."""

    rate: Annotated[
        Decimal,
        Field(gt=0, le=Decimal("1e12"), max_digits=24, decimal_places=12, allow_inf_nan=False),
    ] = Field(description="Units of the reporting currency per one unit of this currency.")


@dataclass(frozen=True, slots=True)
class Rate:
    """One exchange rate of a workspace."""

    currency: str
    rate: Decimal
    reporting_currency: str
    updated_at: datetime


def check_iso_currency(code: str, field: str = "currency") -> str:
    """An active ISO 4217 code with a minor unit (upper-cased), or ``Invalid`` naming ``field``."""
    normalised = code.strip().upper()
    try:
        minor_unit(normalised)
    except ValueError as exc:
        raise Invalid(str(exc).replace(f"{code!r}", f"'{code}'"), field=field) from exc
    return normalised


def to_reporting(
    conn: Connection, settings: store.AttributionSettings, value_minor: int, currency: str
) -> int:
    """``value_minor`` of ``currency`` in minor units of the workspace's reporting currency.

    Raises ``Invalid`` naming ``currency`` when the workspace has no rate for it.
    """
    if currency == settings.currency:
        return value_minor
    rate = store.rate(conn, settings.workspace_id, currency)
    if rate is None:
        raise Invalid(
            f"the workspace has no exchange rate from {currency} to its reporting currency "
            f"{settings.currency}; set one with PUT /api/v1/fx-rates/{currency} "
            f"or `scanroute conversions fx-set {currency} RATE`",
            field="currency",
        )
    return convert(value_minor, currency, settings.currency, rate)


class FxService:
    """Read and maintain a workspace's exchange-rate table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self, principal: Principal) -> list[Rate]:
        """Every rate of the caller's workspace."""
        with self.db.read() as conn:
            settings = store.settings_of(conn, principal.workspace_id)
            return [
                Rate(c, r, settings.currency, at) for c, r, at in store.rates(conn, principal.workspace_id)
            ]

    def get(self, principal: Principal, currency: str) -> Rate:
        """One rate, or ``NotFound``."""
        code = check_iso_currency(currency)
        with self.db.read() as conn:
            settings = store.settings_of(conn, principal.workspace_id)
            for c, r, at in store.rates(conn, principal.workspace_id):
                if c == code:
                    return Rate(c, r, settings.currency, at)
        raise NotFound(f"no exchange rate for {code}")

    def set(self, principal: Principal, currency: str, data: RateIn) -> Rate:
        """Insert or replace a rate (admin); the reporting currency itself has none."""
        require(principal, Role.ADMIN, "setting exchange rates")
        code = check_iso_currency(currency)
        now = utcnow()
        with self.db.write() as conn:
            settings = store.settings_of(conn, principal.workspace_id)
            if code == settings.currency:
                raise Invalid("is the workspace's reporting currency; its rate is always 1", field="currency")
            store.set_rate(conn, principal.workspace_id, code, data.rate, now)
        return Rate(code, store.plain(data.rate), settings.currency, now)

    def delete(self, principal: Principal, currency: str) -> None:
        """Remove a rate (admin)."""
        require(principal, Role.ADMIN, "setting exchange rates")
        code = check_iso_currency(currency)
        with self.db.write() as conn:
            if not store.delete_rate(conn, principal.workspace_id, code):
                raise NotFound(f"no exchange rate for {code}")
