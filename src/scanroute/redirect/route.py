"""A code compiled for the redirect path (immutable; rebuilt when the code changes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanroute.native import scanpath
from scanroute.routing import DecisionKind, RoutableCode, compile_code, merge_utm
from scanroute.routing.destination import Prepared, prepare
from scanroute.routing.program import Program, lower

HISTORY_KEYS = frozenset({"visitor", "nth_scan"})
MAX_PREPARED = 64  # destinations memoised per route (a bound, in case rules hold very many)


@dataclass(frozen=True, slots=True)
class Route:
    """Everything the handler needs to answer a scan of one code."""

    code_id: int
    workspace_id: int
    slug: str
    static: bool
    status: str
    routable: RoutableCode | None
    payload: str | None
    utm: dict[str, str]
    campaign_id: int | None
    placement_id: int | None
    creative: str | None
    expires_at: datetime | None
    scan_limit: int | None
    fallback: str | None
    append_scan_id: bool
    forward_query: bool
    issue_coupon: bool
    needs_history: bool
    splits: bool
    has_caps: bool
    version: int
    prepared: dict[str, Prepared] = field(default_factory=dict, compare=False, repr=False)
    counted: bool = field(init=False, compare=False, repr=False)
    """Whether a scan reads or counts something first: visitor history, caps, a scan limit."""
    base: tuple[Any, ...] = field(init=False, compare=False, repr=False)
    """What every scan event of the code carries: (workspace, code, campaign, placement, creative)."""
    plan: tuple[Any, ...] | None = field(init=False, compare=False, repr=False)
    """What the compiled answer of a plain code needs (``plain_plan``), ``None`` for others."""
    program: Program | None = field(init=False, compare=False, repr=False)
    """The rules lowered for the compiled engine (``routing.program``), ``None``: ``resolve`` only."""
    routed_plan: tuple[Any, ...] | None = field(init=False, compare=False, repr=False)
    """What the compiled answer of a code with rules or counts needs (``routed_plan``)."""

    def __post_init__(self) -> None:
        # derived once: the route is immutable (plain attributes: read on every scan)
        object.__setattr__(
            self, "counted", self.needs_history or self.has_caps or self.scan_limit is not None
        )
        base = (self.workspace_id, self.code_id, self.campaign_id, self.placement_id, self.creative)
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "plan", plain_plan(self))
        routable = self.routable
        program = None
        if scanpath is not None and routable is not None and not self.static:
            program = lower(routable, scanpath.Rules)
        object.__setattr__(self, "program", program)
        object.__setattr__(self, "routed_plan", routed_plan(self))

    def destination(self, url: str) -> Prepared:
        """``url`` with this code's UTM parameters merged in, kept per destination URL (a code's
        destinations are its default and its rules' targets, so the memo stays small)."""
        done = self.prepared.get(url)
        if done is None:
            if len(self.prepared) >= MAX_PREPARED:
                self.prepared.clear()
            done = self.prepared[url] = prepare(url, self.utm)
        return done

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> Route:
        """Compile a stored record (see ``storage.routes``)."""
        rules = rec.get("rules") or []
        options = rec.get("options") or {}
        static = rec["kind"] == "static"
        tz = rec.get("timezone") or rec.get("workspace_timezone")
        routable = None if static else compile_code(str(rec["id"]), rec["destination"] or "", tz, rules)
        whens = [r.get("when") or {} for r in rules if isinstance(r, dict)]
        needs_history = any(isinstance(w, dict) and HISTORY_KEYS & set(w) for w in whens)
        has_caps = any(
            isinstance(r, dict)
            and ("cap" in r or any(isinstance(v, dict) and "cap" in v for v in (r.get("variants") or [])))
            for r in rules
        )
        expires = rec.get("expires_at")
        return cls(
            code_id=rec["id"],
            workspace_id=rec["workspace_id"],
            slug=rec["slug"],
            static=static,
            status=rec["status"],
            routable=routable,
            payload=rec.get("payload"),
            utm=merge_utm(rec.get("campaign_utm") or {}, rec.get("utm") or {}),
            campaign_id=rec.get("campaign_id"),
            placement_id=rec.get("placement_id"),
            creative=rec.get("creative"),
            expires_at=datetime.fromisoformat(expires) if isinstance(expires, str) else expires,
            scan_limit=rec.get("scan_limit"),
            fallback=rec.get("fallback_url"),
            append_scan_id=bool(options.get("append_scan_id", True)),
            forward_query=bool(options.get("forward_query", False)),
            issue_coupon=bool(options.get("issue_coupon", False)),
            needs_history=needs_history,
            splits=any(isinstance(r, dict) and "variants" in r for r in rules),
            has_caps=has_caps,
            version=rec.get("version", 1),
        )


def plain_plan(route: Route) -> tuple[Any, ...] | None:
    """The constant part of every scan of a plain code, for ``scanroute.native``'s ``PlainScan``.

    A plain code is active, has no rules, counts nothing (no history, caps or scan limit), never
    expires, issues no coupon, forwards no query and redirects: each of its scans goes to its
    default destination with the UTM parameters and (unless opted out) ``sr_sid``, as
    ``routing.destination.finish`` builds it. Returns ``(workspace, code, campaign, placement,
    creative, prefix, suffix, plain)``: the Location is ``prefix + scan id + suffix``, or
    ``plain`` when ``prefix`` is ``None`` (no scan id appended). ``None`` for any other code.
    """
    routable = route.routable
    if (
        not _answerable(route)
        or routable is None
        or routable.rules
        or route.counted
        or routable.default.kind is not DecisionKind.REDIRECT
    ):
        return None
    return (*route.base, *_location(route, routable.default.destination))


def routed_plan(route: Route) -> tuple[Any, ...] | None:
    """What ``PlainScan.answer_routed`` needs to answer a scan of a code with rules or counts.

    For a code ``plain_plan`` would take but for its rules (lowered to a ``Program``) or its
    counts (visitor history, caps, a scan limit): ``(workspace, code, campaign, placement,
    creative, rules, outcomes, code id, needs history, has caps or a scan limit, scan limit or
    -1)``. ``rules`` is ``None`` for a code without rules (its default destination is outcome
    0); ``outcomes[i]`` is ``(prefix, suffix, plain, rule index, variant, cap keys)`` for
    ``Program.outcomes[i]`` (the Location as in ``plain_plan``), or ``None`` for an app page
    (those scans take the Python path). ``None`` for any other code.
    """
    routable, program, limit = route.routable, route.program, route.scan_limit
    if (
        not _answerable(route)
        or routable is None
        or (limit is not None and limit < 0)
        or (program is None and (routable.rules or not route.counted))
    ):
        return None
    outcomes: list[tuple[Any, ...] | None] = []
    for decision in program.outcomes if program is not None else (routable.default,):
        if decision.kind is not DecisionKind.REDIRECT:
            outcomes.append(None)
            continue
        variant = decision.variant_label or (None if decision.variant is None else str(decision.variant))
        location = _location(route, decision.destination)
        outcomes.append((*location, decision.rule_index, variant, decision.cap_keys))
    rules = program.rules if program is not None else None
    capped = bool(route.has_caps or limit)
    return (
        *route.base,
        rules,
        tuple(outcomes),
        route.code_id,
        route.needs_history,
        capped,
        -1 if limit is None else limit,
    )


def _answerable(route: Route) -> bool:
    """Whether the compiled path may answer the code's scans at all: an active dynamic code
    without expiry, coupon or query pass-through."""
    return not (
        route.static
        or route.status != "active"
        or route.expires_at is not None
        or route.issue_coupon
        or route.forward_query
    )


def _location(route: Route, destination: str) -> tuple[str | None, str, str]:
    """``(prefix, suffix, plain)`` of a Location to ``destination``: ``prefix + scan id +
    suffix``, or ``plain`` when ``prefix`` is ``None`` (no scan id appended)."""
    prepared = route.destination(destination)
    return prepared.sid_prefix if route.append_scan_id else None, prepared.fragment, prepared.plain
