"""Local days and hours: exact in every zone, the same in Python and in SQL."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from scanroute.analytics.clock import (
    DAY,
    HOUR,
    day_date,
    day_number,
    local_seconds,
    month_start,
    offset_case,
    segments,
    week_start,
    weekday,
)

ZONES = [
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/Santiago",
    "UTC",
]


def test_day_numbers_and_calendar() -> None:
    assert day_number(date(1970, 1, 1)) == 0
    assert day_date(day_number(date(2026, 2, 28)) + 1) == date(2026, 3, 1)
    d = day_number(date(2026, 3, 15))  # a Sunday
    assert weekday(d) == 6
    assert day_date(week_start(d)) == date(2026, 3, 9)
    assert day_date(month_start(d)) == date(2026, 3, 1)


def test_berlin_transitions_are_found_to_the_second() -> None:
    tz = ZoneInfo("Europe/Berlin")
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    parts = segments(tz, start, start + 366 * DAY)
    assert [p.offset for p in parts] == [3600, 7200, 3600]
    assert datetime.fromtimestamp(parts[1].start, UTC) == datetime(2024, 3, 31, 1, tzinfo=UTC)
    assert datetime.fromtimestamp(parts[2].start, UTC) == datetime(2024, 10, 27, 1, tzinfo=UTC)


@pytest.mark.parametrize("name", ZONES)
def test_segments_agree_with_zoneinfo_at_every_boundary(name: str) -> None:
    tz = ZoneInfo(name)
    start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    parts = segments(tz, start, start + 2 * 366 * DAY)
    for p in parts[1:]:
        before = datetime.fromtimestamp(p.start - 1, tz).utcoffset()
        at = datetime.fromtimestamp(p.start, tz).utcoffset()
        assert before is not None
        assert at is not None
        assert at.total_seconds() == p.offset != before.total_seconds()


@pytest.mark.parametrize("name", ZONES)
def test_sql_offsets_equal_python_local_time(name: str) -> None:
    tz = ZoneInfo(name)
    start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    end = start + 2 * 366 * DAY
    rnd = random.Random(name)
    parts = segments(tz, start, end)
    instants = [rnd.randrange(start, end) for _ in range(300)] + [
        p.start + d for p in parts for d in (-1, 0, 1)
    ]
    con = sqlite3.connect(":memory:")
    sql = f"SELECT (e + {offset_case('e', parts)}) / {HOUR} FROM (SELECT ? AS e)"
    for t in instants:
        if not start <= t < end:
            continue
        local = datetime.fromtimestamp(t, tz).replace(tzinfo=None)
        expected_hour = int((local - datetime(1970, 1, 1)).total_seconds()) // HOUR
        assert local_seconds(tz, t * 1_000_000) // HOUR == expected_hour
        assert con.execute(sql, (t,)).fetchone()[0] == expected_hour


def test_half_hour_zone_days_start_at_half_past() -> None:
    tz = ZoneInfo("Asia/Kolkata")
    moment = datetime(2026, 3, 1, 18, 30, tzinfo=UTC)  # midnight in Kolkata
    us = int(moment.timestamp() * 1_000_000)
    assert day_date(local_seconds(tz, us) // DAY) == date(2026, 3, 2)
    assert day_date(local_seconds(tz, us - 1) // DAY) == date(2026, 3, 1)


def test_a_dst_gap_at_midnight_shortens_the_local_day() -> None:
    # Santiago springs forward at local midnight: 2024-09-08 starts at 01:00 local (04:00 UTC)
    tz = ZoneInfo("America/Santiago")
    gap = int(datetime(2024, 9, 8, 4, tzinfo=UTC).timestamp()) * 1_000_000
    assert day_date(local_seconds(tz, gap - 1) // DAY) == date(2024, 9, 7)
    assert local_seconds(tz, gap) % DAY == HOUR  # the first local second of the 8th is 01:00
