"""The scan context: everything known about one scan, built once from a raw ASGI HTTP scope.

Owns the translation of a request into plain data for routing (``Visit``) and for the scan
event: client address behind trusted proxies (``X-Forwarded-For`` and RFC 7239 ``Forwarded``),
``Accept-Language`` preferences, query parameters, user agent, bot verdict, geolocation (on the
full address, before truncation), and the privacy flags (DNT/GPC, opt-out parameter, excluded
networks); the text itself is read by ``capture.request_text``. The full address is only for
routing; ``ip_truncated`` is the only form to persist.

The visitor hash needs the workspace, known only after the slug lookup, so the scan handler
computes it later (``Visit.visitor`` is ``None`` here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from ipaddress import IPv4Address
from typing import Any, Literal, NamedTuple

from scanroute.capture.bots import BotDetector, BotVerdict
from scanroute.capture.geo import NO_GEO, Geo, GeoLocator, country_lookup_parts
from scanroute.capture.privacy import (
    IPAddress,
    NetworkSet,
    parse_ip,
    tracking_refused,
    truncate_ip,
)
from scanroute.capture.request_text import (
    MAX_LANGUAGES,
    MAX_QUERY_PARAMS,
    parse_accept_language,
    parse_forwarded_for,
    parse_node,
    parse_query,
    read_headers,
)
from scanroute.capture.useragent import Agent, AgentParser, parse_client_hints
from scanroute.domain.visit import Visit
from scanroute.native import scanpath

__all__ = [
    "MAX_LANGUAGES",
    "MAX_QUERY_PARAMS",
    "ContextBuilder",
    "ScanContext",
    "parse_accept_language",
    "parse_forwarded_for",
    "parse_query",
]

_MAX_HOPS = 32
_MAX_PEERS = 4096  # TCP peer addresses remembered (parsed, trusted or not) before starting over
_MAX_CLIENTS = 10_000  # (user agent, language, hints, …) combinations remembered before starting over
_MAX_CLIENT_KEY_CHARS = 1_024  # longer keys (all their headers together) are parsed, not remembered


# user agent, Accept-Language, Sec-Purpose/Purpose, Sec-CH-UA-Mobile, Sec-CH-UA-Platform, method
_ClientKey = tuple[str, str | None, str | None, str | None, str | None, str]
_Client = tuple[Agent, BotVerdict, tuple[str, ...]]

ProxyHeader = Literal["auto", "x-forwarded-for", "forwarded"]
_PROXY_HEADER_MODES = {"auto": 0, "x-forwarded-for": 1, "forwarded": 2}  # FastContext's numbering


class ScanContext(NamedTuple):
    """One scan, as routing and the scan event see it. Never persist ``ip``.

    Immutable. A named tuple rather than a frozen dataclass because it is built on every scan
    and is about 2.5 times cheaper to construct; fields are read by name.
    """

    visit: Visit
    method: str
    path: str
    slug: str
    user_agent: str
    ip: IPAddress | None
    ip_truncated: str | None
    agent: Agent
    bot: BotVerdict
    geo: Geo
    referer: str | None
    tracking_refused: bool
    opted_out: bool
    query: Mapping[str, str]


class ContextBuilder:
    """Builds a :class:`ScanContext` from an ASGI HTTP scope; shared by all requests.

    ``trusted_proxies`` are CIDRs (or addresses) of the reverse proxies in front of the server;
    only when the TCP peer is one of them are forwarding headers read, right to left, skipping
    further trusted hops. ``proxy_header`` picks the header (``auto``: ``X-Forwarded-For`` when
    present, else ``Forwarded``). Raises ``ValueError`` on invalid CIDRs.

    ``accelerate``: build the contexts of ordinary requests with the compiled fast path
    (``scanroute.native``'s ``FastContext``) when it is installed; it gives the same context as the Python
    path below, which remains the reference and takes every request the fast path declines.
    """

    __slots__ = (
        "_agents",
        "_bots",
        "_clients",
        "_compiled",
        "_excluded",
        "_excludes",
        "_fast",
        "_geo",
        "_opt_out",
        "_peers",
        "_proxy_header",
        "_trusted",
        "_trusts",
    )

    def __init__(
        self,
        trusted_proxies: Sequence[str],
        agent_parser: AgentParser,
        bot_detector: BotDetector,
        geo: GeoLocator,
        opt_out_param: str = "sr_optout",
        excluded_networks: Sequence[str] = (),
        *,
        proxy_header: ProxyHeader = "auto",
        accelerate: bool = True,
    ) -> None:
        """Wire the enrichers and parse the configured networks once."""
        self._trusted = NetworkSet.parse(trusted_proxies)
        self._excluded = NetworkSet.parse(excluded_networks)
        self._trusts = bool(self._trusted)  # plain flags: skip the membership tests when empty
        self._excludes = bool(self._excluded)
        self._agents = agent_parser
        self._bots = bot_detector
        self._geo = geo
        self._opt_out = opt_out_param
        self._peers: dict[str, tuple[IPAddress | None, bool]] = {}  # TCP peer → (address, trusted?)
        self._clients: dict[_ClientKey, _Client] = {}
        if proxy_header not in ("auto", "x-forwarded-for", "forwarded"):
            raise ValueError(f"unknown proxy_header {proxy_header!r}")
        self._proxy_header = proxy_header
        self._compiled: scanpath.FastContext | None = None
        self._fast: Callable[[Mapping[str, Any]], ScanContext | None] | None = None
        if accelerate and scanpath is not None:
            self._compiled = scanpath.FastContext(
                trusted=self._trusted.v4,
                excluded=self._excluded.v4,
                mode=_PROXY_HEADER_MODES[proxy_header],
                opt_out=opt_out_param,
                clients=self._clients,
                client_fn=self._client,
                geo_fn=geo.lookup,
                query_fn=parse_query,
                visit_type=Visit,
                context_type=ScanContext,
                ipv4_type=IPv4Address,
                # the default set-up (no .mmdb): the compiled path looks the country up itself
                countries=country_lookup_parts() if type(geo) is GeoLocator and geo.country_only else None,
            )
            self._fast = self._compiled.build

    @property
    def accelerated(self) -> bool:
        """Whether ordinary requests take the compiled fast path."""
        return self._fast is not None

    @property
    def compiled(self) -> scanpath.FastContext | None:
        """The compiled fast path itself (for ``scanpath.ScanPath``), ``None`` without it."""
        return self._compiled

    def build(self, scope: Mapping[str, Any]) -> ScanContext:
        """Build the context of one request. Never raises on malformed input."""
        fast = self._fast
        if fast is not None:
            ctx = fast(scope)
            if ctx is not None:
                return ctx
        return self.build_python(scope)

    def build_python(self, scope: Mapping[str, Any]) -> ScanContext:
        """:meth:`build` on the Python path alone (the reference for the fast path)."""
        headers = read_headers(scope.get("headers"))
        method = scope.get("method")
        method = method.upper() if isinstance(method, str) else "GET"
        path = scope.get("path")
        path = path if isinstance(path, str) else "/"
        slug = path[1:] if path.startswith("/") else path
        raw_qs = scope.get("query_string")
        query = parse_query(raw_qs) if isinstance(raw_qs, bytes | str) else {}

        ip = self._client_ip(scope.get("client"), headers)
        geo = self._geo.lookup(ip) if ip is not None else NO_GEO
        ip_truncated = truncate_ip(ip) if ip is not None else None

        user_agent = headers.get("user-agent", "")
        accept_language = headers.get("accept-language")
        purpose = headers.get("sec-purpose") or headers.get("purpose")
        mobile, platform = headers.get("sec-ch-ua-mobile"), headers.get("sec-ch-ua-platform")
        key = (user_agent, accept_language, purpose, mobile, platform, method)
        client = self._clients.get(key)
        if client is None:
            client = self._client(key)
        agent, bot, languages = client
        opted_out = self._opt_out in query or (self._excludes and ip in self._excluded)
        # positional, in field order (a named tuple is built faster so, on every scan)
        visit = Visit(
            agent.device,
            agent.os,
            agent.browser,
            languages,
            geo.country,
            geo.region,
            geo.city,
            ip,
            query,
            None,  # visitor: set by the handler once the workspace is known
            bot.is_bot,
        )
        return ScanContext(
            visit,
            method,
            path,
            slug,
            user_agent,
            ip,
            ip_truncated,
            agent,
            bot,
            geo,
            headers.get("referer") or None,
            tracking_refused(headers),
            opted_out,
            query,
        )

    def _client(self, key: _ClientKey) -> _Client:
        """Parse what the request says about the visitor's software (remembered per key: a few
        thousand distinct combinations cover real traffic, and each is a pure function of it)."""
        user_agent, accept_language, purpose, mobile, platform, method = key
        hints = None
        if mobile is not None or platform is not None:
            hints = parse_client_hints(mobile, platform)
        agent = self._agents.parse(user_agent, hints)
        bot = self._bots.classify(user_agent, method=method, accept_language=accept_language, purpose=purpose)
        client = (agent, bot, parse_accept_language(accept_language))
        if sum(len(part) for part in key if part) <= _MAX_CLIENT_KEY_CHARS:
            if len(self._clients) >= _MAX_CLIENTS:
                self._clients.clear()
            self._clients[key] = client
        return client

    def _client_ip(self, client: object, headers: Mapping[str, str]) -> IPAddress | None:
        peer: IPAddress | None = None
        trusted = False
        if type(client) is tuple or type(client) is list:
            host = client[0] if client else None
            if type(host) is str and host:
                known = self._peers.get(host)
                if known is None:
                    peer = parse_node(host) if host[0] == "[" else parse_ip(host)
                    known = (peer, peer is not None and self._trusts and peer in self._trusted)
                    if len(self._peers) >= _MAX_PEERS:  # direct traffic: one peer per visitor
                        self._peers.clear()
                    self._peers[host] = known
                peer, trusted = known
        if not trusted:
            return peer
        chain = self._forward_chain(headers)
        if not chain:
            return peer
        # Right to left: the first hop not operated by us is the client. A hop we cannot parse
        # ("unknown", obfuscated, junk) ends the walk: what lies left of it is unverifiable.
        client_ip = peer
        for raw in reversed(chain[-_MAX_HOPS:]):
            addr = parse_node(raw)
            if addr is None:
                break
            client_ip = addr
            if addr not in self._trusted:
                break
        return client_ip

    def _forward_chain(self, headers: Mapping[str, str]) -> list[str]:
        mode = self._proxy_header
        xff = headers.get("x-forwarded-for")
        if mode != "forwarded" and xff is not None:
            return xff.split(",")
        fwd = headers.get("forwarded")
        if mode != "x-forwarded-for" and fwd is not None:
            return parse_forwarded_for(fwd)
        return []
