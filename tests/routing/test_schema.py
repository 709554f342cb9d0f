"""validate_rules(): good documents pass; every bad input is named by its exact field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from scanroute.routing import RULES_SCHEMA, RuleProblem, compile_code, validate_rules

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

EVERYTHING: list[dict[str, Any]] = [
    {
        "name": "all keys",
        "when": {
            "device": ["mobile", "tablet"],
            "os": "iOS",
            "browser": ["Mobile Safari"],
            "language": ["de", "de-AT", "zh-Hant-TW"],
            "country": ["de", "AT"],
            "region": "BY",
            "city": ["München"],
            "ip": ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7", "::1"],
            "query": {"src": "flyer", "ref": ["a", "b"], "debug": False, "id": True},
            "dates": {"from": "2024-02-29", "to": "2024-12-31"},
            "days": ["fri", "sat"],
            "time": {"from": "22:00", "to": "02:00"},
            "visitor": "returning",
            "nth_scan": {"min": 2, "max": 5},
        },
        "allocation": "bandit",
        "cap": 1000,
        "variants": [
            {"to": "https://example.com/a?x=1#top", "weight": 0.5, "cap": 10, "label": "A"},
            {"to": "http://example.com:8080/b", "weight": 2},
        ],
    },
    {
        "when": {"dates": {"from": "2024-01-01"}, "nth_scan": {"max": 1}},
        "app": {
            "ios": {"url": "myapp://open?id=1", "store": "https://apps.apple.com/app/id1"},
            "android": {"url": "https://example.com/app-link"},
            "web": "https://example.com/",
        },
    },
    {"to": "https://example.com/no-when"},
]


@pytest.mark.parametrize("doc", [None, [], DESIGN_EXAMPLE, EVERYTHING])
def test_good_documents_pass_and_compile_whole(doc: Any) -> None:
    assert validate_rules(doc) == []
    assert compile_code("c", "https://example.com/", "UTC", doc).broken == ()


def test_published_schema_is_draft_2020_12_and_accepts_the_examples() -> None:
    Draft202012Validator.check_schema(RULES_SCHEMA)
    validator = Draft202012Validator(RULES_SCHEMA)
    assert validator.is_valid(DESIGN_EXAMPLE)
    assert validator.is_valid(EVERYTHING)
    assert not validator.is_valid([{"when": {"colour": "red"}, "to": "https://example.com/"}])


def with_change(path: str, value: Any, base: list[dict[str, Any]] = DESIGN_EXAMPLE) -> Any:
    """A copy of ``base`` with the value at dotted ``path`` (ints index lists) replaced."""
    doc: Any = copy.deepcopy(base)
    *parents, last = [int(step) if step.isdigit() else step for step in path.split(".")]
    target = doc
    for step in parents:
        target = target[step]
    target[last] = value
    return doc


def rule(**fields: Any) -> list[dict[str, Any]]:
    """A one-rule document with ``fields`` added to an always-matching redirect."""
    return [{"when": {}, "to": "https://example.com/", **fields}]


def when(**conditions: Any) -> list[dict[str, Any]]:
    return [{"when": conditions, "to": "https://example.com/"}]


BAD: list[tuple[Any, str, str]] = [
    # document shape
    ({"rules": []}, "rules", "must be a list"),
    ([5], "rules[0]", "must be an object"),
    ([{"when": {}, "to": "https://example.com/"}] * 51, "rules", "at most 50"),
    # targets
    ([{"when": {}}], "rules[0]", "needs one of 'to', 'variants', 'app'"),
    (rule(app={"web": "https://example.com/", "ios": {"url": "a://"}}), "rules[0]", "only one"),
    (with_change("1.to", "ftp://example.com/de"), "rules[1].to", "http"),
    (with_change("1.to", "https://exa mple.com/"), "rules[1].to", "spaces"),
    (with_change("1.to", "javascript:alert(1)"), "rules[1].to", "http"),
    (with_change("1.to", "https:///path"), "rules[1].to", "host"),
    (with_change("1.to", "https://example.com:99999/"), "rules[1].to", "valid URL"),
    (with_change("1.to", "https://example.com/?sr_sid=1"), "rules[1].to", "sr_sid"),
    (with_change("1.to", ""), "rules[1].to", "empty"),
    (with_change("3.variants.1.weight", 0), "rules[3].variants[1].weight", "greater than 0"),
    (with_change("3.variants.1.weight", -3), "rules[3].variants[1].weight", "greater than 0"),
    (with_change("3.variants.1.weight", "30"), "rules[3].variants[1].weight", "a number"),
    (with_change("3.variants.1.weight", 1e400), "rules[3].variants[1].weight", "finite"),
    (with_change("3.variants.0.to", "mailto:a@b.c"), "rules[3].variants[0].to", "http"),
    (with_change("3.variants.0.cap", 0), "rules[3].variants[0].cap", "at least 1"),
    (with_change("3.variants", []), "rules[3].variants", "empty"),
    (with_change("3.variants.0.colour", "red"), "rules[3].variants[0].colour", "unknown key"),
    (with_change("3.allocation", "random"), "rules[3].allocation", "weights, bandit"),
    (with_change("1.allocation", "bandit"), "rules[1].allocation", "needs 'variants'"),
    (with_change("4.cap", 0), "rules[4].cap", "at least 1"),
    (with_change("4.cap", 2.5), "rules[4].cap", "whole number"),
    (with_change("4.cap", True), "rules[4].cap", "whole number"),
    (with_change("0.name", ""), "rules[0].name", "empty"),
    (with_change("0.nmae", "x"), "rules[0].nmae", "did you mean 'name'"),
    # app links
    (
        [{"app": {"web": "https://w.test/", "ios": {"url": "javascript:x()"}}}],
        "rules[0].app.ios.url",
        "javascript",
    ),
    (
        [{"app": {"web": "https://w.test/", "android": {"url": "DATA:text/html,x"}}}],
        "rules[0].app.android.url",
        "data",
    ),
    (
        [{"app": {"web": "https://w.test/", "ios": {"url": "java\tscript:x()"}}}],
        "rules[0].app.ios.url",
        "control characters",
    ),
    (
        [{"app": {"web": "https://w.test/", "ios": {"url": "no-scheme"}}}],
        "rules[0].app.ios.url",
        "scheme",
    ),
    (
        [{"app": {"web": "https://w.test/", "ios": {"store": "itms-apps://x"}}}],
        "rules[0].app.ios.store",
        "http",
    ),
    ([{"app": {"web": "https://w.test/", "ios": {}}}], "rules[0].app.ios", "url, store"),
    ([{"app": {"web": "https://w.test/"}}], "rules[0].app", "'ios', 'android'"),
    ([{"app": {"ios": {"url": "a://x"}}}], "rules[0].app.web", "is required"),
    # conditions
    (with_change("0.when.colour", "red"), "rules[0].when.colour", "unknown key"),
    (with_change("0.when.os", 5), "rules[0].when.os", "a string or a list"),
    (with_change("0.when.os", []), "rules[0].when.os", "empty"),
    (with_change("0.when.os", ["iOS", 7]), "rules[0].when.os[1]", "a string"),
    (when(os=["x"] * 201), "rules[0].when.os", "at most 200"),
    (when(device="phone"), "rules[0].when.device", "mobile, tablet, desktop"),
    (when(device=["mobile", "phone"]), "rules[0].when.device[1]", "mobile, tablet, desktop"),
    (with_change("1.when.language", ["de_DE"]), "rules[1].when.language[0]", "language tag"),
    (with_change("3.when.country", ["FR", "FRA"]), "rules[3].when.country[1]", "alpha-2"),
    (with_change("3.when.visitor", "new"), "rules[3].when.visitor", "first, returning"),
    (with_change("2.when.days", ["sat", "Sun"]), "rules[2].when.days[1]", "mon, tue"),
    (with_change("2.when.time.from", "25:00"), "rules[2].when.time.from", "HH:MM"),
    (with_change("2.when.time.to", "9:00"), "rules[2].when.time.to", "HH:MM"),
    (with_change("2.when.time.to", "18:00"), "rules[2].when.time.to", "must differ"),
    (with_change("2.when.time", {"from": "18:00"}), "rules[2].when.time.to", "is required"),
    (with_change("2.when.time.until", "19:00"), "rules[2].when.time.until", "unknown key"),
    (when(dates={}), "rules[0].when.dates", "from, to"),
    (when(dates={"from": "2024-13-01"}), "rules[0].when.dates.from", "calendar date"),
    (when(dates={"to": "2023-02-29"}), "rules[0].when.dates.to", "calendar date"),
    (when(dates={"from": "1 May 2024"}), "rules[0].when.dates.from", "YYYY-MM-DD"),
    (
        when(dates={"from": "2024-06-02", "to": "2024-06-01"}),
        "rules[0].when.dates.to",
        "before 'from'",
    ),
    (when(ip=["10.0.0.0/8", "10.0.0.300"]), "rules[0].when.ip[1]", "IP address or CIDR"),
    (when(ip="2001:db8::/129"), "rules[0].when.ip", "IP address or CIDR"),
    (when(query={"src": 1}), "rules[0].when.query.src", "true or false or a string"),
    (when(query={"src": ["a", 1]}), "rules[0].when.query.src[1]", "a string"),
    (when(query={"a.b": None}), 'rules[0].when.query["a.b"]', "true or false or a string"),
    (when(query={"": True}), 'rules[0].when.query[""]', "not be empty"),
    (when(query={}), "rules[0].when.query", "empty"),
    (when(nth_scan={"min": 0}), "rules[0].when.nth_scan.min", "at least 1"),
    (when(nth_scan={"min": 3, "max": 2}), "rules[0].when.nth_scan.max", "less than 'min'"),
    (when(nth_scan={}), "rules[0].when.nth_scan", "min, max"),
]


@pytest.mark.parametrize(("doc", "field", "reason"), BAD, ids=[row[1] for row in BAD])
def test_bad_input_names_the_exact_field(doc: Any, field: str, reason: str) -> None:
    problems = validate_rules(doc)
    assert [p for p in problems if p.field == field and reason in p.reason], problems


def test_several_problems_are_all_reported_in_document_order() -> None:
    doc = [
        {"when": {"ip": "nonsense", "time": {"from": "10:00", "to": "10:00"}}, "to": "ftp://x/"},
        {"when": {"os": 1}, "to": "https://example.com/"},
    ]
    assert validate_rules(doc) == [
        RuleProblem("rules[0].when.ip", "'nonsense' is not an IP address or CIDR network"),
        RuleProblem("rules[0].when.time.to", "must differ from 'from' (the window would be empty)"),
        RuleProblem("rules[0].to", "must be an http:// or https:// URL"),
        RuleProblem("rules[1].when.os", "must be a string or a list"),
    ]


def test_problems_are_frozen() -> None:
    problem = validate_rules([5])[0]
    with pytest.raises(AttributeError):
        problem.field = "x"  # type: ignore[misc]
