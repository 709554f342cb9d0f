"""Lowering a compiled code's rules to the flat program the compiled engine runs.

Owns :class:`Program` and :func:`lower`. ``scanroute.native``'s ``Rules.pick`` runs the program
and answers with the index of an outcome: ``Program.outcomes[i]`` is exactly the
:class:`Decision` that ``engine.resolve`` returns for the same visit, time and state (with no
bandit weights, as the redirect path passes none), or ``None`` when it declines a scan (then the
caller runs ``resolve``). ``lower`` returns ``None`` for a code it does not lower (no rules, or a
value outside what the program encodes): such codes always take ``resolve``.

Layout (``rules.c`` reads it; every part is a tuple)::

    rule       (conditions, cap key | None, cap | -1, target)
    condition  (0, visit field, casefold?, frozenset)       device/os/browser/country/region/city
               (1, frozenset of language ranges)
               (2, IPv4 range starts, IPv4 range ends)       integers, sorted and merged
               (3, ((name, True | False | frozenset), ...))  query
               (4, start minute, end minute)                 time
               (5, weekday bit mask, carry minute)           days
               (6, first ordinal | 0, last ordinal | 0, carry minute)   dates (0: open)
               (7, 1 first | 0 returning | -1 either)        visitor
               (8, low, high | -1)                           nth_scan
    target     (0, outcome)                                  to
               (1, salt, ((weight, cap key | None, cap | -1, outcome), ...))   variants
               (2, iOS outcome | -1, Android outcome | -1, web outcome)        app

Outcome 0 is the code's default destination.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from ipaddress import IPv4Address
from typing import Any, NamedTuple

from scanroute.routing.compile import RoutableCode
from scanroute.routing.conditions import (
    AnyOf,
    ConditionKind,
    DateRange,
    DaysIn,
    IpIn,
    LanguageIn,
    NthScan,
    QueryMatch,
    TimeWindow,
    VisitorIs,
)
from scanroute.routing.decision import Decision
from scanroute.routing.engine import assignment_point
from scanroute.routing.rules import AppLink, Redirect, Rule, Split

__all__ = ["Program", "lower", "offset_seconds"]

_VISIT_FIELDS = {
    ConditionKind.DEVICE: (0, False),  # a DeviceType: matched as it is, like MatchContext.device
    ConditionKind.OS: (1, True),
    ConditionKind.BROWSER: (2, True),
    ConditionKind.COUNTRY: (4, True),
    ConditionKind.REGION: (5, True),
    ConditionKind.CITY: (6, True),
}


class Program(NamedTuple):
    """A lowered code: the compiled ``Rules`` and the decisions its indices stand for."""

    rules: Any  # scanroute.native.scanpath.Rules
    outcomes: tuple[Decision, ...]


class _Unsupported(Exception):
    """A value the program does not encode: the code stays with ``resolve``."""


def offset_seconds(zone: tzinfo) -> Callable[[int], int]:
    """The function ``Rules`` asks for ``zone``'s UTC offset (whole seconds) at a UTC time in µs."""

    def offset(now_us: int) -> int:
        local = datetime.fromtimestamp(now_us / 1_000_000, UTC).astimezone(zone)
        delta = local.utcoffset()
        if delta is None or delta.microseconds:
            raise ValueError("the offset is not a whole number of seconds")
        return delta.days * 86_400 + delta.seconds

    return offset


def lower(code: RoutableCode, rules_type: Any) -> Program | None:
    """``code``'s program for ``rules_type`` (``scanpath.Rules``), ``None`` when not lowered."""
    if not code.rules:
        return None
    outcomes: list[Decision] = [code.default]
    index: dict[int, int] = {}  # id(decision) -> outcome

    def outcome(decision: Decision) -> int:
        at = index.get(id(decision))
        if at is None:
            at = index[id(decision)] = len(outcomes)
            outcomes.append(decision)
        return at

    try:
        program = tuple(_rule(rule, outcome) for rule in code.rules)
        rules = rules_type(
            program=program,
            offset_fn=offset_seconds(code.timezone),
            point_fn=assignment_point,
            ipv4_type=IPv4Address,
        )
    except (_Unsupported, ValueError, TypeError, OverflowError):  # resolve routes this code
        return None
    return Program(rules, tuple(outcomes))


def _rule(rule: Rule, outcome: Callable[[Decision], int]) -> tuple[Any, ...]:
    conditions = tuple(_condition(condition) for condition in rule.conditions)
    return (
        conditions,
        rule.cap_key if rule.cap is not None else None,
        _cap(rule.cap),
        _target(rule, outcome),
    )


def _cap(cap: int | None) -> int:
    if cap is None:
        return -1
    if not -(2**62) < cap < 2**62:
        raise _Unsupported
    return cap


def _target(rule: Rule, outcome: Callable[[Decision], int]) -> tuple[Any, ...]:
    target = rule.target
    if isinstance(target, Redirect):
        return (0, outcome(target.decision))
    if isinstance(target, Split):
        variants = tuple(
            (
                float(weight),
                variant.cap_key if variant.cap is not None else None,
                _cap(variant.cap),
                outcome(variant.decision),
            )
            for weight, variant in zip(target.weights, target.variants, strict=True)
        )
        return (1, target.salt, variants)
    if isinstance(target, AppLink):
        ios = -1 if target.ios is None else outcome(target.ios)
        android = -1 if target.android is None else outcome(target.android)
        return (2, ios, android, outcome(target.web))
    raise _Unsupported


def _condition(condition: object) -> tuple[Any, ...]:
    if isinstance(condition, AnyOf):
        field, fold = _VISIT_FIELDS[condition.kind]
        return (0, field, fold, condition.values)
    if isinstance(condition, LanguageIn):
        return (1, condition.ranges)
    if isinstance(condition, IpIn):
        return (2, condition.v4_starts, condition.v4_ends)
    if isinstance(condition, QueryMatch):
        return (3, condition.tests)
    if isinstance(condition, TimeWindow):
        return (4, condition.start, condition.end)
    if isinstance(condition, DaysIn):
        return (5, sum(1 << day for day in condition.days), condition.carry_until)
    if isinstance(condition, DateRange):
        first = 0 if condition.first is None else condition.first.toordinal()
        last = 0 if condition.last is None else condition.last.toordinal()
        return (6, first, last, condition.carry_until)
    if isinstance(condition, VisitorIs):
        return (7, -1 if condition.first_time is None else int(condition.first_time))
    if isinstance(condition, NthScan):
        if (condition.high is not None and condition.high < 0) or not -(2**62) < condition.low < 2**62:
            raise _Unsupported
        return (8, condition.low, -1 if condition.high is None else min(condition.high, 2**62))
    raise _Unsupported
