"""The anomaly detector on seeded daily series: injected spikes and drops fire, quiet days do not."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanroute.analytics.anomaly import DetectorConfig, baseline, detect, judge

START = date(2026, 1, 5)  # a Monday
WEEK = np.array([120, 110, 100, 100, 130, 60, 40], dtype=float)


def quiet(seed: int, scale: float = 1.0, days: int = 120, dispersion: float | None = None) -> np.ndarray:
    """Weekly-seasonal counts: Poisson, or negative binomial with the given dispersion."""
    rng = np.random.default_rng(seed)
    mu = np.tile(WEEK, days // 7 + 1)[:days] * scale
    if dispersion is None:
        return rng.poisson(mu).astype(float)
    return rng.negative_binomial(dispersion, dispersion / (dispersion + mu)).astype(float)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_quiet_series_never_fire(seed: int, scale: float) -> None:
    assert detect(quiet(seed, scale), START) == []


def test_false_alarm_rate_on_many_quiet_series() -> None:
    """Poisson counts: under 1 false alarm per 1000 series-days; strongly over-dispersed counts
    (negative binomial, CV ≈ 17 % at 100 scans a day): under 4 per 1000."""
    judged = 120 - 14
    poisson_alarms = sum(len(detect(quiet(seed, 1.0), START)) for seed in range(100, 200))
    assert poisson_alarms / (100 * judged) < 0.001
    nb_alarms = sum(len(detect(quiet(seed, 1.0, dispersion=50), START)) for seed in range(100))
    assert nb_alarms / (100 * judged) < 0.004


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize(("day", "factor", "direction"), [(70, 3.0, "spike"), (95, 0.15, "drop")])
def test_injected_spike_or_drop_fires_on_that_day_only(
    seed: int, day: int, factor: float, direction: str
) -> None:
    series = quiet(seed, 1.0)
    series[day] = round(series[day] * factor)
    found = detect(series, START)
    assert [(a.index, a.direction) for a in found] == [(day, direction)]
    anomaly = found[0]
    assert anomaly.day == date.fromordinal(START.toordinal() + day)
    assert anomaly.method == "seasonal"
    assert anomaly.observed == series[day]
    assert (anomaly.observed > anomaly.high) if direction == "spike" else (anomaly.observed < anomaly.low)
    assert abs(anomaly.score) >= 3.5


def test_several_injected_anomalies_in_one_series_are_exactly_the_ones_found() -> None:
    series = quiet(42, 10.0)
    injected = {60: ("spike", 2.5), 75: ("drop", 0.3), 90: ("spike", 4.0), 111: ("drop", 0.0)}
    for day, (_, factor) in injected.items():
        series[day] = round(series[day] * factor)
    found = {a.index: a.direction for a in detect(series, START)}
    assert found == {day: kind for day, (kind, _) in injected.items()}


def test_a_weekend_trough_is_not_a_drop_but_a_weekday_at_weekend_level_is() -> None:
    series = quiet(3, 10.0)
    assert not [a for a in detect(series, START) if a.direction == "drop"]
    wednesday = 100  # index 100 is a Wednesday; give it a Sunday's volume
    assert (START.toordinal() + wednesday) % 7 == 3  # date.toordinal()%7: Monday=1 … Sunday=0
    series[wednesday] = 400  # a Wednesday expects ≈ 1000
    found = detect(series, START)
    assert [(a.index, a.direction) for a in found] == [(wednesday, "drop")]


@pytest.mark.parametrize("seed", range(8))
def test_low_volume_uses_the_poisson_tail_and_stays_quiet(seed: int) -> None:
    series = quiet(seed, 0.15)  # 6 … 20 scans a day
    assert detect(series, START) == []
    series[80] = 60
    found = detect(series, START)
    assert [(a.index, a.direction, a.method) for a in found] == [(80, "spike", "poisson")]


def test_minimum_volume_gate_silences_tiny_series() -> None:
    rng = np.random.default_rng(7)
    series = rng.poisson(1.0, 120).astype(float)
    series[90] = 8  # eight times the usual, but below min_volume (10)
    assert detect(series, START) == []
    assert [a.index for a in detect(series, START, DetectorConfig(min_volume=5))] == [90]


def test_minimum_change_gate() -> None:
    series = quiet(1, 100.0)  # so large that Poisson noise is tiny: a 20 % rise is many σ
    series[100] = round(series[100] * 1.2)
    assert detect(series, START, DetectorConfig(min_change=0.3)) == []
    assert [a.index for a in detect(series, START, DetectorConfig(min_change=0.1))] == [100]


def test_cooldown_keeps_a_direction_silent_then_fires_again() -> None:
    series = quiet(5, 1.0)
    for day in (70, 71, 72, 73, 80):
        series[day] = round(series[day] * 4)
    found = [a.index for a in detect(series, START)]
    assert found == [70, 80]  # 71–73 fall in the 3-day cooldown of 70
    assert [a.index for a in detect(series, START, DetectorConfig(cooldown_days=0))] == [70, 71, 72, 73, 80]


def test_cooldown_is_per_direction() -> None:
    series = quiet(6, 1.0)
    series[70] = round(series[70] * 4)
    series[71] = 0
    assert [(a.index, a.direction) for a in detect(series, START)] == [(70, "spike"), (71, "drop")]


def test_short_history_uses_the_rolling_mean_and_three_sigma() -> None:
    rng = np.random.default_rng(11)
    series = rng.poisson(200, 25).astype(float)  # no weekly pattern, 25 days: rolling only
    assert detect(series, START) == []
    series[20] = 400
    found = detect(series, START)
    assert [(a.index, a.method, a.direction) for a in found] == [(20, "rolling", "spike")]
    assert found[0].expected == pytest.approx(series[6:20].mean())


def test_no_judgement_without_fourteen_days() -> None:
    series = np.full(13, 100.0)
    series[12] = 10_000
    assert detect(series, START) == []
    assert baseline(series[:12], DetectorConfig()) is None


def test_baseline_is_the_same_weekday_median() -> None:
    history = np.tile(WEEK, 8)  # exactly 8 weeks; next day is a Monday
    history[0] = 500  # one wild Monday does not move the median
    base = baseline(history, DetectorConfig())
    assert base is not None
    assert base.method == "seasonal"
    assert base.points == 8
    assert base.expected == 120
    verdict = judge(120, base, DetectorConfig())
    assert not verdict.fired


def test_evaluate_from_limits_the_judged_days() -> None:
    series = quiet(8, 1.0)
    series[60] = round(series[60] * 4)
    series[100] = round(series[100] * 4)
    assert [a.index for a in detect(series, START, evaluate_from=90)] == [100]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("spike_z", 0),
        ("min_volume", -1),
        ("poisson_alpha", 0.7),
        ("seasonal_min_weeks", 9),
        ("rolling_days", 1),
    ],
)
def test_config_refuses_nonsense(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        DetectorConfig(**{field: value})  # type: ignore[arg-type]


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        detect([1.0, -2.0, 3.0], START)
    with pytest.raises(ValueError, match="one-dimensional"):
        detect(np.ones((3, 3)), START)


@settings(max_examples=60, deadline=None)
@given(
    level=st.floats(min_value=0, max_value=5000),
    days=st.integers(min_value=0, max_value=80),
)
def test_a_constant_series_never_fires(level: float, days: int) -> None:
    assert detect(np.full(days, round(level), dtype=float), START) == []


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000), factor=st.floats(min_value=5, max_value=20))
def test_a_huge_spike_after_eight_weeks_always_fires(seed: int, factor: float) -> None:
    series = quiet(seed, 1.0, days=70)
    series[65] = round(series[65] * factor)
    assert (65, "spike") in [(a.index, a.direction) for a in detect(series, START)]
