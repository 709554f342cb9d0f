"""One routing rule: its compiled form, its targets, and the step from JSON to that form.

:func:`parse_rule` takes a rule that already passed the JSON Schema (``routing.schema``) and
makes the checks the schema cannot: URL schemes and hosts, finite weights, ``bandit`` only
with ``variants``, and every condition value (delegated to ``routing.when``). Both
``validate_rules`` (for the API) and ``compile_code`` (for the redirect path) use it, so a
document that validates always compiles without broken rules.

Cap keys (what ``RoutingState.cap_used`` is keyed by, per code): ``r{i}`` for a rule's own
``cap`` and ``r{i}v{j}`` for the ``cap`` of variant ``j`` of rule ``i``; ``i`` and ``j`` are
positions in the stored document (0-based), so reordering rules moves their counters.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scanroute.routing.conditions import Condition
from scanroute.routing.decision import Decision, DecisionKind
from scanroute.routing.destination import SCAN_ID_PARAM, query_names
from scanroute.routing.when import parse_when

Path = tuple[str | int, ...]

FORBIDDEN_SCHEMES = frozenset({"javascript", "vbscript", "data", "file", "blob", "filesystem"})
"""Schemes an app link may never use (they run code or read local data in the browser)."""

_BAD_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """Why a rules document is refused: ``field`` is a path such as ``rules[2].when.time.from``."""

    field: str
    reason: str


class InvalidRule(ValueError):
    """Raised by :func:`parse_rule` with every problem found in one rule."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems))
        self.problems = problems


def field_path(path: Iterable[str | int]) -> str:
    """Format a JSON path below the document as ``rules[2].when.query["a.b"]``."""
    text = "rules"
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif _IDENTIFIER.fullmatch(step):
            text += f".{step}"
        else:
            text += f"[{json.dumps(step)}]"
    return text


def rule_cap_key(index: int) -> str:
    """Cap counter key of rule ``index``."""
    return f"r{index}"


def variant_cap_key(index: int, variant: int) -> str:
    """Cap counter key of variant ``variant`` of rule ``index``."""
    return f"r{index}v{variant}"


def check_web_url(url: str) -> str | None:
    """Why ``url`` cannot be a destination (``None`` when it can): absolute http(s) with a
    host, no spaces, control characters or backslashes, no ``sr_sid`` parameter."""
    if _BAD_CHARACTERS.search(url):
        return "must not contain spaces, control characters or backslashes"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host"
    if SCAN_ID_PARAM in query_names(url):
        return f"must not carry {SCAN_ID_PARAM} (it is added for each scan)"
    return None


def check_app_url(url: str) -> str | None:
    """Why ``url`` cannot open an app (``None`` when it can): a custom scheme
    (``myapp://…``, ``intent://…``) or an http(s) universal link; never a scheme from
    :data:`FORBIDDEN_SCHEMES`."""
    if _BAD_CHARACTERS.search(url):
        return "must not contain spaces, control characters or backslashes"
    match = _SCHEME.match(url)
    if match is None:
        return "must start with a scheme, such as myapp:// or https://"
    scheme = match.group(1).lower()
    if scheme in FORBIDDEN_SCHEMES:
        return f"must not use the {scheme}: scheme"
    return check_web_url(url) if scheme in ("http", "https") else None


@dataclass(frozen=True, slots=True)
class Redirect:
    """Target ``to``: one URL, hence one decision."""

    decision: Decision


@dataclass(frozen=True, slots=True)
class Variant:
    """One entry of ``variants``, with the decision it yields."""

    decision: Decision
    cap: int | None
    cap_key: str


@dataclass(frozen=True, slots=True)
class Split:
    """Target ``variants``: weighted, sticky per visitor. ``salt`` prefixes the assignment
    hash (code id and rule index); ``bandit`` lets ``RoutingState.bandit_weights`` decide."""

    variants: tuple[Variant, ...]
    weights: tuple[float, ...]
    bandit: bool
    salt: bytes


@dataclass(frozen=True, slots=True)
class AppLink:
    """Target ``app``: the decision for iOS and for Android (``None``: not configured), and
    the redirect to ``web`` for every other OS."""

    ios: Decision | None
    android: Decision | None
    web: Decision


Target = Redirect | Split | AppLink


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rule: conditions (all must hold), target, optional cap."""

    index: int
    name: str | None
    conditions: tuple[Condition, ...]
    target: Target
    cap: int | None
    cap_key: str


class _Checker:
    """Collects problems while a rule is parsed, and makes the rule's decisions."""

    def __init__(self, raw: Mapping[str, Any], index: int, rule_keys: tuple[str, ...]) -> None:
        self.index = index
        self.name: str | None = raw.get("name")
        self.rule_keys = rule_keys
        self.problems: list[RuleProblem] = []

    def add(self, path: Path, reason: str) -> None:
        self.problems.append(RuleProblem(field_path((self.index, *path)), reason))

    def web(self, url: str, path: Path) -> str:
        reason = check_web_url(url)
        if reason is not None:
            self.add(path, reason)
        return url

    def app(self, url: str, path: Path) -> str:
        reason = check_app_url(url)
        if reason is not None:
            self.add(path, reason)
        return url

    def decide(self, destination: str, **fields: Any) -> Decision:
        fields.setdefault("cap_keys", self.rule_keys)
        return Decision(destination, rule_index=self.index, rule_name=self.name, **fields)


def parse_rule(raw: Mapping[str, Any], index: int, *, code_id: str = "") -> Rule:
    """Compile rule ``index`` of a document; ``raw`` must already satisfy the rule schema.

    Raises :class:`InvalidRule` listing every problem the schema could not catch.
    ``code_id`` salts the sticky variant assignment.
    """
    cap = None if raw.get("cap") is None else int(raw["cap"])
    check = _Checker(raw, index, () if cap is None else (rule_cap_key(index),))
    conditions, condition_problems = parse_when(raw.get("when") or {})
    for problem in condition_problems:
        check.add(("when", *problem.path), problem.reason)
    target = _parse_target(raw, check, f"{code_id}\x00{index}\x00".encode())
    if raw.get("allocation") == "bandit" and not isinstance(target, Split):
        check.add(("allocation",), "'bandit' needs 'variants' to allocate among")
    if check.problems:
        raise InvalidRule(check.problems)
    return Rule(index, check.name, conditions, target, cap, rule_cap_key(index))


def _parse_target(raw: Mapping[str, Any], check: _Checker, salt: bytes) -> Target:
    if "to" in raw:
        return Redirect(check.decide(check.web(raw["to"], ("to",))))
    if "variants" in raw:
        variants: list[Variant] = []
        weights: list[float] = []
        for position, item in enumerate(raw["variants"]):
            path: Path = ("variants", position)
            try:
                weight = float(item["weight"])
            except OverflowError:
                weight = math.inf
            if not math.isfinite(weight):
                check.add((*path, "weight"), "must be a finite number")
            key = variant_cap_key(check.index, position)
            cap = None if item.get("cap") is None else int(item["cap"])
            decision = check.decide(
                check.web(item["to"], (*path, "to")),
                variant=position,
                variant_label=item.get("label"),
                cap_keys=check.rule_keys if cap is None else (*check.rule_keys, key),
            )
            variants.append(Variant(decision, cap, key))
            weights.append(weight)
        return Split(tuple(variants), tuple(weights), raw.get("allocation") == "bandit", salt)
    app = raw["app"]
    web = check.decide(check.web(app["web"], ("app", "web")))
    return AppLink(
        ios=_open_app(app.get("ios"), "ios", web, check),
        android=_open_app(app.get("android"), "android", web, check),
        web=web,
    )


def _open_app(raw: Mapping[str, Any] | None, os: str, web: Decision, check: _Checker) -> Decision | None:
    """An app page trying ``url`` then ``store`` (else ``web``); a redirect if only ``store``."""
    if raw is None:
        return None
    store = raw.get("store")
    if store is not None:
        check.web(store, ("app", os, "store"))
    if raw.get("url") is None:
        return None if store is None else check.decide(store)
    fallback = store or web.destination
    return check.decide(
        fallback,
        kind=DecisionKind.APP,
        app_url=check.app(raw["url"], ("app", os, "url")),
        fallback_url=fallback,
    )
