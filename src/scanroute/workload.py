"""The demo workload: a seeded, realistic scan and conversion history for a workspace's codes.

``plan`` decides the scans per code and hour; ``Workload.batches`` (``workload_gen``, vectorised
with numpy) yields one ``workload_batch.Batch`` per UTC day: scans and landing beacons as
columns, identities and conversions. What it models:

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

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from scanroute.workload_batch import Batch

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


Arr = NDArray[Any]
BOT_KINDS: tuple[str | None, ...] = (None, "preview", "bot", "scanner")
BEACON_KINDS = ("arrived", "engaged")


@dataclass(frozen=True)
class Vocab:
    """The dimension values a workload can produce; ``Day`` columns hold indexes into them."""

    profiles: tuple[tuple[str, str | None, str], ...]  # (device, os, browser)
    locations: tuple[tuple[str, str | None, str | None], ...]  # (country, region, city)
    countries: tuple[str, ...]
    langs: tuple[str | None, ...]
    bot_kinds: tuple[str | None, ...] = BOT_KINDS

    def profile_table(self, country: str) -> tuple[list[tuple[str, str, str]], list[float]]:
        """The (device, OS, browser) mix of a country, with cumulative weights."""
        return _profile_table(country)

    @cached_property
    def columns(self) -> dict[str, Arr]:
        """Object arrays mapping indexes to values: device, os, browser, country, region, city,
        language, bot_kind."""

        def obj(values: Sequence[Any]) -> Arr:
            out = np.empty(len(values), dtype=object)
            out[:] = list(values)
            return out

        return {
            "device": obj([p[0] for p in self.profiles]),
            "os": obj([p[1] for p in self.profiles]),
            "browser": obj([p[2] for p in self.profiles]),
            "country": obj([loc[0] for loc in self.locations]),
            "region": obj([loc[1] for loc in self.locations]),
            "city": obj([loc[2] for loc in self.locations]),
            "language": obj(self.langs),
            "bot_kind": obj(self.bot_kinds),
        }


def vocabulary(codes: Sequence[CodeInfo]) -> Vocab:
    """Every profile, place and language the generator may draw for these codes."""
    locations: dict[tuple[str, str | None, str | None], None] = {("US", None, None): None}
    for c in codes:
        for loc in locations_of(c)[0]:
            locations[loc] = None
    for country, _, _ in list(locations):
        locations[(country, None, None)] = None
    countries = tuple(dict.fromkeys(loc[0] for loc in locations))
    profiles: dict[tuple[str, str | None, str], None] = {}
    for country in countries:
        profiles.update(dict.fromkeys(_profile_table(country)[0]))
    profiles.update(dict.fromkeys(("desktop", None, b[1]) for b in BOTS))
    langs = (None, *dict.fromkeys([*LANG.values(), "en-us"]))
    return Vocab(tuple(profiles), tuple(locations), countries, langs)


def locations_of(c: CodeInfo) -> tuple[list[tuple[str, str | None, str | None]], list[float]]:
    """Where a code's visitors come from (locals, locals without a city, tourists) and how often."""
    region = REGIONS.get(c.city, "")
    items: list[tuple[str, str | None, str | None]] = [
        (c.country, region or None, c.city or None),
        (c.country, None, None),
    ]
    weights = [0.78, 0.07]
    others = [t for t in TOURISTS if t[0] != c.country]
    items += others
    weights += [0.15 / len(others)] * len(others)
    return items, weights


@dataclass(slots=True)
class Workload:
    """A planned history: where it starts and ends and which anomalies it carries."""

    workspace_id: int
    codes: list[CodeInfo]
    spec: Spec
    start: datetime
    end: datetime
    anomalies: list[Anomaly]
    vocab: Vocab
    _counts: dict[int, list[tuple[int, int]]] = field(default_factory=dict, repr=False)

    def batches(self) -> Iterator[Batch]:
        """The history, one UTC day per batch."""
        from scanroute.workload_gen import Generator

        return Generator(self).run()


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
    return Workload(workspace_id, list(ranked), spec, start, end, anomalies, vocabulary(ranked), by_hour)


def _anomalies(ranked: Sequence[CodeInfo], spec: Spec, end: datetime) -> list[Anomaly]:
    spike_code, drop_code = ranked[min(4, len(ranked) - 1)], ranked[min(2, len(ranked) - 1)]
    spike_day = (end - timedelta(days=max(2, round(spec.days * 0.22)))).astimezone(spike_code.tz).date()
    drop_day = (end - timedelta(days=max(3, round(spec.days * 0.5)))).astimezone(drop_code.tz).date()
    return [
        Anomaly("spike", spike_code.id, spike_code.slug, spike_day, spike_day, 5.0),
        Anomaly("drop", drop_code.id, drop_code.slug, drop_day, drop_day + timedelta(days=1), 0.08),
    ]
