"""Attribution models: how one conversion's credit is shared among the scans that led to it.

Owns the pure step from a journey (the touches already joined to one customer, see DESIGN §4)
to credit per touch. It does no I/O and no identity joining: callers hand it the candidate
touches, and it picks the eligible ones (inside the lookback window, not after the conversion,
each scan id once), orders them, and splits exactly one whole between them. Credit is an integer
in parts per million, so a conversion's credit sums to exactly ``PPM`` under every model, and
revenue is split from it to the minor unit with ``credit_value``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Context, Decimal
from fractions import Fraction
from typing import Final, assert_never

from scanroute.attribution.money import allocate

__all__ = ["DEFAULT_HALF_LIFE", "PPM", "Model", "Touch", "credit", "credit_value"]

PPM: Final = 1_000_000
"""The whole of one conversion's credit, in parts per million."""

DEFAULT_HALF_LIFE: Final = timedelta(days=7)
"""Half-life of the time-decay model unless the caller says otherwise."""

_MICROSECOND: Final = timedelta(microseconds=1)
# 40 significant digits keep time-decay weights of touches a microsecond apart distinct, so
# credit never decreases with recency because of rounding.
_DECAY_CONTEXT: Final = Context(prec=40)
_LN2: Final = Decimal(2).ln(_DECAY_CONTEXT)


@dataclass(frozen=True, slots=True)
class Touch:
    """One scan as attribution sees it: when it happened and what it belongs to.

    ``at`` must be timezone-aware. ``code_id``, ``campaign_id``, ``placement_id`` and
    ``creative`` are opaque labels carried through to the result for reporting; the models never
    look at them.
    """

    scan_id: str
    at: datetime
    code_id: str | None = None
    campaign_id: str | None = None
    placement_id: str | None = None
    creative: str | None = None

    def __post_init__(self) -> None:
        if not self.scan_id:
            raise ValueError("a touch needs a scan id")
        _require_aware(self.at, "Touch.at")


class Model(enum.StrEnum):
    """The attribution models; the value is the name used in settings and the API."""

    LAST = "last"
    """All credit to the most recent eligible touch (the workspace default)."""
    FIRST = "first"
    """All credit to the earliest eligible touch."""
    LINEAR = "linear"
    """Equal credit to every eligible touch."""
    TIME_DECAY = "time_decay"
    """Credit proportional to ``2 ** -(age at conversion / half_life)``."""
    POSITION = "position"
    """40 % first, 40 % last, 20 % shared by the middle; 50/50 for two touches, all for one."""


def credit(
    model: Model,
    touches: Iterable[Touch],
    *,
    converted_at: datetime,
    lookback: timedelta,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> list[tuple[Touch, int]]:
    """Share one conversion's credit among its eligible touches, in parts per million.

    A touch is eligible when ``converted_at - lookback <= touch.at <= converted_at``: scans after
    the conversion never get credit. Touches repeating a scan id count once (the same scan
    reached twice through a journey join); two different touches claiming one scan id are a
    ``ValueError``. The result lists every eligible touch once, oldest first (same instant: by
    scan id), each with its credit; the credits are non-negative and sum to exactly ``PPM``.
    With no eligible touch -- e.g. a conversion before any scan -- the result is ``[]``.

    Parts per million that do not divide evenly go by the largest-remainder rule, ties to the
    earlier touch (linear over three: 333 334, 333 333, 333 333). ``half_life`` is used by
    ``Model.TIME_DECAY`` only. Raises ``ValueError`` for a naive ``converted_at``, a negative
    ``lookback`` or a non-positive ``half_life``.
    """
    _require_aware(converted_at, "converted_at")
    if lookback < timedelta(0):
        raise ValueError("lookback must not be negative")
    if half_life <= timedelta(0):
        raise ValueError("half_life must be positive")
    journey = _eligible(touches, converted_at=converted_at, lookback=lookback)
    if not journey:
        return []
    shares = allocate(PPM, _weights(model, journey, half_life))
    return list(zip(journey, shares, strict=True))


def credit_value(credit_ppm: Sequence[int], value_minor: int) -> list[int]:
    """Split a conversion's value (integer minor units) in proportion to credits.

    Returns one part per credit, in the same order, summing to exactly ``value_minor``: the
    revenue split to the cent. A negative value (a refund) splits as the mirror image of the
    positive one. Raises ``ValueError`` for an empty or all-zero credit list (there is nothing to
    give the value to) or a negative credit.
    """
    for ppm in credit_ppm:
        if isinstance(ppm, bool) or not isinstance(ppm, int):
            raise TypeError(f"credit must be an int in parts per million, not {ppm!r}")
    return allocate(value_minor, credit_ppm)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _eligible(touches: Iterable[Touch], *, converted_at: datetime, lookback: timedelta) -> list[Touch]:
    """Distinct touches inside the window, ordered by time and then scan id."""
    by_scan: dict[str, Touch] = {}
    for touch in touches:
        kept = by_scan.setdefault(touch.scan_id, touch)
        if kept != touch:
            raise ValueError(f"two different touches share scan id {touch.scan_id!r}")
    try:
        window_start: datetime | None = converted_at - lookback
    except OverflowError:  # a lookback reaching past year 1: no lower bound
        window_start = None
    eligible = [
        touch
        for touch in by_scan.values()
        if touch.at <= converted_at and (window_start is None or window_start <= touch.at)
    ]
    eligible.sort(key=lambda touch: (touch.at, touch.scan_id))
    return eligible


def _weights(model: Model, journey: Sequence[Touch], half_life: timedelta) -> list[Fraction]:
    """Unnormalised weight of each touch of a non-empty, time-ordered journey."""
    count = len(journey)
    one, zero = Fraction(1), Fraction(0)
    match model:
        case Model.LAST:
            return [zero] * (count - 1) + [one]
        case Model.FIRST:
            return [one] + [zero] * (count - 1)
        case Model.LINEAR:
            return [one] * count
        case Model.POSITION:
            if count <= 2:
                return [one] * count
            ends, middle = Fraction(2, 5), Fraction(1, 5 * (count - 2))
            return [ends] + [middle] * (count - 2) + [ends]
        case Model.TIME_DECAY:
            return _decay_weights(journey, half_life)
        case _:
            assert_never(model)


def _decay_weights(journey: Sequence[Touch], half_life: timedelta) -> list[Fraction]:
    """``2 ** -(age / half_life)``, with age measured from the most recent touch.

    Measuring from the latest touch instead of the conversion multiplies every weight by the same
    factor, so the shares are unchanged, and the largest weight is exactly 1: touches far older
    than the half-life cannot all underflow to zero.
    """
    latest = journey[-1].at
    half_life_us = Decimal(half_life // _MICROSECOND)
    weights = []
    for touch in journey:
        age_us = Decimal((latest - touch.at) // _MICROSECOND)
        exponent = _DECAY_CONTEXT.multiply(_DECAY_CONTEXT.divide(age_us, half_life_us), _LN2)
        weights.append(Fraction(_DECAY_CONTEXT.exp(exponent.copy_negate())))
    return weights
