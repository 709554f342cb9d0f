"""The demo workload's generator (``scanroute.workload``): one UTC day at a time, with numpy.

Each day's scans are drawn as columns (``Day``): the planned count per code and hour, a random
instant in the hour, a time-ordered id, bot or human by the code's bot share; humans are either
a new person (place, device/OS/browser for that country, language, tracking refusal, visitor
hash, maybe an identified customer) or, with ``repeat_rate``, a repeat of a person who already
scanned the code that UTC day (visitor hashes rotate daily). Landing beacons, identities and
conversions follow from the scan. Row tuples (``Batch.scans``) are built only when asked for;
the bulk loader reads the columns directly.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scanroute.workload import (
    BOTS,
    CAFE,
    CURRENCY,
    HOUR,
    LANG,
    CodeInfo,
    Conversion,
    Vocab,
    Workload,
    locations_of,
)
from scanroute.workload_batch import Batch, Beacons, Day

Arr = NDArray[Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_B32 = np.frombuffer(b"0123456789abcdefghijklmnopqrstuv", dtype=np.uint8)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HOUR_US = 3_600_000_000
_MINUTE_US = 60_000_000


def moment(us: int) -> datetime:
    """The aware UTC datetime of epoch microseconds."""
    return _EPOCH + timedelta(microseconds=us)


def scan_ids(ts_us: Arr, hi32: Arr, lo40: Arr) -> Arr:
    """Time-ordered 24-character scan ids (as ``capture.event.new_scan_id``): base32hex of
    48 bits of milliseconds and 72 random bits (``hi32``, ``lo40``)."""
    ms = (ts_us // 1000).astype(np.uint64)
    chunks = (ms >> 8, ((ms & 0xFF) << 32) | hi32.astype(np.uint64), lo40.astype(np.uint64))
    out = np.empty((len(ts_us), 24), dtype=np.uint8)
    for c, chunk in enumerate(chunks):
        for j in range(8):
            out[:, c * 8 + j] = _B32[((chunk >> (35 - 5 * j)) & 31).astype(np.intp)]
    return out.view("S24").ravel().astype("U24")


def hashes(rng: np.random.Generator, n: int) -> Arr:
    """``n`` random 128-bit visitor hashes as 32 hex digits (an object array of str)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    out = np.empty((n, 32), dtype=np.uint8)
    out[:, 0::2] = _HEX[raw >> 4]
    out[:, 1::2] = _HEX[raw & 15]
    return out.view("S32").ravel().astype("U32").astype(object)


def networks(rng: np.random.Generator, n: int) -> Arr:
    """``n`` random IPv4 /24 networks (``a.b.c.0``) as an object array of str."""
    v = rng.integers(0, 1 << 24, size=n).tolist()
    return np.array([f"{(x >> 16) % 223 + 1}.{(x >> 8) & 255}.{x & 255}.0" for x in v], dtype=object)


def group_starts(keys: Arr) -> tuple[Arr, Arr]:
    """For sorted ``keys``: a mask of each run's first element and each element's run start."""
    start = np.ones(len(keys), dtype=bool)
    start[1:] = keys[1:] != keys[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(len(keys)), 0))
    return start, first


class Generator:
    """Stateful walk through the planned days (journeys and pending conversions carry over)."""

    def __init__(self, w: Workload) -> None:
        self.w = w
        self.spec = w.spec
        self.vocab: Vocab = w.vocab
        rnd = random.Random(w.spec.seed + 1)
        self.rnd = rnd
        self.rng = np.random.default_rng(w.spec.seed + 1)
        codes = w.codes
        self.index = {c.id: i for i, c in enumerate(codes)}
        self.bot_share = np.array(
            [rnd.uniform(0.10, 0.40) if rnd.random() < 0.33 else rnd.uniform(0.005, 0.03) for _ in codes]
        )
        self.arrival = np.array([min(0.97, max(0.4, rnd.gauss(self.spec.arrival_rate, 0.08))) for _ in codes])
        v = self.vocab
        loc_index = {loc: i for i, loc in enumerate(v.locations)}
        self.places: list[tuple[Arr, Arr]] = []
        for c in codes:
            items, weights = locations_of(c)
            self.places.append(
                (np.array([loc_index[i] for i in items]), np.cumsum(np.array(weights, dtype=float)))
            )
        countries = {name: i for i, name in enumerate(v.countries)}
        self.loc_country = np.array([countries[loc[0]] for loc in v.locations])
        self.loc_bare = np.array([loc_index[(loc[0], None, None)] for loc in v.locations])
        prof_index = {p: i for i, p in enumerate(v.profiles)}
        self.devices: list[tuple[Arr, Arr]] = []
        for name in v.countries:
            profiles, cum = v.profile_table(name)
            self.devices.append((np.array([prof_index[p] for p in profiles]), np.array(cum)))
        lang_index = {name: i for i, name in enumerate(v.langs)}
        self.country_lang = np.array([lang_index[LANG.get(name, "en-us")] for name in v.countries])
        self.en_us = lang_index["en-us"]
        self.bot_prof = np.array([prof_index[("desktop", None, b[1])] for b in BOTS])
        self.bot_kind = np.array([v.bot_kinds.index(b[0]) for b in BOTS])
        self.bot_cum = np.cumsum(np.array([b[2] for b in BOTS], dtype=float))
        self.bot_loc = loc_index[("US", None, None)]
        self.customers = max(50, int(self.spec.scans * self.spec.known_share / 6))
        self.journeys: dict[str, list[tuple[Any, ...]]] = {}
        self.pending: list[tuple[datetime, int, Conversion]] = []
        self.seq = itertools.count(1)

    def run(self) -> Iterator[Batch]:
        """One ``Batch`` per UTC day (the first and last may be partial)."""
        w = self.w
        hours = int((w.end - w.start) / HOUR)
        day_hours: list[int] = []
        for h in range(hours):
            if (w.start + h * HOUR).hour == 0 and day_hours:
                yield self._close(self._day(day_hours), w.start + h * HOUR)
                day_hours = []
            day_hours.append(h)
        yield self._close(self._day(day_hours), w.end)

    def _day(self, hours: Sequence[int]) -> Batch:
        w, rng = self.w, self.rng
        start_us = int((w.start - _EPOCH) / timedelta(microseconds=1))
        plan = [(self.index[code_id], n, h) for h in hours for code_id, n in w._counts.get(h, ())]
        sizes = [p[1] for p in plan]
        code = np.repeat(np.array([p[0] for p in plan], dtype=np.int64), sizes)
        hour_us = np.repeat(np.array([start_us + p[2] * _HOUR_US for p in plan], dtype=np.int64), sizes)
        n = len(code)
        ts = hour_us + (rng.random(n) * _HOUR_US).astype(np.int64)
        hi32 = rng.integers(0, 1 << 32, size=n, dtype=np.uint64)
        lo40 = rng.integers(0, 1 << 40, size=n, dtype=np.uint64)
        order = np.lexsort((lo40, hi32, ts))
        code, ts, hi32, lo40 = code[order], ts[order], hi32[order], lo40[order]
        bot = rng.random(n) < self.bot_share[code]
        day = Day.empty(n)
        day.ts, day.code, day.bot, day.ids = ts, code, bot, scan_ids(ts, hi32, lo40)
        self._bots(day, np.flatnonzero(bot))
        self._humans(day, np.flatnonzero(~bot))
        batch = Batch(w.workspace_id, self.vocab, w.codes, day, self._beacons(day))
        self._identities_and_conversions(batch)
        return batch

    def _bots(self, day: Day, at: Arr) -> None:
        rng, k = self.rng, len(at)
        pick = np.searchsorted(self.bot_cum, rng.random(k) * self.bot_cum[-1], side="right")
        day.prof[at] = self.bot_prof[pick]
        day.bot_kind[at] = self.bot_kind[pick]
        day.loc[at] = self.bot_loc
        day.ip[at] = networks(rng, k)
        day.visitor[at] = hashes(rng, k)

    def _humans(self, day: Day, h: Arr) -> None:
        """Persons and repeat scans of the day's human scans ``h`` (positions, in time order)."""
        rng, spec = self.rng, self.spec
        by_code = h[np.argsort(day.code[h], kind="stable")]
        codes = day.code[by_code]
        m = len(by_code)
        first_of_code, code_start = group_starts(codes)
        repeat = (rng.random(m) < spec.repeat_rate) & ~first_of_code
        new = ~repeat
        made: Arr = np.cumsum(new)  # persons made up to and including each scan (code by code)
        before: Arr = made - new
        base: Arr = before[code_start]
        pick = base + (rng.random(m) * (before - base)).astype(np.int64)
        day.person[by_code] = np.where(new, made - 1, pick)
        people = int(made[-1]) if m else 0
        owner = codes[new]  # each person's code, by person number
        loc = np.empty(people, dtype=np.int64)
        for ci in np.unique(owner).tolist():
            mine = np.flatnonzero(owner == ci)
            items, cum = self.places[ci]
            loc[mine] = items[np.searchsorted(cum, rng.random(len(mine)) * cum[-1], side="right")]
        refused = rng.random(people) < 0.02
        country = self.loc_country[loc]
        prof = np.empty(people, dtype=np.int64)
        for ki in np.unique(country).tolist():
            mine = np.flatnonzero(country == ki)
            items, cum = self.devices[ki]
            prof[mine] = items[np.searchsorted(cum, rng.random(len(mine)) * cum[-1], side="right")]
        lang = np.where(rng.random(people) < 0.85, self.country_lang[country], self.en_us)
        visitor = hashes(rng, people)
        visitor[refused] = None
        customer = np.where(
            rng.random(people) < spec.known_share, (rng.random(people) * self.customers).astype(np.int64), -1
        )
        ip = networks(rng, people)
        who = day.person[h]
        day.loc[h] = np.where(refused, self.loc_bare[loc], loc)[who]
        day.prof[h], day.lang[h], day.refused[h] = prof[who], lang[who], refused[who]
        day.visitor[h], day.ip[h], day.customer[h] = visitor[who], ip[who], customer[who]
        by_person = np.argsort(who, kind="stable")
        _, person_start = group_starts(who[by_person])
        day.rank[h[by_person]] = np.arange(m) - person_start
        day.returning[h] = day.rank[h] > 0

    def _beacons(self, day: Day) -> Beacons:
        rng, human = self.rng, ~day.bot
        n = len(day.ts)
        day.arrived = human & (rng.random(n) < self.arrival[day.code])
        day.engaged = day.arrived & (rng.random(n) < self.spec.engagement_rate)
        a, e = np.flatnonzero(day.arrived), np.flatnonzero(day.engaged)
        at = np.concatenate(
            [
                day.ts[a] + (rng.uniform(0.5, 4, len(a)) * 1e6).astype(np.int64),
                day.ts[e] + (rng.uniform(8, 120, len(e)) * 1e6).astype(np.int64),
            ]
        )
        value = np.concatenate([np.full(len(a), np.nan), np.round(rng.uniform(0.3, 1, len(e)), 2)])
        kind = np.concatenate([np.zeros(len(a), dtype=np.int8), np.ones(len(e), dtype=np.int8)])
        scan = np.concatenate([a, e])
        order = np.argsort(at, kind="stable")
        return Beacons(day.ids[scan[order]], kind[order], value[order], at[order])

    def _identities_and_conversions(self, batch: Batch) -> None:
        day, spec, rng = batch.day, self.spec, self.rng
        n = len(day.ts)
        known = day.customer >= 0
        p = spec.conversion_rate * np.where(day.arrived, 1.2, 0.3) * np.where(known, 3, 1)
        converts = ~day.bot & (rng.random(n) < p)
        delay = np.where(
            known,
            np.minimum(60 * 24 * 5, rng.lognormal(math.log(90), 1.2, n)),
            rng.uniform(3, 90, n),
        )
        occurred = day.ts + (delay * _MINUTE_US).astype(np.int64)
        end_us = int((self.w.end - _EPOCH) / timedelta(microseconds=1))
        converts &= occurred < end_us
        wanted = np.flatnonzero(known | converts)
        rows = dict(zip(wanted.tolist(), batch.rows_at(wanted), strict=True))
        ws = self.w.workspace_id
        for i in np.flatnonzero(known).tolist():
            row, customer = rows[i], f"cust-{int(day.customer[i])}"
            batch.identities.append((ws, row[0], customer, row[21], row[4] + timedelta(seconds=30)))
            self.journeys.setdefault(customer, []).append(row)
        for i in np.flatnonzero(converts).tolist():
            row = rows[i]
            buyer = f"cust-{int(day.customer[i])}" if known[i] else None
            kind, value, currency = self._value(batch.codes[int(day.code[i])])
            at = moment(int(occurred[i]))
            conv = Conversion(next(self.seq), row, kind, value, currency, at, buyer, [row])
            heapq.heappush(self.pending, (at, conv.seq, conv))

    def _close(self, batch: Batch, until: datetime) -> Batch:
        while self.pending and self.pending[0][0] < until:
            conv = heapq.heappop(self.pending)[2]
            if conv.external_id is not None:  # the journey: the customer's identified scans so far
                history = self.journeys.get(conv.external_id, [])
                horizon = conv.occurred_at - timedelta(days=60)  # conversions pop in time order
                self.journeys[conv.external_id] = history = [t for t in history if t[4] >= horizon]
                conv.touches = [t for t in history if t[4] <= conv.occurred_at]
            batch.conversions.append(conv)
        return batch

    def _value(self, c: CodeInfo) -> tuple[str, int | None, str | None]:
        rnd = self.rnd
        currency = CURRENCY.get(c.country, "USD")
        scale = 1 if currency != "JPY" else 0.01
        if c.campaign_kind == 1:
            return "signup", None, None
        if c.medium in CAFE and rnd.random() < 0.35:
            return "redemption", int(rnd.randint(200, 600) / scale), currency
        low, high = (1200, 3800) if c.campaign_kind == 2 else (350, 850)
        return "purchase", int(rnd.randint(low, high) / scale), currency
