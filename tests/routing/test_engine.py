"""resolve(): rule order, targets (to, variants, app), caps, bandit weights, failures."""

from __future__ import annotations

import dataclasses
import functools
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scanroute.domain.visit import DeviceType, Visit
from scanroute.routing import (
    Decision,
    DecisionKind,
    RoutableCode,
    RoutingState,
    compile_code,
    resolve,
)
from scanroute.routing.conditions import ConditionKind, MatchContext
from scanroute.routing.engine import pick_weighted

DEFAULT = "https://example.com/"
NOW = datetime(2024, 6, 12, 12, 0, tzinfo=UTC)

DESIGN_EXAMPLE: list[dict[str, Any]] = [
    {"name": "iPhone", "when": {"os": ["iOS"]}, "to": "https://apps.apple.com/app/id123"},
    {"when": {"language": ["de"]}, "to": "https://example.com/de"},
    {
        "when": {"days": ["sat", "sun"], "time": {"from": "18:00", "to": "23:00"}},
        "to": "https://example.com/happy-hour",
    },
    {
        "when": {"country": ["FR", "BE"], "visitor": "first"},
        "variants": [
            {"to": "https://example.com/a", "weight": 70},
            {"to": "https://example.com/b", "weight": 30},
        ],
    },
    {"when": {}, "to": "https://example.com/offer", "cap": 500},
]


def route(
    rules: list[Any],
    visit: Visit | None = None,
    now: datetime = NOW,
    state: RoutingState | None = None,
    *,
    tz: str = "UTC",
    code_id: str = "code-1",
) -> Decision:
    code = _compiled(json.dumps(rules), tz, code_id)
    return resolve(code, visit or Visit(), now, state or RoutingState())


@functools.cache
def _compiled(rules: str, tz: str, code_id: str) -> RoutableCode:
    code = compile_code(code_id, DEFAULT, tz, json.loads(rules))
    assert code.broken == ()
    return code


def berlin(text: str) -> datetime:
    """A Berlin wall-clock time, given to resolve() in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


def test_no_rules_and_no_match_go_to_the_default() -> None:
    assert route([]) == Decision(DEFAULT)
    assert route([{"when": {"os": "iOS"}, "to": "https://x.test/"}]) == Decision(DEFAULT)


def test_first_matching_rule_wins_and_is_reported() -> None:
    rules = [
        {"when": {"os": "Android"}, "to": "https://x.test/android"},
        {"name": "de", "when": {"country": "DE"}, "to": "https://x.test/de"},
        {"when": {}, "to": "https://x.test/all"},
    ]
    decision = route(rules, Visit(country="DE"))
    assert decision == Decision("https://x.test/de", kind=DecisionKind.REDIRECT, rule_index=1, rule_name="de")
    assert route(rules, Visit(os="Android", country="DE")).rule_index == 0
    assert route(rules, Visit(country="FR")).rule_index == 2


@pytest.mark.parametrize(
    ("visit", "when", "expected"),
    [
        (
            Visit(os="iOS", languages=("de",)),
            "2024-06-15T19:00",
            "https://apps.apple.com/app/id123",
        ),
        (Visit(os="Android", languages=("de-at",)), "2024-06-15T19:00", "https://example.com/de"),
        (Visit(languages=("en",)), "2024-06-15T19:00", "https://example.com/happy-hour"),
        (Visit(languages=("en",)), "2024-06-16T22:59", "https://example.com/happy-hour"),
        (Visit(languages=("en",)), "2024-06-16T23:00", "https://example.com/offer"),
        (Visit(languages=("en",)), "2024-06-14T19:00", "https://example.com/offer"),  # Friday
        (Visit(languages=("fr",)), "2024-06-15T17:59", "https://example.com/offer"),
    ],
)
def test_design_example_in_berlin(visit: Visit, when: str, expected: str) -> None:
    assert route(DESIGN_EXAMPLE, visit, berlin(when), tz="Europe/Berlin").destination == expected


def test_design_example_split_and_cap() -> None:
    french = [Visit(country="FR", visitor=f"v{i}") for i in range(200)]
    picks = {route(DESIGN_EXAMPLE, visit).destination for visit in french}
    assert picks == {"https://example.com/a", "https://example.com/b"}
    returning = route(DESIGN_EXAMPLE, french[0], state=RoutingState(prior_scans=1))
    assert returning.destination == "https://example.com/offer"
    assert returning.cap_keys == ("r4",)
    spent = route(DESIGN_EXAMPLE, Visit(country="US"), state=RoutingState(cap_used={"r4": 500}))
    assert spent == Decision(DEFAULT)


HAPPY_HOUR_CODE = [
    {"when": {"os": "iOS"}, "to": "https://apps.apple.com/app/id1"},
    {"when": {"language": "de"}, "to": "https://example.com/de"},
    {
        "when": {"days": ["sat", "sun"], "time": {"from": "18:00", "to": "23:00"}},
        "to": "https://example.com/happy-hour",
    },
]


@pytest.mark.parametrize(
    ("visit", "when", "expected"),
    [
        (Visit(os="iOS", device=DeviceType.MOBILE), "2024-06-12T10:00", "apps.apple.com/app/id1"),
        (Visit(os="iOS", languages=("de",)), "2024-06-15T20:00", "apps.apple.com/app/id1"),
        (Visit(os="Android", languages=("de-de",)), "2024-06-12T10:00", "example.com/de"),
        (Visit(os="Android", languages=("de-ch",)), "2024-06-15T20:00", "example.com/de"),
        (Visit(os="Windows", languages=("en-gb",)), "2024-06-15T18:00", "example.com/happy-hour"),
        (Visit(os="Android", languages=("fr",)), "2024-06-16T22:59", "example.com/happy-hour"),
        (Visit(os="Android", languages=("fr",)), "2024-06-16T23:00", "example.com/"),
        (Visit(os="Android", languages=("fr",)), "2024-06-15T17:59", "example.com/"),
        (Visit(os="Android", languages=("fr",)), "2024-06-17T19:00", "example.com/"),  # Monday
        (Visit(os="Android", languages=("en", "de")), "2024-06-12T10:00", "example.com/"),
    ],
)
def test_happy_hour_scenario_in_berlin(visit: Visit, when: str, expected: str) -> None:
    decision = route(HAPPY_HOUR_CODE, visit, berlin(when), tz="Europe/Berlin")
    assert decision.destination == f"https://{expected}"


def test_rule_cap_falls_through_when_used_up() -> None:
    rules = [
        {"when": {}, "to": "https://x.test/capped", "cap": 2},
        {"when": {}, "to": "https://x.test/next"},
    ]
    first = route(rules, state=RoutingState(cap_used={"r0": 1}))
    assert (first.destination, first.cap_keys) == ("https://x.test/capped", ("r0",))
    spent = route(rules, state=RoutingState(cap_used={"r0": 2}))
    assert (spent.destination, spent.rule_index, spent.cap_keys) == ("https://x.test/next", 1, ())


SPLIT: dict[str, Any] = {
    "when": {},
    "variants": [
        {"to": "https://x.test/a", "weight": 1, "label": "A"},
        {"to": "https://x.test/b", "weight": 1, "cap": 10, "label": "B"},
        {"to": "https://x.test/c", "weight": 2},
    ],
}


def test_variant_decision_reports_variant_label_and_cap_keys() -> None:
    by_variant = {}
    for i in range(300):
        decision = route([SPLIT], Visit(visitor=f"v{i}"))
        by_variant[decision.variant] = decision
    assert set(by_variant) == {0, 1, 2}
    assert by_variant[0].variant_label == "A"
    assert by_variant[0].cap_keys == ()
    assert by_variant[1].cap_keys == ("r0v1",)
    assert by_variant[2].variant_label is None
    assert by_variant[2].destination == "https://x.test/c"


def test_capped_variant_moves_only_its_own_visitors_and_by_weight() -> None:
    visitors = [Visit(visitor=f"v{i}") for i in range(3000)]
    before = [route([SPLIT], visit).variant for visit in visitors]
    capped = RoutingState(cap_used={"r0v1": 10})
    after = [route([SPLIT], visit, state=capped).variant for visit in visitors]
    assert 1 not in after
    assert all(b == a for b, a in zip(before, after, strict=True) if b != 1)
    moved = [a for b, a in zip(before, after, strict=True) if b == 1]
    # displaced visitors spread 1:2 over A and C (binomial, 5 sigma)
    n = len(moved)
    assert abs(moved.count(2) - n * 2 / 3) < 5 * (n * 2 / 9) ** 0.5


def test_all_variants_capped_falls_through() -> None:
    rules = [
        {
            "when": {},
            "variants": [
                {"to": "https://x.test/a", "weight": 1, "cap": 1},
                {"to": "https://x.test/b", "weight": 1, "cap": 1},
            ],
        },
        {"when": {}, "to": "https://x.test/next"},
    ]
    state = RoutingState(cap_used={"r0v0": 1, "r0v1": 5})
    assert route(rules, Visit(visitor="v"), state=state).destination == "https://x.test/next"


def test_rule_and_variant_caps_are_both_counted() -> None:
    rules = [{"when": {}, "cap": 100, "variants": [{"to": "https://x.test/a", "weight": 1, "cap": 3}]}]
    assert route(rules).cap_keys == ("r0", "r0v0")


def test_sticky_assignment_uses_visitor_then_seed() -> None:
    rules = [SPLIT]
    seeds = {route(rules, Visit(), state=RoutingState(seed=f"s{i}")).variant for i in range(200)}
    assert seeds == {0, 1, 2}
    for i in range(50):
        visit = Visit(visitor=f"v{i}")
        expected = route(rules, visit).variant
        for seed in ("x", "y", "z"):
            assert route(rules, visit, state=RoutingState(seed=seed)).variant == expected


def test_assignment_differs_between_codes() -> None:
    rules = [{"when": {}, "variants": [{"to": "https://x.test/a", "weight": 1}] * 2}]
    agree = sum(
        route(rules, Visit(visitor=f"v{i}"), code_id="one").variant
        == route(rules, Visit(visitor=f"v{i}"), code_id="two").variant
        for i in range(2000)
    )
    assert abs(agree - 1000) < 5 * 500**0.5  # independent 50/50 assignments agree half the time


BANDIT: dict[str, Any] = {
    "when": {},
    "allocation": "bandit",
    "variants": [
        {"to": "https://x.test/a", "weight": 1},
        {"to": "https://x.test/b", "weight": 1},
    ],
}


@pytest.mark.parametrize(
    ("rule", "weights", "expected"),
    [
        (BANDIT, [0.0, 1.0], {1}),
        (BANDIT, [1.0, 0.0], {0}),
        (BANDIT, [0.0, 0.0, 1.0], {0, 1}),  # wrong length: configured weights
        (BANDIT, [-1.0, 2.0], {0, 1}),  # not usable: configured weights
        (BANDIT, [float("nan"), 1.0], {0, 1}),
        (BANDIT, [0.0, 0.0], {0, 1}),
        ({**BANDIT, "allocation": "weights"}, [0.0, 1.0], {0, 1}),
    ],
)
def test_bandit_weights(rule: dict[str, Any], weights: list[float], expected: set[int]) -> None:
    state = RoutingState(bandit_weights={0: weights})
    picks = {route([rule], Visit(visitor=f"v{i}"), state=state).variant for i in range(200)}
    assert picks == expected


def test_bandit_weights_skip_capped_variants() -> None:
    state = RoutingState(bandit_weights={0: [0.0, 1.0]}, cap_used={})
    rule = {**BANDIT, "variants": [BANDIT["variants"][0], {**BANDIT["variants"][1], "cap": 1}]}
    assert route([rule], Visit(visitor="v"), state=state).variant == 1
    capped = state._replace(cap_used={"r0v1": 1})
    assert route([rule], Visit(visitor="v"), state=capped).variant == 0


APP: dict[str, Any] = {
    "name": "app",
    "when": {},
    "app": {
        "ios": {"url": "myapp://offer/1", "store": "https://apps.apple.com/app/id1"},
        "android": {"url": "intent://offer/1#Intent;scheme=myapp;end"},
        "web": "https://example.com/offer",
    },
}


@pytest.mark.parametrize(
    ("os", "kind", "app_url", "fallback"),
    [
        ("iOS", "app", "myapp://offer/1", "https://apps.apple.com/app/id1"),
        ("Android", "app", "intent://offer/1#Intent;scheme=myapp;end", "https://example.com/offer"),
        ("Windows", "redirect", None, None),
        (None, "redirect", None, None),
    ],
)
def test_app_target(os: str | None, kind: str, app_url: str | None, fallback: str | None) -> None:
    decision = route([APP], Visit(os=os))
    assert decision.kind == kind
    assert decision.app_url == app_url
    assert decision.fallback_url == fallback
    assert decision.destination == (fallback or "https://example.com/offer")
    assert (decision.rule_index, decision.rule_name) == (0, "app")


def test_app_target_with_store_only_redirects_to_the_store() -> None:
    rule = {
        "when": {},
        "app": {"ios": {"store": "https://apps.apple.com/x"}, "web": "https://w.test/"},
    }
    assert route([rule], Visit(os="iOS")) == Decision("https://apps.apple.com/x", rule_index=0)


class Boom:
    kind = ConditionKind.OS

    def matches(self, ctx: MatchContext) -> bool:
        raise RuntimeError("matcher bug")


def test_a_raising_matcher_skips_its_rule_and_is_reported() -> None:
    code = compile_code(
        "c",
        DEFAULT,
        "UTC",
        [
            {"when": {}, "to": "https://x.test/broken"},
            {"when": {}, "to": "https://x.test/next"},
        ],
    )
    broken = dataclasses.replace(code.rules[0], conditions=(Boom(),))
    code = dataclasses.replace(code, rules=(broken, code.rules[1]))
    decision = resolve(code, Visit(), NOW, RoutingState())
    assert (decision.destination, decision.errors) == ("https://x.test/next", (0,))
    alone = dataclasses.replace(code, rules=(broken,))
    assert resolve(alone, Visit(), NOW, RoutingState()) == Decision(DEFAULT, errors=(0,))


def test_naive_now_is_utc_and_unrepresentable_now_falls_back() -> None:
    rules = [{"when": {"time": {"from": "12:00", "to": "13:00"}}, "to": "https://x.test/noon"}]
    assert route(rules, now=datetime(2024, 6, 12, 12, 30)).destination == "https://x.test/noon"
    code = compile_code("c", DEFAULT, "Pacific/Kiritimati", rules)
    extreme = datetime.max.replace(tzinfo=UTC)
    assert resolve(code, Visit(), extreme, RoutingState()) == Decision(DEFAULT, errors=(0,))


def test_pick_weighted_redistributes_by_weight() -> None:
    points = [(i + 0.5) / 6000 for i in range(6000)]
    plain = [pick_weighted(p, [1.0, 1.0, 2.0], set()) for p in points]
    assert (plain.count(0), plain.count(1), plain.count(2)) == (1500, 1500, 3000)
    blocked = [pick_weighted(p, [1.0, 1.0, 2.0], {0}) for p in points]
    assert (blocked.count(1), blocked.count(2)) == (2000, 4000)
    assert pick_weighted(0.3, [1.0, 1.0], {0, 1}) is None
    assert pick_weighted(0.999, [0.0, 1.0, 0.0], set()) == 1


def test_the_match_context_folds_the_visit_once() -> None:
    from datetime import datetime
    from ipaddress import ip_address
    from zoneinfo import ZoneInfo

    from scanroute.domain.visit import DeviceType
    from scanroute.routing.conditions import MatchContext

    local = datetime(2026, 12, 5, 22, 47, tzinfo=ZoneInfo("Europe/Berlin"))  # a Saturday
    visit = Visit(
        device=DeviceType.TABLET,
        os="iOS",
        browser="Mobile Safari",
        languages=("DE-ch", "en"),
        country="CH",
        region="Zürich",
        city="STRAßE",
        ip=ip_address("81.2.69.160"),
        query={"src": "Flyer"},
    )
    ctx = MatchContext.build(visit, local, 3)
    assert type(ctx) is MatchContext
    assert ctx == MatchContext(
        device="tablet",
        os="ios",
        browser="mobile safari",
        language="de-ch",
        country="ch",
        region="zürich",
        city="strasse",  # casefold, not lower
        ip=ip_address("81.2.69.160"),
        query={"src": "Flyer"},
        day=local.date(),
        weekday=5,
        minute=22 * 60 + 47,
        prior_scans=3,
    )
    empty = MatchContext.build(Visit(), local, 0)
    assert (empty.os, empty.browser, empty.language, empty.country, empty.region, empty.city) == (None,) * 6
