"""compile_code(): tolerant of whatever was stored, precise about what it left out."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from scanroute.domain.visit import Visit
from scanroute.routing import RoutingState, compile_code, resolve
from scanroute.routing.conditions import DaysIn, IpIn, TimeWindow

DEFAULT = "https://example.com/"
GOOD = {"when": {}, "to": "https://example.com/good"}


def test_a_broken_rule_is_skipped_recorded_and_keeps_later_indices() -> None:
    doc = [
        {"when": {"time": {"from": "25:00", "to": "26:00"}}, "to": "https://example.com/bad"},
        {"when": {"ip": "not-an-ip"}, "to": "https://example.com/bad"},
        GOOD,
    ]
    code = compile_code("c", DEFAULT, "UTC", doc)
    assert [rule.index for rule in code.rules] == [2]
    assert [index for index, _ in code.broken] == [0, 1]
    assert "rules[0].when.time.from" in code.broken[0][1]
    assert "rules[1].when.ip" in code.broken[1][1]
    decision = resolve(code, Visit(), datetime(2024, 1, 1, tzinfo=UTC), RoutingState())
    assert (decision.destination, decision.rule_index) == ("https://example.com/good", 2)


@pytest.mark.parametrize("doc", [{"to": "x"}, "rules", 3, True])
def test_a_document_that_is_not_a_list_is_recorded(doc: Any) -> None:
    code = compile_code("c", DEFAULT, "UTC", doc)
    assert code.rules == ()
    assert code.broken == ((-1, "rules: must be a list"),)


def test_only_the_first_fifty_rules_are_used() -> None:
    code = compile_code("c", DEFAULT, "UTC", [GOOD] * 60)
    assert len(code.rules) == 50
    assert code.broken == ((-1, "rules: only the first 50 rules are used"),)


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "", "../../etc/passwd", "Europe/Berlin\x00", "Europe", "a" * 300]
)
def test_an_unknown_time_zone_falls_back_to_utc_and_is_recorded(zone: str) -> None:
    doc = [{"when": {"time": {"from": "12:00", "to": "13:00"}}, "to": "https://example.com/noon"}]
    code = compile_code("c", DEFAULT, zone, doc)
    assert (code.timezone, code.timezone_name) == (UTC, "UTC")
    assert code.broken[0][0] == -1
    assert "timezone" in code.broken[0][1]
    noon_utc = datetime(2024, 6, 1, 12, 30, tzinfo=UTC)
    assert resolve(code, Visit(), noon_utc, RoutingState()).destination.endswith("/noon")


def test_none_time_zone_is_utc_without_complaint() -> None:
    code = compile_code("c", DEFAULT, None, None)
    assert (code.timezone_name, code.broken, code.rules) == ("UTC", (), ())


def test_compiled_form_is_precomputed_and_frozen() -> None:
    doc = [
        {
            "when": {
                "days": ["fri"],
                "time": {"from": "22:30", "to": "01:15"},
                "ip": ["10.0.0.0/8", "10.1.0.0/16", "2001:db8::1"],
            },
            "to": "https://example.com/",
        }
    ]
    code = compile_code("c", DEFAULT, "Europe/Berlin", doc)
    conditions = {type(condition): condition for condition in code.rules[0].conditions}
    assert conditions[TimeWindow] == TimeWindow(22 * 60 + 30, 75)
    assert conditions[DaysIn] == DaysIn(frozenset({4}), carry_until=75)
    ip = conditions[IpIn]
    assert isinstance(ip, IpIn)
    assert (ip.v4_starts, ip.v4_ends) == ((10 << 24,), ((11 << 24) - 1,))
    assert len(ip.v6_starts) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        code.destination = "https://evil.test/"  # type: ignore[misc]
