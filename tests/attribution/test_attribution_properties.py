"""Properties that must hold for any journey: credit is never lost, created or made negative."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from scanroute.attribution import (
    ISO_4217_MINOR_UNITS,
    PPM,
    Model,
    Touch,
    allocate,
    credit,
    credit_value,
    from_minor,
    to_minor,
)

CONVERTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MICROSECONDS_PER_DAY = 86_400_000_000

weight: st.SearchStrategy[float | Fraction] = st.one_of(
    st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False),
    st.fractions(min_value=0, max_value=10**6),
    st.sampled_from([0.0, 1.0, Fraction(1, 3)]),
)


def any_positive(weights: list[float | Fraction]) -> bool:
    return any(w > 0 for w in weights)


weights_strategy = st.lists(weight, min_size=1, max_size=30).filter(any_positive)
totals = st.integers(min_value=-(10**15), max_value=10**15)


@st.composite
def journeys(draw: st.DrawFn) -> list[Touch]:
    """Touches around the conversion: clustered times (ties), both sides of it, repeats."""
    scan_ids = draw(st.lists(st.text("abcdef", min_size=1, max_size=3), unique=True, max_size=12))
    offsets = st.one_of(
        st.integers(-45 * MICROSECONDS_PER_DAY, 5 * MICROSECONDS_PER_DAY),
        st.sampled_from([0, 1, -1, MICROSECONDS_PER_DAY, -MICROSECONDS_PER_DAY]),
        st.integers(-10, 10).map(lambda d: d * MICROSECONDS_PER_DAY),
    )
    zones = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))])
    touches = [
        Touch(
            scan_id=scan_id,
            at=(CONVERTED - timedelta(microseconds=draw(offsets))).astimezone(draw(zones)),
            campaign_id=draw(st.sampled_from(["spring", "summer", None])),
        )
        for scan_id in scan_ids
    ]
    repeats = draw(st.lists(st.sampled_from(touches), max_size=4)) if touches else []
    return draw(st.permutations(touches + repeats))


lookbacks = st.integers(0, 60 * MICROSECONDS_PER_DAY).map(lambda us: timedelta(microseconds=us))
half_lives = st.integers(60, 365 * 86_400).map(lambda s: timedelta(seconds=s))


def eligible(touches: list[Touch], lookback: timedelta) -> list[Touch]:
    distinct = {t.scan_id: t for t in touches}.values()
    window = [t for t in distinct if CONVERTED - lookback <= t.at <= CONVERTED]
    return sorted(window, key=lambda t: (t.at, t.scan_id))


@given(total=totals, weights=weights_strategy)
def test_allocate_never_loses_or_creates_a_unit(total: int, weights: list[float]) -> None:
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    exact_sum = sum((Fraction(w) for w in weights), Fraction(0))
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part - total * Fraction(weight) / exact_sum) < 1
        if weight == 0:
            assert part == 0
        assert part * total >= 0  # never the opposite sign of the total


@given(total=totals, weights=weights_strategy)
def test_allocate_refunds_mirror_sales(total: int, weights: list[float]) -> None:
    assert allocate(-total, weights) == [-part for part in allocate(total, weights)]


@settings(deadline=None)
@given(
    model=st.sampled_from(Model),
    touches=journeys(),
    lookback=lookbacks,
    half_life=half_lives,
    value=totals,
)
def test_credit_sums_to_one_whole_and_revenue_to_the_cent(
    model: Model, touches: list[Touch], lookback: timedelta, half_life: timedelta, value: int
) -> None:
    result = credit(model, touches, converted_at=CONVERTED, lookback=lookback, half_life=half_life)
    expected_touches = eligible(touches, lookback)
    assert [t for t, _ in result] == expected_touches
    if not expected_touches:
        assert result == []
        return
    ppms = [ppm for _, ppm in result]
    assert sum(ppms) == PPM
    assert all(ppm >= 0 for ppm in ppms)
    parts = credit_value(ppms, value)
    assert sum(parts) == value
    assert all(part * value >= 0 for part in parts)


@settings(deadline=None)
@given(model=st.sampled_from(Model), touches=journeys(), lookback=lookbacks, data=st.data())
def test_credit_ignores_input_order_and_repeats(
    model: Model, touches: list[Touch], lookback: timedelta, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(touches + touches))
    first = credit(model, touches, converted_at=CONVERTED, lookback=lookback)
    second = credit(model, shuffled, converted_at=CONVERTED, lookback=lookback)
    assert first == second


@settings(deadline=None)
@given(touches=journeys(), lookback=lookbacks, half_life=half_lives)
def test_time_decay_is_monotone_in_recency(
    touches: list[Touch], lookback: timedelta, half_life: timedelta
) -> None:
    result = credit(Model.TIME_DECAY, touches, converted_at=CONVERTED, lookback=lookback, half_life=half_life)
    for (older, older_ppm), (newer, newer_ppm) in pairwise(result):
        if older.at < newer.at:
            assert older_ppm <= newer_ppm
        else:  # same instant: same weight, at most the one leftover unit apart
            assert abs(older_ppm - newer_ppm) <= 1


@settings(deadline=None)
@given(touches=journeys(), lookback=lookbacks)
def test_linear_and_position_shapes(touches: list[Touch], lookback: timedelta) -> None:
    linear = [ppm for _, ppm in credit(Model.LINEAR, touches, converted_at=CONVERTED, lookback=lookback)]
    position = [ppm for _, ppm in credit(Model.POSITION, touches, converted_at=CONVERTED, lookback=lookback)]
    if linear:
        assert max(linear) - min(linear) <= 1
    if len(position) == 2:
        assert position == [500_000, 500_000]
    if len(position) >= 3:
        assert position[0] == position[-1] == 400_000
        assert max(position[1:-1]) - min(position[1:-1]) <= 1


@given(
    units=st.integers(-(10**20), 10**20),
    currency=st.sampled_from(sorted(ISO_4217_MINOR_UNITS)),
)
def test_minor_units_round_trip(units: int, currency: str) -> None:
    amount = from_minor(units, currency)
    assert -amount.as_tuple().exponent == ISO_4217_MINOR_UNITS[currency]  # type: ignore[operator]
    assert to_minor(amount, currency) == units
    assert to_minor(str(amount), currency) == units
