"""The demo workload: a seeded, realistic scan and conversion history for a workspace's codes.

``generate`` walks the history hour by hour and yields one ``Batch`` per UTC day: raw scan rows,
landing beacons, identities and conversions. What it models:

- volume per code and hour = popularity (Zipf) × weekly and hourly seasonality of the placement's
  medium, in the code's local time × a gentle trend × small daily noise; exactly ``scans`` rows;
- visitors: device/OS/browser mix by country, locals and tourists, repeat scans of a code within a
  UTC day under the same visitor hash (hashes rotate daily), 2 % refusing tracking;
- bots and link-preview fetchers: 10–40 % of the scans of about a third of the codes, 0.5–3 % of
  the others;
- landing beacons ("arrived", "engaged"): ghost scans are the rest;
- conversions with values in the placement's currency: a few per hundred scans, later than the
  scan; identified ("known") customers come back over several days and their conversions have
  multi-touch journeys through ``identities``;
- two injected anomalies, described in ``Workload.anomalies``: a one-day spike of one code and a
  two-day drop of another.

Loading (bulk or through the scan writer) is ``analytics.loader``'s job.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

HOUR = timedelta(hours=1)
REGIONS = {
    "Berlin": "Berlin",
    "Paris": "Île-de-France",
    "London": "England",
    "New York": "New York",
    "Austin": "Texas",
}
LANG = {
    "DE": "de-de",
    "FR": "fr-fr",
    "GB": "en-gb",
    "US": "en-us",
    "NL": "nl-nl",
    "ES": "es-es",
    "IT": "it-it",
    "JP": "ja-jp",
    "CA": "en-ca",
    "AU": "en-au",
}
CURRENCY = {"DE": "EUR", "FR": "EUR", "NL": "EUR", "ES": "EUR", "IT": "EUR", "GB": "GBP", "JP": "JPY"}
TOURISTS = [
    ("US", "New York", "New York"),
    ("GB", "England", "London"),
    ("DE", "Bavaria", "Munich"),
    ("FR", "Île-de-France", "Paris"),
    ("NL", "North Holland", "Amsterdam"),
    ("ES", "Madrid", "Madrid"),
    ("IT", "Lazio", "Rome"),
    ("JP", "Tokyo", "Tokyo"),
    ("CA", "Ontario", "Toronto"),
    ("AU", "New South Wales", "Sydney"),
]
IOS_SHARE = {"US": 0.57, "GB": 0.5, "DE": 0.36, "FR": 0.38, "JP": 0.68, "CA": 0.56, "AU": 0.55}
BROWSERS = {
    ("mobile", "iOS"): [
        ("Mobile Safari", 74),
        ("Chrome Mobile iOS", 10),
        ("Instagram", 8),
        ("Facebook", 4),
        ("Google", 4),
    ],
    ("mobile", "Android"): [
        ("Chrome Mobile", 68),
        ("Samsung Internet", 16),
        ("Instagram", 8),
        ("Facebook", 4),
        ("Firefox Mobile", 4),
    ],
    ("tablet", "iOS"): [("Mobile Safari", 85), ("Chrome Mobile iOS", 15)],
    ("tablet", "Android"): [("Chrome Mobile", 80), ("Samsung Internet", 20)],
    ("desktop", "Windows"): [("Chrome", 65), ("Edge", 25), ("Firefox", 10)],
    ("desktop", "macOS"): [("Safari", 55), ("Chrome", 45)],
    ("desktop", "Linux"): [("Chrome", 60), ("Firefox", 40)],
}
BOTS = [
    ("preview", "Slackbot", 20),
    ("preview", "WhatsApp", 25),
    ("preview", "facebookexternalhit", 15),
    ("preview", "TelegramBot", 10),
    ("bot", "Googlebot", 10),
    ("scanner", "Microsoft Office", 10),
    ("bot", "AhrefsBot", 10),
]
CAFE = {"table_tent", "menu", "receipt", "sticker"}
STREET = {"poster", "window", "billboard", "screen"}
HOME = {"packaging", "product_tag", "direct_mail", "magazine", "tv"}
USD_RATES = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0067}


@dataclass(frozen=True, slots=True)
class Spec:
    """How much history to make, and how it behaves."""

    scans: int
    days: int = 90
    seed: int = 7
    end: datetime | None = None  # exclusive; default: the current hour
    conversion_rate: float = 0.025  # conversions per human scan
    arrival_rate: float = 0.78  # human scans whose landing page beacon arrives
    engagement_rate: float = 0.4  # arrived scans that engage
    known_share: float = 0.08  # human scans by identified customers
    repeat_rate: float = 0.18  # human scans repeating a visitor's scan of the code that day
    anomalies: bool = True


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What the generator needs of one code."""

    id: int
    slug: str
    destination: str | None
    campaign_id: int | None
    placement_id: int | None
    creative: str | None
    medium: str
    country: str
    city: str
    tz: ZoneInfo
    campaign_kind: int  # 0 café purchase, 1 app sign-up, 2 retail purchase, -1 none


@dataclass(frozen=True, slots=True)
class Anomaly:
    """An injected anomaly: the code's scans on these local days are multiplied by ``factor``."""

    kind: str  # spike or drop
    code_id: int
    slug: str
    first: date
    last: date
    factor: float


@dataclass(slots=True)
class Conversion:
    """A generated conversion (ids are assigned by the loader)."""

    seq: int
    scan: tuple[Any, ...]  # the converting scan's row
    type: str
    value_minor: int | None
    currency: str | None
    occurred_at: datetime
    external_id: str | None
    touches: list[tuple[Any, ...]]  # the journey: the scan, or the customer's identified scans up to then


@dataclass(slots=True)
class Batch:
    """One UTC day of history, in time order."""

    scans: list[tuple[Any, ...]] = field(default_factory=list)
    beacons: list[tuple[str, str, int, float | None, datetime]] = field(default_factory=list)
    identities: list[tuple[int, str, str, str | None, datetime]] = field(default_factory=list)
    conversions: list[Conversion] = field(default_factory=list)


@dataclass(slots=True)
class Workload:
    """A planned history: where it starts and ends and which anomalies it carries."""

    workspace_id: int
    codes: list[CodeInfo]
    spec: Spec
    start: datetime
    end: datetime
    anomalies: list[Anomaly]
    _counts: dict[int, list[tuple[int, int]]] = field(default_factory=dict, repr=False)

    def batches(self) -> Iterator[Batch]:
        """The history, one UTC day per batch."""
        return _Generator(self).run()


def _profile_table(country: str) -> tuple[list[tuple[str, str, str]], list[float]]:
    ios = IOS_SHARE.get(country, 0.45)
    items: list[tuple[str, str, str]] = []
    weights: list[float] = []
    for device, dshare, oses in (
        ("mobile", 0.86, [("iOS", ios), ("Android", 1 - ios)]),
        ("tablet", 0.08, [("iOS", 0.62), ("Android", 0.38)]),
        ("desktop", 0.06, [("Windows", 0.62), ("macOS", 0.3), ("Linux", 0.08)]),
    ):
        for os_name, oshare in oses:
            for browser, bw in BROWSERS[(device, os_name)]:
                items.append((device, os_name, browser))
                weights.append(dshare * oshare * bw)
    return items, list(itertools.accumulate(weights))


def _bump(hours: Sequence[tuple[float, float]], base: float) -> list[float]:
    return [base + sum(h * math.exp(-((x - mu) ** 2) / 2) for mu, h in hours) for x in range(24)]


def _season(medium: str) -> tuple[list[float], list[float]]:
    """(weekday factors Monday…Sunday, hour-of-day factors) of a medium."""
    if medium in CAFE:
        return [0.9, 0.95, 1, 1, 1.1, 1.35, 1.25], _bump([(8.5, 3), (12.5, 3.5), (16, 1.5)], 0.05)
    if medium in STREET:
        return [1.1, 1.1, 1.1, 1.1, 1.15, 0.9, 0.65], _bump([(8, 2.5), (12.5, 1.5), (17.5, 3)], 0.08)
    if medium in HOME:
        return [0.9, 0.9, 0.95, 1, 1.05, 1.2, 1.25], _bump([(12, 0.8), (20, 3)], 0.1)
    return [1, 1, 1, 1, 1.1, 1.2, 0.8], _bump([(11, 2), (15, 2)], 0.1)


def plan(workspace_id: int, codes: Sequence[CodeInfo], spec: Spec) -> Workload:
    """Decide the scans per code and hour (exactly ``spec.scans`` in all) and the anomalies."""
    if not codes:
        raise ValueError("the workspace has no codes to scan")
    rnd = random.Random(spec.seed)
    end = spec.end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=spec.days)
    hours = int((end - start) / HOUR)
    ranked = sorted(codes, key=lambda c: c.id)
    popularity = {c.id: 1 / (rank + 1) ** 0.8 for rank, c in enumerate(ranked)}
    anomalies = _anomalies(ranked, spec, end) if spec.anomalies else []
    weights: list[tuple[int, int, float]] = []
    noise: dict[tuple[int, date], float] = {}
    for c in ranked:
        dow, hod = _season(c.medium)
        for h in range(hours):
            local = (start + h * HOUR).astimezone(c.tz)
            day = local.date()
            if (c.id, day) not in noise:
                noise[(c.id, day)] = math.exp(rnd.gauss(0, 0.06))
            w = popularity[c.id] * dow[local.weekday()] * hod[local.hour] * noise[(c.id, day)]
            w *= 0.85 + 0.3 * h / hours
            for a in anomalies:
                if a.code_id == c.id and a.first <= day <= a.last:
                    w *= a.factor
            weights.append((c.id, h, w))
    total = sum(w for _, _, w in weights)
    exact = [spec.scans * w / total for _, _, w in weights]
    counts = [int(e) for e in exact]
    missing = spec.scans - sum(counts)
    if missing:
        for i in rnd.choices(
            range(len(counts)), weights=[e - n for e, n in zip(exact, counts, strict=True)], k=missing
        ):
            counts[i] += 1
    by_hour: dict[int, list[tuple[int, int]]] = {}
    for (code_id, h, _), n in zip(weights, counts, strict=True):
        if n:
            by_hour.setdefault(h, []).append((code_id, n))
    return Workload(workspace_id, list(ranked), spec, start, end, anomalies, by_hour)


def _anomalies(ranked: Sequence[CodeInfo], spec: Spec, end: datetime) -> list[Anomaly]:
    spike_code, drop_code = ranked[min(4, len(ranked) - 1)], ranked[min(2, len(ranked) - 1)]
    spike_day = (end - timedelta(days=max(2, round(spec.days * 0.22)))).astimezone(spike_code.tz).date()
    drop_day = (end - timedelta(days=max(3, round(spec.days * 0.5)))).astimezone(drop_code.tz).date()
    return [
        Anomaly("spike", spike_code.id, spike_code.slug, spike_day, spike_day, 5.0),
        Anomaly("drop", drop_code.id, drop_code.slug, drop_day, drop_day + timedelta(days=1), 0.08),
    ]


_B32 = "0123456789abcdefghijklmnopqrstuv"
_PAIRS = [a + b for a in _B32 for b in _B32]  # 10 bits → two base32hex digits
_SHIFTS = tuple(range(110, -1, -10))


def scan_id(rnd: random.Random, ts: datetime) -> str:
    """A time-ordered 24-character scan id (as ``capture.event.new_scan_id``), from a seeded source:
    base32hex of 48 bits of milliseconds and 72 random bits."""
    n = (int(ts.timestamp() * 1000) << 72) | rnd.getrandbits(72)
    return "".join([_PAIRS[(n >> s) & 1023] for s in _SHIFTS])


def _ip(rnd: random.Random) -> str:
    n = rnd.getrandbits(24)
    return f"{(n >> 16) % 223 + 1}.{(n >> 8) & 255}.{n & 255}.0"


class _Generator:
    """Stateful walk through the planned hours."""

    def __init__(self, w: Workload) -> None:
        self.w = w
        self.spec = w.spec
        self.rnd = random.Random(w.spec.seed + 1)
        self.codes = {c.id: c for c in w.codes}
        self.bot_share = {
            c.id: self.rnd.uniform(0.10, 0.40) if self.rnd.random() < 0.33 else self.rnd.uniform(0.005, 0.03)
            for c in w.codes
        }
        self.arrival = {
            c.id: min(0.97, max(0.4, self.rnd.gauss(self.spec.arrival_rate, 0.08))) for c in w.codes
        }
        self.profiles: dict[str, tuple[list[tuple[str, str, str]], list[float]]] = {}
        self.locations = {c.id: self._locations(c) for c in w.codes}
        self.bot_cum = list(itertools.accumulate(b[2] for b in BOTS))
        self.customers = max(50, int(self.spec.scans * self.spec.known_share / 6))
        self.journeys: dict[str, list[tuple[Any, ...]]] = {}
        self.pending: list[tuple[datetime, int, Conversion]] = []
        self.seq = itertools.count(1)
        self.today: dict[int, list[tuple[Any, ...]]] = {}

    def _locations(self, c: CodeInfo) -> tuple[list[tuple[str, str | None, str | None]], list[float]]:
        region = REGIONS.get(c.city, "")
        items: list[tuple[str, str | None, str | None]] = [
            (c.country, region or None, c.city or None),
            (c.country, None, None),
        ]
        weights = [0.78, 0.07]
        others = [t for t in TOURISTS if t[0] != c.country]
        items += others
        weights += [0.15 / len(others)] * len(others)
        return items, list(itertools.accumulate(weights))

    def run(self) -> Iterator[Batch]:
        w = self.w
        batch = Batch()
        hours = int((w.end - w.start) / HOUR)
        for h in range(hours):
            at = w.start + h * HOUR
            if at.hour == 0 and h:
                yield self._close(batch, at)
                batch = Batch()
                self.today.clear()
            rows = []
            for code_id, n in w._counts.get(h, ()):
                for _ in range(n):
                    ts = at + timedelta(microseconds=int(self.rnd.random() * 3_600_000_000))
                    rows.append(self._scan(self.codes[code_id], ts, batch))
            rows.sort(key=lambda r: (r[4], r[0]))
            batch.scans.extend(rows)
        yield self._close(batch, w.end)

    def _close(self, batch: Batch, until: datetime) -> Batch:
        while self.pending and self.pending[0][0] < until:
            conv = heapq.heappop(self.pending)[2]
            if conv.external_id is not None:  # the journey: the customer's identified scans so far
                history = self.journeys.get(conv.external_id, [])
                horizon = conv.occurred_at - timedelta(days=60)  # conversions pop in time order
                self.journeys[conv.external_id] = history = [t for t in history if t[4] >= horizon]
                conv.touches = [t for t in history if t[4] <= conv.occurred_at]
            batch.conversions.append(conv)
        batch.beacons.sort(key=lambda b: b[4])
        return batch

    def _scan(self, c: CodeInfo, ts: datetime, batch: Batch) -> tuple[Any, ...]:
        rnd = self.rnd
        sid = scan_id(rnd, ts)
        if rnd.random() < self.bot_share[c.id]:
            kind, browser, _ = BOTS[bisect(self.bot_cum, rnd.random() * self.bot_cum[-1])]
            return (
                sid,
                self.w.workspace_id,
                c.id,
                c.slug,
                ts,
                "redirect",
                c.destination,
                None,
                None,
                c.campaign_id,
                c.placement_id,
                c.creative,
                "desktop",
                None,
                browser,
                None,
                "US",
                None,
                None,
                None,
                _ip(rnd),
                f"{rnd.getrandbits(128):032x}",
                False,
                True,
                kind,
                None,
                False,
            )
        seen = self.today.setdefault(c.id, [])
        if seen and rnd.random() < self.spec.repeat_rate:
            person = seen[int(rnd.random() * len(seen))]
            returning = True
        else:
            person = self._person(c)
            seen.append(person)
            returning = False
        visitor, ip, (device, os_name, browser), (country, region, city), lang, refused, customer = person
        row = (
            sid,
            self.w.workspace_id,
            c.id,
            c.slug,
            ts,
            "redirect",
            c.destination,
            None,
            None,
            c.campaign_id,
            c.placement_id,
            c.creative,
            device,
            os_name,
            browser,
            lang,
            country,
            region,
            city,
            None,
            ip,
            visitor,
            returning,
            False,
            None,
            None,
            refused,
        )
        arrived = rnd.random() < self.arrival[c.id]
        if arrived:
            batch.beacons.append(
                (sid, "arrived", self.w.workspace_id, None, ts + timedelta(seconds=rnd.uniform(0.5, 4)))
            )
            if rnd.random() < self.spec.engagement_rate:
                at = ts + timedelta(seconds=rnd.uniform(8, 120))
                batch.beacons.append((sid, "engaged", self.w.workspace_id, round(rnd.uniform(0.3, 1), 2), at))
        if customer is not None:
            batch.identities.append((self.w.workspace_id, sid, customer, visitor, ts + timedelta(seconds=30)))
            self.journeys.setdefault(customer, []).append(row)
        self._maybe_convert(c, row, customer, arrived)
        return row

    def _person(self, c: CodeInfo) -> tuple[Any, ...]:
        rnd = self.rnd
        items, cum = self.locations[c.id]
        country, region, city = items[bisect(cum, rnd.random() * cum[-1])]
        if country not in self.profiles:
            self.profiles[country] = _profile_table(country)
        profiles, pcum = self.profiles[country]
        profile = profiles[bisect(pcum, rnd.random() * pcum[-1])]
        lang = LANG.get(country, "en-us") if rnd.random() < 0.85 else "en-us"
        refused = rnd.random() < 0.02
        ip = _ip(rnd)
        visitor = None if refused else f"{rnd.getrandbits(128):032x}"
        customer = (
            f"cust-{int(rnd.random() * self.customers)}" if rnd.random() < self.spec.known_share else None
        )
        return (
            visitor,
            ip,
            profile,
            (country, None if refused else region, None if refused else city),
            lang,
            refused,
            customer,
        )

    def _maybe_convert(self, c: CodeInfo, row: tuple[Any, ...], customer: str | None, arrived: bool) -> None:
        rnd = self.rnd
        p = self.spec.conversion_rate * (1.2 if arrived else 0.3) * (3 if customer else 1)
        if rnd.random() >= p:
            return
        ts: datetime = row[4]
        if customer:
            delay = timedelta(minutes=min(60 * 24 * 5, rnd.lognormvariate(math.log(90), 1.2)))
        else:
            delay = timedelta(minutes=rnd.uniform(3, 90))
        occurred = ts + delay
        if occurred >= self.w.end:
            return
        kind, value, currency = self._value(c)
        conv = Conversion(next(self.seq), row, kind, value, currency, occurred, customer, [row])
        heapq.heappush(self.pending, (occurred, conv.seq, conv))

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
