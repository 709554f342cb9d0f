"""Resolving one scan: which destination a compiled code sends this visit to.

Owns :func:`resolve` and its plain-data input :class:`RoutingState`. The output,
:class:`Decision`, lives in ``routing.decision``: compiling prepares every decision a code can
give, resolving only picks one. Pure: no I/O, no clock of its own (``now`` is given), no
randomness (variant assignment hashes the code id, rule index and visitor, so it is sticky and
reproducible).

Rules are tried in document order; the first whose conditions all hold *and* whose target is
available wins, otherwise the code's default destination. A target is unavailable when the
rule's cap is used up, or when every variant of a split is capped out. A rule whose evaluation
raises is skipped and its index reported in ``Decision.errors``; ``resolve`` never raises.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from hashlib import blake2b
from types import MappingProxyType
from typing import NamedTuple

from scanroute.domain.visit import Visit
from scanroute.routing.compile import RoutableCode
from scanroute.routing.conditions import MatchContext
from scanroute.routing.decision import Decision, DecisionKind
from scanroute.routing.rules import Redirect, Rule, Split

__all__ = ["Decision", "DecisionKind", "RoutingState", "assignment_point", "pick_weighted", "resolve"]

_UNIT = 2.0**-64
_NO_CAPS: Mapping[str, int] = MappingProxyType({})
_BELOW_ONE = math.nextafter(1.0, 0.0)


class RoutingState(NamedTuple):
    """What the caller knows about the visitor and the code's counters (immutable; a named
    tuple because the redirect path builds one per scan of a code with rules).

    ``prior_scans``: this visitor's earlier scans of this code (0 when unknown or untracked).
    ``cap_used``: uses so far per cap key (``r{i}``, ``r{i}v{j}``, see ``routing.rules``).
    ``seed``: stable per scan; assigns variants when the visit has no visitor hash.
    ``bandit_weights``: rule index -> one weight per variant, for ``"allocation": "bandit"``.
    """

    prior_scans: int = 0
    cap_used: Mapping[str, int] = _NO_CAPS
    seed: str = ""
    bandit_weights: Mapping[int, Sequence[float]] | None = None


def resolve(code: RoutableCode, visit: Visit, now: datetime, state: RoutingState) -> Decision:
    """Pick the destination for ``visit`` scanning ``code`` at ``now`` (aware; naive = UTC)."""
    if not code.rules:
        return code.default
    try:
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        ctx = MatchContext.build(visit, now.astimezone(code.timezone), state.prior_scans)
    except Exception:  # noqa: BLE001 - e.g. a time the zone cannot express; never fail a scan
        return replace(code.default, errors=tuple(rule.index for rule in code.rules))
    errors: list[int] = []
    for rule in code.rules:
        try:
            decision = _try(rule, ctx, visit, state)
        except Exception:  # noqa: BLE001 - a broken rule never breaks the redirect
            errors.append(rule.index)
            continue
        if decision is not None:
            return replace(decision, errors=tuple(errors)) if errors else decision
    return replace(code.default, errors=tuple(errors)) if errors else code.default


def _try(rule: Rule, ctx: MatchContext, visit: Visit, state: RoutingState) -> Decision | None:
    """The rule's decision for this scan, or ``None`` when it does not apply or is capped out."""
    for condition in rule.conditions:
        if not condition.matches(ctx):
            return None
    if rule.cap is not None and state.cap_used.get(rule.cap_key, 0) >= rule.cap:
        return None
    target = rule.target
    if isinstance(target, Redirect):
        return target.decision
    if isinstance(target, Split):
        chosen = _assign(rule.index, target, visit, state)
        return None if chosen is None else target.variants[chosen].decision
    app = target.ios if ctx.os == "ios" else target.android if ctx.os == "android" else None
    return app or target.web


def assignment_point(salt: bytes, subject: str) -> float:
    """The visitor's fixed point in ``[0, 1)`` for one split (``salt`` = code id + rule index)."""
    digest = blake2b(salt + subject.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") * _UNIT


def _assign(index: int, split: Split, visit: Visit, state: RoutingState) -> int | None:
    point = assignment_point(split.salt, visit.visitor or state.seed)
    blocked = {
        position
        for position, variant in enumerate(split.variants)
        if variant.cap is not None and state.cap_used.get(variant.cap_key, 0) >= variant.cap
    }
    if split.bandit:
        learned = _learned_weights(state, index, len(split.weights))
        if learned is not None:
            chosen = pick_weighted(point, learned, blocked)
            if chosen is not None:
                return chosen
    return pick_weighted(point, split.weights, blocked)


def _learned_weights(state: RoutingState, index: int, count: int) -> tuple[float, ...] | None:
    if state.bandit_weights is None:
        return None
    learned = state.bandit_weights.get(index)
    if learned is None or len(learned) != count:
        return None
    weights = tuple(float(weight) for weight in learned)
    if all(math.isfinite(weight) and weight >= 0 for weight in weights) and any(weights):
        return weights
    return None


def pick_weighted(point: float, weights: Sequence[float], blocked: set[int]) -> int | None:
    """Map ``point`` in ``[0, 1)`` to a variant index by weight, skipping ``blocked`` ones.

    Each variant owns a slice of ``[0, 1)`` proportional to its weight. If the slice hit is
    blocked, the position inside that slice is rescaled to ``[0, 1)`` and the pick repeats
    among the rest. Visitors of available variants therefore never move when another variant
    is capped out, and the displaced visitors spread over the rest by weight. ``None`` when no
    unblocked variant has a positive weight.
    """
    candidates = [position for position, weight in enumerate(weights) if weight > 0]
    while candidates:
        target = point * sum(weights[position] for position in candidates)
        start = 0.0
        chosen = candidates[-1]
        for position in candidates:
            if target < start + weights[position]:
                chosen = position
                break
            start += weights[position]
        else:
            start -= weights[chosen]
        if chosen not in blocked:
            return chosen
        point = min(max((target - start) / weights[chosen], 0.0), _BELOW_ONE)
        candidates.remove(chosen)
    return None
