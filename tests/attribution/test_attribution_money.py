"""Exact allocation and currency helpers: tables for the cases that matter, refusals."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from scanroute.attribution import (
    ISO_4217_MINOR_UNITS,
    ISO_4217_NO_MINOR_UNIT,
    allocate,
    convert,
    from_minor,
    minor_unit,
    to_minor,
)


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (2, [1, 1, 1], [1, 1, 0]),
        (-100, [1, 1, 1], [-34, -33, -33]),
        (-1, [1, 1, 1], [-1, 0, 0]),
        (0, [3, 1], [0, 0]),
        (7, [1], [7]),
        (10, [0, 1, 0], [0, 10, 0]),
        (100, [0.1, 0.2, 0.7], [10, 20, 70]),
        (1_000_000, [Fraction(2, 5), Fraction(1, 5), Fraction(2, 5)], [400_000, 200_000, 400_000]),
        # largest remainder beats position: 2/3 outranks 1/3 even though it comes second
        (1, [Fraction(1, 3), Fraction(2, 3)], [0, 1]),
        (5, [1, 2, 2], [1, 2, 2]),
        (10, [1, 1, 1, 1, 1, 1, 1], [2, 2, 2, 1, 1, 1, 1]),
    ],
)
def test_allocate_table(total: int, weights: list[float | Fraction], expected: list[int]) -> None:
    assert allocate(total, weights) == expected
    assert sum(expected) == total


@pytest.mark.parametrize(
    "weights",
    [[], [0, 0], [0.0], [1, -1], [float("nan"), 1], [float("inf"), 1], [True, 1]],
)
def test_allocate_refuses_weights_it_cannot_split_by(weights: list[float]) -> None:
    with pytest.raises(ValueError):
        allocate(100, weights)


def test_allocate_refuses_a_non_integer_total() -> None:
    with pytest.raises(TypeError):
        allocate(1.5, [1, 1])  # type: ignore[arg-type]


def test_currency_table_sanity() -> None:
    assert ISO_4217_MINOR_UNITS["USD"] == 2
    assert ISO_4217_MINOR_UNITS["EUR"] == 2
    assert ISO_4217_MINOR_UNITS["JPY"] == 0
    assert ISO_4217_MINOR_UNITS["KWD"] == 3
    assert ISO_4217_MINOR_UNITS["BHD"] == 3
    assert ISO_4217_MINOR_UNITS["CLF"] == 4
    assert ISO_4217_MINOR_UNITS["UYW"] == 4
    assert ISO_4217_MINOR_UNITS["KRW"] == 0
    assert ISO_4217_MINOR_UNITS["XCG"] == 2
    assert ISO_4217_MINOR_UNITS["ZWG"] == 2
    # withdrawn codes are gone
    for withdrawn in ("HRK", "ANG", "ZWL", "SLL", "CUC", "BGN", "VEF", "LTL"):
        assert withdrawn not in ISO_4217_MINOR_UNITS
    # List One: 178 active codes, 13 of them without a minor unit
    assert len(ISO_4217_MINOR_UNITS) + len(ISO_4217_NO_MINOR_UNIT) == 178
    assert not set(ISO_4217_MINOR_UNITS) & ISO_4217_NO_MINOR_UNIT
    assert set(ISO_4217_MINOR_UNITS.values()) == {0, 2, 3, 4}
    assert all(len(code) == 3 and code.isupper() for code in ISO_4217_MINOR_UNITS)


def test_currency_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        ISO_4217_MINOR_UNITS["ABC"] = 2  # type: ignore[index]


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("12.34", "USD", 1234),
        ("12.3", "USD", 1230),
        (Decimal("12.340"), "USD", 1234),
        ("0", "USD", 0),
        ("-5.01", "EUR", -501),
        ("1500", "JPY", 1500),
        ("1500.00", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("0.0001", "CLF", 1),
        (19.99, "USD", 1999),
        (0.1, "USD", 10),
        (3, "JPY", 3),
        ("12.34", "usd", 1234),
        (" 7.5 ", "EUR", 750),
    ],
)
def test_to_minor(amount: Decimal | str | float, currency: str, units: int) -> None:
    assert to_minor(amount, currency) == units


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("1.234", "USD"),
        ("1.5", "JPY"),
        ("0.0001", "KWD"),
        (0.125, "USD"),
        ("NaN", "USD"),
        ("sNaN", "USD"),
        (Decimal("Infinity"), "USD"),
        (float("-inf"), "USD"),
        (float("nan"), "USD"),
        ("12,34", "USD"),
        ("", "USD"),
        ("1e40", "USD"),
        ("1", "ZZZ"),
        ("1", "US"),
        ("1", "HRK"),
        ("1", "XAU"),
    ],
)
def test_to_minor_refusals(amount: Decimal | str | float, currency: str) -> None:
    with pytest.raises(ValueError):
        to_minor(amount, currency)


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        ("1.005", "USD", 100),
        ("1.015", "USD", 102),
        ("-1.005", "USD", -100),
        ("2.5", "JPY", 2),
        ("3.5", "JPY", 4),
        ("1.2345", "KWD", 1234),
        ("1e-999999999", "USD", 0),
    ],
)
def test_to_minor_rounds_half_even_only_when_asked(amount: str, currency: str, units: int) -> None:
    with pytest.raises(ValueError):
        to_minor(amount, currency)
    assert to_minor(amount, currency, round_half_even=True) == units


def test_minor_unit_explains_codes_without_minor_unit() -> None:
    with pytest.raises(ValueError, match="no minor unit"):
        minor_unit("XAU")
    with pytest.raises(ValueError, match="unknown currency"):
        minor_unit("ABC")


@pytest.mark.parametrize(
    ("units", "currency", "amount"),
    [
        (1234, "USD", "12.34"),
        (0, "USD", "0.00"),
        (-501, "EUR", "-5.01"),
        (1500, "JPY", "1500"),
        (1234, "KWD", "1.234"),
        (1, "CLF", "0.0001"),
        (10**40 + 1, "USD", "100000000000000000000000000000000000000.01"),
    ],
)
def test_from_minor(units: int, currency: str, amount: str) -> None:
    result = from_minor(units, currency)
    assert str(result) == amount
    if abs(units) < 10**30:
        assert to_minor(result, currency) == units


def test_from_minor_refuses_unknown_currency_and_non_int() -> None:
    with pytest.raises(ValueError):
        from_minor(1, "ZZZ")
    with pytest.raises(TypeError):
        from_minor(1.5, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("units", "source", "target", "rate", "expected"),
    [
        (10_000, "EUR", "USD", "1.08", 10_800),
        (1_000, "JPY", "USD", "0.0067", 670),  # ¥1000 -> $6.70
        (670, "USD", "JPY", "149.25", 1_000),  # $6.70 -> ¥999.975 -> ¥1000
        (1_000, "USD", "KWD", "0.3075", 3_075),  # $10 -> 3.075 KWD
        (3_075, "KWD", "USD", "3.2520", 1_000),  # 3.075 KWD -> $9.99990 -> $10.00
        (1, "USD", "EUR", "0.5", 0),  # 0.5 cent: half to even -> 0
        (3, "USD", "EUR", "0.5", 2),  # 1.5 cents: half to even -> 2
        (-3, "USD", "EUR", "0.5", -2),
        (12_345, "USD", "USD", "1", 12_345),
    ],
)
def test_convert(units: int, source: str, target: str, rate: str, expected: int) -> None:
    assert convert(units, source, target, Decimal(rate)) == expected


@pytest.mark.parametrize("rate", ["0", "-1.2", "NaN", "Infinity", "1e-40", "1e40"])
def test_convert_refuses_bad_rates(rate: str) -> None:
    with pytest.raises(ValueError):
        convert(100, "EUR", "USD", Decimal(rate))


def test_convert_refuses_float_rates_and_unknown_currencies() -> None:
    with pytest.raises(TypeError):
        convert(100, "EUR", "USD", 1.08)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        convert(100, "EUR", "XAU", Decimal("0.0004"))
