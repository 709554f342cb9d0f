"""Answering one scan: route lookup, status checks, routing, destination, event, counters.

Plain data in (a ``ScanContext``), plain data out (a ``Reply``); the edge does the ASGI part.
The scan event is appended to the spool BEFORE the reply is returned, so a redirect that was
sent always has its scan on disk.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from scanroute.attribution.coupons import COUPON_PARAM, new_coupon
from scanroute.capture.coalesce import SpoolCoalescer
from scanroute.capture.context import ScanContext
from scanroute.capture.event import ScanEvent, encode_event, new_scan_id
from scanroute.capture.privacy import SaltRing
from scanroute.capture.spool import Spool
from scanroute.observability import metrics
from scanroute.redirect import pages
from scanroute.redirect.cache import RouteCache, StoreUnavailable
from scanroute.redirect.counters import LIMIT_KEY, Counters
from scanroute.redirect.route import Route
from scanroute.routing import APP_PAGE_CSP, DecisionKind, RoutingState, app_page, build_destination, resolve
from scanroute.routing.destination import finish, query_names

log = logging.getLogger("scanroute.scan")
HTML = b"text/html; charset=utf-8"
NO_STORE = (b"cache-control", b"no-store")
NO_INDEX = (b"x-robots-tag", b"noindex")


@dataclass(frozen=True, slots=True)
class Reply:
    """The response the edge sends."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    outcome: str = "redirect"


def redirect(location: str, outcome: str) -> Reply:
    """A 302 (never 301: codes are dynamic) that no cache keeps."""
    return Reply(
        302,
        [
            (b"location", location.encode("latin-1", "replace")),
            NO_STORE,
            NO_INDEX,
            (b"referrer-policy", b"no-referrer-when-downgrade"),
        ],
        b"",
        outcome,
    )


def html(status: int, body: bytes, outcome: str, extra: list[tuple[bytes, bytes]] | None = None) -> Reply:
    """An HTML page reply."""
    return Reply(status, [(b"content-type", HTML), NO_STORE, NO_INDEX, *(extra or [])], body, outcome)


class ScanHandler:
    """Turns a scan context into a reply and (for GET) a spooled scan event."""

    def __init__(self, cache: RouteCache, counters: Counters, salts: SaltRing, spool: Spool) -> None:
        self.cache = cache
        self.counters = counters
        self.salts = salts
        self.appends = SpoolCoalescer(spool)

    async def route(self, slug: str) -> Route | None:
        """The route for a slug (memory, else the store in a thread)."""
        cached = self.cache.get(slug)
        if cached is not False:
            return cached  # type: ignore[return-value]
        return await asyncio.to_thread(self.cache.load, slug)

    async def handle(self, ctx: ScanContext, *, head: bool = False) -> Reply:
        """Answer a GET (recorded) or HEAD (answered the same, recorded nowhere)."""
        record = not head and not ctx.opted_out
        try:
            route = await self.route(ctx.slug)
        except StoreUnavailable:
            log.error("store unreachable and %r is not in the snapshot", ctx.slug)
            return html(503, pages.UNAVAILABLE, "unavailable", [(b"retry-after", b"5")])
        now_us = time.time_ns() // 1000
        scan_id = new_scan_id()
        if route is None or route.static:
            if record:
                await self._spool(self._event(ctx, None, scan_id, now_us, "not_found", None, 0))
            return html(404, pages.NOT_FOUND, "not_found")
        now = datetime.fromtimestamp(now_us / 1_000_000, UTC)
        human = record and not ctx.bot.is_bot
        visitor: str | None = None
        prior = 0
        if ctx.ip_truncated is not None:
            if route.needs_history:  # yesterday's hash too: a visitor seen before midnight
                visitor, yesterday = self.salts.hashes(
                    now.date(), route.workspace_id, ctx.ip_truncated, ctx.user_agent
                )
                prior = await self.counters.prior_scans(route, visitor, yesterday)
            else:
                visitor = self.salts.hash(now.date(), route.workspace_id, ctx.ip_truncated, ctx.user_agent)
        caps = await self.counters.caps(route) if (route.has_caps or route.scan_limit) else {}

        if route.status != "active":
            return await self._closed(
                ctx, route, scan_id, now_us, visitor, record, "paused", pages.PAUSED, 503
            )
        if route.expires_at is not None and now >= route.expires_at:
            return await self._closed(
                ctx, route, scan_id, now_us, visitor, record, "expired", pages.EXPIRED, 410
            )
        if route.scan_limit is not None and caps.get(LIMIT_KEY, 0) >= route.scan_limit:
            return await self._closed(
                ctx, route, scan_id, now_us, visitor, record, "limit", pages.EXPIRED, 410
            )

        assert route.routable is not None
        # the visitor hash only matters to routing for sticky variant assignment
        visit = ctx.with_visitor(visitor).visit if visitor is not None and route.splits else ctx.visit
        decision = resolve(
            route.routable, visit, now, RoutingState(prior_scans=prior, cap_used=caps, seed=scan_id)
        )
        if decision.errors:
            metrics.rule_errors.inc(len(decision.errors))
        sid = scan_id if route.append_scan_id else None
        coupon = None
        if route.issue_coupon and human and COUPON_PARAM not in query_names(decision.destination):
            coupon = new_coupon()  # random, no I/O: stored with the scan by the writer
        target = finish(
            route.destination(decision.destination),
            sid,
            passthrough=ctx.query if route.forward_query else None,
            extra={COUPON_PARAM: coupon} if coupon else None,
        )
        if decision.kind is DecisionKind.APP and decision.app_url:
            app_url = build_destination(decision.app_url, utm={}, scan_id=None)
            reply = html(
                200,
                app_page(app_url, target).encode(),
                "app",
                [(b"content-security-policy", APP_PAGE_CSP.encode())],
            )
        else:
            reply = redirect(target, "redirect")
        if record:
            cap_keys = list(decision.cap_keys) if human else []
            if human and route.scan_limit is not None:
                cap_keys.append(LIMIT_KEY)
            event = self._event(ctx, route, scan_id, now_us, reply.outcome, target, prior, visitor)
            event.rule = decision.rule_index
            event.variant = decision.variant_label or (
                None if decision.variant is None else str(decision.variant)
            )
            event.caps = cap_keys
            event.coupon = coupon
            if human:  # before the append yields: checking and counting a cap stay one step
                await self.counters.record(route, visitor, cap_keys)
            await self._spool(event)
        return reply

    async def _closed(
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
    ) -> Reply:
        reply = (
            redirect(
                build_destination(route.fallback, utm={}, scan_id=scan_id if route.append_scan_id else None),
                outcome,
            )
            if route.fallback
            else html(status, body, outcome)
        )
        if record:
            await self._spool(self._event(ctx, route, scan_id, now_us, outcome, route.fallback, 0, visitor))
        return reply

    def _event(
        self,
        ctx: ScanContext,
        route: Route | None,
        scan_id: str,
        now_us: int,
        outcome: str,
        dest: str | None,
        prior: int,
        visitor: str | None = None,
    ) -> ScanEvent:
        geo, agent, bot = ctx.geo, ctx.agent, ctx.bot
        precise = not ctx.tracking_refused
        return ScanEvent(
            id=scan_id,
            ws=route.workspace_id if route else 0,
            slug=ctx.slug[:64],
            ts=now_us,
            outcome=outcome,
            code=route.code_id if route else None,
            dest=dest,
            campaign=route.campaign_id if route else None,
            placement=route.placement_id if route else None,
            creative=route.creative if route else None,
            device=agent.device.value,
            os=agent.os,
            browser=agent.browser,
            lang=ctx.visit.languages[0] if ctx.visit.languages else None,
            country=geo.country,
            region=geo.region if precise else None,
            city=geo.city if precise else None,
            asn=geo.asn if precise else None,
            ip_net=ctx.ip_truncated,
            visitor=visitor,
            returning=prior > 0,
            bot=bot.is_bot,
            bot_kind=bot.kind,
            ref_host=_host(ctx.referer),
            refused=ctx.tracking_refused,
        )

    async def _spool(self, event: ScanEvent) -> None:
        await self.appends.append(encode_event(event))


def _host(referer: str | None) -> str | None:
    if not referer:
        return None
    try:
        return (urlsplit(referer).hostname or "")[:253] or None
    except ValueError:
        return None
