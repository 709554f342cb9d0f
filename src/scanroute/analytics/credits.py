"""Conversion rows and attribution credits of generated conversions, for ``analytics.loader``.

The attribution engine's rules (``attribution.models``: eligible touches inside the lookback,
oldest first, credit in parts per million by the largest-remainder rule, value split in
proportion to credit) without its per-conversion queries. The models whose weights are
rational (last, first, linear, position) and every value split are computed here in integers
(the same largest-remainder rule ``attribution.money.allocate`` applies to exact fractions,
about 50× faster); time decay goes through ``attribution.models.credit``. ``tests/analytics``
checks the result equals the engine's, row for row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from scanroute.analytics.clock import DAY, HOUR, epoch_us, offset_at
from scanroute.attribution.models import DEFAULT_HALF_LIFE, PPM, Model, Touch, credit
from scanroute.attribution.money import convert
from scanroute.workload import Conversion


def _label(value: int | None) -> str | None:
    return None if value is None else str(value)


def _int(label: str | None) -> int | None:
    return None if label is None else int(label)


def _touch(r: Sequence[Any]) -> Touch:
    return Touch(r[0], r[4], _label(r[2]), _label(r[9]), _label(r[10]), r[11])


def allocate_int(total: int, weights: Sequence[int]) -> list[int]:
    """``attribution.money.allocate`` for non-negative integer weights (not all zero)."""
    magnitude, whole = abs(total), sum(weights)
    scaled = [magnitude * w for w in weights]
    parts = [x // whole for x in scaled]
    missing = magnitude - sum(parts)
    if missing:
        ranked = sorted(range(len(parts)), key=lambda i: (-(scaled[i] % whole), i))
        for i in ranked[:missing]:
            parts[i] += 1
    return parts if total >= 0 else [-p for p in parts]


def _eligible(touches: Sequence[Touch], at: datetime, lookback: timedelta) -> list[Touch]:
    seen: dict[str, Touch] = {}
    for t in touches:
        seen.setdefault(t.scan_id, t)
    out = [t for t in seen.values() if at - lookback <= t.at <= at]
    out.sort(key=lambda t: (t.at, t.scan_id))
    return out


def _shares(
    model: Model, journey: list[Touch], at: datetime, lookback: timedelta, half_life: timedelta
) -> list[int]:
    k = len(journey)
    match model:
        case Model.LAST:
            weights = [0] * (k - 1) + [1]
        case Model.FIRST:
            weights = [1] + [0] * (k - 1)
        case Model.LINEAR:
            weights = [1] * k
        case Model.POSITION:
            weights = [1] * k if k <= 2 else [2 * (k - 2)] + [1] * (k - 2) + [2 * (k - 2)]
        case _:
            shares = credit(model, journey, converted_at=at, lookback=lookback, half_life=half_life)
            return [p for _, p in shares]
    return allocate_int(PPM, weights)


def fallback_credits(
    workspace_id: int,
    conversion_id: int,
    conv: Conversion,
    value_minor: int,
    lookback: timedelta,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> list[tuple[Any, ...]]:
    """``attribution_credits`` rows of one conversion under every model (``attribution.models``)."""
    at = conv.occurred_at
    journey = _eligible([_touch(t) for t in conv.touches], at, lookback)
    if not journey:
        return []
    out: list[tuple[Any, ...]] = []
    for model in Model:
        shares = [PPM] if len(journey) == 1 else _shares(model, journey, at, lookback, half_life)
        values = [value_minor] if len(journey) == 1 else allocate_int(value_minor, shares)
        for touch, ppm, value in zip(journey, shares, values, strict=True):
            out.append(
                (
                    conversion_id,
                    model.value,
                    touch.scan_id,
                    workspace_id,
                    ppm,
                    value,
                    _int(touch.code_id),
                    _int(touch.campaign_id),
                    _int(touch.placement_id),
                    touch.creative,
                    touch.at,
                    at,
                )
            )
    return out


def reporting_value(conv: Conversion, currency: str, rates: dict[str, Decimal]) -> int | None:
    """The conversion's value in the reporting currency (None without a value or a rate)."""
    if conv.value_minor is None or conv.currency is None:
        return None
    if conv.currency == currency:
        return conv.value_minor
    rate = rates.get(conv.currency)
    return None if rate is None else convert(conv.value_minor, conv.currency, currency, rate)


def conversion_row(
    ident: int, workspace_id: int, conv: Conversion, reporting: int | None, seed: int
) -> tuple[Any, ...]:
    """The ``conversions`` row of a generated conversion (idempotency key from seed and sequence)."""
    key = f"workload-{seed}-{conv.seq}"
    scan = conv.scan
    order = f"ord-{seed}-{conv.seq}" if conv.value_minor is not None else None
    return (
        ident,
        workspace_id,
        scan[0],
        conv.type,
        conv.value_minor,
        conv.currency,
        reporting,
        conv.external_id,
        order,
        None,
        {},
        conv.occurred_at,
        conv.occurred_at + timedelta(seconds=2),
        key,
        hashlib.sha256(key.encode()).hexdigest(),
        "api",
        scan[2],
        scan[9],
        scan[10],
        scan[11],
    )


def credit_rollup_rows(
    conversions: Sequence[Conversion],
    reporting: Sequence[int | None],
    credits: Sequence[Sequence[Any]],
    tz: ZoneInfo,
) -> list[tuple[Any, ...]]:
    """``rollup_credits`` rows of ``credits`` (``fallback_credits`` rows of these conversions,
    whose first field is the conversion's position in ``conversions``), in table order and
    sorted by key: what ``storage.credit_rollups.insert_credits`` computes by joining every
    credit to its conversion and its scan, taken from the journeys' scan rows instead.
    """
    rows: list[tuple[Any, ...]] = []
    local: dict[int, tuple[int, int, bool]] = {}
    touches: dict[tuple[int, str], Sequence[Any]] = {}
    for r in credits:
        pos, scan_id = r[0], r[2]
        if pos not in local:
            epoch_s = epoch_us(conversions[pos].occurred_at) // 1_000_000
            seconds = epoch_s + offset_at(tz, epoch_s)
            local[pos] = (seconds // DAY, seconds // HOUR, (reporting[pos] or 0) > 0)
            touches.update(((pos, t[0]), t) for t in conversions[pos].touches)
        day, hour, is_order = local[pos]
        s = touches[(pos, scan_id)]  # the scan's row: 12 device, 13 OS, 14 browser, 16–18 geography
        rows.append(
            (
                r[3],
                r[1],
                day,
                pos,
                scan_id,
                hour,
                r[6] or 0,
                r[7] or 0,
                r[8] or 0,
                r[9] or "",
                s[12] or "",
                s[13] or "",
                s[14] or "",
                s[16] or "",
                s[17] or "",
                s[18] or "",
                r[4],
                r[5],
                is_order,
            )
        )
    rows.sort(key=lambda row: (row[1], row[2], row[3], row[4]))
    return rows
