"""The compiled routing rules (``scanroute.native``'s ``Rules``) against ``routing.engine.resolve``.

``resolve`` is the reference. ``routing.program.lower`` turns a compiled code into a program
and a tuple of outcomes; whenever ``Rules.pick`` answers with an index ``i``,
``outcomes[i]`` must be the very ``Decision`` object ``resolve`` returns for the same visit,
time (``datetime.fromtimestamp(now_us / 1_000_000, UTC)``, as the redirect handler builds it)
and state. When ``resolve`` reports errors, ``pick`` must have declined (``None``). ``pick``
declines an IPv6 client only where an ``ip`` condition is reached, and otherwise answers.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from ipaddress import IPv4Address, IPv6Address, ip_network
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanroute.domain.visit import DeviceType, Visit
from scanroute.native import scanpath
from scanroute.routing import Decision, DecisionKind, RoutableCode, RoutingState, compile_code, resolve
from scanroute.routing.conditions import DAY_NAMES, DateRange, DaysIn, IpIn, MatchContext
from scanroute.routing.engine import assignment_point
from scanroute.routing.program import Program, lower, offset_seconds
from scanroute.routing.rules import Split

if os.environ.get("SCANROUTE_PURE_PYTHON") == "1":
    pytest.skip("installed without the C extension on purpose", allow_module_level=True)

T = TypeVar("T")

DEFAULT = "https://example.com/default"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US
NOW = datetime(2024, 6, 12, 12, 0, tzinfo=UTC)
NO_QUERY = Visit().query  # the shared empty MappingProxyType every Visit starts with
ZONES: tuple[str | None, ...] = (
    None,
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Kathmandu",  # +05:45 (+05:30 before 1986)
)


def utc_us(moment: datetime) -> int:
    """An aware datetime as exact integer microseconds since the epoch."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def as_resolve_sees_it(now_us: int) -> datetime:
    """``now_us`` the way the redirect handler hands it to ``resolve`` (exactly, see
    ``redirect.handler._utc``)."""
    return EPOCH + timedelta(microseconds=now_us)


def zone_of(name: str | None) -> tzinfo:
    return UTC if name is None else ZoneInfo(name)


def local(zone: str, text: str) -> datetime:
    """A wall-clock time in ``zone`` (aware)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


# ---- interesting instants: offset changes (DST, Kathmandu's 1986 shift) and local midnights ----


def _offset(zone: tzinfo, second: int) -> timedelta | None:
    return datetime.fromtimestamp(second, UTC).astimezone(zone).utcoffset()


def _transitions(name: str, years: Sequence[int]) -> list[int]:
    """UTC microseconds of every offset change of zone ``name`` in ``years`` (to the second)."""
    zone = ZoneInfo(name)
    found: list[int] = []
    for year in years:
        start = utc_us(datetime(year, 1, 1, tzinfo=UTC)) // SECOND_US
        for day in range(366):
            low, high = start + day * 86_400, start + (day + 1) * 86_400
            if _offset(zone, low) == _offset(zone, high):
                continue
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if _offset(zone, middle) == _offset(zone, low) else (low, middle)
            found.append(high * SECOND_US)
    return found


TRANSITIONS_US: tuple[int, ...] = tuple(
    at
    for name in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu")
    for at in _transitions(name, (1985, 2024, 2025, 2071))
)
DATE_ANCHORS: tuple[date, ...] = (
    *sorted({as_resolve_sees_it(at).date() for at in TRANSITIONS_US}),
    date(1969, 12, 31),
    date(2024, 1, 1),
    date(2024, 2, 29),
    date(2024, 12, 31),
    date(2038, 1, 19),
    date(2100, 2, 28),
)
# The property stays within 1900-2200 (far years: test_pick_agrees_with_resolve_in_far_off_years).
FIRST_US = utc_us(datetime(1900, 1, 1, tzinfo=UTC))
LAST_US = utc_us(datetime(2200, 1, 1, tzinfo=UTC))
JITTER_US = (0, 1, -1, 999_999, 30 * SECOND_US, MINUTE_US - 1)


def test_the_anchors_are_offset_changes() -> None:
    """The generated times only probe DST if the anchors really are transitions."""
    assert len(TRANSITIONS_US) >= 4 * 2 * 3  # two a year for three DST zones, and more
    berlin = ZoneInfo("Europe/Berlin")
    march = utc_us(datetime(2024, 3, 31, 1, 0, tzinfo=UTC))
    assert march in TRANSITIONS_US
    assert _offset(berlin, march // SECOND_US - 1) != _offset(berlin, march // SECOND_US)
    kathmandu = utc_us(datetime(1985, 12, 31, 18, 30, tzinfo=UTC))
    assert kathmandu in TRANSITIONS_US


# ---- one generator for hypothesis (shrinks) and for plain seeded randomness (counts) ----------


class Draw(Protocol):
    def one(self, options: Sequence[T]) -> T: ...

    def integer(self, low: int, high: int) -> int: ...

    def text(self) -> str: ...


class FromHypothesis:
    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def one(self, options: Sequence[T]) -> T:
        return self.data.draw(st.sampled_from(options))

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def text(self) -> str:
        return self.data.draw(st.text(max_size=8))


TEXT_CHARACTERS = "abcxyz0129-_ äß€😀\u0130"


class FromRandom:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def one(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def text(self) -> str:
        return "".join(self.rng.choice(TEXT_CHARACTERS) for _ in range(self.rng.randint(0, 8)))


def chance(d: Draw, percent: int) -> bool:
    return d.integer(0, 99) < percent


def some(d: Draw, options: Sequence[T], low: int, high: int) -> list[T]:
    """Between ``low`` and ``high`` distinct items of ``options``."""
    pool = list(options)
    chosen: list[T] = []
    for _ in range(d.integer(low, min(high, len(pool)))):
        item = d.one(pool)
        pool.remove(item)
        chosen.append(item)
    return chosen


def one_or_many(d: Draw, options: Sequence[str]) -> str | list[str]:
    return d.one(options) if chance(d, 50) else some(d, options, 1, 3)


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def gen_time(d: Draw) -> dict[str, str]:
    if chance(d, 60):  # crosses midnight: days and dates of the same rule carry over
        start, end = d.integer(18 * 60, 1439), d.integer(0, 6 * 60)
    else:
        start = d.integer(0, 1439)
        end = (start + d.integer(1, 1439)) % 1440
    return {"from": hhmm(start), "to": hhmm(end)}


def gen_dates(d: Draw) -> dict[str, str]:
    first = d.one(DATE_ANCHORS) + timedelta(days=d.integer(-2, 2))
    last = first + timedelta(days=d.integer(0, 3))
    shape = d.integer(0, 2)
    if shape == 0:
        return {"from": first.isoformat()}
    if shape == 1:
        return {"to": last.isoformat()}
    return {"from": first.isoformat(), "to": last.isoformat()}


def gen_nth_scan(d: Draw) -> dict[str, int]:
    low = d.integer(1, 4)
    shape = d.integer(0, 2)
    if shape == 0:
        return {"min": low}
    if shape == 1:
        return {"max": low}
    return {"min": low, "max": low + d.integer(0, 2)}


def gen_query(d: Draw) -> dict[str, Any]:
    wanted: list[Any] = [True, False, "qr", "", ["qr", "mail"], "QR"]
    return {name: d.one(wanted) for name in some(d, ["src", "ref", "utm_source"], 1, 2)}


WHEN_VALUES: dict[str, Any] = {
    "visitor": lambda d: d.one(["first", "returning", ["first"], ["returning"], ["first", "returning"]]),
    "nth_scan": gen_nth_scan,
    "device": lambda d: one_or_many(d, ["mobile", "tablet", "desktop"]),
    "os": lambda d: one_or_many(d, ["iOS", "Android", "Windows", "macOS", "Linux", "ios"]),
    "browser": lambda d: one_or_many(d, ["Chrome", "Mobile Safari", "Firefox", "Samsung Internet"]),
    "language": lambda d: one_or_many(d, ["de", "de-AT", "en", "en-US", "fr", "zh-Hant-TW", "DE"]),
    "country": lambda d: one_or_many(d, ["DE", "us", "Fr", "JP", "AT"]),
    "region": lambda d: one_or_many(d, ["BY", "by", "Île-de-France", "CA", "13"]),
    "city": lambda d: one_or_many(d, ["Berlin", "PARIS", "tokyo", "New York"]),
    "days": lambda d: one_or_many(d, DAY_NAMES),
    "time": gen_time,
    "dates": gen_dates,
    "query": gen_query,
    "ip": lambda d: one_or_many(
        d,
        [
            "10.0.0.0/8",
            "192.0.2.0/24",
            "203.0.113.7",
            "198.51.100.0/25",
            "255.255.255.254/31",
            "2001:db8::/32",
            "::ffff:192.0.2.0/120",
        ],
    ),
}
URLS = (
    "https://example.com/a",
    "https://example.com/b?c=1",
    "http://x.test/path#frag",
    "https://example.com/c",
)


def gen_when(d: Draw) -> dict[str, Any]:
    keys = some(d, list(WHEN_VALUES), 0, 3)
    if chance(d, 35):  # the carry-over: a window across midnight with days and/or dates
        keys = [key for key in keys if key not in ("time", "days", "dates")]
        keys += ["time", *some(d, ["days", "dates"], 1, 2)]
    return {key: WHEN_VALUES[key](d) for key in keys}


def gen_platform(d: Draw) -> dict[str, str]:
    shape = d.integer(0, 2)
    url = d.one(["myapp://open", "intent://open#Intent;scheme=x;end", "https://app.example.com/x"])
    store = d.one(["https://apps.apple.com/app/id1", "https://play.google.com/store/apps/details?id=x"])
    if shape == 0:
        return {"url": url}
    if shape == 1:
        return {"store": store}
    return {"url": url, "store": store}


def gen_rule(d: Draw) -> dict[str, Any]:
    rule: dict[str, Any] = {"when": gen_when(d)}
    if chance(d, 25):
        rule["cap"] = d.integer(1, 3)
    if chance(d, 20):
        rule["name"] = d.one(["first rule", "Sommer", "x"])
    kind = d.integer(0, 2)
    if kind == 0:
        rule["to"] = d.one(URLS)
    elif kind == 1:
        variants = []
        for _ in range(d.integer(1, 4)):
            variant: dict[str, Any] = {
                "to": d.one(URLS),
                "weight": d.one([1, 3, 70, 30, 0.5, 1e-3, 2.5e6]),
            }
            if chance(d, 35):
                variant["cap"] = d.integer(1, 3)
            if chance(d, 30):
                variant["label"] = d.one(["A", "B", "control"])
            variants.append(variant)
        rule["variants"] = variants
        if chance(d, 25):
            rule["allocation"] = d.one(["weights", "bandit"])
    else:
        app: dict[str, Any] = {"web": d.one(URLS)}
        for os_name in some(d, ["ios", "android"], 1, 2):
            app[os_name] = gen_platform(d)
        rule["app"] = app
    return rule


def gen_document(d: Draw) -> list[dict[str, Any]]:
    return [gen_rule(d) for _ in range(d.integer(1, 6))]


def cap_keys(doc: list[dict[str, Any]]) -> list[str]:
    keys = ["r9", "r0v9"]  # counters of nothing: a cap key that is never consulted
    for i, rule in enumerate(doc):
        keys.append(f"r{i}")
        keys.extend(f"r{i}v{j}" for j in range(len(rule.get("variants", ()))))
    return keys


IPV4_NEAR = (
    "10.0.0.0",
    "10.255.255.255",
    "11.0.0.0",
    "9.255.255.255",
    "192.0.2.0",
    "192.0.2.255",
    "192.0.3.0",
    "203.0.113.7",
    "203.0.113.8",
    "198.51.100.127",
    "198.51.100.128",
    "255.255.255.255",
    "0.0.0.0",
)
IPV6 = ("2001:db8::1", "2001:db9::1", "::1", "::ffff:192.0.2.5", "::ffff:8.8.8.8")


class Focus(NamedTuple):
    """What a document tests, so that generated scans land on its edges."""

    days: list[date]  # where dates ranges start and end
    minutes: list[int]  # where time windows start and end
    ips: list[IPv4Address | IPv6Address]  # network edges and their neighbours
    names: list[str]  # query parameter names
    values: list[str]  # query parameter values
    languages: list[str]  # language ranges, and tags below them


def focus_of(doc: list[dict[str, Any]]) -> Focus:
    focus = Focus([], [], [], ["x"], ["qr", "mail", "", "QR"], [])
    for rule in doc:
        when = rule["when"]
        focus.days.extend(date.fromisoformat(day) for day in when.get("dates", {}).values())
        focus.minutes.extend(int(t[:2]) * 60 + int(t[3:]) for t in when.get("time", {}).values())
        for network in map(ip_network, listed(when.get("ip", []))):
            edges = (int(network.network_address), int(network.broadcast_address))
            top = 2**network.max_prefixlen - 1
            kind = type(network.network_address)
            focus.ips.extend(kind(n) for edge in edges for n in (edge - 1, edge, edge + 1) if 0 <= n <= top)
        for name, wanted in when.get("query", {}).items():
            focus.names.append(name)
            focus.values.extend(value for value in listed(wanted) if isinstance(value, str))
        for tag in listed(when.get("language", [])):
            focus.languages.extend((tag, tag.lower(), f"{tag.lower()}-x1", tag.lower()[:-1]))
    return focus


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def gen_ip(d: Draw, near: Sequence[IPv4Address | IPv6Address]) -> IPv4Address | IPv6Address | None:
    kind = d.integer(0, 9)
    if kind < 2:
        return None
    if kind < 5 and near:
        return d.one(near)
    if kind < 6:
        return IPv4Address(d.one(IPV4_NEAR))
    if kind < 8:
        return IPv4Address(d.integer(0, 2**32 - 1))
    return IPv6Address(d.one(IPV6))


def gen_visit(d: Draw, focus: Focus) -> Visit:
    query: Mapping[str, str] = NO_QUERY
    shape = d.integer(0, 3)
    if shape:
        names = some(d, sorted(set(focus.names)), 0, 3)
        values = {name: d.one(focus.values) for name in names}
        query = MappingProxyType(values) if shape == 3 else values
    tags = ["de", "de-at", "DE-AT", "de-ch", "en", "en-us", "fr", "zh-hant-tw", "", "de-", "deu"]
    return Visit(
        device=d.one(list(DeviceType)),
        os=d.one([None, "iOS", "IOS", "ios", "Android", "ANDROID", "Windows", "macOS", "Linux", ""]),
        browser=d.one([None, "Chrome", "CHROME", "Mobile Safari", "Firefox", ""]),
        languages=tuple(d.one(tags + focus.languages) for _ in range(d.integer(0, 3))),
        country=d.one([None, "DE", "de", "US", "Fr", "JP", "AT", ""]),
        region=d.one([None, "BY", "by", "île-de-france", "ÎLE-DE-FRANCE", "CA", "13"]),
        city=d.one([None, "Berlin", "BERLIN", "paris", "Tokyo", "new york"]),
        ip=gen_ip(d, focus.ips),
        query=query,
        visitor=None if chance(d, 40) else d.text(),
    )


def gen_now_us(d: Draw, zone: str | None, focus: Focus) -> int:
    kind = d.integer(0, 9)
    if kind < 2:
        base = d.one(TRANSITIONS_US)
    elif kind < 7:  # a local wall-clock time: a window's edge or midnight, near the rules' dates
        day = d.one(focus.days) if focus.days and chance(d, 75) else d.one(DATE_ANCHORS)
        day += timedelta(days=d.integer(-1, 1))
        minute = d.one(focus.minutes) if focus.minutes and chance(d, 60) else 0
        clock = datetime.combine(day, time(minute // 60, minute % 60))
        base = utc_us(clock.replace(tzinfo=zone_of(zone if chance(d, 80) else d.one(ZONES))))
        if minute and chance(d, 70):  # right at the edge of the window
            return base + d.one((0, -1, 1, MINUTE_US - 1, -MINUTE_US))
    else:
        return d.integer(FIRST_US, LAST_US)
    return base + d.integer(-300, 300) * MINUTE_US + d.one(JITTER_US)


class Scan(NamedTuple):
    visit: Visit
    now_us: int
    prior: int
    caps: dict[str, int]
    seed: str


def gen_scan(d: Draw, doc: list[dict[str, Any]], zone: str | None, focus: Focus) -> Scan:
    caps = {key: d.integer(0, 4) for key in cap_keys(doc) if chance(d, 40)}
    return Scan(gen_visit(d, focus), gen_now_us(d, zone, focus), d.integer(0, 5), caps, d.text())


# ---- the contract --------------------------------------------------------------------------------


def reaches_ip_with_ipv6(code: RoutableCode, scan: Scan) -> bool:
    """Whether resolve, walking the rules, tests an ``ip`` condition against an IPv6 client."""
    if not isinstance(scan.visit.ip, IPv6Address):
        return False
    ctx = MatchContext.build(
        scan.visit, as_resolve_sees_it(scan.now_us).astimezone(code.timezone), scan.prior
    )
    for rule in code.rules:
        for condition in rule.conditions:
            if isinstance(condition, IpIn):
                return True
            if not condition.matches(ctx):
                break
        else:
            if rule.cap is not None and scan.caps.get(rule.cap_key, 0) >= rule.cap:
                continue
            target = rule.target
            if isinstance(target, Split) and all(
                v.cap is not None and scan.caps.get(v.cap_key, 0) >= v.cap for v in target.variants
            ):
                continue
            return False
    return False


def check(code: RoutableCode, program: Program, scan: Scan, doc: object = None) -> int | None:
    """Hold ``pick`` to ``resolve`` for one scan; ``pick``'s answer. ``doc``: for the messages."""
    case = f"rules={json.dumps(doc, ensure_ascii=False)} zone={code.timezone_name} {scan}"
    subject = scan.visit.visitor or scan.seed
    got: int | None = program.rules.pick(scan.visit, scan.now_us, scan.prior, scan.caps, subject)
    expected = resolve(
        code, scan.visit, as_resolve_sees_it(scan.now_us), RoutingState(scan.prior, scan.caps, scan.seed)
    )
    if expected.errors:
        assert got is None, f"pick answered {got} where resolve reports errors {expected.errors}: {case}"
        return None
    if got is None:
        assert reaches_ip_with_ipv6(code, scan), f"pick declined; resolve gave {expected}: {case}"
    else:
        assert program.outcomes[got] is expected, (
            f"pick gave {program.outcomes[got]}, resolve {expected}: {case}"
        )
        assert not reaches_ip_with_ipv6(code, scan), f"pick answered an IPv6 ip test: {case}"
    return got


def compile_lowered(doc: Any, zone: str | None, code_id: str = "code-1") -> tuple[RoutableCode, Program]:
    code = compile_code(code_id, DEFAULT, zone, doc)
    assert code.broken == (), code.broken
    program = lower(code, scanpath.Rules)
    assert program is not None
    assert program.outcomes[0] is code.default
    return code, program


@functools.cache
def _compiled(doc: str, zone: str | None, code_id: str) -> tuple[RoutableCode, Program]:
    """``compile_lowered`` once per document (codes and their Rules are long-lived, as in routes)."""
    return compile_lowered(json.loads(doc), zone, code_id)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_pick_agrees_with_resolve(data: st.DataObject) -> None:
    """Random valid documents (every ``when`` key and target kind, caps, windows across midnight
    with days/dates, seven zones) and random scans (DST changes, midnights, window edges,
    network edges, IPv4/IPv6/mapped clients, dict and mapping-proxy queries, caps hit and not)."""
    d = FromHypothesis(data)
    doc = gen_document(d)
    zone = d.one(ZONES)
    code, program = _compiled(json.dumps(doc), zone, d.one(["code-1", "Ünï", ""]))
    focus = focus_of(doc)
    for _ in range(d.integer(1, 6)):  # drawn one by one: these shrink
        check(code, program, gen_scan(d, doc, zone, focus), doc)
    more = FromRandom(random.Random(data.draw(st.integers(0, 2**32), label="seed of more scans")))
    for _ in range(24):  # cheap volume: the failure message names the scan
        check(code, program, gen_scan(more, doc, zone, focus), doc)


def test_pick_agrees_with_resolve_on_seeded_cases_and_answers_nearly_all() -> None:
    """The same cases, seeded, in bulk; and the property is not vacuous: pick answers, rules
    match, every target kind and the midnight carry-over turn up."""
    d = FromRandom(random.Random(20240612))
    answered: Counter[bool] = Counter()
    ipv6: Counter[bool] = Counter()
    shown: Counter[str] = Counter()
    for _ in range(1_000):
        doc = gen_document(d)
        zone = d.one(ZONES)
        code, program = compile_lowered(doc, zone)
        focus = focus_of(doc)
        for _ in range(12):
            scan = gen_scan(d, doc, zone, focus)
            got = check(code, program, scan, doc)
            if isinstance(scan.visit.ip, IPv6Address):
                ipv6[got is not None] += 1
                continue
            answered[got is not None] += 1
            shown["carried over"] += carry_matters(code, scan)
            if got is not None:
                decision = program.outcomes[got]
                if decision.rule_index is None:
                    shown["default"] += 1
                elif decision.kind is DecisionKind.APP:
                    shown["app"] += 1
                elif decision.variant is not None:
                    shown["variant"] += 1
                else:
                    shown["redirect"] += 1
                if decision.cap_keys:
                    shown["capped rule"] += 1
    assert answered.total() > 8_000
    assert answered[True] / answered.total() > 0.9, answered
    assert ipv6[True] > 0, ipv6  # IPv6 clients where no ip condition is reached: answered
    assert ipv6[False] > 0, ipv6  # ... and where one is: declined
    assert shown["default"] < 0.8 * answered[True], shown  # rules do match
    assert min(shown[kind] for kind in ("app", "variant", "redirect", "capped rule")) >= 100, shown
    assert shown["carried over"] >= 100, shown  # days/dates judged by the previous day, and it mattered


def carry_matters(code: RoutableCode, scan: Scan) -> bool:
    """Whether a days or dates condition holds differently because of the midnight carry-over."""
    ctx = MatchContext.build(
        scan.visit, as_resolve_sees_it(scan.now_us).astimezone(code.timezone), scan.prior
    )
    return any(
        condition.matches(ctx) != dataclasses.replace(condition, carry_until=0).matches(ctx)
        for rule in code.rules
        for condition in rule.conditions
        if isinstance(condition, DaysIn | DateRange) and condition.carry_until
    )


# ---- edge cases, each with its exact outcome -------------------------------------------------------


def both(
    doc: list[dict[str, Any]],
    visit: Visit | None = None,
    at: datetime | int = NOW,
    *,
    prior: int = 0,
    caps: dict[str, int] | None = None,
    seed: str = "seed",
    tz: str | None = "UTC",
    code_id: str = "code-1",
) -> tuple[Decision | None, Decision]:
    """(what pick answered, resolve's decision) for one scan, checked against each other."""
    code, program = _compiled(json.dumps(doc), tz, code_id)
    now_us = at if isinstance(at, int) else utc_us(at)
    visit = visit or Visit()
    caps = caps or {}
    got = program.rules.pick(visit, now_us, prior, caps, visit.visitor or seed)
    expected = resolve(code, visit, as_resolve_sees_it(now_us), RoutingState(prior, caps, seed))
    if got is None:
        return None, expected
    assert program.outcomes[got] is expected, (program.outcomes[got], expected)
    return program.outcomes[got], expected


def answer(
    doc: list[dict[str, Any]], visit: Visit | None = None, at: datetime | int = NOW, **kw: Any
) -> Decision:
    """pick's decision (it must answer, and answer what resolve does)."""
    got, expected = both(doc, visit, at, **kw)
    assert got is not None, f"pick declined; resolve gave {expected}"
    assert expected.errors == ()
    return got


LATE = "https://example.com/late"
FRIDAY_NIGHT = [{"when": {"days": ["fri"], "time": {"from": "22:00", "to": "02:00"}}, "to": LATE}]


@pytest.mark.parametrize(
    ("wall_clock", "destination"),
    [
        ("2024-06-14T21:59", DEFAULT),  # Friday, before the window
        ("2024-06-14T22:00", LATE),
        ("2024-06-14T23:00", LATE),
        ("2024-06-15T00:00", LATE),  # Saturday: the window started on Friday
        ("2024-06-15T01:00", LATE),
        ("2024-06-15T01:59", LATE),
        ("2024-06-15T02:00", DEFAULT),  # the end is exclusive
        ("2024-06-15T23:00", DEFAULT),  # Saturday's own window
        ("2024-06-14T01:00", DEFAULT),  # Friday 01:00 belongs to Thursday's window
        ("2024-06-08T01:30", LATE),  # the Saturday before
    ],
)
def test_a_window_across_midnight_belongs_to_the_day_it_starts(wall_clock: str, destination: str) -> None:
    assert answer(FRIDAY_NIGHT, at=local("Europe/Berlin", wall_clock), tz="Europe/Berlin").destination == (
        destination
    )


NEW_YEAR = "https://example.com/new-year"


@pytest.mark.parametrize(
    ("dates", "wall_clock", "destination"),
    [
        ({"to": "2024-12-31"}, "2024-12-31T23:30", NEW_YEAR),
        ({"to": "2024-12-31"}, "2025-01-01T01:00", NEW_YEAR),  # carried over to 31 December
        ({"to": "2024-12-31"}, "2025-01-01T02:00", DEFAULT),  # outside the window
        ({"to": "2024-12-31"}, "2025-01-01T23:00", DEFAULT),  # 1 January's own window
        ({"from": "2025-01-01"}, "2025-01-01T01:00", DEFAULT),  # still 31 December's window
        ({"from": "2025-01-01"}, "2025-01-01T22:30", NEW_YEAR),
        ({"from": "2025-01-01"}, "2025-01-02T00:30", NEW_YEAR),
        ({"from": "2024-12-31", "to": "2024-12-31"}, "2025-01-01T01:59", NEW_YEAR),
        ({"from": "2024-12-31", "to": "2024-12-31"}, "2024-12-31T01:00", DEFAULT),  # 30 Dec's window
    ],
)
def test_dates_carry_over_midnight_with_the_window(
    dates: dict[str, str], wall_clock: str, destination: str
) -> None:
    doc = [{"when": {"dates": dates, "time": {"from": "22:00", "to": "02:00"}}, "to": NEW_YEAR}]
    at = local("America/New_York", wall_clock)
    assert answer(doc, at=at, tz="America/New_York").destination == destination


def test_dates_without_a_window_do_not_carry_over() -> None:
    doc = [{"when": {"dates": {"to": "2024-12-31"}}, "to": NEW_YEAR}]
    at = local("America/New_York", "2025-01-01T01:00")
    assert answer(doc, at=at, tz="America/New_York").destination == DEFAULT
    at = local("America/New_York", "2024-12-31T23:59")
    assert answer(doc, at=at, tz="America/New_York").destination == NEW_YEAR


OFFER, NEXT = "https://example.com/offer", "https://example.com/next"


@pytest.mark.parametrize(
    ("used", "destination"),
    [(None, OFFER), (0, OFFER), (1, OFFER), (2, NEXT), (7, NEXT)],
)
def test_a_used_up_rule_cap_falls_through_to_the_next_rule(used: int | None, destination: str) -> None:
    doc: list[dict[str, Any]] = [{"when": {}, "to": OFFER, "cap": 2}, {"when": {}, "to": NEXT}]
    caps = {} if used is None else {"r0": used}
    decision = answer(doc, caps=caps | {"r1": 99})  # r1: the next rule has no cap to count
    assert decision.destination == destination
    assert decision.cap_keys == (("r0",) if destination == OFFER else ())


A, B, C = "https://example.com/a", "https://example.com/b", "https://example.com/c"
CAPPED_SPLIT: list[dict[str, Any]] = [
    {
        "when": {},
        "variants": [{"to": A, "weight": 1, "cap": 2}, {"to": B, "weight": 3, "cap": 1}],
    },
    {"when": {}, "to": NEXT},
]


@pytest.mark.parametrize(
    ("caps", "destinations"),
    [
        ({}, {A, B}),
        ({"r0v0": 1, "r0v1": 0}, {A, B}),
        ({"r0v0": 2}, {B}),
        ({"r0v1": 5}, {A}),
        ({"r0v0": 2, "r0v1": 1}, {NEXT}),  # every variant capped out: the next rule
    ],
)
def test_a_split_capped_out_falls_through(caps: dict[str, int], destinations: set[str]) -> None:
    seen = {answer(CAPPED_SPLIT, Visit(visitor=f"v{i}"), caps=caps).destination for i in range(60)}
    assert seen == destinations


def test_a_capped_variant_moves_only_its_own_visitors() -> None:
    doc = [
        {
            "when": {},
            "variants": [
                {"to": A, "weight": 50},
                {"to": B, "weight": 30, "cap": 10},
                {"to": C, "weight": 20},
            ],
        }
    ]
    moved: Counter[str] = Counter()
    for i in range(1_000):
        visit = Visit(visitor=f"visitor-{i}")
        before = answer(doc, visit, caps={"r0v1": 9}).destination
        after = answer(doc, visit, caps={"r0v1": 10}).destination
        if before == B:
            assert after in (A, C)
            moved[after] += 1
        else:
            assert after == before
    # displaced visitors spread over the rest by weight (50:20), about 300 of them
    assert 200 < moved.total() < 400, moved
    assert moved[A] > moved[C] > 0, moved


DE, AT = "https://example.com/de", "https://example.com/at"
LANGUAGES = [{"when": {"language": "de-AT"}, "to": AT}, {"when": {"language": ["fr", "de"]}, "to": DE}]


@pytest.mark.parametrize(
    ("languages", "destination"),
    [
        (("de-at",), AT),
        (("DE-AT",), AT),
        (("de-at-1996",), AT),  # a longer tag falls under its prefix
        (("de",), DE),  # "de-AT" does not match "de"
        (("de-ch",), DE),  # "de" matches any German
        (("de-",), DE),
        (("deu",), DEFAULT),  # a prefix only counts up to a hyphen
        (("en", "de-at"), DEFAULT),  # only the most preferred tag counts
        (("",), DEFAULT),
        ((), DEFAULT),
    ],
)
def test_language_ranges(languages: tuple[str, ...], destination: str) -> None:
    assert answer(LANGUAGES, Visit(languages=languages)).destination == destination


NET = "https://example.com/net"
NETWORKS = [{"when": {"ip": ["192.0.2.0/24", "10.0.0.1", "255.255.255.254/31", "2001:db8::/32"]}, "to": NET}]


@pytest.mark.parametrize(
    ("address", "destination"),
    [
        ("192.0.2.0", NET),
        ("192.0.2.77", NET),
        ("192.0.2.255", NET),
        ("192.0.1.255", DEFAULT),
        ("192.0.3.0", DEFAULT),
        ("10.0.0.1", NET),
        ("10.0.0.0", DEFAULT),
        ("10.0.0.2", DEFAULT),
        ("255.255.255.255", NET),
        ("255.255.255.253", DEFAULT),
        ("0.0.0.0", DEFAULT),
        (None, DEFAULT),
    ],
)
def test_ipv4_networks(address: str | None, destination: str) -> None:
    ip = None if address is None else IPv4Address(address)
    assert answer(NETWORKS, Visit(ip=ip)).destination == destination


@pytest.mark.parametrize(
    ("address", "resolved"),
    [("2001:db8::1", NET), ("::ffff:192.0.2.7", NET), ("::ffff:8.8.8.8", DEFAULT), ("2001:db9::1", DEFAULT)],
)
def test_an_ipv6_client_meeting_an_ip_condition_is_declined(address: str, resolved: str) -> None:
    got, expected = both(NETWORKS, Visit(ip=IPv6Address(address)))
    assert got is None
    assert expected.destination == resolved


def test_an_ipv6_client_is_answered_where_no_ip_condition_is_reached() -> None:
    ip = IPv6Address("2001:db8::1")
    doc = [{"when": {"country": "DE"}, "to": DE}]
    assert answer(doc, Visit(ip=ip, country="de")).destination == DE
    assert answer(doc, Visit(ip=ip)).destination == DEFAULT
    guarded = [{"when": {"os": "iOS", "ip": "2001:db8::/32"}, "to": NET}, {"when": {}, "to": NEXT}]
    assert answer(guarded, Visit(ip=ip, os="Android")).destination == NEXT  # the os test fails first
    assert both(guarded, Visit(ip=ip, os="iOS"))[0] is None  # ... but once it holds, ip is reached
    earlier = [{"when": {}, "to": A}, {"when": {"ip": "2001:db8::/32"}, "to": NET}]
    assert answer(earlier, Visit(ip=ip)).destination == A  # an earlier rule wins first


EQUALS, PRESENT, ABSENT = (
    "https://example.com/eq",
    "https://example.com/present",
    "https://example.com/absent",
)
QUERIES = [
    {"when": {"query": {"src": ["qr", "mail"]}}, "to": EQUALS},
    {"when": {"query": {"ref": True}}, "to": PRESENT},
    {"when": {"query": {"src": False}}, "to": ABSENT},
]


@pytest.mark.parametrize(
    ("query", "destination"),
    [
        ({"src": "qr"}, EQUALS),
        ({"src": "mail", "ref": "x"}, EQUALS),
        (MappingProxyType({"src": "qr"}), EQUALS),
        ({"src": "QR"}, DEFAULT),  # values are case-sensitive
        ({"src": "QR", "ref": ""}, PRESENT),  # present, even when empty
        ({"ref": "x"}, PRESENT),
        (MappingProxyType({"ref": "x", "src": "x"}), PRESENT),
        ({}, ABSENT),
        (NO_QUERY, ABSENT),  # the default empty mapping proxy
        ({"other": "qr"}, ABSENT),
    ],
)
def test_query_parameters(query: Mapping[str, str], destination: str) -> None:
    assert answer(QUERIES, Visit(query=query)).destination == destination


WEB = "https://example.com/web"
STORE = "https://apps.apple.com/app/id1"
APP = [
    {
        "when": {},
        "app": {
            "ios": {"url": "myapp://open", "store": STORE},
            "android": {"url": "intent://open#Intent;end"},
            "web": WEB,
        },
    }
]


@pytest.mark.parametrize(
    ("os_name", "kind", "app_url", "destination"),
    [
        ("iOS", DecisionKind.APP, "myapp://open", STORE),
        ("IOS", DecisionKind.APP, "myapp://open", STORE),
        ("Android", DecisionKind.APP, "intent://open#Intent;end", WEB),
        ("ANDROID", DecisionKind.APP, "intent://open#Intent;end", WEB),
        ("Windows", DecisionKind.REDIRECT, None, WEB),
        ("iPadOS", DecisionKind.REDIRECT, None, WEB),
        ("", DecisionKind.REDIRECT, None, WEB),
        (None, DecisionKind.REDIRECT, None, WEB),
    ],
)
def test_app_targets_by_os(
    os_name: str | None, kind: DecisionKind, app_url: str | None, destination: str
) -> None:
    decision = answer(APP, Visit(os=os_name))
    assert (decision.kind, decision.app_url, decision.destination) == (kind, app_url, destination)


def test_an_app_target_without_an_app_for_the_os_goes_to_the_web() -> None:
    doc = [{"when": {}, "app": {"android": {"store": "https://play.google.com/store/x"}, "web": WEB}}]
    android = answer(doc, Visit(os="android"))
    assert (android.kind, android.destination) == (DecisionKind.REDIRECT, "https://play.google.com/store/x")
    assert answer(doc, Visit(os="iOS")).destination == WEB


FIRST, NTH, RETURNING = "https://example.com/first", "https://example.com/nth", "https://example.com/again"
HISTORY = [
    {"when": {"visitor": "first"}, "to": FIRST},
    {"when": {"nth_scan": {"min": 2, "max": 3}}, "to": NTH},
    {"when": {"visitor": ["returning"], "nth_scan": {"max": 5}}, "to": RETURNING},
    {"when": {"visitor": ["first", "returning"], "nth_scan": {"min": 7}}, "to": A},
]


@pytest.mark.parametrize(
    ("prior", "destination"),
    [(0, FIRST), (1, NTH), (2, NTH), (3, RETURNING), (4, RETURNING), (5, DEFAULT), (6, A), (60, A)],
)
def test_visitor_history(prior: int, destination: str) -> None:
    assert answer(HISTORY, prior=prior).destination == destination


SUNRISE = [{"when": {"time": {"from": "05:45", "to": "05:46"}}, "to": A}]


@pytest.mark.parametrize(
    ("at", "destination"),
    [
        (datetime(2024, 6, 12, 0, 0, tzinfo=UTC), A),  # 05:45 at +05:45
        (datetime(2024, 6, 12, 0, 0, 59, 999_999, tzinfo=UTC), A),
        (datetime(2024, 6, 12, 0, 1, tzinfo=UTC), DEFAULT),
        (datetime(2024, 6, 11, 23, 59, 59, 999_999, tzinfo=UTC), DEFAULT),
        (datetime(1985, 6, 12, 0, 15, tzinfo=UTC), A),  # 05:45 at +05:30, before 1986
        (datetime(1985, 6, 12, 0, 0, tzinfo=UTC), DEFAULT),
    ],
)
def test_a_quarter_hour_offset(at: datetime, destination: str) -> None:
    assert answer(SUNRISE, at=at, tz="Asia/Kathmandu").destination == destination


@pytest.mark.parametrize(
    ("window", "at", "destination"),
    [
        (("01:30", "02:00"), datetime(2024, 4, 6, 14, 29, 59, tzinfo=UTC), DEFAULT),  # 01:29:59 +11:00
        (("01:30", "02:00"), datetime(2024, 4, 6, 14, 30, tzinfo=UTC), A),  # 01:30 +11:00
        (("01:30", "02:00"), datetime(2024, 4, 6, 14, 59, 59, tzinfo=UTC), A),
        (("01:30", "02:00"), datetime(2024, 4, 6, 15, 0, tzinfo=UTC), A),  # 01:30 again, +10:30
        (("01:30", "02:00"), datetime(2024, 4, 6, 15, 29, 59, 999_999, tzinfo=UTC), A),
        (("01:30", "02:00"), datetime(2024, 4, 6, 15, 30, tzinfo=UTC), DEFAULT),  # 02:00 +10:30
        (("01:30", "02:00"), datetime(2024, 10, 5, 15, 29, tzinfo=UTC), A),  # 01:59 +10:30
        (("01:30", "02:00"), datetime(2024, 10, 5, 15, 30, tzinfo=UTC), DEFAULT),  # 02:30 +11:00
        # the October change falls on :30 UTC: the offset must be the one of that very second
        (("02:30", "03:00"), datetime(2024, 10, 5, 15, 29, 59, 999_999, tzinfo=UTC), DEFAULT),
        (("02:30", "03:00"), datetime(2024, 10, 5, 15, 30, tzinfo=UTC), A),
        (("02:30", "03:00"), datetime(2024, 10, 5, 15, 59, tzinfo=UTC), A),
        (("02:30", "03:00"), datetime(2024, 10, 5, 16, 0, tzinfo=UTC), DEFAULT),
    ],
)
def test_a_half_hour_dst_shift(window: tuple[str, str], at: datetime, destination: str) -> None:
    doc = [{"when": {"time": {"from": window[0], "to": window[1]}}, "to": A}]
    assert answer(doc, at=at, tz="Australia/Lord_Howe").destination == destination


SPLIT_70_30 = [{"when": {}, "variants": [{"to": A, "weight": 70}, {"to": B, "weight": 30, "label": "b"}]}]


def five_sigma(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("tracked", [True, False], ids=["visitor", "seed"])
def test_sticky_assignment_matches_resolve_and_honours_weights(tracked: bool) -> None:
    counts: Counter[int | None] = Counter()
    for i in range(1_000):
        visit = Visit(visitor=f"visitor-{i}") if tracked else Visit()
        seed = f"scan-{i}"
        decision = answer(SPLIT_70_30, visit, seed=seed, code_id="weights")
        assert answer(SPLIT_70_30, visit, seed=seed, code_id="weights") is decision  # sticky
        counts[decision.variant] += 1
    assert set(counts) == {0, 1}
    assert five_sigma(counts[0], 1_000, 0.7), counts
    # another code id salts the assignment differently
    moved = sum(
        answer(SPLIT_70_30, Visit(visitor=f"visitor-{i}"), code_id="other").variant
        != answer(SPLIT_70_30, Visit(visitor=f"visitor-{i}"), code_id="weights").variant
        for i in range(200)
    )
    assert moved > 20


def test_a_bandit_split_follows_the_configured_weights_without_learned_ones() -> None:
    doc = [{**SPLIT_70_30[0], "allocation": "bandit"}]
    variants = Counter(answer(doc, Visit(visitor=f"v{i}")).variant for i in range(1_000))
    assert five_sigma(variants[0], 1_000, 0.7), variants


@pytest.mark.parametrize(
    ("doc", "tz", "at"),
    [
        ([{"when": {}, "to": A}], "Asia/Tokyo", datetime(9999, 12, 31, 20, 0, tzinfo=UTC)),
        ([{"when": {"os": "iOS"}, "to": A}], "America/New_York", datetime(1, 1, 1, 1, 0, tzinfo=UTC)),
        (
            [{"when": {"dates": {"to": "2024-01-01"}, "time": {"from": "22:00", "to": "02:00"}}, "to": A}],
            "UTC",
            datetime(1, 1, 1, 0, 30, tzinfo=UTC),
        ),
    ],
    ids=["local time after 9999", "local time before year 1", "carried to before year 1"],
)
def test_pick_declines_where_resolve_reports_errors(doc: list[dict[str, Any]], tz: str, at: datetime) -> None:
    got, expected = both(doc, at=at, tz=tz)
    assert expected.errors == (0,)
    assert got is None


def test_pick_agrees_with_resolve_in_far_off_years() -> None:
    """Far from 1970 a float division of ``now_us`` loses microseconds: one microsecond before
    a minute would round up to it. The handler converts exactly (``redirect.handler._utc``), as
    ``pick`` computes, so both see 23:59 here, outside 00:00-12:00."""
    doc = [{"when": {"time": {"from": "00:00", "to": "12:00"}}, "to": A}]
    now_us = utc_us(datetime(3000, 6, 1, tzinfo=UTC)) - 1
    code, program = _compiled(json.dumps(doc), None, "code-1")
    got = program.rules.pick(Visit(), now_us, 0, {}, "s")
    expected = resolve(code, Visit(), as_resolve_sees_it(now_us), RoutingState(0, {}, "s"))
    assert expected is code.default
    assert got is not None
    assert program.outcomes[got] is expected, (
        f"now_us={now_us}: pick -> {None if got is None else program.outcomes[got].destination}, "
        f"resolve (at {as_resolve_sees_it(now_us).isoformat()}) -> {expected.destination}"
    )


# ---- lowering and the Rules type itself -----------------------------------------------------------


@pytest.mark.parametrize("doc", [None, [], [{"when": {"os": 7}, "to": A}]], ids=["none", "empty", "broken"])
def test_a_code_without_rules_is_not_lowered(doc: Any) -> None:
    code = compile_code("code-1", DEFAULT, "UTC", doc)
    assert code.rules == ()
    assert lower(code, scanpath.Rules) is None


def test_a_cap_beyond_the_program_is_not_lowered() -> None:
    code = compile_code("code-1", DEFAULT, "UTC", [{"when": {}, "to": A, "cap": 2**70}])
    assert code.broken == ()
    assert lower(code, scanpath.Rules) is None
    assert resolve(code, Visit(), NOW, RoutingState(cap_used={"r0": 2**69})).destination == A


def make_rules(program: Any, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "program": program,
        "offset_fn": offset_seconds(UTC),
        "point_fn": assignment_point,
        "ipv4_type": IPv4Address,
    }
    return scanpath.Rules(**(arguments | overrides))


def test_a_well_formed_program_answers() -> None:
    rules = make_rules((((), None, -1, (0, 1)),))
    assert rules.pick(Visit(), 0, 0, {}, "s") == 1


@pytest.mark.parametrize(
    "program",
    [
        ((("x",), None, -1, (0, 0)),),  # a condition that is not a tuple
        ((((99, 0),), None, -1, (0, 0)),),  # an unknown condition kind
        ((((0, 7, True, frozenset()),), None, -1, (0, 0)),),  # the ip field is no any-of field
        ((((0, 1, True, {"ios"}),), None, -1, (0, 0)),),  # a set, not a frozenset
        ((((2, (5, 1), (6, 2)),), None, -1, (0, 0)),),  # ranges not sorted
        ((((2, (0,), (2**32,)),), None, -1, (0, 0)),),  # beyond IPv4
        ((((3, (("src", "qr"),)),), None, -1, (0, 0)),),  # a query value that is a bare str
        (((), None, -1, (1, b"salt", ((1, None, -1, 1),))),),  # an int weight
        (((), None, -1, (2, 1, 2)),),  # an app target without web
        (((), None, -1),),  # a rule of three parts
        ("rule",),
    ],
)
def test_a_malformed_program_is_refused(program: Any) -> None:
    with pytest.raises(ValueError, match="not a rules program"):
        make_rules(program)


@pytest.mark.parametrize(
    "overrides",
    [
        {"program": [((), None, -1, (0, 0))]},  # a list
        {"program": (((), None, "many", (0, 0)),)},  # a cap that is no int
        {"program": ((((4, "22:00", 120),), None, -1, (0, 0)),)},
        {"ipv4_type": "IPv4Address"},
    ],
)
def test_values_of_the_wrong_type_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        make_rules((((), None, -1, (0, 0)),), **overrides)


def test_rules_are_initialised_once() -> None:
    rules = make_rules((((), None, -1, (0, 1)),))
    with pytest.raises(RuntimeError):
        rules.__init__(
            program=(), offset_fn=offset_seconds(UTC), point_fn=assignment_point, ipv4_type=IPv4Address
        )
    assert rules.pick(Visit(), 0, 0, {}, "s") == 1


@pytest.mark.parametrize(
    "args",
    [
        (),
        (Visit(), 0, 0, {}),
        (Visit(), 0, 0, {}, "s", "extra"),
        (Visit(), "now", 0, {}, "s"),
        (Visit(), 0, None, {}, "s"),
        (Visit(), 0, 0, {}, b"subject"),
        (Visit(), 0, 0, {}, None),
    ],
)
def test_pick_with_wrong_arguments_raises_type_error(args: tuple[Any, ...]) -> None:
    rules = make_rules((((), None, -1, (0, 1)),))
    with pytest.raises(TypeError):
        rules.pick(*args)


def test_pick_declines_what_it_does_not_run() -> None:
    _, program = compile_lowered([{"when": {"query": {"src": True}}, "to": A}], "UTC")
    pick = program.rules.pick
    assert pick(Visit(query={"src": "qr"}), 0, 0, {}, "s") == 1
    assert pick(Visit(query={"src": "qr"}.items()), 0, 0, {}, "s") is None  # type: ignore[arg-type]
    assert pick(Visit(), 0, 0, MappingProxyType({}), "s") is None  # caps that are not a dict
    assert pick((), 0, 0, {}, "s") is None  # not a visit
