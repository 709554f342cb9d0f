"""Answering one scan: route lookup, status checks, routing, destination, event, counters.

Plain data in (a ``ScanContext``), plain data out (a ``Reply`` and the scan's spool line); the
edge does the ASGI part. The line must be in the spool BEFORE the reply is sent, so that a
redirect that was sent always has its scan on disk. The edge calls ``quick`` (no coroutine:
the route and its counts are in memory, as they are for almost every scan) or ``answer`` (awaits
the route load and the counters) and appends the line itself (``ScanHandler.appends``), one
write per event-loop iteration. Scans of codes with a plan (``redirect.route.plain_plan``,
``routed_plan``) are answered by the compiled ``PlainScan`` of ``scanroute.native`` when it is
installed, routed by its ``Rules`` (``routing.program``); ``decide`` and ``resolve`` are their
reference.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from urllib.parse import urlsplit

from scanroute.attribution.coupons import COUPON_PARAM, new_coupon
from scanroute.capture.coalesce import SpoolCoalescer
from scanroute.capture.context import ScanContext
from scanroute.capture.event import ScanEvent, encode_event, new_scan_id
from scanroute.capture.privacy import SaltRing, keyed_hash
from scanroute.capture.spool import Spool
from scanroute.native import scanpath
from scanroute.observability import metrics
from scanroute.redirect import pages
from scanroute.redirect.cache import RouteCache, StoreUnavailable
from scanroute.redirect.counters import LIMIT_KEY, Counters, MemoryCounters
from scanroute.redirect.route import Route
from scanroute.routing import APP_PAGE_CSP, DecisionKind, RoutingState, app_page, build_destination, resolve
from scanroute.routing.destination import finish, query_names

log = logging.getLogger("scanroute.scan")
HTML = b"text/html; charset=utf-8"
NO_STORE = (b"cache-control", b"no-store")
NO_INDEX = (b"x-robots-tag", b"noindex")
_REDIRECT_HEADERS = (
    NO_STORE,
    NO_INDEX,
    (b"referrer-policy", b"no-referrer-when-downgrade"),
    (b"content-length", b"0"),
)
_NO_CAPS: dict[str, int] = {}
_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Reply(NamedTuple):
    """The response the edge sends: its headers are complete (``content-length`` included)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    outcome: str = "redirect"


def redirect(location: str, outcome: str) -> Reply:
    """A 302 (never 301: codes are dynamic) that no cache keeps."""
    return Reply(
        302, [(b"location", location.encode("latin-1", "replace")), *_REDIRECT_HEADERS], b"", outcome
    )


def html(status: int, body: bytes, outcome: str, extra: list[tuple[bytes, bytes]] | None = None) -> Reply:
    """An HTML page reply."""
    return Reply(
        status,
        [(b"content-type", HTML), NO_STORE, NO_INDEX, *(extra or []), (b"content-length", b"%d" % len(body))],
        body,
        outcome,
    )


class ScanHandler:
    """Turns a scan context into a reply and (for GET) a spooled scan event."""

    def __init__(
        self, cache: RouteCache, counters: Counters, salts: SaltRing, spool: Spool, *, accelerate: bool = True
    ) -> None:
        """``accelerate``: answer scans with the compiled parts of ``scanroute.native`` when they
        are installed (``PlainScan`` for whole scans, ``Rules`` for rules;
        the same replies and events as the Python path of :meth:`decide`)."""
        self.cache = cache
        self.counters = counters
        self.salts = salts
        self.appends = SpoolCoalescer(spool)
        self._keyed_number = -1  # the UTC day (days since the epoch) of _keyed_today
        self._keyed_today: object = None
        self._previous_number = -1  # the UTC day whose previous day's salt _keyed_yesterday is keyed by
        self._keyed_yesterday: object = None
        self._plain: scanpath.PlainScan | None = None
        self._synced_until = 0  # the end (UTC µs) of the day the compiled path was given
        if accelerate and scanpath is not None:
            self._plain = scanpath.PlainScan(
                event_type=ScanEvent,
                encode=encode_event,
                reply_type=Reply,
                context_type=ScanContext,
                host_fn=_host,
                headers=_REDIRECT_HEADERS,
            )
            if isinstance(counters, MemoryCounters):  # counted codes too, in the same dictionaries
                history, loaded, caps = counters.state()
                self._plain.set_counters(history, loaded, caps, counters.history_size)

    @property
    def accelerated(self) -> bool:
        """Whether scans take the compiled path (``scanroute.native`` is installed and enabled)."""
        return self._plain is not None

    @property
    def compiled(self) -> scanpath.PlainScan | None:
        """The compiled whole answer (for ``scanpath.ScanPath``), ``None`` without it."""
        return self._plain

    async def route(self, slug: str) -> Route | None:
        """The route for a slug (memory, else the store in a thread)."""
        cached = self.cache.get(slug)
        if cached is not False:
            return cached
        return await asyncio.to_thread(self.cache.load, slug)

    def quick(
        self, ctx: ScanContext, *, head: bool = False, tried: bool = False
    ) -> tuple[Reply, bytes | None] | None:
        """``answer`` without a coroutine when nothing needs awaiting: the route is in memory
        and so are its counts, if it keeps any (always with in-memory counters once loaded).
        ``None`` otherwise. ``tried``: the compiled ``ScanPath.scan`` already tried this scan."""
        route = self.cache.get(ctx.slug)
        if route is False:
            return None
        plain = self._plain
        compiled: tuple[Reply, bytes | None] | bool | None = False
        if plain is not None and route is not None and not tried:
            compiled = self._compiled(plain, ctx, route, head)
            if compiled:
                return compiled  # type: ignore[return-value]
        answered: tuple[Reply, bytes | None] | None
        if route is not None and route.counted:
            answered = self._counted_now(ctx, route, head)
        else:
            reply, line, _ = self.decide(ctx, route, head=head)
            answered = reply, line
        if plain is not None and (compiled is None or time.time_ns() // 1000 >= self._synced_until):
            self._sync_day(plain)  # a new UTC day: the compiled path takes its salts
        return answered

    @staticmethod
    def _compiled(
        plain: scanpath.PlainScan, ctx: ScanContext, route: Route, head: bool
    ) -> tuple[Reply, bytes | None] | bool | None:
        """The compiled answer for the route's kind of plan; ``None``: a new UTC day; ``False``:
        no plan, or Python decides (see ``scan.c``)."""
        if route.plan is not None:
            return plain.answer(ctx, route.plan, head)  # type: ignore[no-any-return]
        if route.routed_plan is not None:
            return plain.answer_routed(ctx, route.routed_plan, head)  # type: ignore[no-any-return]
        return False

    def _sync_day(self, plain: scanpath.PlainScan) -> None:
        """Give the compiled path the current UTC day and its keyed hasher."""
        now_us = time.time_ns() // 1000
        start = now_us - now_us % _DAY_US
        plain.set_day(start, start + _DAY_US, self._keyed(now_us), self._keyed_previous(now_us))
        self._synced_until = start + _DAY_US

    def _keyed_previous(self, now_us: int) -> object | None:
        """:meth:`_keyed` for the day before (``None`` when that day had no salt), kept for the day."""
        number = now_us // _DAY_US
        if number != self._previous_number:
            self._keyed_yesterday = self.salts.keyed_previous(_utc(now_us).date())
            self._previous_number = number
        return self._keyed_yesterday

    def _keyed(self, now_us: int) -> object:
        """BLAKE2b keyed with the salt of ``now_us``'s UTC day (``SaltRing.keyed``), kept for
        the day: the visitor hash of a scan is a copy of it, updated."""
        number = now_us // _DAY_US
        if number != self._keyed_number:
            self._keyed_today = self.salts.keyed(_utc(now_us).date())
            self._keyed_number = number
        return self._keyed_today

    async def answer(self, ctx: ScanContext, *, head: bool = False) -> tuple[Reply, bytes | None]:
        """The reply and the spool line of the scan (``None``: nothing to record). The caller
        appends the line (``self.appends``) before it sends the reply."""
        try:
            route = await self.route(ctx.slug)
        except StoreUnavailable:
            log.error("store unreachable and %r is not in the snapshot", ctx.slug)
            return html(503, pages.UNAVAILABLE, "unavailable", [(b"retry-after", b"5")]), None
        if route is None or not route.counted:
            reply, line, _ = self.decide(ctx, route, head=head)
            return reply, line
        now_us = time.time_ns() // 1000
        visitor, yesterday = self._hashes(ctx, route, now_us)
        prior = 0
        if visitor is not None and route.needs_history:
            prior = await self.counters.prior_scans(route, visitor, yesterday)
        caps = await self.counters.caps(route) if (route.has_caps or route.scan_limit) else _NO_CAPS
        reply, line, cap_keys = self.decide(
            ctx, route, head=head, now_us=now_us, visitor=visitor, prior=prior, caps=caps
        )
        if cap_keys is not None:
            # before the caller's append yields: checking and counting a cap stay one step
            await self.counters.record(route, visitor, cap_keys)
        return reply, line

    def _hashes(self, ctx: ScanContext, route: Route, now_us: int) -> tuple[str | None, str | None]:
        """The visitor's hash of today and, for a code that reads history, of yesterday (a
        visitor seen before midnight); ``None`` without a (tracked) address."""
        if ctx.ip_truncated is None:
            return None, None
        ws, ip, ua = route.workspace_id, ctx.ip_truncated, ctx.user_agent
        visitor = keyed_hash(self._keyed(now_us), ws, ip, ua)
        yesterday = None
        if route.needs_history:
            previous = self._keyed_previous(now_us)
            yesterday = keyed_hash(previous, ws, ip, ua) if previous is not None else None
        return visitor, yesterday

    def _counted_now(self, ctx: ScanContext, route: Route, head: bool) -> tuple[Reply, bytes | None] | None:
        """``answer`` for a counted code whose counts are at hand (``Counters.known``), without
        a coroutine; ``None`` when they are not (the caller awaits ``answer``)."""
        now_us = time.time_ns() // 1000
        visitor, yesterday = self._hashes(ctx, route, now_us)
        known = self.counters.known(route, visitor if route.needs_history else None, yesterday)
        if known is None:
            return None
        prior, caps = known
        reply, line, cap_keys = self.decide(
            ctx, route, head=head, now_us=now_us, visitor=visitor, prior=prior, caps=caps
        )
        if cap_keys is not None:  # in the same step as the check: no other scan in between
            self.counters.record_now(route, visitor, cap_keys)
        return reply, line

    def decide(
        self,
        ctx: ScanContext,
        route: Route | None,
        *,
        head: bool = False,
        now_us: int = 0,
        visitor: str | None = None,
        prior: int = 0,
        caps: Mapping[str, int] = _NO_CAPS,
    ) -> tuple[Reply, bytes | None, list[str] | None]:
        """Everything after the awaited inputs: reply, spool line, and the counts to record
        (``None``: nothing to count). A route that is not ``counted`` needs no ``visitor``,
        ``prior`` or ``caps``: its visitor hash is computed here."""
        record = not head and not ctx.opted_out
        human = record and not ctx.bot.is_bot
        if not now_us:
            now_us = time.time_ns() // 1000
        scan_id = new_scan_id()
        if route is None or route.static:
            line = encode_event(self._event(ctx, None, scan_id, now_us, "not_found")) if record else None
            return html(404, pages.NOT_FOUND, "not_found"), line, None
        if visitor is None and ctx.ip_truncated is not None and not route.counted:
            visitor = keyed_hash(self._keyed(now_us), route.workspace_id, ctx.ip_truncated, ctx.user_agent)

        if route.status != "active":
            return self._closed(ctx, route, scan_id, now_us, visitor, record, "paused", pages.PAUSED, 503)
        if route.expires_at is not None and _utc(now_us) >= route.expires_at:
            return self._closed(ctx, route, scan_id, now_us, visitor, record, "expired", pages.EXPIRED, 410)
        if route.scan_limit is not None and caps.get(LIMIT_KEY, 0) >= route.scan_limit:
            return self._closed(ctx, route, scan_id, now_us, visitor, record, "limit", pages.EXPIRED, 410)

        routable = route.routable
        assert routable is not None
        if routable.rules:
            # the visitor hash only matters to routing for sticky variant assignment
            visit = ctx.visit._replace(visitor=visitor) if visitor is not None and route.splits else ctx.visit
            # compiled (routing.program) when accelerated; None: it declined, resolve decides
            program = route.program if self._plain is not None else None
            chosen = (
                None
                if program is None
                else program.rules.pick(visit, now_us, prior, caps, visit.visitor or scan_id)
            )
            if program is not None and chosen is not None:
                decision = program.outcomes[chosen]
            else:
                state = RoutingState(prior, caps, scan_id)  # positional: cheaper, on every such scan
                decision = resolve(routable, visit, _utc(now_us), state)
                if decision.errors:
                    metrics.rule_errors.inc(len(decision.errors))
        else:
            decision = routable.default
        coupon = None
        if route.issue_coupon and human and COUPON_PARAM not in query_names(decision.destination):
            coupon = new_coupon()  # random, no I/O: stored with the scan by the writer
        prepared = route.destination(decision.destination)
        app = decision.kind is DecisionKind.APP and decision.app_url
        cap_keys: list[str] = []
        if record:
            cap_keys = list(decision.cap_keys) if human else []
            if human and route.scan_limit is not None:
                cap_keys.append(LIMIT_KEY)
        counts = cap_keys if human and (cap_keys or route.needs_history) else None
        variant = decision.variant_label or (None if decision.variant is None else str(decision.variant))
        plain = self._plain
        if plain is not None and record and coupon is None and not route.forward_query and not app:
            # the rest of this method for a recorded redirect, compiled (tests/scan/test_plain_answers.py)
            reply, line = plain.finish(
                ctx, route.base, prepared.sid_prefix if route.append_scan_id else None, prepared.fragment,
                prepared.plain, scan_id, now_us, visitor, prior > 0, decision.rule_index, variant, cap_keys,
            )  # fmt: skip
            return reply, line, counts
        target = finish(
            prepared,
            scan_id if route.append_scan_id else None,
            passthrough=ctx.query if route.forward_query else None,
            extra={COUPON_PARAM: coupon} if coupon else None,
        )
        if app:
            app_url = build_destination(decision.app_url or "", utm={}, scan_id=None)
            reply = html(
                200,
                app_page(app_url, target).encode(),
                "app",
                [(b"content-security-policy", APP_PAGE_CSP.encode())],
            )
        else:
            reply = redirect(target, "redirect")
        if not record:
            return reply, None, None
        event = self._event(
            ctx, route, scan_id, now_us, reply.outcome, target, prior, visitor,
            decision.rule_index, variant, cap_keys, coupon,
        )  # fmt: skip
        return reply, encode_event(event), counts

    def _closed(
        self,
        ctx: ScanContext,
        route: Route,
        scan_id: str,
        now_us: int,
        visitor: str | None,
        record: bool,
        outcome: str,
        body: bytes,
        status: int,
    ) -> tuple[Reply, bytes | None, list[str] | None]:
        reply = (
            redirect(
                build_destination(route.fallback, utm={}, scan_id=scan_id if route.append_scan_id else None),
                outcome,
            )
            if route.fallback
            else html(status, body, outcome)
        )
        if not record:
            return reply, None, None
        event = self._event(ctx, route, scan_id, now_us, outcome, route.fallback, 0, visitor)
        return reply, encode_event(event), None

    def _event(
        self,
        ctx: ScanContext,
        route: Route | None,
        scan_id: str,
        now_us: int,
        outcome: str,
        dest: str | None = None,
        prior: int = 0,
        visitor: str | None = None,
        rule: int | None = None,
        variant: str | None = None,
        caps: list[str] | None = None,
        coupon: str | None = None,
    ) -> ScanEvent:
        geo, agent, bot = ctx.geo, ctx.agent, ctx.bot
        languages = ctx.visit.languages
        precise = not ctx.tracking_refused
        referer = ctx.referer
        # positional, in ScanEvent's field order: a third cheaper than keywords on every scan
        return ScanEvent(
            scan_id,
            route.workspace_id if route else 0,
            ctx.slug[:64],
            now_us,
            outcome,
            route.code_id if route else None,
            dest,
            rule,
            variant,
            route.campaign_id if route else None,
            route.placement_id if route else None,
            route.creative if route else None,
            agent.device,  # a StrEnum: encoded as its value
            agent.os,
            agent.browser,
            languages[0] if languages else None,
            geo.country,
            geo.region if precise else None,
            geo.city if precise else None,
            geo.asn if precise else None,
            ctx.ip_truncated,
            visitor,
            prior > 0,
            bot.is_bot,
            bot.kind,
            _host(referer) if referer else None,
            ctx.tracking_refused,
            caps if caps is not None else [],
            coupon,
        )


def _utc(now_us: int) -> datetime:
    """``now_us`` as an aware UTC datetime, exactly (a float division loses microseconds in far
    years, and the compiled ``Rules.pick`` works on the exact integer)."""
    return _EPOCH + timedelta(microseconds=now_us)


def _host(referer: str | None) -> str | None:
    if not referer:
        return None
    try:
        return (urlsplit(referer).hostname or "")[:253] or None
    except ValueError:
        return None
