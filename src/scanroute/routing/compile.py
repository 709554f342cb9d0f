"""Compiling a stored code into the form the redirect path resolves against.

Owns :class:`RoutableCode` and :func:`compile_code`. Compiling does all the parsing once (time
zone, networks, minutes of day, value sets, weights) so that ``engine.resolve`` only compares.
It is tolerant by design: whatever JSON got stored, it never raises. A rule that fails the
schema or the deeper checks is left out and listed in ``RoutableCode.broken`` as
``(index, reason)``; problems with the code as a whole (unknown time zone, a document that is
not a list, too many rules) are listed with index ``-1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

from scanroute.routing.decision import Decision
from scanroute.routing.rules import InvalidRule, Rule, RuleProblem, parse_rule
from scanroute.routing.schema import MAX_RULES, rule_schema_problems

CODE_LEVEL = -1
"""Index used in ``RoutableCode.broken`` for problems that concern the code, not one rule."""


@dataclass(frozen=True, slots=True)
class RoutableCode:
    """A code ready to route: immutable, shareable between requests and threads.

    ``default`` is the decision for the default destination (no rule applies).
    """

    code_id: str
    destination: str
    timezone: tzinfo
    timezone_name: str
    rules: tuple[Rule, ...]
    broken: tuple[tuple[int, str], ...]
    default: Decision


def compile_code(code_id: str, destination: str, timezone: str | None, rules: object) -> RoutableCode:
    """Compile a stored code: its id, default destination, IANA time zone and rules document.

    ``timezone=None`` means UTC; an unknown zone also falls back to UTC and is recorded.
    ``rules`` may be any JSON value (``None`` = no rules). Never raises.
    """
    broken: list[tuple[int, str]] = []
    zone, zone_name = _zone(timezone, broken)
    compiled: list[Rule] = []
    if rules is not None and not isinstance(rules, list | tuple):
        broken.append((CODE_LEVEL, "rules: must be a list"))
    elif rules:
        if len(rules) > MAX_RULES:
            broken.append((CODE_LEVEL, f"rules: only the first {MAX_RULES} rules are used"))
        for index, raw in enumerate(rules[:MAX_RULES]):
            rule = _compile_rule(raw, index, code_id, broken)
            if rule is not None:
                compiled.append(rule)
    return RoutableCode(
        code_id=code_id,
        destination=destination,
        timezone=zone,
        timezone_name=zone_name,
        rules=tuple(compiled),
        broken=tuple(broken),
        default=Decision(destination),
    )


def _zone(name: str | None, broken: list[tuple[int, str]]) -> tuple[tzinfo, str]:
    if name is None:
        return UTC, "UTC"
    try:
        return ZoneInfo(name), name
    except (ValueError, TypeError, LookupError, OSError):  # every way ZoneInfo says "not a zone"
        broken.append((CODE_LEVEL, f"timezone: unknown time zone {name!r}; using UTC"))
        return UTC, "UTC"


def _compile_rule(raw: object, index: int, code_id: str, broken: list[tuple[int, str]]) -> Rule | None:
    try:
        problems = rule_schema_problems(raw, index)
        if not problems and isinstance(raw, Mapping):
            return parse_rule(raw, index, code_id=code_id)
    except InvalidRule as invalid:
        problems = invalid.problems
    except Exception as error:  # noqa: BLE001 - a bug must cost one rule, never the redirect
        problems = [RuleProblem(f"rules[{index}]", f"could not compile: {error!r}")]
    broken.append((index, "; ".join(dict.fromkeys(f"{p.field}: {p.reason}" for p in problems))))
    return None
