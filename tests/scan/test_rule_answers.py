"""The compiled answer to scans of codes with rules (``PlainScan.answer_routed`` with ``Rules``,
``redirect.route.routed_plan``) against its reference, the Python path of
``ScanHandler.decide`` (``routing.engine.resolve``): the same reply and the same scan event for
every kind of rule and visitor; which codes get a routed plan; what is handed back to Python."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import pytest

from scanroute.capture.context import ScanContext
from scanroute.capture.event import decode_event
from scanroute.redirect.handler import Reply
from tests.conftest import Tenant
from tests.scan.conftest import ANDROID, IPHONE, Scanner
from tests.scan.test_plain_answers import LONDON, VISITORS, _normalised, _route, _scope, python_decide

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        os.environ.get("SCANROUTE_PURE_PYTHON") == "1", reason="installed without the C extension"
    ),
]

RULE_CODES: dict[str, list[dict[str, Any]]] = {
    "os": [
        {"when": {"os": ["iOS"]}, "to": "https://apps.example/ios#top"},
        {"when": {"os": ["Android"]}, "to": "https://apps.example/android"},
    ],
    "device": [{"when": {"device": ["desktop"]}, "to": "https://example.com/desk"}],
    "language": [{"when": {"language": ["de"]}, "to": "https://example.com/de?lang=de"}],
    "country": [{"when": {"country": ["gb", "DE"]}, "to": "https://example.com/eu"}],
    "late": [
        {
            "when": {"time": {"from": "20:00", "to": "19:59"}, "days": ["mon", "wed", "fri"]},
            "to": "https://example.com/late",
        }
    ],
    "dates": [{"when": {"dates": {"to": "2000-01-01"}}, "to": "https://example.com/past"}],
    "query": [
        {"when": {"query": {"src": "flyer"}}, "to": "https://example.com/flyer"},
        {"when": {"query": {"promo": True}}, "to": "https://example.com/promo"},
    ],
    "ip": [{"when": {"ip": ["198.51.100.0/24"]}, "to": "https://example.com/office"}],
    "variants": [
        {
            "when": {},
            "variants": [
                {"to": "https://example.com/a", "weight": 1, "label": "A"},
                {"to": "https://example.com/b?x=1", "weight": 2},
            ],
        }
    ],
    "busy": [
        {"name": "ios-de", "when": {"os": ["iOS"], "language": ["de"]}, "to": "https://example.com/ios-de"},
        {"when": {"device": ["mobile"], "country": ["GB"]}, "to": "https://example.com/uk"},
        {"when": {"browser": ["Chrome Mobile"]}, "to": "https://example.com/chrome"},
        {
            "when": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
            "to": "https://example.com/week",
        },
    ],
}


@pytest.mark.parametrize("code", list(RULE_CODES))
async def test_compiled_and_python_answers_agree(scanner: Scanner, tenant: Tenant, code: str) -> None:
    scanner.create(
        tenant.workspace_id,
        slug=f"rule-{code}",
        destination="https://example.com/d",
        rules=RULE_CODES[code],
        utm={"source": "qr"},
        campaign="Rules",
        timezone="Asia/Kathmandu",
    )
    handler, route = await _route(scanner, f"rule-{code}")
    assert route.plan is None
    assert route.routed_plan is not None
    plain = handler._plain
    assert plain is not None
    handler._sync_day(plain)
    contexts = scanner.app.runtime.contexts  # type: ignore[union-attr]
    answered = 0
    for name, (request, head) in VISITORS.items():
        for query in (b"", b"src=flyer", b"promo"):
            built: ScanContext = contexts.build(
                _scope(code, **{**request, "query": query or request.get("query", b"")})
            )
            for ctx in (built, built._replace(geo=LONDON)):
                compiled = plain.answer_routed(ctx, route.routed_plan, head)
                if ctx.visit.ip is not None and ctx.visit.ip.version == 6 and code == "ip":
                    assert compiled is False, name  # an IPv6 client against an ip rule: Python's
                    continue
                assert compiled not in (None, False), name
                answered += 1
                reply, line = compiled
                assert type(reply) is Reply
                expected_reply, expected_line, counts = python_decide(handler, ctx, route, head=head)
                assert counts is None
                assert (line is None) == (expected_line is None), name
                if code == "variants" and ctx.ip_truncated is None:
                    continue  # no visitor hash: the variant is drawn by scan id, which differs
                assert _normalised(reply, line) == _normalised(expected_reply, expected_line), (name, query)
    assert answered >= 40


async def test_rule_events_name_the_rule_and_variant(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(
        tenant.workspace_id, slug="split", destination="https://example.com/d", rules=RULE_CODES["variants"]
    )
    handler, route = await _route(scanner, "split")
    plain = handler._plain
    assert plain is not None
    handler._sync_day(plain)
    contexts = scanner.app.runtime.contexts  # type: ignore[union-attr]
    seen = {}
    for n in range(60):
        ctx = contexts.build(_scope("split", [(b"user-agent", IPHONE.encode())], client=(f"203.0.{n}.9", 1)))
        reply, line = plain.answer_routed(ctx, route.routed_plan, False)
        event = decode_event(line)
        location = dict(reply.headers)[b"location"].decode()
        assert event.rule == 0
        assert event.visitor is not None
        seen[event.variant] = location.partition("?")[0]
        again = plain.answer_routed(
            ctx, route.routed_plan, False
        )  # sticky: the same visitor, the same variant
        assert decode_event(again[1]).variant == event.variant
    assert seen == {"A": "https://example.com/a", "1": "https://example.com/b"}


@pytest.mark.parametrize(
    ("fields", "planned"),
    [
        ({}, True),
        ({"append_scan_id": False, "utm": {"source": "qr"}}, True),
        ({"scan_limit": 5}, True),  # counted codes too
        ({"rules": [{"when": {"visitor": "returning"}, "to": "https://example.com/again"}]}, True),
        ({"rules": [{"when": {}, "to": "https://example.com/offer", "cap": 10}]}, True),
        ({"expires_at": "2099-01-01T00:00:00Z"}, False),
        ({"issue_coupon": True}, False),
        ({"forward_query": True}, False),
        ({"status": "paused"}, False),
    ],
)
async def test_which_codes_with_rules_get_a_routed_plan(
    scanner: Scanner, tenant: Tenant, fields: dict[str, Any], planned: bool
) -> None:
    fields = {"rules": RULE_CODES["os"], **fields}
    scanner.create(tenant.workspace_id, slug="rule-plan", destination="https://example.com/", **fields)
    _, route = await _route(scanner, "rule-plan")
    assert (route.routed_plan is not None) is planned
    assert route.program is not None  # every code with rules is lowered, counted or not


async def test_app_pages_and_declines_are_handed_to_python_once(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(
        tenant.workspace_id,
        slug="appy",
        destination="https://example.com/d",
        rules=[
            {
                "when": {},
                "app": {
                    "ios": {"url": "myapp://menu", "store": "https://apps.apple.com/app/id1"},
                    "web": "https://e.com",
                },
            }
        ],
    )
    handler, _ = await _route(scanner, "appy")
    plain = handler._plain
    assert plain is not None
    handler._sync_day(plain)
    runtime = scanner.app.runtime
    assert runtime is not None
    assert runtime.fast_scan is not None
    iphone = _scope("appy", [(b"user-agent", IPHONE.encode())])
    android = _scope("appy", [(b"user-agent", ANDROID.encode())])
    handed = runtime.fast_scan(iphone, False)
    assert isinstance(handed, ScanContext)  # an app page: Python builds it
    calls: list[str] = []

    class Spy:
        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(plain, name)

    handler._plain = Spy()  # type: ignore[assignment]
    try:
        answered = handler.quick(handed, tried=True)
    finally:
        handler._plain = plain
    assert "answer_routed" not in calls  # tried already: not a second compiled attempt
    assert answered is not None
    assert answered[0].status == 200
    assert b"myapp://menu" in answered[0].body
    web = runtime.fast_scan(android, False)  # no Android app: the web redirect, compiled
    assert type(web) is tuple
    assert dict(web[0].headers)[b"location"].startswith(b"https://e.com")


async def test_a_new_utc_day_is_handed_back_and_taken_over(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(
        tenant.workspace_id, slug="midnight", destination="https://example.com/d", rules=RULE_CODES["os"]
    )
    handler, route = await _route(scanner, "midnight")
    plain = handler._plain
    assert plain is not None
    ctx = scanner.app.runtime.contexts.build(_scope("midnight", [(b"user-agent", IPHONE.encode())]))  # type: ignore[union-attr]
    plain.set_day(0, 86_400_000_000, handler.salts.keyed(date(1970, 1, 1)))
    assert (
        plain.answer_routed(ctx, route.routed_plan, False) is None
    )  # even HEAD: sticky variants need the salt
    assert plain.answer_routed(ctx, route.routed_plan, True) is None
    answered = handler.quick(ctx)  # Python answers, then the compiled path gets today
    assert answered is not None
    assert dict(answered[0].headers)[b"location"].startswith(b"https://apps.example/ios")
    assert plain.answer_routed(ctx, route.routed_plan, False) not in (None, False)


async def test_counted_codes_route_with_the_compiled_rules(scanner: Scanner, tenant: Tenant) -> None:
    """Codes with history or caps: the Python path (``decide``, as with Redis counters) routes
    with the compiled rules too, and agrees with resolve (prior scans and caps included)."""
    scanner.create(
        tenant.workspace_id,
        slug="hist",
        destination="https://example.com/d",
        rules=[
            {"when": {"nth_scan": {"min": 3}}, "to": "https://example.com/third"},
            {"when": {"visitor": "returning"}, "to": "https://example.com/again"},
            {"when": {}, "to": "https://example.com/offer", "cap": 2},
        ],
    )
    handler, route = await _route(scanner, "hist")
    assert route.routed_plan is not None
    assert route.program is not None
    ctx = scanner.app.runtime.contexts.build(_scope("hist", [(b"user-agent", IPHONE.encode())]))  # type: ignore[union-attr]
    now = 1_800_000_000_000_000
    for prior, caps, where in (
        (0, {}, "offer"),
        (0, {"r2": 2}, "d"),
        (1, {}, "again"),
        (2, {"r2": 5}, "third"),
    ):
        kwargs = {"now_us": now, "visitor": "v" * 32, "prior": prior, "caps": caps}
        reply, line, counts = handler.decide(ctx, route, **kwargs)  # type: ignore[arg-type]
        expected = python_decide(handler, ctx, route, **kwargs)
        assert dict(reply.headers)[b"location"].decode().startswith(f"https://example.com/{where}")
        assert _normalised(reply, line) == _normalised(expected[0], expected[1])
        assert counts == expected[2]
