"""The compiled answer to scans of plain codes (``scanroute.native``'s ``PlainScan``) against its
reference, ``ScanHandler.decide``: the same reply and the same scan event, for every kind of
plain code and visitor; and only plain codes get a plan."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import pytest

from scanroute.capture.context import ScanContext
from scanroute.capture.event import decode_event
from scanroute.capture.geo import Geo
from scanroute.redirect.handler import Reply, ScanHandler
from scanroute.redirect.route import Route
from tests.conftest import Tenant
from tests.scan.conftest import ANDROID, IPHONE, SLACKBOT, Scanner

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        os.environ.get("SCANROUTE_PURE_PYTHON") == "1", reason="installed without the C extension"
    ),
]


def _scope(
    slug: str, headers: list[tuple[bytes, bytes]], *, query: bytes = b"", client: Any = None
) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": f"/{slug}",
        "query_string": query,
        "client": client if client is not None else ("198.51.100.23", 50000),
        "headers": headers,
    }


async def _route(scanner: Scanner, slug: str) -> tuple[ScanHandler, Route]:
    runtime = scanner.app.runtime
    assert runtime is not None
    route = await runtime.handler.route(slug)
    assert route is not None
    return runtime.handler, route


def python_decide(handler: ScanHandler, ctx: ScanContext, route: Route, **kwargs: Any) -> Any:
    """``handler.decide`` on the Python path alone (the reference)."""
    plain, handler._plain = handler._plain, None
    try:
        return handler.decide(ctx, route, **kwargs)
    finally:
        handler._plain = plain


def _normalised(reply: Reply, line: bytes | None) -> tuple[Any, ...]:
    """Reply and event with what is drawn per scan (its id and time, a coupon) taken out, after
    checking that the Location and the event's destination agree."""
    headers = dict(reply.headers)
    location = headers.pop(b"location", b"").decode("latin-1")
    if line is None:
        return reply.status, location.partition("sr_sid=")[0], headers, reply.outcome, None
    event = decode_event(line)
    fields = {f: getattr(event, f) for f in event.__struct_fields__}
    scan_id, dest, coupon = fields.pop("id"), fields.pop("dest"), fields.pop("coupon")
    fields.pop("ts")
    assert isinstance(dest, str)
    if location:
        assert dest.encode("latin-1", "replace").decode("latin-1") == location
    body = reply.body.replace(str(scan_id).encode(), b"ID")
    if coupon:
        location, body = location.replace(str(coupon), "C"), body.replace(str(coupon).encode(), b"C")
    headers.pop(b"content-length", None)  # the body's, whose coupon differs
    return (
        reply.status,
        location.replace(str(scan_id), "ID"),
        headers,
        body,
        reply.outcome,
        fields,
        bool(coupon),
    )


LONDON = Geo(country="GB", region="England", city="London", asn=20712)

CODES: dict[str, dict[str, Any]] = {
    "utm": {"destination": "https://example.com/menu", "utm": {"source": "qr", "campaign": "spring"}},
    "query-fragment": {"destination": "https://example.com/m?x=1&y=%20#top", "utm": {"medium": "poster"}},
    "own-sid": {"destination": "https://example.com/m?sr_sid=fixed"},
    "no-sid": {"destination": "https://example.com/m", "append_scan_id": False},
    "attributed": {
        "destination": "https://example.com/m",
        "campaign": "Summer",
        "creative": "Blue tent \u2603",
        "utm": {"content": "table"},
    },
    "unicode": {"destination": "https://example.com/caf\u00e9/\u2603"},
}

VISITORS: dict[str, tuple[dict[str, Any], bool]] = {
    "iphone": (
        {"headers": [(b"user-agent", IPHONE.encode()), (b"accept-language", b"de-DE,de;q=0.9")]},
        False,
    ),
    "referer, DNT": (
        {
            "headers": [
                (b"user-agent", ANDROID.encode()),
                (b"referer", b"https://News.example/p"),
                (b"dnt", b"1"),
            ]
        },
        False,
    ),
    "bad referer": ({"headers": [(b"user-agent", ANDROID.encode()), (b"referer", b"http://[oops/")]}, False),
    "bot": ({"headers": [(b"user-agent", SLACKBOT.encode())]}, False),
    "opted out": ({"headers": [(b"user-agent", IPHONE.encode())], "query": b"sr_optout"}, False),
    "HEAD": ({"headers": [(b"user-agent", IPHONE.encode())]}, True),
    "no address": ({"headers": [(b"user-agent", IPHONE.encode())], "client": ("", 0)}, False),
    "IPv6": ({"headers": [(b"user-agent", IPHONE.encode())], "client": ("2001:db8:1:2::3", 1)}, False),
}


@pytest.mark.parametrize("code", list(CODES))
async def test_compiled_and_python_answers_agree(scanner: Scanner, tenant: Tenant, code: str) -> None:
    scanner.create(tenant.workspace_id, slug=code, **CODES[code])
    handler, route = await _route(scanner, code)
    assert route.plan is not None
    plain = handler._plain
    assert plain is not None
    handler._sync_day(plain)
    contexts = scanner.app.runtime.contexts  # type: ignore[union-attr]
    for name, (request, head) in VISITORS.items():
        built: ScanContext = contexts.build(_scope(code, **request))
        # and as a City database would locate it (region, city, ASN: kept unless tracking is refused)
        for ctx in (built, built._replace(geo=LONDON)):
            compiled = plain.answer(ctx, route.plan, head)
            assert compiled is not None, name
            reply, line = compiled
            assert type(reply) is Reply
            expected_reply, expected_line, counts = python_decide(handler, ctx, route, head=head)
            assert counts is None
            assert (line is None) == (expected_line is None), name
            normalised = _normalised(reply, line)
            assert normalised == _normalised(expected_reply, expected_line), name
            if line is not None:  # the Location names this scan (unless the code opted out of sr_sid)
                assert ("sr_sid=ID" in normalised[1]) is (code not in ("own-sid", "no-sid")), name
                assert decode_event(line).city == (None if ctx.tracking_refused or ctx is built else "London")


async def test_quick_answers_plain_codes_compiled_once_the_day_is_known(
    scanner: Scanner, tenant: Tenant
) -> None:
    scanner.create(
        tenant.workspace_id, slug="edge", destination="https://example.com/e", utm={"source": "qr"}
    )
    handler, _ = await _route(scanner, "edge")
    contexts = scanner.app.runtime.contexts  # type: ignore[union-attr]
    ctx = contexts.build(_scope("edge", [(b"user-agent", IPHONE.encode())]))
    calls = []

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def answer(self, *args: Any) -> Any:
            result = self.inner.answer(*args)
            calls.append(result is not None)
            return result

        def set_day(self, *args: Any) -> None:
            calls.append("day")
            self.inner.set_day(*args)

        def finish(self, *args: Any) -> Any:
            calls.append("finish")
            return self.inner.finish(*args)

    plain = handler._plain
    assert plain is not None
    handler._plain = Spy(plain)  # type: ignore[assignment]
    try:
        first = handler.quick(ctx)  # the compiled path knows no UTC day yet: Python, then the day
        second = handler.quick(ctx)
    finally:
        handler._plain = plain
    assert calls == [False, "finish", "day", True]  # Python decided, the compiled path finished
    assert first is not None
    assert second is not None
    assert _normalised(*first) == _normalised(*second)


async def test_a_new_utc_day_is_answered_by_python_and_taken_over(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(tenant.workspace_id, slug="midnight", destination="https://example.com/m")
    handler, route = await _route(scanner, "midnight")
    plain = handler._plain
    assert plain is not None
    assert route.plan is not None
    contexts = scanner.app.runtime.contexts  # type: ignore[union-attr]
    ctx = contexts.build(_scope("midnight", [(b"user-agent", IPHONE.encode())]))
    plain.set_day(0, 86_400_000_000, handler.salts.keyed(date(1970, 1, 1)))  # 1 January 1970
    assert plain.answer(ctx, route.plan, False) is None  # its salt is not today's
    head = plain.answer(ctx, route.plan, True)
    assert head is not None  # HEAD records nothing: no salt needed
    assert head[1] is None
    answered = handler.quick(ctx)
    assert answered is not None
    assert decode_event(answered[1] or b"").visitor is not None
    assert plain.answer(ctx, route.plan, False) is not None  # today's salt now


@pytest.mark.parametrize(
    ("fields", "plain"),
    [
        ({}, True),
        ({"utm": {"source": "qr"}, "campaign": "C", "creative": "x"}, True),
        ({"append_scan_id": False}, True),
        ({"rules": [{"when": {"os": ["iOS"]}, "to": "https://example.com/ios"}]}, False),
        ({"scan_limit": 5}, False),
        ({"expires_at": "2099-01-01T00:00:00Z"}, False),
        ({"issue_coupon": True}, False),
        ({"forward_query": True}, False),
        ({"status": "paused"}, False),
    ],
)
async def test_only_plain_codes_get_a_plan(
    scanner: Scanner, tenant: Tenant, fields: dict[str, Any], plain: bool
) -> None:
    scanner.create(tenant.workspace_id, slug="plan", destination="https://example.com/", **fields)
    _, route = await _route(scanner, "plan")
    assert (route.plan is not None) is plain


RULED: dict[str, dict[str, Any]] = {
    "os": {
        "rules": [{"when": {"os": ["iOS"]}, "to": "https://apps.example/ios#top"}],
        "utm": {"source": "qr"},
    },
    "variants": {
        "rules": [
            {
                "when": {},
                "variants": [
                    {"to": "https://example.com/a", "weight": 1, "label": "A"},
                    {"to": "https://example.com/b?x=1", "weight": 1},
                ],
            }
        ],
        "campaign": "Split",
    },
    "capped": {"rules": [{"when": {}, "to": "https://example.com/offer", "cap": 1000}]},
    "limited": {"scan_limit": 1000, "append_scan_id": False},
    "history": {"rules": [{"when": {"visitor": "returning"}, "to": "https://example.com/again"}]},
    "app": {
        "rules": [
            {
                "when": {},
                "app": {
                    "ios": {"url": "myapp://menu", "store": "https://apps.apple.com/app/id1"},
                    "web": "https://e.com",
                },
            }
        ]
    },
    "coupon": {"issue_coupon": True},
    "forward": {"forward_query": True},
}


@pytest.mark.parametrize("code", list(RULED))
async def test_decisions_made_in_python_are_finished_alike(
    scanner: Scanner, tenant: Tenant, code: str
) -> None:
    scanner.create(tenant.workspace_id, slug=f"r-{code}", destination="https://example.com/d", **RULED[code])
    handler, route = await _route(scanner, f"r-{code}")
    assert route.plan is None
    contexts = scanner.app.runtime.contexts  # type: ignore[union-attr]
    for name, (request, head) in VISITORS.items():
        ctx: ScanContext = contexts.build(_scope(f"r-{code}", **request))
        for visitor, prior in ((None, 0), ("v" * 32, 3)):
            kwargs = {"head": head, "now_us": 1_800_000_000_000_000, "visitor": visitor, "prior": prior}
            reply, line, counts = handler.decide(ctx, route, **kwargs)  # type: ignore[arg-type]
            expected_reply, expected_line, expected_counts = python_decide(handler, ctx, route, **kwargs)
            assert type(reply) is Reply
            assert counts == expected_counts, name
            assert (line is None) == (expected_line is None), name
            if visitor is None and code == "variants":
                continue  # without a visitor a variant is drawn per scan id: the two may differ
            assert _normalised(reply, line) == _normalised(expected_reply, expected_line), name


@pytest.mark.parametrize(
    "fields", [{}, {"rules": [{"when": {"os": ["Android"]}, "to": "https://example.com/a"}]}]
)
async def test_the_visitor_hash_is_the_documented_one(
    scanner: Scanner, tenant: Tenant, fields: dict[str, Any]
) -> None:
    """Whichever path answers, the event's visitor is visitor_hash(today's salt, workspace,
    truncated address, user agent), computed here independently."""
    from datetime import UTC, datetime

    from scanroute.capture.privacy import visitor_hash

    scanner.create(tenant.workspace_id, slug="hashed", destination="https://example.com/", **fields)
    handler, _ = await _route(scanner, "hashed")
    contexts = scanner.app.runtime.contexts  # type: ignore[union-attr]
    ctx = contexts.build(_scope("hashed", [(b"user-agent", IPHONE.encode())]))
    handler.quick(ctx)  # the compiled path learns the day
    answered = handler.quick(ctx)
    assert answered is not None
    event = decode_event(answered[1] or b"")
    salt = handler.salts.current(datetime.now(UTC).date())
    assert event.visitor == visitor_hash(salt, tenant.workspace_id, "198.51.100.0", IPHONE)


async def test_the_keyed_hasher_follows_the_utc_day(scanner: Scanner) -> None:
    runtime = scanner.app.runtime
    assert runtime is not None
    handler = runtime.handler
    day = 86_400_000_000
    today = handler._keyed(20_000 * day + 5)
    assert handler._keyed(20_000 * day + day - 1) is today  # kept for the day
    tomorrow = handler._keyed(20_001 * day)
    assert tomorrow is not today
    assert tomorrow.hexdigest() != today.hexdigest()  # type: ignore[attr-defined]  # another salt


async def test_the_compiled_first_step(scanner: Scanner, tenant: Tenant) -> None:
    """``ScanPath.scan``: a plain code's whole answer (counted as a cache hit, moved to the
    LRU's end, the same as ``quick`` gives); otherwise the context, or ``None`` when declined."""
    from scanroute.observability import metrics

    scanner.create(
        tenant.workspace_id, slug="first", destination="https://example.com/f", utm={"source": "qr"}
    )
    scanner.create(tenant.workspace_id, slug="other", destination="https://example.com/o")
    scanner.create(
        tenant.workspace_id,
        slug="ruled",
        destination="https://example.com/r",
        rules=[{"when": {"os": ["iOS"]}, "to": "https://example.com/ios"}],
    )
    runtime = scanner.app.runtime
    assert runtime is not None
    scan = runtime.fast_scan
    assert scan is not None
    handler = runtime.handler
    for slug in ("first", "other", "ruled"):
        await handler.route(slug)  # cached
    handler._sync_day(handler._plain)  # type: ignore[arg-type]
    headers = [(b"user-agent", IPHONE.encode())]
    routes = runtime.cache.routes
    assert list(routes)[-1] == "ruled"
    hits = metrics.cache_hits.unlabelled.value

    answered = scan(_scope("first", headers), False)
    assert type(answered) is tuple
    assert metrics.cache_hits.unlabelled.value == hits + 1
    assert list(routes)[-1] == "first"  # most recently used
    expected = handler.quick(runtime.contexts.build(_scope("first", headers)))
    assert expected is not None
    assert _normalised(*answered) == _normalised(*expected)
    assert metrics.cache_hits.unlabelled.value == hits + 2  # quick's own hit

    head = scan(_scope("first", headers), True)
    assert type(head) is tuple
    assert head[1] is None

    ruled = scan(_scope("ruled", headers), False)  # a code with rules: answered whole
    assert type(ruled) is tuple
    assert dict(ruled[0].headers)[b"location"].startswith(b"https://example.com/ios?sr_sid=")
    assert metrics.cache_hits.unlabelled.value == hits + 4
    assert list(routes)[-1] == "ruled"

    handed = scan(_scope("not-cached", headers), False)  # not in the cache: the context, nothing counted
    assert isinstance(handed, ScanContext)
    assert handed.slug == "not-cached"
    assert metrics.cache_hits.unlabelled.value == hits + 4
    assert list(routes)[-1] == "ruled"
    assert scan(_scope("first", headers, client=("::1", 1)), False) is None  # declined: Python builds it

    plain = handler._plain
    assert plain is not None
    plain.set_day(0, 1, None)  # another UTC day: the Python path answers (and takes the new salt)
    for slug in ("first", "ruled"):
        assert isinstance(scan(_scope(slug, headers), False), ScanContext)
    assert metrics.cache_hits.unlabelled.value == hits + 4


async def test_the_edge_answers_plain_codes_through_the_compiled_step(
    scanner: Scanner, tenant: Tenant
) -> None:
    scanner.create(tenant.workspace_id, slug="edgy", destination="https://example.com/e")
    runtime = scanner.app.runtime
    assert runtime is not None
    calls: list[str] = []
    scan = runtime.fast_scan
    assert scan is not None

    def spy(scope: Any, head: bool) -> Any:
        result = scan(scope, head)
        calls.append(type(result).__name__)
        return result

    runtime.fast_scan = spy
    try:
        for _ in range(3):
            response = await scanner.scan("edgy", ua=IPHONE)
            assert response.status_code == 302
            assert response.headers["location"].startswith("https://example.com/e?sr_sid=")
    finally:
        runtime.fast_scan = scan
    # not cached yet, then a new UTC day for the compiled path, then answered by it
    assert calls == ["ScanContext", "ScanContext", "tuple"]


@pytest.mark.parametrize("salted_yesterday", [True, False])
async def test_history_codes_hash_with_todays_and_yesterdays_salts(
    scanner: Scanner, tenant: Tenant, salted_yesterday: bool
) -> None:
    from datetime import UTC, datetime, timedelta

    from scanroute.capture.privacy import new_salt, visitor_hash

    scanner.create(
        tenant.workspace_id,
        slug="again",
        destination="https://example.com/",
        rules=[{"when": {"visitor": "returning"}, "to": "https://example.com/again"}],
    )
    handler, _ = await _route(scanner, "again")
    today = datetime.now(UTC).date()
    old_salt = new_salt()
    if salted_yesterday:
        handler.salts.put(today - timedelta(days=1), old_salt)
    seen: list[tuple[str, str | None]] = []
    prior_scans = handler.counters.prior_scans

    async def spy(route: Route, visitor: str, yesterday: str | None) -> int:
        seen.append((visitor, yesterday))
        return await prior_scans(route, visitor, yesterday)

    handler.counters.prior_scans = spy  # type: ignore[method-assign]
    contexts = scanner.app.runtime.contexts  # type: ignore[union-attr]
    await handler.answer(contexts.build(_scope("again", [(b"user-agent", ANDROID.encode())])))
    today_salt = handler.salts.current(today)
    expected_yesterday = visitor_hash(old_salt, tenant.workspace_id, "198.51.100.0", ANDROID)
    assert seen == [
        (
            visitor_hash(today_salt, tenant.workspace_id, "198.51.100.0", ANDROID),
            expected_yesterday if salted_yesterday else None,
        )
    ]
