"""The handler's two ways to answer a scan: ``quick`` (no coroutine, for codes that count
nothing) and ``answer`` (awaits the route, visitor history and caps) must agree."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from scanroute.capture.context import ContextBuilder, ScanContext
from scanroute.capture.event import ScanEvent, decode_event
from scanroute.capture.geo import Geo
from scanroute.redirect.handler import ScanHandler
from tests.conftest import Tenant
from tests.scan.conftest import ANDROID, IPHONE, SLACKBOT, Scanner

pytestmark = pytest.mark.anyio

RULES = [
    {"when": {"os": ["iOS"]}, "to": "https://apps.apple.com/app/id1"},
    {"when": {"language": ["de"]}, "to": "https://example.com/de"},
]


def _scope(slug: str, ua: str, lang: str, query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": f"/{slug}",
        "query_string": query,
        "client": ("198.51.100.23", 50000),
        "headers": [(b"user-agent", ua.encode()), (b"accept-language", lang.encode())],
    }


def _handler(scanner: Scanner) -> tuple[ScanHandler, ContextBuilder]:
    runtime = scanner.app.runtime
    assert runtime is not None
    return runtime.handler, runtime.contexts


def _without_id(line: bytes | None) -> dict[str, object]:
    assert line is not None
    event = decode_event(line)
    fields = {f: getattr(event, f) for f in event.__struct_fields__}
    fields.pop("id")
    fields.pop("ts")
    dest = fields.pop("dest")
    assert isinstance(dest, str)
    fields["dest"] = dest.partition("sr_sid=")[0]  # the scan id differs per call
    return fields


@pytest.mark.parametrize(
    ("ua", "lang", "query", "path"),
    [
        (IPHONE, "en", b"", "https://apps.apple.com/app/id1"),
        (ANDROID, "de-DE,de;q=0.9", b"", "https://example.com/de"),
        (ANDROID, "fr", b"promo", "https://example.com/menu"),
        (SLACKBOT, "", b"", "https://example.com/menu"),
    ],
)
async def test_quick_and_answer_agree_on_reply_and_event(
    scanner: Scanner, tenant: Tenant, ua: str, lang: str, query: bytes, path: str
) -> None:
    scanner.create(
        tenant.workspace_id,
        destination="https://example.com/menu",
        slug="both",
        rules=RULES,
        utm={"source": "qr"},
    )
    handler, contexts = _handler(scanner)
    ctx = contexts.build(_scope("both", ua, lang, query))
    slow_reply, slow_line = await handler.answer(ctx)  # loads the route into the cache
    quick = handler.quick(ctx)
    assert quick is not None  # cached now, and the code counts nothing
    quick_reply, quick_line = quick
    assert quick_reply.status == slow_reply.status == 302
    assert quick_reply.outcome == slow_reply.outcome == "redirect"
    quick_location = dict(quick_reply.headers)[b"location"].decode()
    slow_location = dict(slow_reply.headers)[b"location"].decode()
    assert quick_location.startswith(path + "?utm_source=qr&sr_sid=")
    assert slow_location.startswith(path + "?utm_source=qr&sr_sid=")
    assert quick_location != slow_location  # each answer is a scan of its own
    assert dict(quick_reply.headers)[b"content-length"] == b"0"
    assert _without_id(quick_line) == _without_id(slow_line)
    assert decode_event(quick_line or b"").id in quick_location  # the line is this reply's scan


async def test_quick_answers_what_needs_no_waiting(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(tenant.workspace_id, destination="https://example.com/", slug="plain")
    scanner.create(
        tenant.workspace_id,
        destination="https://example.com/",
        slug="history",
        rules=[{"when": {"visitor": "returning"}, "to": "https://example.com/again"}],
    )
    scanner.create(
        tenant.workspace_id,
        destination="https://example.com/",
        slug="capped",
        rules=[{"when": {}, "to": "https://example.com/offer", "cap": 5}],
    )
    scanner.create(tenant.workspace_id, destination="https://example.com/", slug="limited", scan_limit=10)
    handler, contexts = _handler(scanner)

    def ctx(slug: str) -> ScanContext:
        return contexts.build(_scope(slug, ANDROID, "en"))

    assert handler.quick(ctx("plain")) is None  # not in the route cache yet: a load is awaited
    for slug in ("plain", "history", "capped", "limited", "nothing-here"):
        await handler.answer(ctx(slug))
    assert handler.quick(ctx("plain")) is not None
    scanner.create(
        tenant.workspace_id,
        destination="https://example.com/",
        slug="capped-too",
        rules=[{"when": {}, "to": "https://example.com/offer", "cap": 5}],
    )
    await handler.route("capped-too")  # the route is cached, its counts are not loaded yet
    assert handler.quick(ctx("capped-too")) is None  # counted: the load is awaited (by answer)

    def location(slug: str) -> str:
        answered = handler.quick(ctx(slug))
        assert answered is not None, slug  # counted, but its counts are in memory now
        return dict(answered[0].headers)[b"location"].decode().partition("?")[0]

    assert location("history") == "https://example.com/again"  # answer's scan made them returning
    # the cap: one use by answer's scan, four more here, then it falls through to the default
    assert [location("capped") for _ in range(5)] == ["https://example.com/offer"] * 4 + [
        "https://example.com/"
    ]
    assert location("limited") == "https://example.com/"
    unknown = handler.quick(ctx("nothing-here"))
    assert unknown is not None  # a known-unknown slug is answered at once: 404 and an orphan scan
    assert unknown[0].status == 404
    assert decode_event(unknown[1] or b"").outcome == "not_found"


async def test_head_and_opt_out_record_nothing_on_either_path(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(tenant.workspace_id, destination="https://example.com/", slug="quiet")
    handler, contexts = _handler(scanner)
    ctx = contexts.build(_scope("quiet", ANDROID, "en"))
    reply, line = await handler.answer(ctx, head=True)
    assert (reply.status, line) == (302, None)
    quick = handler.quick(ctx, head=True)
    assert quick is not None
    assert (quick[0].status, quick[1]) == (302, None)
    opted_out = contexts.build(_scope("quiet", ANDROID, "en", b"sr_optout"))
    quick = handler.quick(opted_out)
    assert quick is not None
    assert quick[1] is None


async def test_the_event_carries_every_field_by_name(scanner: Scanner, tenant: Tenant) -> None:
    """``ScanHandler._event`` builds the event positionally (cheaper); each value must land in the
    field of its name, checked against a build by keyword with a distinct value per field."""
    code = scanner.create(tenant.workspace_id, destination="https://example.com/", slug="every")
    handler, contexts = _handler(scanner)
    scope = _scope("every", IPHONE, "nl-BE")
    scope["headers"] = [*scope["headers"], (b"referer", b"https://news.example/x"), (b"dnt", b"1")]
    ctx = contexts.build(scope)
    ctx = ctx._replace(geo=Geo(country="BE", region="Flanders", city="Ghent", asn=64500))
    route = await handler.route("every")
    assert route is not None
    assert route.code_id == code.id
    route = replace(route, code_id=code.id + 1000, campaign_id=11, placement_id=12, creative="C")
    event = handler._event(
        ctx, route, "sid", 123, "redirect", "https://example.com/?x", 2, "v" * 32, 3, "b", ["r0"], "CPN"
    )
    expected = ScanEvent(
        id="sid",
        ws=tenant.workspace_id,
        slug="every",
        ts=123,
        outcome="redirect",
        code=code.id + 1000,
        dest="https://example.com/?x",
        rule=3,
        variant="b",
        campaign=11,
        placement=12,
        creative="C",
        device="mobile",
        os="iOS",
        browser="Mobile Safari",
        lang="nl-be",
        country="BE",
        region=None,  # tracking refused (DNT): nothing precise
        city=None,
        asn=None,
        ip_net="198.51.100.0",
        visitor="v" * 32,
        returning=True,
        bot=False,
        bot_kind=None,
        ref_host="news.example",
        refused=True,
        caps=["r0"],
        coupon="CPN",
    )
    assert event == expected
    precise = handler._event(ctx._replace(tracking_refused=False), route, "sid", 123, "redirect")
    assert (precise.region, precise.city, precise.asn) == ("Flanders", "Ghent", 64500)
