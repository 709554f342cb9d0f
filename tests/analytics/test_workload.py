"""The demo workload generator: exact volume, deterministic, realistic mix, the two anomalies."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scanroute.analytics.loader import fallback_credits
from scanroute.attribution.models import PPM
from scanroute.workload import CodeInfo, Spec, Workload, plan
from scanroute.workload_batch import Batch

END = datetime(2026, 4, 1, tzinfo=UTC)
CITIES = [
    ("DE", "Berlin", "Europe/Berlin"),
    ("FR", "Paris", "Europe/Paris"),
    ("US", "New York", "America/New_York"),
]
MEDIA = ["table_tent", "poster", "packaging", "flyer"]


def catalog(n: int = 24) -> list[CodeInfo]:
    return [
        CodeInfo(
            id=i,
            slug=f"c{i}",
            destination="https://x.example/",
            campaign_id=i % 3 + 1,
            placement_id=i,
            creative="AB"[i % 2],
            medium=MEDIA[i % 4],
            country=CITIES[i % 3][0],
            city=CITIES[i % 3][1],
            tz=ZoneInfo(CITIES[i % 3][2]),
            campaign_kind=i % 3,
        )
        for i in range(1, n + 1)
    ]


@pytest.fixture(scope="module")
def history() -> tuple[Workload, list[Batch]]:
    work = plan(7, catalog(), Spec(scans=60_000, days=56, seed=9, end=END))
    return work, list(work.batches())


def test_exact_volume_time_order_and_ids(history: tuple[Workload, list[Batch]]) -> None:
    work, batches = history
    rows = [r for b in batches for r in b.scans]
    assert len(rows) == 60_000
    assert all(work.start <= r[4] < work.end for r in rows)
    assert [r[4] for r in rows] == sorted(r[4] for r in rows)
    ids = [r[0] for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 24 for i in ids)
    assert ids[:1000] == sorted(ids[:1000])  # time-ordered, like the production ids


def test_same_seed_same_history_other_seed_other_history() -> None:
    spec = Spec(scans=2_000, days=7, seed=1, end=END)
    first = [r[0] for b in plan(1, catalog(4), spec).batches() for r in b.scans]
    again = [r[0] for b in plan(1, catalog(4), spec).batches() for r in b.scans]
    other = [
        r[0]
        for b in plan(1, catalog(4), Spec(scans=2_000, days=7, seed=2, end=END)).batches()
        for r in b.scans
    ]
    assert first == again
    assert first != other


def test_visitors_devices_bots_and_beacons(history: tuple[Workload, list[Batch]]) -> None:
    _, batches = history
    rows = [r for b in batches for r in b.scans]
    humans = [r for r in rows if not r[23]]
    devices = Counter(r[12] for r in humans)
    assert devices["mobile"] / len(humans) > 0.8
    assert devices["tablet"]
    assert devices["desktop"]
    assert Counter(r[16] for r in humans).most_common(1)[0][1] < 0.5 * len(humans)  # several countries
    assert sum(r[22] for r in humans) / len(humans) > 0.1  # repeat scans the same day
    per_code: dict[int, list[bool]] = defaultdict(list)
    for r in rows:
        per_code[r[2]].append(r[23])
    shares = [sum(v) / len(v) for v in per_code.values()]
    assert any(0.08 < s < 0.45 for s in shares)  # bot-heavy codes
    assert any(s < 0.05 for s in shares)
    beacons = [b for batch in batches for b in batch.beacons]
    arrived = {b[0] for b in beacons if b[1] == "arrived"}
    assert 0.6 < len(arrived) / len(humans) < 0.95
    assert {b[1] for b in beacons} == {"arrived", "engaged"}


def test_conversions_and_journeys(history: tuple[Workload, list[Batch]]) -> None:
    work, batches = history
    conversions = [c for b in batches for c in b.conversions]
    assert len(conversions) > 500
    assert all(c.scan[4] <= c.occurred_at < work.end for c in conversions)
    assert {c.type for c in conversions} >= {"purchase", "signup", "redemption"}
    journeys = [c for c in conversions if len(c.touches) > 1]
    assert len(journeys) > 20
    for c in journeys:
        assert c.scan in c.touches
        assert all(t[4] <= c.occurred_at for t in c.touches)
        rows = fallback_credits(7, 1, c, c.value_minor or 0, timedelta(days=30))
        for model in ("last", "first", "linear", "time_decay", "position"):
            mine = [r for r in rows if r[1] == model]
            assert sum(r[4] for r in mine) == PPM
            assert sum(r[5] for r in mine) == (c.value_minor or 0)


def daily(batches: list[Batch], work: Workload) -> dict[int, dict[date, int]]:
    out: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    tz = {c.id: c.tz for c in work.codes}
    for b in batches:
        for r in b.scans:
            if not r[23]:
                out[r[2]][r[4].astimezone(tz[r[2]]).date()] += 1
    return out


def test_the_injected_anomalies_stand_out_and_nothing_else_does(
    history: tuple[Workload, list[Batch]],
) -> None:
    work, batches = history
    counts = daily(batches, work)
    marked = {
        (a.code_id, a.first + timedelta(days=i)): a
        for a in work.anomalies
        for i in range((a.last - a.first).days + 1)
    }
    assert {a.kind for a in work.anomalies} == {"spike", "drop"}
    tz = {c.id: c.tz for c in work.codes}
    for code, days in counts.items():
        for day, n in days.items():
            if not work.start.astimezone(tz[code]).date() < day < work.end.astimezone(tz[code]).date():
                continue  # the first and last local days are partial
            same_weekday = [days.get(day + timedelta(weeks=w), 0) for w in range(-8, 9) if w]
            usual = statistics.median([v for v in same_weekday if v] or [0])
            anomaly = marked.get((code, day))
            if anomaly is not None and anomaly.kind == "spike":
                assert n > 3 * usual, (code, day)
            elif anomaly is not None:
                assert n < 0.3 * usual, (code, day)
            elif usual >= 60:  # busy enough for the ratio to mean something
                assert 0.55 * usual < n < 1.8 * usual, (code, day, n, usual)
