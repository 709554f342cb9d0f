"""Exact money and credit arithmetic: proportional allocation and ISO 4217 minor units.

Owns the one way scanroute splits an integer amount (minor currency units, or attribution credit
in parts per million) so that the parts add up to the whole, and the conversions between
decimal amounts and integer minor units. Everything here is pure and exact: amounts are ``int``
minor units or ``Decimal``, never binary floats, and rounding happens only where a function says
so (half-even).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from fractions import Fraction
from types import MappingProxyType
from typing import Final

__all__ = [
    "ISO_4217_MINOR_UNITS",
    "ISO_4217_NO_MINOR_UNIT",
    "allocate",
    "convert",
    "from_minor",
    "minor_unit",
    "to_minor",
]

# ISO 4217 List One (active codes), as maintained up to amendment 180: XCG replaced ANG, ZWG
# replaced ZWL, SLE replaced SLL, XAD was added; CUC, HRK and BGN (Bulgaria adopted the euro on
# 2026-01-01) were withdrawn. Grouped by the standard's "minor unit" column. MGA and MRU are
# listed by the standard with 2 even though their subunits are fifths.
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_2 = """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
    CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK
    LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO
    NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS
    SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST
    XAD XCD XCG YER ZAR ZMW ZWG
"""
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_NOT_APPLICABLE = "XAG XAU XBA XBB XBC XBD XDR XPD XPT XSU XTS XUA XXX"

ISO_4217_MINOR_UNITS: Final[Mapping[str, int]] = MappingProxyType(
    {
        code: exponent
        for exponent, codes in (
            (0, _EXPONENT_0),
            (2, _EXPONENT_2),
            (3, _EXPONENT_3),
            (4, _EXPONENT_4),
        )
        for code in codes.split()
    }
)
"""Active ISO 4217 currency code -> number of decimal places of its minor unit (read-only)."""

ISO_4217_NO_MINOR_UNIT: Final[frozenset[str]] = frozenset(_NOT_APPLICABLE.split())
"""Active ISO 4217 codes whose minor unit the standard gives as "N.A." (metals, bond units, ...).

They are real codes but have no minor unit, so they cannot be held as integer minor units.
"""

# Amounts are refused beyond 10**30 major units (and rates beyond 10**±30): far past any real
# price, and it keeps exact arithmetic from being handed an exponent like 1e999999999.
_MAX_ADJUSTED_EXPONENT: Final = 30
_EXACT: Final = Context(prec=2 * _MAX_ADJUSTED_EXPONENT + 10, rounding=ROUND_HALF_EVEN)


def minor_unit(currency: str) -> int:
    """Return the minor-unit exponent of an active ISO 4217 code (``"USD"`` -> 2, ``"JPY"`` -> 0).

    The code is matched case-insensitively. Raises ``ValueError`` for a code that is not active
    in ISO 4217 or whose minor unit is "N.A." (such as ``XAU``).
    """
    code = str(currency).strip().upper()
    exponent = ISO_4217_MINOR_UNITS.get(code)
    if exponent is not None:
        return exponent
    if code in ISO_4217_NO_MINOR_UNIT:
        raise ValueError(f"currency {code} has no minor unit in ISO 4217")
    raise ValueError(f"unknown currency code {currency!r}: not an active ISO 4217 code")


def allocate(total: int, weights: Sequence[float | Fraction]) -> list[int]:
    """Split the integer ``total`` in proportion to ``weights``, losing and creating nothing.

    Largest-remainder method: every part first gets the floor of its exact share, then the units
    still missing go one each to the parts with the largest remainders; equal remainders go to the
    earlier position. The parts always sum to exactly ``total``, each is within one unit of its
    exact share, and a zero weight always gets zero. Shares are computed exactly (a float weight
    counts at its exact binary value). A negative ``total`` (a refund) is split as the mirror
    image of the positive one: ``allocate(-t, w) == [-p for p in allocate(t, w)]``.

    Raises ``ValueError`` when ``weights`` is empty, all zero, or holds a negative or non-finite
    weight, and ``TypeError`` when ``total`` is not an ``int``.
    """
    if isinstance(total, bool) or not isinstance(total, int):
        raise TypeError(f"total must be an int, not {type(total).__name__}")
    exact = [_weight(w) for w in weights]
    weight_sum = sum(exact, Fraction(0))
    if not exact:
        raise ValueError("allocate needs at least one weight")
    if weight_sum == 0:
        raise ValueError("allocate needs at least one non-zero weight")

    magnitude = abs(total)
    shares = [magnitude * w / weight_sum for w in exact]
    parts = [math.floor(share) for share in shares]
    missing = magnitude - sum(parts)
    by_remainder = sorted(range(len(parts)), key=lambda i: (parts[i] - shares[i], i))
    for i in by_remainder[:missing]:
        parts[i] += 1
    return parts if total >= 0 else [-part for part in parts]


def _weight(weight: float | Fraction) -> Fraction:
    if isinstance(weight, bool):
        raise ValueError("a weight must be a number, not a bool")
    try:
        exact = Fraction(weight)
    except (ValueError, OverflowError, TypeError) as exc:
        raise ValueError(f"weight {weight!r} is not a finite number") from exc
    if exact < 0:
        raise ValueError(f"weight {weight!r} is negative")
    return exact


def to_minor(amount: Decimal | str | float, currency: str, *, round_half_even: bool = False) -> int:
    """Turn a decimal amount in ``currency`` into integer minor units (``"12.34"`` USD -> 1234).

    ``amount`` is a ``Decimal``, a decimal string, an int, or a float (read by its shortest repr,
    so ``0.1`` means ``"0.1"``). Refused with ``ValueError``: unknown currencies, NaN and
    infinities, amounts past 10**30, and amounts with more decimals than the currency's minor
    unit allows (``"1.234"`` USD, ``"1.5"`` JPY) -- unless ``round_half_even=True`` is passed,
    which rounds to the nearest minor unit, ties to even. Trailing zeros are fine: ``"1.50"`` USD
    and ``"1500.00"`` JPY are exact.
    """
    exponent = minor_unit(currency)
    value = _decimal(amount)
    quantum = Decimal(f"1e-{exponent}")
    rounded = value.quantize(quantum, context=_EXACT)
    if rounded != value and not round_half_even:
        raise ValueError(
            f"{amount!r} has more decimals than {currency.strip().upper()} allows ({exponent}); "
            "pass round_half_even=True to round"
        )
    return int(rounded.scaleb(exponent, context=_EXACT))


def _decimal(amount: Decimal | str | float) -> Decimal:
    if isinstance(amount, bool):
        raise TypeError("an amount must be a number, not a bool")
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, str):
        try:
            value = Decimal(amount.strip())
        except InvalidOperation as exc:
            raise ValueError(f"{amount!r} is not a decimal amount") from exc
    elif isinstance(amount, int):
        value = Decimal(amount)
    elif isinstance(amount, float):
        value = Decimal(repr(amount)) if math.isfinite(amount) else Decimal("NaN")
    else:
        raise TypeError(f"an amount must be a Decimal, str or float, not {type(amount).__name__}")
    if not value.is_finite():
        raise ValueError(f"amount {amount!r} is not a finite number")
    if value and value.adjusted() >= _MAX_ADJUSTED_EXPONENT:
        raise ValueError(f"amount {amount!r} is too large")
    return value


def from_minor(units: int, currency: str) -> Decimal:
    """Turn integer minor units back into an exact ``Decimal`` amount (1234 USD -> ``12.34``).

    The result carries exactly the currency's decimals (``0`` USD -> ``Decimal("0.00")``).
    Raises ``ValueError`` for an unknown currency and ``TypeError`` when ``units`` is not an int.
    """
    exponent = minor_unit(currency)
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError(f"units must be an int, not {type(units).__name__}")
    return Decimal(f"{units}e-{exponent}")


def convert(units: int, from_currency: str, to_currency: str, rate: Decimal) -> int:
    """Convert minor units of ``from_currency`` into minor units of ``to_currency``.

    ``rate`` is the price of one major unit of ``from_currency`` in major units of
    ``to_currency`` (EUR->USD 1.08 means 1 EUR = 1.08 USD). The two currencies' exponents are
    taken into account (1000 JPY minor units at 0.0067 -> 670 USD cents) and the result is
    computed exactly, then rounded once, half-even, to a minor unit of ``to_currency``.
    Raises ``ValueError`` for unknown currencies and for a rate that is not a finite, positive
    ``Decimal`` within 10**+-30.
    """
    shift = minor_unit(to_currency) - minor_unit(from_currency)
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError(f"units must be an int, not {type(units).__name__}")
    if not isinstance(rate, Decimal):
        raise TypeError(f"rate must be a Decimal, not {type(rate).__name__}")
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"rate {rate} must be a finite, positive number")
    if abs(rate.adjusted()) > _MAX_ADJUSTED_EXPONENT:
        raise ValueError(f"rate {rate} is out of range")
    return round(units * Fraction(rate) * Fraction(10) ** shift)
