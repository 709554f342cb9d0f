"""Properties over arbitrary documents, visits and times: never raise, agree, stick, balance."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanroute.domain.visit import DeviceType, Visit
from scanroute.routing import (
    DecisionKind,
    RoutingState,
    compile_code,
    resolve,
    validate_rules,
)
from scanroute.routing.conditions import DAY_NAMES

DEFAULT = "https://example.com/default"
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values far more often than invalid ones, so that deep paths get exercised."""
    return st.sampled_from(range(10)).flatmap(lambda pick: bad if pick == 5 else good)


def one_or_many(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return mostly(values | st.lists(values, min_size=1, max_size=3), st.just([]))


hhmm = st.builds("{:02d}:{:02d}".format, st.integers(0, 24), st.integers(0, 60))
iso_days = mostly(st.dates().map(str), st.sampled_from(["2024-02-30", "2024-1-1", "tomorrow"]))
urls = st.sampled_from(
    [
        "https://example.com/a",
        "http://x.test/b?c=1#d",
        "https://example.com/c",
        "https://example.com/d?e=f",
        "https://e.test/?sr_sid=1",
        "javascript:alert(1)",
        "ftp://x.test/",
    ]
)
platforms = mostly(
    st.fixed_dictionaries(
        {"url": st.sampled_from(["myapp://x", "intent://y#Intent;end", "https://x.test/a"])},
        optional={"store": urls},
    ),
    st.fixed_dictionaries({}, optional={"url": st.just("data:,x"), "store": urls}),
)
CONDITION_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "device": one_or_many(st.sampled_from(["mobile", "tablet", "desktop", "phone"])),
    "os": one_or_many(st.sampled_from(["iOS", "Android", "Windows", ""])),
    "browser": one_or_many(st.sampled_from(["Chrome", "Mobile Safari"])),
    "language": one_or_many(st.sampled_from(["de", "de-AT", "en", "de_DE", "zh-Hant-TW"])),
    "country": one_or_many(st.sampled_from(["DE", "FR", "fra", "us"])),
    "region": one_or_many(st.sampled_from(["BY", "Île-de-France"])),
    "city": one_or_many(st.sampled_from(["Berlin", "PARIS"])),
    "ip": one_or_many(
        st.ip_addresses().map(str) | st.sampled_from(["10.0.0.0/8", "2001:db8::/32", "1.2.3.4/40"])
    ),
    "query": st.dictionaries(
        st.sampled_from(["src", "ref", ""]),
        st.booleans() | st.text(max_size=3) | st.lists(st.text(max_size=3), max_size=2),
        min_size=1,
        max_size=3,
    ),
    "dates": mostly(
        st.fixed_dictionaries({"from": iso_days}, optional={"to": iso_days}),
        st.fixed_dictionaries({}, optional={"to": iso_days}),
    ),
    "days": one_or_many(st.sampled_from([*DAY_NAMES, "Sat"])),
    "time": mostly(
        st.fixed_dictionaries({"from": hhmm, "to": hhmm}),
        st.fixed_dictionaries({}, optional={"from": hhmm}),
    ),
    "visitor": one_or_many(st.sampled_from(["first", "returning", "new"])),
    "nth_scan": mostly(
        st.fixed_dictionaries({"min": st.integers(1, 5)}, optional={"max": st.integers(1, 5)}),
        st.fixed_dictionaries({}, optional={"min": st.integers(-1, 5), "max": st.integers(-1, 5)}),
    ),
}
structured_whens = st.lists(st.sampled_from(list(CONDITION_VALUES)), max_size=3, unique=True).flatmap(
    lambda keys: st.fixed_dictionaries({key: CONDITION_VALUES[key] for key in keys})
)
whens = mostly(structured_whens, json_values)
caps = mostly(st.integers(1, 3), st.integers(-1, 0))
texts = mostly(st.text(min_size=1, max_size=5), st.just(""))
variants = st.fixed_dictionaries(
    {"to": urls, "weight": mostly(st.integers(1, 100) | st.floats(0.1, 100), st.integers(-1, 0))},
    optional={"cap": caps, "label": texts},
)
apps = mostly(
    st.fixed_dictionaries({"web": urls, "ios": platforms}, optional={"android": platforms}),
    st.fixed_dictionaries({"web": urls}),
)
targets = st.one_of(
    st.fixed_dictionaries({"to": urls}),
    st.fixed_dictionaries({"variants": mostly(st.lists(variants, min_size=1, max_size=4), st.just([]))}),
    st.fixed_dictionaries({"app": apps}),
)
rules = st.builds(
    lambda head, target: {**head, **target},
    st.fixed_dictionaries(
        {"when": whens},
        optional={
            "name": texts,
            "cap": caps,
            "allocation": mostly(st.sampled_from(["weights", "bandit"]), st.just("random")),
        },
    ),
    targets,
)
documents = st.lists(rules | json_values, max_size=6) | json_values
visits = st.builds(
    Visit,
    device=st.sampled_from(DeviceType),
    os=st.none() | st.sampled_from(["iOS", "Android", "Windows"]) | st.text(max_size=5),
    browser=st.none() | st.sampled_from(["Chrome", "Mobile Safari"]),
    languages=st.lists(
        st.sampled_from(["de", "de-at", "en", "zh-hant-tw"]) | st.text(max_size=5), max_size=3
    ).map(tuple),
    country=st.none() | st.sampled_from(["DE", "FR", "US"]),
    region=st.none() | st.sampled_from(["BY", "île-de-france"]),
    city=st.none() | st.text(max_size=6),
    ip=st.none() | st.ip_addresses(),
    query=st.dictionaries(st.sampled_from(["src", "ref"]) | st.text(max_size=3), st.text(max_size=3)),
    visitor=st.none() | st.text(max_size=8),
    is_bot=st.booleans(),
)
states = st.builds(
    RoutingState,
    prior_scans=st.integers(0, 10),
    cap_used=st.dictionaries(st.sampled_from(["r0", "r1", "r0v0", "r0v1", "r2v1"]), st.integers(0, 5)),
    seed=st.text(max_size=8),
    bandit_weights=st.none()
    | st.dictionaries(st.integers(0, 5), st.lists(st.floats(), max_size=4), max_size=3),
)
zones = st.sampled_from(
    [None, "UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Mars/Base", ""]
)
any_time = st.datetimes(timezones=st.none() | st.just(UTC))
usual_time = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))


def urls_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(urls_in(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(urls_in(item) for item in value))
    return set()


@SLOW
@given(doc=documents, zone=zones, visit=visits, now=any_time, state=states)
def test_compile_and_resolve_never_raise(
    doc: Any, zone: str | None, visit: Visit, now: datetime, state: RoutingState
) -> None:
    code = compile_code("code", DEFAULT, zone, doc)
    decision = resolve(code, visit, now, state)
    assert decision.destination
    indices = {rule.index for rule in code.rules}
    assert set(decision.errors) <= indices
    if decision.rule_index is None:
        assert decision.destination == DEFAULT
    else:
        assert decision.rule_index in indices
        assert decision.destination in urls_in(doc[decision.rule_index])
    if decision.kind == DecisionKind.APP:
        assert decision.app_url
        assert decision.fallback_url == decision.destination


@SLOW
@given(doc=st.lists(rules, max_size=6), zone=zones, visit=visits, now=usual_time, state=states)
def test_compiled_rules_never_error_at_usual_times(
    doc: Any, zone: str | None, visit: Visit, now: datetime, state: RoutingState
) -> None:
    assert resolve(compile_code("code", DEFAULT, zone, doc), visit, now, state).errors == ()


@SLOW
@given(doc=documents)
def test_validation_and_compilation_agree_on_every_rule(doc: Any) -> None:
    problems = validate_rules(doc)
    code = compile_code("code", DEFAULT, "UTC", doc)
    refused = {int(m.group(1)) for p in problems if (m := re.match(r"rules\[(\d+)\]", p.field))}
    broken = {index for index, _ in code.broken if index >= 0}
    assert refused == broken
    document_level = any(p.field == "rules" for p in problems)
    assert document_level == any(index < 0 for index, _ in code.broken)
    if isinstance(doc, list):
        assert {rule.index for rule in code.rules} == set(range(len(doc))) - broken


SPLIT_70_30 = [
    {
        "when": {},
        "variants": [
            {"to": "https://example.com/a", "weight": 70},
            {"to": "https://example.com/b", "weight": 30},
        ],
    }
]
NOW = datetime(2024, 6, 12, 12, 0, tzinfo=UTC)


@given(
    visitors=st.lists(st.text(min_size=1, max_size=12), unique=True, min_size=1, max_size=30),
    order=st.randoms(use_true_random=False),
    code_id=st.text(max_size=6),
)
def test_assignment_is_sticky_and_independent_of_call_order(
    visitors: list[str], order: Any, code_id: str
) -> None:
    code = compile_code(code_id, DEFAULT, "UTC", SPLIT_70_30)

    def variant(visitor: str) -> int | None:
        return resolve(code, Visit(visitor=visitor), NOW, RoutingState(seed="x")).variant

    first = {visitor: variant(visitor) for visitor in visitors}
    shuffled = list(visitors)
    order.shuffle(shuffled)
    assert {visitor: variant(visitor) for visitor in shuffled} == first
    assert {visitor: variant(visitor) for visitor in visitors} == first


def five_sigma(count: int, n: int, p: float) -> bool:
    return abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p))


def test_configured_weights_are_honoured() -> None:
    code = compile_code("weights", DEFAULT, "UTC", SPLIT_70_30)
    n = 10_000
    counts = Counter(
        resolve(code, Visit(visitor=f"visitor-{i}"), NOW, RoutingState()).variant for i in range(n)
    )
    assert five_sigma(counts[0], n, 0.7), counts


def test_seeds_spread_like_visitors_when_untracked() -> None:
    code = compile_code("weights", DEFAULT, "UTC", SPLIT_70_30)
    n = 10_000
    counts = Counter(resolve(code, Visit(), NOW, RoutingState(seed=f"scan-{i}")).variant for i in range(n))
    assert five_sigma(counts[0], n, 0.7), counts


def test_bandit_weights_are_honoured() -> None:
    code = compile_code("bandit", DEFAULT, "UTC", [{**SPLIT_70_30[0], "allocation": "bandit"}])
    state = RoutingState(bandit_weights={0: [0.2, 0.8]})
    n = 10_000
    counts = Counter(resolve(code, Visit(visitor=f"visitor-{i}"), NOW, state).variant for i in range(n))
    assert five_sigma(counts[0], n, 0.2), counts


@given(
    rule_cap=st.none() | st.integers(1, 4),
    variant_caps=st.lists(st.none() | st.integers(1, 4), min_size=1, max_size=4),
    used=st.dictionaries(st.sampled_from(["r0", "r0v0", "r0v1", "r0v2", "r0v3"]), st.integers(0, 6)),
    visitor=st.text(max_size=6),
)
def test_caps_are_never_exceeded_and_every_capped_part_is_counted(
    rule_cap: int | None, variant_caps: list[int | None], used: dict[str, int], visitor: str
) -> None:
    split: dict[str, Any] = {
        "when": {},
        "variants": [
            {"to": f"https://example.com/{j}", "weight": 1 + j} | ({} if cap is None else {"cap": cap})
            for j, cap in enumerate(variant_caps)
        ],
    }
    if rule_cap is not None:
        split["cap"] = rule_cap
    code = compile_code("caps", DEFAULT, "UTC", [split])
    decision = resolve(code, Visit(visitor=visitor), NOW, RoutingState(cap_used=used))
    rule_open = rule_cap is None or used.get("r0", 0) < rule_cap
    open_variants = [j for j, cap in enumerate(variant_caps) if cap is None or used.get(f"r0v{j}", 0) < cap]
    if not rule_open or not open_variants:
        assert decision.rule_index is None
        return
    assert decision.variant in open_variants
    expected = (() if rule_cap is None else ("r0",)) + (
        () if variant_caps[decision.variant] is None else (f"r0v{decision.variant}",)
    )
    assert decision.cap_keys == expected


def test_counting_cap_keys_gives_each_part_exactly_its_cap() -> None:
    doc = [
        {
            "when": {},
            "variants": [
                {"to": "https://example.com/a", "weight": 1, "cap": 3},
                {"to": "https://example.com/b", "weight": 1, "cap": 4},
            ],
        },
        {"when": {}, "to": "https://example.com/offer", "cap": 5},
    ]
    code = compile_code("count", DEFAULT, "UTC", doc)
    used: Counter[str] = Counter()
    landed: Counter[str] = Counter()
    for i in range(40):
        decision = resolve(code, Visit(visitor=f"v{i}"), NOW, RoutingState(cap_used=used))
        used.update(decision.cap_keys)
        landed[decision.destination] += 1
    assert landed == {
        "https://example.com/a": 3,
        "https://example.com/b": 4,
        "https://example.com/offer": 5,
        DEFAULT: 28,
    }
