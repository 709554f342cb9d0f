"""The compiled scan context (``scanroute.native``'s ``FastContext``) against the Python path.

The Python path (``ContextBuilder.build_python``) is the reference: for every scope the fast
path either declines (``None``) or gives exactly the same context, field by field and type by
type. It must also accept what real servers send, or it would be a slower detour.
"""

from __future__ import annotations

import os
import tracemalloc
from ipaddress import IPv4Address
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanroute.capture import request_text
from scanroute.capture.bots import BotDetector
from scanroute.capture.context import ContextBuilder, ScanContext
from scanroute.capture.useragent import AgentParser
from scanroute.native import scanpath
from tests.capture.conftest import BuilderFactory

IPHONE = b"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile"
ANDROID = b"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"
GOOGLEBOT = b"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

if os.environ.get("SCANROUTE_PURE_PYTHON") == "1":
    pytest.skip("installed without the C extension on purpose", allow_module_level=True)


def scope(
    headers: list[Any] | None = None,
    *,
    client: Any = ("127.0.0.1", 50000),
    path: Any = "/menu",
    method: Any = "GET",
    query: Any = b"",
) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "http", "method": method, "path": path, "query_string": query}
    s["headers"] = [(b"host", b"qr.example"), (b"user-agent", IPHONE)] if headers is None else headers
    if client is not None:
        s["client"] = client
    return s


def assert_same(fast: ScanContext, reference: ScanContext) -> None:
    assert fast == reference
    assert type(fast) is ScanContext
    assert type(fast.visit) is type(reference.visit)
    for name, value in fast._asdict().items():
        assert type(value) is type(getattr(reference, name)), name
    assert type(fast.ip) is type(reference.ip)
    assert hash(fast.ip) == hash(reference.ip)


def check(builder: ContextBuilder, s: dict[str, Any], *, accepted: bool) -> ScanContext:
    """The fast path's verdict on ``s``, and the context ``build`` gives either way."""
    fast = builder._fast
    assert fast is not None
    reference = builder.build_python(s)
    got = fast(s)
    if accepted:
        assert got is not None, "declined a request the fast path should take"
        assert_same(got, reference)
    else:
        assert got is None
    assert_same(builder.build(s), reference)
    return reference


def test_the_extension_is_installed(make_builder: BuilderFactory) -> None:
    # make install compiles it (hatch_build.py); without it every scan takes the slow path
    assert scanpath is not None
    assert make_builder().accelerated
    assert not make_builder(accelerate=False).accelerated


PROXY = ["127.0.0.0/8", "10.0.0.0/8"]

ACCEPTED = {
    "direct visitor": scope(client=("203.0.113.9", 1)),
    "every wanted header": scope(
        [
            (b"host", b"qr.example"),
            (b"user-agent", ANDROID),
            (b"accept-language", b"de-CH, de;q=0.9, en;q=0.5"),
            (b"x-forwarded-for", b"81.2.69.160"),
            (b"referer", b"https://news.example/post?id=1"),
            (b"dnt", b" 1 "),
            (b"sec-purpose", b"prefetch"),
            (b"sec-ch-ua-mobile", b"?1"),
            (b"sec-ch-ua-platform", b'"Android"'),
        ]
    ),
    "no headers at all": scope([]),
    "a trusted chain": scope([(b"x-forwarded-for", b"81.2.69.160, 10.1.1.1 ,127.0.0.1")]),
    "an untrusted hop in the middle": scope([(b"x-forwarded-for", b"8.8.8.8, 81.2.69.160, 10.0.0.2")]),
    "junk left of the client is never read": scope([(b"x-forwarded-for", b"unknown, [::1]:80, 81.2.69.160")]),
    "a query string": scope(query=b"src=flyer&promo&sr_optout=1"),
    "HEAD": scope(method="HEAD"),
    "the root path": scope(path="/"),
    "a bot": scope([(b"user-agent", GOOGLEBOT)]),
    "GPC, empty sec-purpose beside purpose": scope(
        [(b"sec-gpc", b"1"), (b"sec-purpose", b""), (b"purpose", b"prefetch"), (b"referer", b"")]
    ),
    "Latin-1 whitespace is stripped as Python strips it": scope(
        [(b"user-agent", b"\xa0\x85 Mozilla/5.0 \x1c\t"), (b"accept-language", b"\x0b fr \x1f")]
    ),
    "non-ASCII text": scope([(b"user-agent", b"Caf\xe9Bot/1.0"), (b"referer", b"https://\xfc.example/")]),
    "a long header is cut like Python cuts it": scope([(b"user-agent", b"A" * 5000 + b" ")]),
    "header lists instead of tuples": scope([[b"user-agent", IPHONE], [b"x-forwarded-for", b"81.2.69.160"]]),
    "client as a list": scope(client=["10.9.9.9", 1], headers=[(b"x-forwarded-for", b"1.1.1.1")]),
    "a private address": scope(client=("192.168.1.20", 1)),
    "zero is a valid part": scope(client=("0.0.0.0", 1)),
    "the highest address": scope(client=("255.255.255.255", 1)),
    "an empty query string": scope(query=b""),
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_ordinary_requests_take_the_fast_path(make_builder: BuilderFactory, name: str) -> None:
    check(make_builder(PROXY), ACCEPTED[name], accepted=True)


def test_no_query_string_key(make_builder: BuilderFactory) -> None:
    s = scope()
    del s["query_string"]
    assert check(make_builder(PROXY), s, accepted=True).query == {}


DECLINED = {
    "an IPv6 peer": scope(client=("::1", 1)),
    "an IPv4-mapped peer": scope(client=("::ffff:81.2.69.160", 1)),
    "a leading zero": scope(client=("081.2.69.160", 1)),
    "no peer": scope(client=None),
    "an empty client": scope(client=()),
    "a peer that is not text": scope(client=(b"1.2.3.4", 1)),
    "a Unix socket peer": scope(client=("/run/scanroute.sock", 0)),
    "a hop with a port": scope([(b"x-forwarded-for", b"81.2.69.160:4711")]),
    "an unknown hop": scope([(b"x-forwarded-for", b"81.2.69.160, unknown")]),
    "an IPv6 hop": scope([(b"x-forwarded-for", b"2001:db8::1")]),
    "an empty X-Forwarded-For": scope([(b"x-forwarded-for", b"")]),
    "Forwarded only": scope([(b"forwarded", b"for=81.2.69.160")]),
    "a repeated header": scope([(b"user-agent", IPHONE), (b"user-agent", ANDROID)]),
    "a repeated X-Forwarded-For": scope([(b"x-forwarded-for", b"1.1.1.1"), (b"x-forwarded-for", b"2.2.2.2")]),
    "an upper-case name": scope([(b"User-Agent", IPHONE)]),
    "an upper-case unwanted name": scope([(b"X-Trace", b"1"), (b"user-agent", IPHONE)]),
    "a value that is not bytes": scope([(b"user-agent", "text")]),
    "a name that is not bytes": scope([("user-agent", IPHONE)]),
    "a triple": scope([(b"user-agent", IPHONE, b"x")]),
    "headers as a tuple": scope(headers=[]) | {"headers": ((b"user-agent", IPHONE),)},
    "headers missing": {"type": "http", "method": "GET", "path": "/x", "client": ("1.2.3.4", 1)},
    "POST": scope(method="POST"),
    "a lower-case method": scope(method="get"),
    "a path without its slash": scope(path="menu"),
    "an empty path": scope(path=""),
    "a query string as text": scope(query="a=1"),
}


@pytest.mark.parametrize("name", list(DECLINED))
def test_unusual_requests_are_left_to_the_python_path(make_builder: BuilderFactory, name: str) -> None:
    check(make_builder(PROXY), DECLINED[name], accepted=False)


def test_a_scope_that_is_not_a_dict_is_declined(make_builder: BuilderFactory) -> None:
    class Scope(dict[str, Any]):
        pass

    s = Scope(scope(client=("203.0.113.9", 1)))
    check(make_builder(), s, accepted=False)


def test_a_fully_trusted_chain_stops_after_32_hops(make_builder: BuilderFactory) -> None:
    hops = ", ".join(["81.2.69.160"] + [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(40)])
    ctx = check(make_builder(PROXY), scope([(b"x-forwarded-for", hops.encode())]), accepted=True)
    assert str(ctx.ip) == "10.0.0.9"  # the 32nd hop from the right, as the Python path reads it


def test_proxy_header_modes(make_builder: BuilderFactory) -> None:
    both = scope([(b"x-forwarded-for", b"1.1.1.1"), (b"forwarded", b"for=2.2.2.2")])
    fwd_only = scope([(b"forwarded", b"for=2.2.2.2")])
    xff = make_builder(PROXY, proxy_header="x-forwarded-for")
    assert str(check(xff, both, accepted=True).ip) == "1.1.1.1"
    assert str(check(xff, fwd_only, accepted=True).ip) == "127.0.0.1"  # Forwarded is not read
    assert check(make_builder(PROXY, proxy_header="forwarded"), both, accepted=False).ip == IPv4Address(
        "2.2.2.2"
    )
    assert str(check(make_builder(PROXY), both, accepted=True).ip) == "1.1.1.1"
    # forwarding headers from an untrusted peer are never read, whatever the mode
    assert str(check(make_builder(proxy_header="forwarded"), both, accepted=True).ip) == "127.0.0.1"


def test_opt_out_and_excluded_networks(make_builder: BuilderFactory) -> None:
    excluded = ["81.2.69.0/24", "::ffff:9.9.9.0/120"]
    builder = make_builder(PROXY, opt_out_param="nope", excluded_networks=excluded)
    assert check(builder, scope(query=b"nope"), accepted=True).opted_out
    assert not check(builder, scope(query=b"sr_optout"), accepted=True).opted_out
    assert check(builder, scope([(b"x-forwarded-for", b"81.2.69.160")]), accepted=True).opted_out
    assert check(builder, scope([(b"x-forwarded-for", b"9.9.9.9")]), accepted=True).opted_out
    assert not check(builder, scope([(b"x-forwarded-for", b"8.8.8.8")]), accepted=True).opted_out


def test_the_fast_path_shares_the_client_memo(make_builder: BuilderFactory) -> None:
    builder = make_builder()
    s = scope([(b"user-agent", b"MemoTest/1.0"), (b"accept-language", b"pt-BR")])
    first = check(builder, s, accepted=True)
    key = ("MemoTest/1.0", "pt-BR", None, None, None, "GET")
    assert builder._clients[key] == (first.agent, first.bot, ("pt-br",))
    assert check(builder, s, accepted=True).agent is first.agent  # the remembered one


class BrokenGeo:
    def lookup(self, ip: object) -> None:
        raise LookupError(f"no geo for {ip}")


def test_errors_of_the_python_callbacks_propagate(
    agent_parser: AgentParser, bot_detector: BotDetector
) -> None:
    builder = ContextBuilder((), agent_parser, bot_detector, BrokenGeo())  # type: ignore[arg-type]
    assert builder._fast is not None
    with pytest.raises(LookupError, match=r"no geo for 203\.0\.113\.9"):  # raised, not a wrong context
        builder._fast(scope(client=("203.0.113.9", 1)))


def test_no_memory_is_kept_per_request(make_builder: BuilderFactory) -> None:
    builder = make_builder(PROXY)
    scopes = [
        scope(
            [(b"user-agent", IPHONE), (b"x-forwarded-for", f"81.2.{i % 200}.{i % 250}".encode())],
            query=b"src=flyer" if i % 3 else b"",
        )
        for i in range(2000)
    ]
    for s in scopes:  # warm every memo
        builder.build(s)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10):
            for s in scopes:
                builder.build(s)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes kept after 20 000 contexts"


_octet = st.integers(0, 255)
_v4 = st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d}", _octet, _octet, _octet, _octet)
_hop = st.one_of(
    _v4,
    _v4.map(lambda a: f" {a} "),
    st.sampled_from(["10.0.0.1", "127.0.0.1", "unknown", "", "[::1]", "1.2.3.4:80", "01.2.3.4", "1.2.3"]),
)
_text = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
# every header the context reads (the builder's own list), plus one it skips and an upper-case one
_wanted = [*sorted(request_text._WANTED), b"host", b"Accept"]


@st.composite
def scopes(draw: st.DrawFn) -> dict[str, Any]:
    headers: list[Any] = []
    for name in draw(st.lists(st.sampled_from(_wanted), max_size=8)):
        if name == b"x-forwarded-for":
            value = ",".join(draw(st.lists(_hop, min_size=1, max_size=5))).encode()
        elif name in (b"dnt", b"sec-gpc"):
            value = draw(st.sampled_from([b"1", b" 1", b"0", b"", b"1 1", b"\xa01"]))
        else:
            value = draw(_text)
        headers.append((name, value))
    peer = draw(st.one_of(_v4, st.sampled_from(["127.0.0.1", "10.2.3.4", "::1", "1.2.3.04", ""])))
    return scope(
        headers,
        client=(peer, 1),
        method=draw(st.sampled_from(["GET", "HEAD", "POST"])),
        path=draw(st.sampled_from(["/a", "/", "/Menu-1", "x"])),
        query=draw(st.sampled_from([b"", b"a=1", b"sr_optout", b"x=%41&y=+"])),
    )


_BUILDERS: dict[str, ContextBuilder] = {}


@settings(max_examples=400, deadline=None)
@given(s=scopes(), mode=st.sampled_from(["auto", "x-forwarded-for", "forwarded"]))
def test_the_fast_path_never_disagrees(make_builder: BuilderFactory, s: dict[str, Any], mode: str) -> None:
    builder = _BUILDERS.get(mode)
    if builder is None:
        builder = _BUILDERS[mode] = make_builder(PROXY, proxy_header=mode, excluded_networks=["8.0.0.0/8"])
    fast = builder._fast
    assert fast is not None
    got = fast(s)
    if got is not None:
        assert_same(got, builder.build_python(s))


def test_the_compiled_country_lookup_is_geolocators(make_builder: BuilderFactory) -> None:
    from scanroute.capture import geo

    builder = make_builder(PROXY)
    reference = geo.GeoLocator(None)
    for address, is_global in [("81.2.69.160", True), ("100.64.7.1", False), ("192.0.0.9", False)]:
        geo._GLOBAL_V4_NETS.pop(int(IPv4Address(address)) >> 8, None)
        ctx = check(builder, scope([(b"x-forwarded-for", address.encode())]), accepted=True)
        assert ctx.geo == reference.lookup(address)
        assert (ctx.geo.country is not None) is is_global
        # the /24 memo is shared with the Python path (not for the /24s that mix global and not)
        mixed = int(IPv4Address(address)) >> 8 in geo._MIXED_V4_NETS
        assert geo._GLOBAL_V4_NETS.get(int(IPv4Address(address)) >> 8) == (None if mixed else is_global)
