"""Anomaly detection on a daily count series (pure: numpy and scipy, no I/O).

For each day the detector builds a baseline from the days before it only:

* **seasonal** (at least ``seasonal_min_weeks`` same-weekday days within the last
  ``seasonal_max_weeks`` weeks): expected = the median of those same-weekday counts; scale =
  1.4826 × MAD, on the log1p scale (count noise is multiplicative, so spikes and drops of the
  same ratio weigh alike). Four to eight points can give a MAD of ~0 by chance, so the scale is
  the largest of that same-weekday MAD, the MAD of every day's leave-one-out residual from its
  own weekday's median in the same window (7 × weeks points) and the Poisson noise √λ/(λ+1);
  it is then widened by √(1 + π/2n) for the error of a median of n points;
* **rolling** (less history, at least ``rolling_days`` days): the mean ± σ of the last
  ``rolling_days`` days (σ floored at √mean);
* otherwise there is too little history and the day is not judged.

The day is then judged:

1. **low volume** (expected below ``poisson_below``): a Poisson tail test, P(X ≥ x) or
   P(X ≤ x) under λ = expected, fires below ``poisson_alpha``; the distribution is widened for
   the error of λ itself and for excess dispersion seen in the window (negative binomial then);
2. otherwise the robust z: spike at z ≥ ``spike_z``, drop at z ≤ −``drop_z`` (seasonal),
   beyond ± ``rolling_sigma`` (rolling);
3. **minimum-volume gate**: nothing fires unless the observed count or the baseline reaches
   ``min_volume`` (a code going from 1 scan to 4 is not news);
4. **minimum change**: nothing fires unless ``|observed − expected| ≥ min_change × expected``.

A **cooldown** keeps the same direction silent for ``cooldown_days`` days after it fired.
Measured on seeded weekly-seasonal series (``tests/insights/test_anomaly.py``): false alarms
≈ 0–1 per 1000 series-days on Poisson counts, ≈ 3–7 on strongly over-dispersed counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
from scipy.stats import nbinom, norm, poisson

Direction = Literal["spike", "drop"]
Method = Literal["seasonal", "rolling", "poisson"]
MAD_TO_SIGMA = 1.4826
MAX_SCORE = 99.0


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Tunable parameters of the detector (defaults are the product's)."""

    spike_z: float = 3.5
    drop_z: float = 3.5
    seasonal_min_weeks: int = 4
    seasonal_max_weeks: int = 8
    rolling_days: int = 14
    rolling_sigma: float = 3.0
    poisson_below: float = 30.0
    poisson_alpha: float = 0.001
    min_volume: float = 10.0
    min_change: float = 0.3
    cooldown_days: int = 3

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{f.name} must be a finite number ≥ 0")
        if self.spike_z <= 0 or self.drop_z <= 0 or self.rolling_sigma <= 0:
            raise ValueError("spike_z, drop_z and rolling_sigma must be > 0")
        if not 0 < self.poisson_alpha < 0.5:
            raise ValueError("poisson_alpha must be between 0 and 0.5")
        if not 1 <= self.seasonal_min_weeks <= self.seasonal_max_weeks:
            raise ValueError("seasonal_min_weeks must be between 1 and seasonal_max_weeks")
        if self.rolling_days < 2:
            raise ValueError("rolling_days must be ≥ 2")

    @property
    def min_history(self) -> int:
        """Days of history needed before any day can be judged."""
        return min(self.rolling_days, 7 * self.seasonal_min_weeks)


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a day is expected to look like, from the days before it.

    ``scale`` is σ on the log1p scale for ``seasonal`` (inflated for the error of a median of
    ``points`` values) and σ in scans for ``rolling``; ``excess`` is the relative variance
    beyond Poisson noise seen in the window (0 when the counts are Poisson-like).
    """

    method: Literal["seasonal", "rolling"]
    expected: float
    scale: float
    excess: float
    points: int


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A day that fired."""

    index: int
    day: date
    direction: Direction
    method: Method
    observed: float
    expected: float
    low: float
    high: float
    score: float


@dataclass(frozen=True, slots=True)
class Judgement:
    """The verdict on one day (``fired`` false when it is ordinary or gated)."""

    fired: bool
    direction: Direction
    method: Method
    expected: float
    low: float
    high: float
    score: float


def _median_error(points: int) -> float:
    """Variance factor of a prediction from the median of ``points`` values (1 + π/2n)."""
    return 1.0 + math.pi / (2 * max(points, 1))


def baseline(history: Sequence[float] | np.ndarray, cfg: DetectorConfig) -> Baseline | None:
    """The baseline for the day after ``history`` (oldest first), or ``None`` when too short."""
    h = np.asarray(history, dtype=float)
    t = len(h)
    weeks = min(t // 7, cfg.seasonal_max_weeks)
    if weeks >= cfg.seasonal_min_weeks:
        # window[i, j]: week i (oldest first), weekday position j; column 0 is the target's weekday
        window = np.log1p(h[t - 7 * weeks :].reshape(weeks, 7))
        same = window[:, 0]
        centre = float(np.median(same))
        expected = float(np.median(h[t - 7 * weeks :: 7]))
        s_same = MAD_TO_SIGMA * float(np.median(np.abs(same - centre)))
        # leave-one-out residuals of every day against its own weekday's median, pooled
        others = np.array([[j for j in range(weeks) if j != i] for i in range(weeks)])
        loo = np.median(window[others], axis=1)
        s_pool = MAD_TO_SIGMA * float(np.median(np.abs(window - loo))) / math.sqrt(_median_error(weeks - 1))
        poisson_part = float(np.median(1.0 / np.maximum(np.expm1(loo), 0.5)))
        excess = max(s_pool**2 - poisson_part, 0.0)
        lam = max(expected, 0.5)
        s_model = math.sqrt(lam + excess * lam * lam) / (lam + 1.0)  # σ of log1p(X) at this level
        scale = max(s_same, s_model) * math.sqrt(_median_error(weeks))
        return Baseline("seasonal", expected, scale, excess, weeks)
    if t >= cfg.rolling_days:
        recent = h[-cfg.rolling_days :]
        mean, sigma = float(recent.mean()), float(recent.std(ddof=1))
        excess = max(sigma**2 - mean, 0.0) / max(mean, 0.5) ** 2
        return Baseline("rolling", mean, sigma, excess, len(recent))
    return None


def _capped(z: float) -> float:
    return max(-MAX_SCORE, min(MAX_SCORE, z))


def _count_test(observed: float, base: Baseline, cfg: DetectorConfig) -> Judgement:
    """Tail test of a count under λ = baseline, widened for the estimate's own error and for
    any excess dispersion (negative binomial then, Poisson otherwise)."""
    lam = max(base.expected, 0.5)
    factor = _median_error(base.points) if base.method == "seasonal" else 1.0 + 1.0 / base.points
    var = lam * factor + base.excess * lam * lam
    dist: Any = nbinom if var > lam * (1 + 1e-9) else poisson
    args = (lam * lam / (var - lam), lam / var) if dist is nbinom else (lam,)
    p_high = float(dist.sf(observed - 1, *args))  # P(X ≥ observed)
    p_low = float(dist.cdf(observed, *args))  # P(X ≤ observed)
    low, high = float(dist.ppf(cfg.poisson_alpha, *args)), float(dist.isf(cfg.poisson_alpha, *args))
    if p_high < p_low:
        return Judgement(
            p_high < cfg.poisson_alpha, "spike", "poisson", base.expected, low, high,
            _capped(float(norm.isf(p_high))),
        )  # fmt: skip
    return Judgement(
        p_low < cfg.poisson_alpha, "drop", "poisson", base.expected, low, high,
        _capped(-float(norm.isf(p_low))),
    )  # fmt: skip


def judge(observed: float, base: Baseline, cfg: DetectorConfig) -> Judgement:
    """Judge one day's count against its baseline (gates included; a gated day's ``low`` and
    ``high`` are NaN: the bands are only worked out for days that pass the gates)."""
    expected = max(base.expected, 0.0)
    small = max(expected, observed) < cfg.min_volume
    slight = abs(observed - expected) < cfg.min_change * max(expected, 1.0)
    if small or slight:  # cheap gates first: most days stop here
        direction: Direction = "spike" if observed > expected else "drop"
        return Judgement(False, direction, "poisson", expected, math.nan, math.nan, 0.0)
    if expected < cfg.poisson_below:
        verdict = _count_test(observed, base, cfg)
    elif base.method == "seasonal":
        centre = math.log1p(expected)
        z = (math.log1p(observed) - centre) / base.scale
        verdict = Judgement(
            z >= cfg.spike_z or z <= -cfg.drop_z,
            "spike" if z > 0 else "drop",
            "seasonal",
            expected,
            math.expm1(centre - cfg.drop_z * base.scale),
            math.expm1(centre + cfg.spike_z * base.scale),
            _capped(z),
        )
    else:
        sigma = max(base.scale, math.sqrt(expected))
        z = (observed - expected) / sigma
        verdict = Judgement(
            abs(z) >= cfg.rolling_sigma,
            "spike" if z > 0 else "drop",
            "rolling",
            expected,
            max(expected - cfg.rolling_sigma * sigma, 0.0),
            expected + cfg.rolling_sigma * sigma,
            _capped(z),
        )
    return verdict


def detect(
    values: Sequence[float] | np.ndarray,
    start: date,
    cfg: DetectorConfig | None = None,
    *,
    evaluate_from: int = 0,
) -> list[Anomaly]:
    """Anomalies in a daily series starting on ``start`` (oldest first), judged from
    ``evaluate_from`` on; the cooldown runs over the judged days in order."""
    cfg = cfg or DetectorConfig()
    series = np.asarray(values, dtype=float)
    if series.ndim != 1:
        raise ValueError("values must be one-dimensional")
    if np.any(~np.isfinite(series)) or np.any(series < 0):
        raise ValueError("values must be finite counts ≥ 0")
    last: dict[str, int] = {}
    found: list[Anomaly] = []
    for t in range(max(evaluate_from, 1), len(series)):
        base = baseline(series[:t], cfg)
        if base is None:
            continue
        verdict = judge(float(series[t]), base, cfg)
        if not verdict.fired:
            continue
        previous = last.get(verdict.direction)
        if previous is not None and t - previous <= cfg.cooldown_days:
            continue
        last[verdict.direction] = t
        found.append(
            Anomaly(
                index=t,
                day=start + timedelta(days=t),
                direction=verdict.direction,
                method=verdict.method,
                observed=float(series[t]),
                expected=verdict.expected,
                low=verdict.low,
                high=verdict.high,
                score=verdict.score,
            )
        )
    return found
