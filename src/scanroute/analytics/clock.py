"""Local time for analytics: integer local days and hours, and a zone's UTC offsets over a range.

Rollups are keyed by the workspace's *local wall-clock* time, as integers: ``day`` counts local days
since 1970-01-01 and ``hour`` local hours since 1970-01-01 00:00. An instant ``t`` (UTC seconds)
has local seconds ``t + offset(t)``; its local hour is ``local // 3600`` and its day ``// 86400``.
This is exact for every zone, including half- and quarter-hour offsets (India, Nepal, Chatham):
no UTC hour is ever split. In a DST fall-back the repeated local hour is one bucket; in a
spring-forward the skipped hour has none.

SQL cannot ask Python's ``zoneinfo``, and SQLite knows no time zones at all, so the SQL side uses
``offset_case``: the zone's offsets over a range as a ``CASE`` on the epoch second, derived from
the same ``zoneinfo`` data, so the incremental (Python) and rebuilt (SQL) keys always agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

EPOCH = date(1970, 1, 1)
DAY = 86_400
HOUR = 3_600
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def day_number(d: date) -> int:
    """Local days since 1970-01-01 of a calendar date."""
    return (d - EPOCH).days


def day_date(n: int) -> date:
    """The calendar date of a day number."""
    return EPOCH + timedelta(days=n)


def weekday(day: int) -> int:
    """Monday = 0 … Sunday = 6 of a day number (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


def week_start(day: int) -> int:
    """The Monday starting the ISO week of a day number."""
    return day - weekday(day)


def month_start(day: int) -> int:
    """The first day of the calendar month of a day number."""
    return day_number(day_date(day).replace(day=1))


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """A cached ``ZoneInfo``; unknown names fall back to UTC (the workspace service validates)."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return ZoneInfo("UTC")


def offset_at(tz: ZoneInfo, epoch_s: int) -> int:
    """The zone's UTC offset in seconds at an instant."""
    off = datetime.fromtimestamp(epoch_s, tz).utcoffset()
    return 0 if off is None else int(off.total_seconds())


def epoch_us(moment: datetime) -> int:
    """Exact UTC microseconds since the epoch of an aware datetime."""
    return (moment - _EPOCH_UTC) // _MICROSECOND


def local_seconds(tz: ZoneInfo, ts_us: int) -> int:
    """Local wall-clock seconds since the epoch of an instant given in UTC microseconds."""
    epoch_s = ts_us // 1_000_000
    return epoch_s + offset_at(tz, epoch_s)


@dataclass(frozen=True, slots=True)
class Segment:
    """From ``start`` (UTC epoch second, inclusive) on, the zone is ``offset`` seconds ahead of UTC."""

    start: int
    offset: int


def segments(tz: ZoneInfo, start_s: int, end_s: int) -> list[Segment]:
    """The zone's offsets over ``[start_s, end_s)``: the first segment starts at ``start_s``.

    Offsets are sampled every hour and each change is located to the second by bisection (tz
    transitions are at whole seconds and never two within an hour).
    """
    out = [Segment(start_s, offset_at(tz, start_s))]
    t = start_s
    while t < end_s:
        nxt = min(t + HOUR, end_s)
        off = offset_at(tz, nxt)
        if off != out[-1].offset:
            lo, hi = t, nxt  # offset(lo) is the old one, offset(hi) the new one
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset_at(tz, mid) == off:
                    hi = mid
                else:
                    lo = mid
            out.append(Segment(hi, off))
        t = nxt
    return out


def offset_case(epoch_sql: str, parts: Sequence[Segment]) -> str:
    """SQL for the offset (seconds) of the instant ``epoch_sql`` (an integer expression).

    Only integers from ``segments`` are interpolated, never user input.
    """
    if len(parts) == 1:
        return str(int(parts[0].offset))
    whens = " ".join(
        f"WHEN {epoch_sql} < {int(nxt.start)} THEN {int(cur.offset)}"
        for cur, nxt in itertools.pairwise(parts)
    )
    return f"(CASE {whens} ELSE {int(parts[-1].offset)} END)"


def today(tz: ZoneInfo, now: datetime | None = None) -> date:
    """The local calendar date now."""
    return (now or datetime.now(UTC)).astimezone(tz).date()
