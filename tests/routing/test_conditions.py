"""Each condition kind, table-driven, through the public compile + resolve path."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any

import pytest

from scanroute.domain.visit import DeviceType, Visit
from scanroute.routing import ConditionKind, RoutingState, compile_code, resolve
from scanroute.routing.schema import RULES_SCHEMA
from scanroute.routing.when import PARSERS

HIT = "https://example.com/hit"
MISS = "https://example.com/miss"
NOON = datetime(2024, 6, 12, 12, 0, tzinfo=UTC)  # a Wednesday


def holds(
    when: dict[str, Any],
    visit: Visit | None = None,
    now: datetime = NOON,
    *,
    tz: str = "UTC",
    prior_scans: int = 0,
) -> bool:
    code = compile_code("code-1", MISS, tz, [{"when": when, "to": HIT}])
    assert code.broken == ()
    decision = resolve(code, visit or Visit(), now, RoutingState(prior_scans=prior_scans))
    assert decision.errors == ()
    return decision.destination == HIT


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_every_kind_has_one_parser_and_a_schema_entry() -> None:
    schema_keys = set(RULES_SCHEMA["$defs"]["when"]["properties"])
    assert set(PARSERS) == set(ConditionKind)
    assert {kind.value for kind in ConditionKind} == schema_keys


@pytest.mark.parametrize(
    ("when", "visit", "expected"),
    [
        ({"device": "mobile"}, Visit(device=DeviceType.MOBILE), True),
        ({"device": ["tablet", "desktop"]}, Visit(device=DeviceType.MOBILE), False),
        ({"device": ["tablet", "desktop"]}, Visit(device=DeviceType.DESKTOP), True),
        ({"os": ["iOS"]}, Visit(os="iOS"), True),
        ({"os": "ios"}, Visit(os="iOS"), True),
        ({"os": ["iOS", "Android"]}, Visit(os="Android"), True),
        ({"os": ["iOS"]}, Visit(os="macOS"), False),
        ({"os": ["iOS"]}, Visit(os=None), False),
        ({"browser": ["Chrome Mobile"]}, Visit(browser="chrome mobile"), True),
        ({"browser": "Firefox"}, Visit(browser="Chrome"), False),
        ({"browser": "Chrome"}, Visit(browser="Chrome Mobile"), False),
        ({"browser": "Firefox"}, Visit(browser=None), False),
        ({"country": "DE"}, Visit(country="DE"), True),
        ({"country": ["fr", "be"]}, Visit(country="BE"), True),
        ({"country": "DE"}, Visit(country="AT"), False),
        ({"country": "DE"}, Visit(country=None), False),
        ({"region": "BY"}, Visit(region="by"), True),
        ({"region": ["Bavaria"]}, Visit(region="Berlin"), False),
        ({"city": "München"}, Visit(city="MÜNCHEN"), True),
        ({"city": "Straße"}, Visit(city="STRASSE"), True),
        ({"city": "Berlin"}, Visit(city=None), False),
    ],
)
def test_attribute_conditions(when: dict[str, Any], visit: Visit, expected: bool) -> None:
    assert holds(when, visit) is expected


@pytest.mark.parametrize(
    ("rule", "languages", "expected"),
    [
        ("de", ("de",), True),
        ("de", ("de-at", "en"), True),
        ("de", ("de-ch",), True),
        ("de-AT", ("de-at",), True),
        ("de-AT", ("de",), False),
        ("de-AT", ("de-ch",), False),
        ("de", ("en", "de"), False),  # only the most preferred language counts
        ("de", (), False),
        ("de", ("deu",), False),  # a prefix ends at a subtag boundary
        (["fr", "de"], ("de-de",), True),
        ("zh-Hant", ("zh-hant-tw",), True),
        ("zh-Hant", ("zh-hans",), False),
    ],
)
def test_language(rule: Any, languages: tuple[str, ...], expected: bool) -> None:
    assert holds({"language": rule}, Visit(languages=languages)) is expected


@pytest.mark.parametrize(
    ("rule", "ip", "expected"),
    [
        ("203.0.113.7", "203.0.113.7", True),
        ("203.0.113.7", "203.0.113.8", False),
        ("203.0.113.0/24", "203.0.113.200", True),
        ("203.0.113.0/24", "203.0.114.1", False),
        ("2001:db8::/32", "2001:db8:1::5", True),
        ("2001:db8::/32", "2001:db9::1", False),
        ("2001:db8::/32", "203.0.113.7", False),
        ("0.0.0.0/0", "2001:db8::1", False),
        (["10.0.0.0/8", "2001:db8::1"], "2001:db8::1", True),
        ("192.0.2.0/24", "::ffff:192.0.2.9", True),  # IPv4-mapped IPv6
        ("10.1.2.3/8", "10.200.0.1", True),  # host bits are ignored
        (["10.0.0.0/16", "10.0.0.0/8", "11.0.0.0/8"], "10.200.0.1", True),
        (["10.0.0.0/16", "12.0.0.0/8"], "11.0.0.1", False),
        ("203.0.113.0/24", None, False),
    ],
)
def test_ip(rule: Any, ip: str | None, expected: bool) -> None:
    visit = Visit(ip=None if ip is None else ip_address(ip))
    assert holds({"ip": rule}, visit) is expected


@pytest.mark.parametrize(
    ("rule", "query", "expected"),
    [
        ({"src": "flyer"}, {"src": "flyer"}, True),
        ({"src": "flyer"}, {"src": "Flyer"}, False),
        ({"src": "flyer"}, {}, False),
        ({"src": ["a", "b"]}, {"src": "b"}, True),
        ({"src": True}, {"src": ""}, True),
        ({"src": True}, {}, False),
        ({"debug": False}, {}, True),
        ({"debug": False}, {"debug": "1"}, False),
        ({"src": "a", "debug": False}, {"src": "a"}, True),
        ({"src": "a", "debug": False}, {"src": "a", "debug": "1"}, False),
    ],
)
def test_query(rule: dict[str, Any], query: dict[str, str], expected: bool) -> None:
    assert holds({"query": rule}, Visit(query=query)) is expected


@pytest.mark.parametrize(
    ("rule", "now", "expected"),
    [
        ({"from": "2024-06-01", "to": "2024-06-30"}, "2024-06-15T12:00", True),
        # 00:30 on 1 June in Berlin, still 31 May in UTC: the code's zone decides
        ({"from": "2024-06-01", "to": "2024-06-30"}, "2024-05-31T22:30", True),
        ({"from": "2024-06-01", "to": "2024-06-30"}, "2024-05-31T21:30", False),
        ({"from": "2024-06-01", "to": "2024-06-30"}, "2024-06-30T21:59", True),
        ({"from": "2024-06-01", "to": "2024-06-30"}, "2024-06-30T22:30", False),
        ({"from": "2024-06-15", "to": "2024-06-15"}, "2024-06-15T21:59", True),
        ({"from": "2024-06-01"}, "2030-01-01T00:00", True),
        ({"from": "2024-06-01"}, "2024-05-31T12:00", False),
        ({"to": "2024-06-30"}, "2000-01-01T00:00", True),
        ({"to": "2024-06-30"}, "2024-07-01T12:00", False),
    ],
)
def test_dates_in_code_zone(rule: dict[str, str], now: str, expected: bool) -> None:
    assert holds({"dates": rule}, now=utc(now), tz="Europe/Berlin") is expected


@pytest.mark.parametrize(
    ("days", "now", "expected"),
    [
        (["sat", "sun"], "2024-06-15T12:00", True),  # Saturday
        (["sat", "sun"], "2024-06-17T12:00", False),  # Monday
        # Monday 02:00 UTC is still Sunday 22:00 in New York
        ("mon", "2024-06-17T02:00", False),
        ("sun", "2024-06-17T02:00", True),
    ],
)
def test_days_in_code_zone(days: Any, now: str, expected: bool) -> None:
    assert holds({"days": days}, now=utc(now), tz="America/New_York") is expected


@pytest.mark.parametrize(
    ("window", "now", "expected"),
    [
        (("09:00", "17:00"), "2024-06-15T07:00", True),  # 09:00 CEST: from is inclusive
        (("09:00", "17:00"), "2024-06-15T06:59", False),
        (("09:00", "17:00"), "2024-06-15T14:59", True),
        (("09:00", "17:00"), "2024-06-15T15:00", False),  # 17:00 CEST: to is exclusive
        (("09:00", "17:00"), "2024-01-15T08:00", True),  # 09:00 CET in winter
        (("09:00", "17:00"), "2024-01-15T07:30", False),
        (("22:00", "02:00"), "2024-06-15T21:30", True),  # 23:30
        (("22:00", "02:00"), "2024-06-15T22:00", True),  # 00:00
        (("22:00", "02:00"), "2024-06-15T23:59", True),  # 01:59
        (("22:00", "02:00"), "2024-06-16T00:00", False),  # 02:00
        (("22:00", "02:00"), "2024-06-15T19:59", False),  # 21:59
        (("18:00", "00:00"), "2024-06-15T21:59", True),  # 23:59
        (("18:00", "00:00"), "2024-06-15T22:00", False),  # 00:00
        # spring forward, 31 March 2024: 02:00-03:00 local never happens
        (("02:00", "03:00"), "2024-03-31T00:59", False),  # 01:59 CET
        (("02:00", "03:00"), "2024-03-31T01:00", False),  # 03:00 CEST
        (("01:00", "03:00"), "2024-03-31T00:30", True),  # 01:30 CET
        (("01:00", "03:00"), "2024-03-31T01:00", False),  # 03:00 CEST
        # fall back, 27 October 2024: 02:00-03:00 local happens twice
        (("02:00", "03:00"), "2024-10-27T00:30", True),  # 02:30 CEST
        (("02:00", "03:00"), "2024-10-27T01:30", True),  # 02:30 CET
        (("02:00", "03:00"), "2024-10-27T02:00", False),  # 03:00 CET
    ],
)
def test_time_in_code_zone(window: tuple[str, str], now: str, expected: bool) -> None:
    when = {"time": {"from": window[0], "to": window[1]}}
    assert holds(when, now=utc(now), tz="Europe/Berlin") is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2024-06-14T21:00", True),  # Friday 23:00
        ("2024-06-14T23:00", True),  # Saturday 01:00 belongs to Friday's window
        ("2024-06-14T23:59", True),  # Saturday 01:59
        ("2024-06-15T00:00", False),  # Saturday 02:00: to is exclusive
        ("2024-06-15T20:30", False),  # Saturday 22:30: Saturday's window, not Friday's
        ("2024-06-13T23:00", False),  # Friday 01:00 belongs to Thursday's window
        ("2024-06-14T19:00", False),  # Friday 21:00: before the window
    ],
)
def test_days_with_window_across_midnight_use_the_starting_day(now: str, expected: bool) -> None:
    when = {"days": ["fri"], "time": {"from": "22:00", "to": "02:00"}}
    assert holds(when, now=utc(now), tz="Europe/Berlin") is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2024-12-31T22:30", True),  # 23:30 on 31 December
        ("2025-01-01T00:00", True),  # 01:00 on 1 January: the 31 December window
        ("2025-01-01T21:30", False),  # 22:30 on 1 January: a new window, after "to"
    ],
)
def test_dates_with_window_across_midnight_use_the_starting_day(now: str, expected: bool) -> None:
    when = {"dates": {"to": "2024-12-31"}, "time": {"from": "22:00", "to": "02:00"}}
    assert holds(when, now=utc(now), tz="Europe/Berlin") is expected


@pytest.mark.parametrize(
    ("rule", "prior_scans", "expected"),
    [
        ("first", 0, True),
        ("first", 1, False),
        ("returning", 0, False),
        ("returning", 3, True),
        (["first", "returning"], 5, True),
        (["first", "returning"], 0, True),
    ],
)
def test_visitor(rule: Any, prior_scans: int, expected: bool) -> None:
    assert holds({"visitor": rule}, prior_scans=prior_scans) is expected


@pytest.mark.parametrize(
    ("rule", "prior_scans", "expected"),
    [
        ({"min": 3}, 1, False),  # second scan
        ({"min": 3}, 2, True),  # third scan
        ({"max": 2}, 0, True),
        ({"max": 2}, 1, True),
        ({"max": 2}, 2, False),
        ({"min": 2, "max": 3}, 0, False),
        ({"min": 2, "max": 3}, 1, True),
        ({"min": 2, "max": 3}, 2, True),
        ({"min": 2, "max": 3}, 3, False),
        ({"min": 1, "max": 1}, 0, True),
        ({"min": 1, "max": 1}, 1, False),
    ],
)
def test_nth_scan(rule: dict[str, int], prior_scans: int, expected: bool) -> None:
    assert holds({"nth_scan": rule}, prior_scans=prior_scans) is expected


@pytest.mark.parametrize(
    ("when", "visit", "expected"),
    [
        ({}, Visit(), True),
        ({"os": "iOS", "country": "DE"}, Visit(os="iOS", country="DE"), True),
        ({"os": "iOS", "country": "DE"}, Visit(os="iOS", country="FR"), False),
        ({"os": "iOS", "country": "DE"}, Visit(os="Android", country="DE"), False),
    ],
)
def test_every_key_must_hold(when: dict[str, Any], visit: Visit, expected: bool) -> None:
    assert holds(when, visit) is expected
