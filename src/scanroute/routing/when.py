"""A rule's ``when`` object: from schema-valid JSON to precompiled matchers.

Owns :data:`PARSERS` (one per :class:`~scanroute.routing.conditions.ConditionKind`) and
:func:`parse_when`. Parsing makes the checks the JSON Schema cannot express (real dates,
``from <= to``, IP/CIDR syntax, non-empty windows) and reports them as :class:`InvalidValue`
with a path relative to ``when``; it also links ``days``/``dates`` to a ``time`` window that
crosses midnight (see ``routing.conditions``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from ipaddress import ip_network
from typing import Any

from scanroute.routing.conditions import (
    DAY_NAMES,
    AnyOf,
    Condition,
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

Path = tuple[str | int, ...]

_ORDER = {kind: position for position, kind in enumerate(ConditionKind)}


class InvalidValue(ValueError):
    """A condition value the schema let through but that cannot be used (path below ``when``)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _any_of(kind: ConditionKind) -> Callable[[Any], Condition]:
    def parse(value: Any) -> Condition:
        return AnyOf(kind, frozenset(str(item).casefold() for item in _listed(value)))

    return parse


def _parse_language(value: Any) -> Condition:
    return LanguageIn(frozenset(str(item).lower() for item in _listed(value)))


def _parse_ip(value: Any) -> Condition:
    ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for position, item in enumerate(_listed(value)):
        try:
            network = ip_network(str(item).strip(), strict=False)
        except ValueError:
            raise InvalidValue(
                (position,) if isinstance(value, list) else (),
                f"{item!r} is not an IP address or CIDR network",
            ) from None
        ranges[network.version].append((int(network.network_address), int(network.broadcast_address)))
    v4_starts, v4_ends = _merge(ranges[4])
    v6_starts, v6_ends = _merge(ranges[6])
    return IpIn(v4_starts, v4_ends, v6_starts, v6_ends)


def _merge(ranges: list[tuple[int, int]]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple(item[0] for item in merged), tuple(item[1] for item in merged)


def _parse_query(value: Any) -> Condition:
    tests: list[tuple[str, bool | frozenset[str]]] = []
    for name, wanted in value.items():
        if not name:
            raise InvalidValue((name,), "parameter name must not be empty")
        if isinstance(wanted, bool):
            tests.append((name, wanted))
        else:
            tests.append((name, frozenset(str(item) for item in _listed(wanted))))
    return QueryMatch(tuple(tests))


def _parse_days(value: Any) -> Condition:
    return DaysIn(frozenset(DAY_NAMES.index(str(item)) for item in _listed(value)))


def _minute_of_day(text: Any, path: Path) -> int:
    hours, _, minutes = str(text).partition(":")
    digits = hours + minutes
    if not (digits.isascii() and digits.isdigit() and len(hours) == len(minutes) == 2):
        raise InvalidValue(path, "must be a time as HH:MM")
    hour, minute = int(hours), int(minutes)
    if hour > 23 or minute > 59:
        raise InvalidValue(path, "must be a time between 00:00 and 23:59")
    return hour * 60 + minute


def _parse_time(value: Any) -> Condition:
    start = _minute_of_day(value.get("from"), ("from",))
    end = _minute_of_day(value.get("to"), ("to",))
    if start == end:
        raise InvalidValue(("to",), "must differ from 'from' (the window would be empty)")
    return TimeWindow(start, end)


def _date(text: Any, path: Path) -> date | None:
    if text is None:
        return None
    try:
        parsed: date | None = date.fromisoformat(text) if len(text) == 10 else None
    except (TypeError, ValueError):
        parsed = None
    if parsed is None:
        raise InvalidValue(path, "must be a real calendar date as YYYY-MM-DD")
    return parsed


def _parse_dates(value: Any) -> Condition:
    first = _date(value.get("from"), ("from",))
    last = _date(value.get("to"), ("to",))
    if first is not None and last is not None and first > last:
        raise InvalidValue(("to",), "must not be before 'from'")
    return DateRange(first, last)


def _parse_visitor(value: Any) -> Condition:
    wanted = {str(item) for item in _listed(value)}
    return VisitorIs(None if len(wanted) > 1 else wanted == {"first"})


def _parse_nth_scan(value: Any) -> Condition:
    low = int(value.get("min", 1))
    high = value.get("max")
    if high is not None and int(high) < low:
        raise InvalidValue(("max",), "must not be less than 'min'")
    return NthScan(low, None if high is None else int(high))


PARSERS: Mapping[ConditionKind, Callable[[Any], Condition]] = {
    ConditionKind.VISITOR: _parse_visitor,
    ConditionKind.NTH_SCAN: _parse_nth_scan,
    ConditionKind.DEVICE: _any_of(ConditionKind.DEVICE),
    ConditionKind.OS: _any_of(ConditionKind.OS),
    ConditionKind.BROWSER: _any_of(ConditionKind.BROWSER),
    ConditionKind.LANGUAGE: _parse_language,
    ConditionKind.COUNTRY: _any_of(ConditionKind.COUNTRY),
    ConditionKind.REGION: _any_of(ConditionKind.REGION),
    ConditionKind.CITY: _any_of(ConditionKind.CITY),
    ConditionKind.DAYS: _parse_days,
    ConditionKind.TIME: _parse_time,
    ConditionKind.DATES: _parse_dates,
    ConditionKind.QUERY: _parse_query,
    ConditionKind.IP: _parse_ip,
}
"""One parser per kind: schema-valid JSON value -> matcher (raises :class:`InvalidValue`)."""


def parse_when(when: Mapping[str, Any]) -> tuple[tuple[Condition, ...], list[InvalidValue]]:
    """Compile a schema-valid ``when`` object into matchers, cheapest first.

    Returns the matchers and the problems found (paths relative to ``when``); the matchers
    are only usable when the problem list is empty.
    """
    conditions: list[Condition] = []
    problems: list[InvalidValue] = []
    for key, value in when.items():
        kind = ConditionKind(key)
        try:
            conditions.append(PARSERS[kind](value))
        except InvalidValue as problem:
            problems.append(InvalidValue((key, *problem.path), problem.reason))
    conditions.sort(key=lambda condition: _ORDER[condition.kind])
    return _carry_over_midnight(conditions), problems


def _carry_over_midnight(conditions: list[Condition]) -> tuple[Condition, ...]:
    window = next((c for c in conditions if isinstance(c, TimeWindow)), None)
    if window is None or not window.crosses_midnight:
        return tuple(conditions)
    carried: list[Condition] = []
    for condition in conditions:
        if isinstance(condition, DaysIn):
            condition = DaysIn(condition.days, carry_until=window.end)
        elif isinstance(condition, DateRange):
            condition = DateRange(condition.first, condition.last, carry_until=window.end)
        carried.append(condition)
    return tuple(carried)
