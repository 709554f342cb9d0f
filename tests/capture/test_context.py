"""ContextBuilder: client address behind proxies, Accept-Language, query, privacy flags, fuzzing."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanroute.capture import context as context_module
from scanroute.capture.bots import BotDetector
from scanroute.capture.context import (
    MAX_LANGUAGES,
    MAX_QUERY_PARAMS,
    ContextBuilder,
    ScanContext,
    parse_accept_language,
    parse_forwarded_for,
    parse_query,
)
from scanroute.capture.geo import Geo, GeoLocator
from scanroute.capture.useragent import AgentParser
from scanroute.domain.visit import DeviceType, Visit

BuilderFactory = Callable[..., ContextBuilder]

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_REDUCED_TABLET = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
LONDON = "81.2.69.160"  # GB in iptocc
GOOGLE_DNS = "8.8.8.8"  # US in iptocc


def scope(
    *,
    client: Any = (LONDON, 51234),
    headers: Sequence[tuple[bytes, bytes]] | None = None,
    path: str = "/spring-poster",
    query: bytes = b"",
    method: str = "GET",
    ua: str = IPHONE,
    lang: str | None = "de-DE,de;q=0.9,en;q=0.8",
) -> dict[str, Any]:
    hdrs: list[tuple[bytes, bytes]] = [(b"host", b"qr.example.com")]
    if ua:
        hdrs.append((b"user-agent", ua.encode("latin-1")))
    if lang is not None:
        hdrs.append((b"accept-language", lang.encode("latin-1")))
    hdrs += list(headers or [])
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": hdrs,
        "client": client,
        "server": ("127.0.0.1", 8080),
    }


# --- the basic shape -------------------------------------------------------------------------


def test_build_fills_every_field(make_builder: BuilderFactory) -> None:
    ctx = make_builder().build(
        scope(
            query=b"utm_source=poster&a=1&a=2&q=caf%C3%A9+au+lait",
            headers=[(b"referer", b"https://example.com/page")],
        )
    )
    assert ctx.method == "GET"
    assert ctx.path == "/spring-poster"
    assert ctx.slug == "spring-poster"
    assert ctx.user_agent == IPHONE
    assert ctx.ip == ipaddress.ip_address(LONDON)
    assert ctx.ip_truncated == "81.2.69.0"
    assert ctx.geo == Geo(country="GB")
    assert ctx.referer == "https://example.com/page"
    assert ctx.query == {"utm_source": "poster", "a": "1", "q": "café au lait"}
    assert (ctx.agent.device, ctx.agent.os, ctx.agent.browser) == (
        DeviceType.MOBILE,
        "iOS",
        "Mobile Safari",
    )
    assert ctx.bot.is_bot is False
    assert ctx.tracking_refused is False
    assert ctx.opted_out is False
    assert ctx.visit == Visit(
        device=DeviceType.MOBILE,
        os="iOS",
        browser="Mobile Safari",
        languages=("de-de", "de", "en"),
        country="GB",
        region=None,
        city=None,
        ip=ipaddress.ip_address(LONDON),
        query=ctx.query,
        visitor=None,
        is_bot=False,
    )


def test_missing_pieces_have_safe_defaults(make_builder: BuilderFactory) -> None:
    ctx = make_builder().build({"type": "http"})
    assert (ctx.method, ctx.path, ctx.slug, ctx.user_agent) == ("GET", "/", "", "")
    assert ctx.ip is None
    assert ctx.ip_truncated is None
    assert ctx.geo == Geo()
    assert ctx.query == {}
    assert ctx.referer is None
    assert ctx.bot.is_bot  # no user agent, no Accept-Language
    assert ctx.visit.languages == ()


def test_geolocation_uses_the_full_address_before_truncation(
    agent_parser: AgentParser, bot_detector: BotDetector
) -> None:
    seen: list[object] = []

    class RecordingGeo(GeoLocator):
        def lookup(self, ip: Any) -> Geo:
            seen.append(ip)
            return Geo(country="GB", city="Full" if str(ip) == LONDON else "Truncated")

    builder = ContextBuilder((), agent_parser, bot_detector, RecordingGeo(None))
    ctx = builder.build(scope())
    assert seen == [ipaddress.ip_address(LONDON)]
    assert ctx.geo.city == "Full"
    assert ctx.visit.city == "Full"
    assert ctx.ip_truncated == "81.2.69.0"


def test_head_and_prefetch_are_flagged(make_builder: BuilderFactory) -> None:
    builder = make_builder()
    head = builder.build(scope(method="HEAD"))
    assert (head.bot.kind, head.visit.is_bot) == ("scanner", True)
    prefetch = builder.build(scope(headers=[(b"sec-purpose", b"prefetch")]))
    assert prefetch.bot.kind == "preview"
    legacy = builder.build(scope(headers=[(b"purpose", b"prefetch")]))
    assert legacy.bot.kind == "preview"
    no_lang = builder.build(scope(lang=None))
    assert no_lang.bot.kind == "scanner"
    assert no_lang.visit.is_bot


def test_bot_user_agent_is_flagged(make_builder: BuilderFactory) -> None:
    ctx = make_builder().build(scope(ua="facebookexternalhit/1.1"))
    assert (ctx.bot.kind, ctx.visit.is_bot) == ("preview", True)


def test_client_hints_reach_the_parser(make_builder: BuilderFactory) -> None:
    builder = make_builder()
    tablet = builder.build(scope(ua=ANDROID_REDUCED_TABLET))
    assert tablet.visit.device is DeviceType.TABLET
    phone = builder.build(
        scope(
            ua=ANDROID_REDUCED_TABLET,
            headers=[(b"sec-ch-ua-mobile", b"?1"), (b"sec-ch-ua-platform", b'"Android"')],
        )
    )
    assert phone.visit.device is DeviceType.MOBILE


def test_header_names_are_case_insensitive(make_builder: BuilderFactory) -> None:
    s = scope(ua="", lang=None, headers=[(b"User-Agent", IPHONE.encode()), (b"DNT", b"1")])
    ctx = make_builder().build(s)
    assert ctx.user_agent == IPHONE
    assert ctx.tracking_refused


# --- client address behind proxies -----------------------------------------------------------


def xff(value: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-forwarded-for", value.encode())]


def fwd(value: str) -> list[tuple[bytes, bytes]]:
    return [(b"forwarded", value.encode())]


@pytest.mark.parametrize(
    ("trusted", "peer", "headers", "expected"),
    [
        # No trusted proxies: forwarding headers are never read.
        ((), GOOGLE_DNS, xff("1.2.3.4"), GOOGLE_DNS),
        # Spoofed header from an untrusted peer is ignored.
        (("10.0.0.0/8",), GOOGLE_DNS, xff("1.2.3.4"), GOOGLE_DNS),
        (("10.0.0.0/8",), GOOGLE_DNS, fwd("for=1.2.3.4"), GOOGLE_DNS),
        # One trusted hop.
        (("10.0.0.0/8",), "10.0.0.1", xff(LONDON), LONDON),
        # The client prepended a fake entry; the proxy appended the real one.
        (("10.0.0.0/8",), "10.0.0.1", xff(f"1.2.3.4, {LONDON}"), LONDON),
        # Multi-hop: CDN edge (172.16/12) then load balancer (10/8).
        (
            ("10.0.0.0/8", "172.16.0.0/12"),
            "10.0.0.1",
            xff(f"6.6.6.6, {LONDON}, 172.16.4.4"),
            LONDON,
        ),
        # Every hop trusted: the leftmost is the client (internal traffic).
        (("10.0.0.0/8",), "10.0.0.1", xff("10.9.9.9, 10.0.0.7"), "10.9.9.9"),
        # Garbage left of the client is irrelevant; garbage at a trusted position ends the walk.
        (("10.0.0.0/8",), "10.0.0.1", xff(f"junk, {LONDON}"), LONDON),
        (("10.0.0.0/8",), "10.0.0.1", xff(f"{LONDON}, unknown"), "10.0.0.1"),
        (("10.0.0.0/8",), "10.0.0.1", xff(""), "10.0.0.1"),
        (("10.0.0.0/8",), "10.0.0.1", xff(" , ,"), "10.0.0.1"),
        # Ports and brackets.
        (("10.0.0.0/8",), "10.0.0.1", xff(f"{LONDON}:5555"), LONDON),
        (("10.0.0.0/8",), "10.0.0.1", xff("[2a02:c7c::1]:443"), "2a02:c7c::1"),
        (("10.0.0.0/8",), "10.0.0.1", xff("2a02:c7c::1"), "2a02:c7c::1"),
        # IPv6 proxies and mapped addresses.
        (("::1/128", "fd00::/8"), "::1", xff(f"{LONDON}, fd00::5"), LONDON),
        (("10.0.0.0/8",), "::ffff:10.0.0.1", xff(LONDON), LONDON),
        (("10.0.0.0/8",), "10.0.0.1", xff(f"::ffff:{LONDON}"), LONDON),
        # RFC 7239 Forwarded.
        (("10.0.0.0/8",), "10.0.0.1", fwd(f"for={LONDON};proto=https;by=10.0.0.1"), LONDON),
        (
            ("10.0.0.0/8",),
            "10.0.0.1",
            fwd('for=192.0.2.43, for="[2001:db8:cafe::17]:4711"'),
            "2001:db8:cafe::17",
        ),
        (("10.0.0.0/8",), "10.0.0.1", fwd(f'For="{LONDON}:80", for=10.1.1.1'), LONDON),
        (("10.0.0.0/8",), "10.0.0.1", fwd("for=unknown"), "10.0.0.1"),
        (("10.0.0.0/8",), "10.0.0.1", fwd('for="_gazonk"'), "10.0.0.1"),
        (("10.0.0.0/8",), "10.0.0.1", fwd("proto=https"), "10.0.0.1"),
        # Repeated header fields form one list, in order.
        (("10.0.0.0/8",), "10.0.0.1", [*xff("6.6.6.6"), *xff(f"{LONDON}, 10.0.0.3")], LONDON),
    ],
)
def test_client_ip(
    make_builder: BuilderFactory,
    trusted: tuple[str, ...],
    peer: str,
    headers: list[tuple[bytes, bytes]],
    expected: str,
) -> None:
    ctx = make_builder(trusted).build(scope(client=(peer, 443), headers=headers))
    assert ctx.ip == ipaddress.ip_address(expected)
    assert ctx.visit.ip == ctx.ip


def test_proxy_header_choice(make_builder: BuilderFactory) -> None:
    both = [*xff(LONDON), *fwd(f"for={GOOGLE_DNS}")]
    s = scope(client=("10.0.0.1", 1), headers=both)
    assert str(make_builder(["10.0.0.0/8"]).build(s).ip) == LONDON  # auto: XFF first
    forwarded = make_builder(["10.0.0.0/8"], proxy_header="forwarded").build(s)
    assert str(forwarded.ip) == GOOGLE_DNS
    only_fwd = scope(client=("10.0.0.1", 1), headers=fwd(f"for={GOOGLE_DNS}"))
    assert str(make_builder(["10.0.0.0/8"]).build(only_fwd).ip) == GOOGLE_DNS
    pinned = make_builder(["10.0.0.0/8"], proxy_header="x-forwarded-for").build(only_fwd)
    assert str(pinned.ip) == "10.0.0.1"
    with pytest.raises(ValueError):
        make_builder(proxy_header="via")


@pytest.mark.parametrize("client", [None, (), ("unix:/run/sock",), ("", 0), (b"1.2.3.4", 1), "1.2.3.4", 42])
def test_odd_client_values(make_builder: BuilderFactory, client: Any) -> None:
    ctx = make_builder(["10.0.0.0/8"]).build(scope(client=client, headers=xff(LONDON)))
    assert ctx.ip is None
    assert ctx.ip_truncated is None
    assert ctx.geo == Geo()


def test_invalid_trusted_cidr_rejected(make_builder: BuilderFactory) -> None:
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/40"):
        make_builder(["10.0.0.0/40"])


def test_ipv6_client_is_truncated_to_48(make_builder: BuilderFactory) -> None:
    ctx = make_builder().build(scope(client=("2a02:c7c:1234:5678::9", 1)))
    assert ctx.ip_truncated == "2a02:c7c:1234::"
    assert ctx.geo.country is not None


def test_parse_forwarded_for() -> None:
    header = 'for=a;proto=http, by=b, for="[2001:db8::1]:4711";host=x, FOR="q\\"x"'
    assert parse_forwarded_for(header) == ["a", "", "[2001:db8::1]:4711", 'q"x']


# --- privacy flags ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ([(b"dnt", b"1")], True),
        ([(b"sec-gpc", b"1")], True),
        ([(b"dnt", b"0")], False),
        ([], False),
    ],
)
def test_tracking_refused(
    make_builder: BuilderFactory, headers: list[tuple[bytes, bytes]], refused: bool
) -> None:
    assert make_builder().build(scope(headers=headers)).tracking_refused is refused


@pytest.mark.parametrize(
    ("query", "opted_out"),
    [
        (b"sr_optout", True),
        (b"sr_optout=1", True),
        (b"a=1&sr_optout=", True),
        (b"sr_optoutx=1", False),
        (b"x=sr_optout", False),
        (b"", False),
    ],
)
def test_opt_out_param(make_builder: BuilderFactory, query: bytes, opted_out: bool) -> None:
    assert make_builder().build(scope(query=query)).opted_out is opted_out


def test_custom_opt_out_param_and_excluded_networks(make_builder: BuilderFactory) -> None:
    builder = make_builder(opt_out_param="nostats", excluded_networks=["81.2.69.0/24", "fd00::/8"])
    assert builder.build(scope(query=b"nostats=1", client=(GOOGLE_DNS, 1))).opted_out
    assert not builder.build(scope(query=b"sr_optout", client=(GOOGLE_DNS, 1))).opted_out
    assert builder.build(scope(client=("81.2.69.7", 1))).opted_out
    assert builder.build(scope(client=("fd00::7", 1))).opted_out
    assert not builder.build(scope(client=(GOOGLE_DNS, 1))).opted_out
    with pytest.raises(ValueError):
        make_builder(excluded_networks=["nonsense"])


def test_excluded_network_applies_to_the_resolved_client(make_builder: BuilderFactory) -> None:
    builder = make_builder(["10.0.0.0/8"], excluded_networks=["81.2.69.0/24"])
    assert builder.build(scope(client=("10.0.0.1", 1), headers=xff(LONDON))).opted_out
    assert not builder.build(scope(client=("10.0.0.1", 1), headers=xff(GOOGLE_DNS))).opted_out


# --- Accept-Language and query parsing -------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ()),
        ("", ()),
        ("en", ("en",)),
        ("de-DE,de;q=0.9,en;q=0.8", ("de-de", "de", "en")),
        ("en;q=0.5, fr;q=0.9, de", ("de", "fr", "en")),
        ("fr;q=0.8, es;q=0.8, it;q=0.9", ("it", "fr", "es")),  # ties keep their order
        ("fr, *;q=0.5, de;q=0", ("fr",)),  # '*' and q=0 dropped
        ("en;q=0.000, pt-BR", ("pt-br",)),
        ("EN-gb ; Q=0.7 , ja", ("ja", "en-gb")),
        ("zh-Hant-TW,zh;q=0.9", ("zh-hant-tw", "zh")),
        ("en;q=abc, de;q=1.5, fr;q=", ()),  # junk q-values dropped
        ("en;q=\u00b2, de;q=0.\u0661, fr;q=0.5", ("fr",)),  # digits that float() refuses ("²", "١")
        ("en;q=1.0;foo=bar", ("en",)),
        ("en,en;q=0.5,EN", ("en",)),
        (",,;,=,q=1", ()),
        ("12, -en, en-, en--us, e\u00f1, <script>", ()),
        ("x-klingon, i-default", ("x-klingon", "i-default")),
        (",".join(f"l{i}" for i in range(30)), tuple(f"l{i}" for i in range(MAX_LANGUAGES))),
    ],
)
def test_parse_accept_language(header: str | None, expected: tuple[str, ...]) -> None:
    assert parse_accept_language(header) == expected


@given(st.text(max_size=200))
def test_parse_accept_language_never_raises(header: str) -> None:
    result = parse_accept_language(header)
    assert len(result) <= MAX_LANGUAGES
    assert all(tag == tag.lower() and tag != "*" for tag in result)
    assert len(set(result)) == len(result)


@pytest.mark.parametrize(
    ("qs", "expected"),
    [
        (b"", {}),
        (b"a=1&b=2", {"a": "1", "b": "2"}),
        (b"a=1&a=2", {"a": "1"}),
        (b"flag&x=", {"flag": "", "x": ""}),
        (b"&&a=1&&", {"a": "1"}),
        (b"q=hello+world&r=%2Fpath%3Fx", {"q": "hello world", "r": "/path?x"}),
        (b"n%61me=v", {"name": "v"}),
        (b"bad=%ZZ%", {"bad": "%ZZ%"}),
        (b"u=%FF%FE", {"u": "\ufffd\ufffd"}),
        (b"e=a=b", {"e": "a=b"}),
        (b"=nameless", {}),
        ("ü=1".encode(), {"ü": "1"}),
    ],
)
def test_parse_query(qs: bytes, expected: dict[str, str]) -> None:
    assert parse_query(qs) == expected


def test_parse_query_is_bounded() -> None:
    qs = "&".join(f"k{i}=v" for i in range(1000)).encode()
    assert len(parse_query(qs)) == MAX_QUERY_PARAMS


# --- fuzzing ---------------------------------------------------------------------------------

_NAMES = [
    b"user-agent",
    b"accept-language",
    b"x-forwarded-for",
    b"forwarded",
    b"referer",
    b"dnt",
    b"sec-gpc",
    b"sec-purpose",
    b"purpose",
    b"sec-ch-ua-mobile",
    b"sec-ch-ua-platform",
    b"User-Agent",
    b"X-FORWARDED-FOR",
]
_header = st.tuples(st.sampled_from(_NAMES) | st.binary(max_size=20), st.binary(max_size=120))
_ip_text = st.ip_addresses().map(str)
_client = st.one_of(
    st.none(),
    st.tuples(_ip_text, st.integers(0, 65535)),
    st.tuples(st.text(max_size=40), st.integers()),
    st.tuples(st.binary(max_size=16)),
    st.lists(st.one_of(st.text(max_size=10), st.integers()), max_size=3),
    st.text(max_size=20),
    st.integers(),
)
_xff_value = st.lists(st.one_of(_ip_text, st.text(max_size=15)), max_size=6).map(
    lambda xs: ", ".join(xs).encode("utf-8")
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(st.one_of(_header, st.tuples(st.just(b"x-forwarded-for"), _xff_value)), max_size=12),
    query=st.binary(max_size=200),
    client=_client,
    method=st.one_of(st.text(max_size=8), st.none(), st.integers()),
    path=st.one_of(st.text(max_size=40), st.none(), st.binary(max_size=5)),
)
def test_build_never_raises(
    make_builder: BuilderFactory,
    headers: list[tuple[bytes, bytes]],
    query: bytes,
    client: Any,
    method: Any,
    path: Any,
) -> None:
    builder = make_builder(["10.0.0.0/8", "::1/128", "2001:db8::/32"], excluded_networks=["192.0.2.0/24"])
    raw = {"type": "http", "headers": headers, "query_string": query, "client": client}
    raw |= {"method": method, "path": path}
    ctx = builder.build(raw)
    assert isinstance(ctx, ScanContext)
    assert (ctx.ip is None) == (ctx.ip_truncated is None)
    if ctx.ip is not None:
        assert ctx.visit.ip == ctx.ip


@settings(max_examples=200, deadline=None)
@given(peer=st.ip_addresses(), chain=_xff_value)
def test_untrusted_peer_is_always_the_client(
    make_builder: BuilderFactory, peer: ipaddress.IPv4Address | ipaddress.IPv6Address, chain: bytes
) -> None:
    builder = make_builder(["10.0.0.0/8"])
    if peer.version == 4 and peer in ipaddress.ip_network("10.0.0.0/8"):
        return
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        return
    ctx = builder.build(
        scope(client=(str(peer), 1), headers=[(b"x-forwarded-for", chain), (b"forwarded", chain)])
    )
    assert ctx.ip == peer


# --- caches ----------------------------------------------------------------------------------


def test_cached_parsers_give_the_same_context(make_builder: BuilderFactory) -> None:
    """Warm (every parser's cache hit) and cold (a user agent never seen) builds agree."""
    builder = make_builder(["10.0.0.0/8"], excluded_networks=["192.0.2.0/24"])
    proxied = scope(
        client=("10.0.0.1", 1),
        headers=[*xff(f"1.2.3.4, {LONDON}"), (b"referer", b"https://x.example/")],
        query=b"utm_source=poster&sr_x=1",
    )
    for s in (scope(), proxied):
        first = builder.build(s)
        assert all(builder.build(s) == first for _ in range(50))
    assert builder.build(proxied).ip == ipaddress.ip_address(LONDON)
    for i in range(400):  # every call brings a user agent no cache has seen
        ctx = builder.build(scope(ua=f"{IPHONE} r/{i}"))
        assert (ctx.agent.device, ctx.agent.os, ctx.bot.is_bot) == (DeviceType.MOBILE, "iOS", False)


def test_the_client_memo_keeps_every_input_apart(make_builder: BuilderFactory) -> None:
    """The memo of (user agent, language, purpose, hints, method) never answers one request with
    another's verdict: each input that changes the outcome is part of the key."""
    builder = make_builder()
    human = builder.build(scope())
    assert (human.bot.is_bot, human.visit.languages[0]) == (False, "de-de")
    assert builder.build(scope(method="HEAD")).bot.kind == "scanner"  # same user agent, HEAD
    assert builder.build(scope(lang=None)).bot.kind == "scanner"  # no Accept-Language
    assert builder.build(scope(lang="fr")).visit.languages == ("fr",)
    prefetch = builder.build(scope(headers=[(b"sec-purpose", b"prefetch")]))
    assert prefetch.bot.kind == "preview"
    hinted = builder.build(
        scope(ua=ANDROID_REDUCED_TABLET, headers=[(b"sec-ch-ua-mobile", b"?1")]),
    )
    plain = builder.build(scope(ua=ANDROID_REDUCED_TABLET))
    assert hinted.agent.device == DeviceType.MOBILE
    assert plain.agent.device != DeviceType.MOBILE
    assert builder.build(scope()) == human  # and the first answer is still the same


def test_the_client_memo_is_bounded(make_builder: BuilderFactory) -> None:
    builder = make_builder()
    long_agent = IPHONE + " x" * 600  # over the memo's key length: parsed, never remembered
    assert builder.build(scope(ua=long_agent)).agent.os == "iOS"
    assert builder.build(scope(ua=long_agent)).agent.os == "iOS"
    remembered = builder._clients  # private: the bound is the point of this test
    assert all(long_agent not in key for key in remembered)
    long_platform = '"' + "Linux" * 300 + '"'  # a short user agent, a long header beside it
    builder.build(scope(headers=[(b"sec-ch-ua-platform", long_platform.encode())]))
    assert all(long_platform not in key for key in remembered)
    for i in range(context_module._MAX_CLIENTS + 5):
        builder.build(scope(ua=f"{IPHONE} n/{i}"))
    assert 0 < len(remembered) <= context_module._MAX_CLIENTS


_NAMES = st.sampled_from(
    [
        b"user-agent",
        b"User-Agent",
        b"accept-language",
        b"x-forwarded-for",
        b"X-Forwarded-For",
        b"host",
        b"dnt",
        b"referer",
        b"123",
        b"",
        "user-agent",
    ]
)
_VALUES = st.one_of(st.binary(max_size=40), st.just("text"), st.none())


@given(st.lists(st.one_of(st.tuples(_NAMES, _VALUES), st.just((b"dnt",)), st.just(b"junk")), max_size=8))
def test_the_fast_header_path_agrees_with_the_careful_one(raw: list[object]) -> None:
    from scanroute.capture.request_text import read_headers as _headers
    from scanroute.capture.request_text import read_headers_careful as _headers_careful

    assert _headers(raw) == _headers_careful(raw)
