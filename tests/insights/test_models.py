"""Forecast and lead-score cores on seeded data."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanroute.analytics import leadscore
from scanroute.analytics.forecast import MIN_HISTORY, TooShort, forecast
from scanroute.analytics.leadscore import Example, Thresholds, features, probability, score, train

START = date(2026, 1, 5)  # Monday
WEEK = np.array([120, 110, 100, 100, 130, 60, 40], dtype=float)


def weekly(seed: int, days: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mu = np.tile(WEEK, days // 7 + 1)[:days]
    return rng.negative_binomial(50, 50 / (50 + mu)).astype(float)


def test_forecast_follows_the_week_and_its_band_covers_about_the_level() -> None:
    covered = []
    for seed in range(12):
        series = weekly(seed, 84 + 28)
        result = forecast(series[:84], START, horizon=28, level=0.8)
        assert [p.day for p in result.points] == [START + timedelta(days=84 + i) for i in range(28)]
        actual = series[84:]
        low = np.array([p.low for p in result.points])
        high = np.array([p.high for p in result.points])
        covered.append(np.mean((actual >= low) & (actual <= high)))
        expected = np.array([p.expected for p in result.points[:7]])
        # the weekly shape is learnt (day 84 is a Monday, like WEEK[0]); Sunday is the lowest
        assert np.corrcoef(expected, WEEK)[0, 1] > 0.9
        assert int(np.argmin(expected)) == 6
        assert all(p.low <= p.expected <= p.high for p in result.points)
    assert 0.65 <= float(np.mean(covered)) <= 0.95


def test_forecast_band_widens_with_the_level() -> None:
    series = weekly(1, 70)
    narrow = forecast(series, START, 7, 0.5).points[0]
    wide = forecast(series, START, 7, 0.95).points[0]
    assert wide.high - wide.low > narrow.high - narrow.low > 0


def test_forecast_never_goes_negative() -> None:
    rng = np.random.default_rng(3)
    series = rng.poisson(np.tile([3, 0, 0, 1, 4, 0, 0], 6)).astype(float)
    result = forecast(series, START, 28, 0.95)
    assert all(p.low >= 0 and p.expected >= 0 for p in result.points)


def test_forecast_of_a_flat_series_is_flat() -> None:
    result = forecast(np.full(30, 7.0), START, 5)
    assert result.method == "constant"
    assert {(p.expected, p.low, p.high) for p in result.points} == {(7.0, 7.0, 7.0)}


def test_forecast_refuses_short_history_and_bad_arguments() -> None:
    with pytest.raises(TooShort, match=str(MIN_HISTORY)):
        forecast(np.ones(MIN_HISTORY - 1), START)
    with pytest.raises(ValueError, match="horizon"):
        forecast(np.ones(30), START, horizon=0)
    with pytest.raises(ValueError, match="level"):
        forecast(np.ones(30), START, level=0.42)
    with pytest.raises(ValueError, match="counts"):
        forecast(np.array([1.0, -1.0] * 10), START)


# -- lead score ----------------------------------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def synthetic(n: int, seed: int, *, signal: bool = True, rate: float = 0.1) -> list[Example]:
    """Scans whose conversion odds depend on device and campaign (or on nothing)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        device = rng.choice(["mobile", "mobile", "desktop", "tablet"])
        campaign = rng.choice([1, 2, 3])
        p = rate
        if signal:
            p = 0.02 + 0.35 * (device == "desktop") + 0.25 * (campaign == 3)
        row = features(
            device=device,
            os=rng.choice(["iOS", "Android", "Windows"]),
            browser="Safari",
            country=rng.choice(["DE", "FR"]),
            hour=rng.randrange(24),
            weekday=rng.randrange(7),
            medium=rng.choice(["poster", "table_tent"]),
            returning=rng.random() < 0.3,
            campaign=campaign,
        )
        out.append(Example(T0 + timedelta(minutes=17 * i), row, rng.random() < p))
    return out


def test_a_model_with_signal_is_ready_and_ranks_converters_higher() -> None:
    result = train(synthetic(3000, 1), label_days=7)
    card, model = result.card, result.model
    assert card["status"] == "ready", card
    assert model is not None
    assert card["auc"] > 0.75
    assert card["quality"] == "good"
    assert card["train"]["examples"] + card["test"]["examples"] == 3000
    assert card["train"]["to"] <= card["test"]["from"]  # a time split: test is newer
    assert {w["feature"] for w in card["top_weights"][:2]} >= {"device=desktop"}
    base = dict(synthetic(1, 9)[0].features)
    desktop = score(model, {**base, "device": "desktop", "campaign": "3"})
    mobile = score(model, {**base, "device": "mobile", "campaign": "1"})
    assert desktop.probability > 0.25 > mobile.probability
    assert 0 <= mobile.score < desktop.score <= 100


def test_exported_weights_reproduce_scikit_learn() -> None:
    examples = synthetic(1500, 2)
    model = train(examples, label_days=7).model
    assert model is not None
    vocab, vectorizer, fitted = leadscore._fit(
        [e.features for e in examples], [e.converted for e in examples], Thresholds().min_count
    )
    x = vectorizer.transform([vocab.encode(e.features) for e in examples[:50]])
    expected = fitted.predict_proba(x)[:, 1]
    got = [probability(model, e.features) for e in examples[:50]]
    assert np.allclose(got, expected, atol=1e-6)


def test_unseen_values_fall_back_to_other() -> None:
    model = train(synthetic(1500, 3), label_days=7).model
    assert model is not None
    row = {**synthetic(1, 4)[0].features, "country": "ZZ", "os": "Plan 9"}
    assert 0 < probability(model, row) < 1


@pytest.mark.parametrize(
    ("examples", "reason"),
    [
        (synthetic(150, 5), "only 150 labelled scans (needs 200)"),
        (synthetic(600, 6, signal=False, rate=0.01), "converted scans (needs 20)"),
        (synthetic(600, 7, signal=False, rate=0.995), "without conversion (needs 20)"),
    ],
)
def test_thin_data_is_insufficient_and_says_why(examples: list[Example], reason: str) -> None:
    result = train(examples, label_days=7)
    assert result.model is None
    assert result.card["status"] == "insufficient"
    assert any(reason in r for r in result.card["reasons"]), result.card["reasons"]


def test_no_signal_is_refused_as_no_better_than_chance() -> None:
    result = train(synthetic(4000, 8, signal=False, rate=0.2), label_days=7)
    assert result.model is None
    assert "not better than chance" in result.card["reasons"][0]
    assert 0.4 < result.card["auc"] < 0.55


def test_conversions_only_in_the_old_part_cannot_be_measured() -> None:
    examples = synthetic(1000, 9)
    examples = [Example(e.ts, e.features, e.converted and i < 700) for i, e in enumerate(examples)]
    result = train(examples, label_days=7)
    assert result.model is None
    assert "held out" in result.card["reasons"][0]


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.sampled_from(leadscore.FEATURES), st.text(max_size=12)))
def test_any_row_scores_between_0_and_100(row: dict[str, str]) -> None:
    model = _MODEL
    result = score(model, row)
    assert 0 <= result.score <= 100
    assert 0.0 < result.probability < 1.0


_MODEL = train(synthetic(1200, 10), label_days=7).model or {}
