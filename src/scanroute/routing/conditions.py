"""Routing conditions: the closed set of tests a rule's ``when`` object can make.

Owns :class:`ConditionKind` (one member per key of ``when``), one precompiled matcher per kind
and :class:`MatchContext`, the normalised view of one scan that every matcher reads. Turning
JSON into matchers is ``routing.when``'s job.

Calendar conditions follow one rule: a ``time`` window that crosses midnight belongs to the
day it starts on. When local time is in the after-midnight part of such a window, ``days`` and
``dates`` in the same ``when`` are checked against the previous local day, so "fri 22:00-02:00"
holds on Saturday at 01:00 (and "dates to 2024-12-31" still holds at 01:00 on 1 January).
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import NamedTuple, Protocol

from scanroute.domain.visit import Visit


class ConditionKind(enum.StrEnum):
    """Every key ``when`` may hold. Declared cheapest first: matchers run in this order."""

    VISITOR = "visitor"
    NTH_SCAN = "nth_scan"
    DEVICE = "device"
    OS = "os"
    BROWSER = "browser"
    LANGUAGE = "language"
    COUNTRY = "country"
    REGION = "region"
    CITY = "city"
    DAYS = "days"
    TIME = "time"
    DATES = "dates"
    QUERY = "query"
    IP = "ip"


DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Day names in ``datetime.weekday()`` order."""


class MatchContext(NamedTuple):
    """One scan as the matchers see it: text folded to lower case, clock in the code's zone.

    A named tuple because one is built per scan and tuples are the cheapest immutable record.
    """

    device: str
    os: str | None
    browser: str | None
    language: str | None
    country: str | None
    region: str | None
    city: str | None
    ip: IPv4Address | IPv6Address | None
    query: Mapping[str, str]
    day: date
    weekday: int
    minute: int
    prior_scans: int

    @classmethod
    def build(cls, visit: Visit, local: datetime, prior_scans: int) -> MatchContext:
        """Normalise ``visit`` once; ``local`` is the scan time already in the code's zone."""
        # built on every scan of a code with rules: folds inline, no generated __new__ in between
        os, browser, country, region, city = visit.os, visit.browser, visit.country, visit.region, visit.city
        languages = visit.languages
        return tuple.__new__(
            cls,
            (
                visit.device,  # a StrEnum: equal to, and hashed like, its value
                os.casefold() if os else None,
                browser.casefold() if browser else None,
                languages[0].lower() if languages else None,
                country.casefold() if country else None,
                region.casefold() if region else None,
                city.casefold() if city else None,
                visit.ip,
                visit.query,
                local.date(),
                local.weekday(),
                local.hour * 60 + local.minute,
                prior_scans,
            ),
        )


class Condition(Protocol):
    """A precompiled test of one ``when`` key."""

    @property
    def kind(self) -> ConditionKind: ...

    def matches(self, ctx: MatchContext) -> bool:
        """Whether the scan described by ``ctx`` satisfies this condition."""
        ...


@dataclass(frozen=True, slots=True)
class AnyOf:
    """``device``, ``os``, ``browser``, ``country``, ``region``, ``city``: case-insensitive
    equality of one visit attribute with any of the listed values."""

    kind: ConditionKind
    values: frozenset[str]

    def matches(self, ctx: MatchContext) -> bool:
        """The ``MatchContext`` attribute named like ``kind`` is one of ``values``."""
        return getattr(ctx, self.kind) in self.values


@dataclass(frozen=True, slots=True)
class LanguageIn:
    """``language``: the visitor's most preferred tag falls under one of the ranges.

    RFC 4647 basic filtering: range ``de`` matches ``de``, ``de-at``, ``de-ch``; range ``de-at``
    matches ``de-at`` but neither ``de`` nor ``de-ch``.
    """

    ranges: frozenset[str]
    kind: ConditionKind = field(default=ConditionKind.LANGUAGE, init=False)

    def matches(self, ctx: MatchContext) -> bool:
        """The first ``Accept-Language`` tag, or one of its prefixes, is a listed range."""
        tag = ctx.language
        while tag:
            if tag in self.ranges:
                return True
            cut = tag.rfind("-")
            if cut < 0:
                return False
            tag = tag[:cut]
        return False


@dataclass(frozen=True, slots=True)
class IpIn:
    """``ip``: the client address lies in one of the listed addresses or networks.

    Networks are kept as sorted, merged integer ranges per IP version; an IPv4-mapped IPv6
    address (``::ffff:192.0.2.1``) is also tested against the IPv4 ranges.
    """

    v4_starts: tuple[int, ...]
    v4_ends: tuple[int, ...]
    v6_starts: tuple[int, ...]
    v6_ends: tuple[int, ...]
    kind: ConditionKind = field(default=ConditionKind.IP, init=False)

    def matches(self, ctx: MatchContext) -> bool:
        """The address is inside one of the ranges of its version."""
        ip = ctx.ip
        if ip is None:
            return False
        if isinstance(ip, IPv6Address):
            mapped = ip.ipv4_mapped
            if mapped is not None and _inside(self.v4_starts, self.v4_ends, int(mapped)):
                return True
            return _inside(self.v6_starts, self.v6_ends, int(ip))
        return _inside(self.v4_starts, self.v4_ends, int(ip))


def _inside(starts: tuple[int, ...], ends: tuple[int, ...], number: int) -> bool:
    position = bisect_right(starts, number) - 1
    return position >= 0 and number <= ends[position]


@dataclass(frozen=True, slots=True)
class QueryMatch:
    """``query``: each named parameter of the scan URL is present (``True``), absent
    (``False``) or equal to one of the listed values (case-sensitive)."""

    tests: tuple[tuple[str, bool | frozenset[str]], ...]
    kind: ConditionKind = field(default=ConditionKind.QUERY, init=False)

    def matches(self, ctx: MatchContext) -> bool:
        """Every parameter test holds."""
        query = ctx.query
        for name, wanted in self.tests:
            if wanted is True:
                if name not in query:
                    return False
            elif wanted is False:
                if name in query:
                    return False
            elif query.get(name) not in wanted:
                return False
        return True


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """``time``: local minute of day in ``[start, end)``; when ``start > end`` the window
    crosses midnight and holds from ``start`` to midnight and from midnight to ``end``."""

    start: int
    end: int
    kind: ConditionKind = field(default=ConditionKind.TIME, init=False)

    @property
    def crosses_midnight(self) -> bool:
        """Whether the window runs past midnight into the next day."""
        return self.start > self.end

    def matches(self, ctx: MatchContext) -> bool:
        """Local time is inside the window."""
        minute = ctx.minute
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


@dataclass(frozen=True, slots=True)
class DaysIn:
    """``days``: the local weekday (0 = Monday) is listed. Before minute ``carry_until`` the
    previous day counts (set when the rule's ``time`` window crosses midnight)."""

    days: frozenset[int]
    carry_until: int = 0
    kind: ConditionKind = field(default=ConditionKind.DAYS, init=False)

    def matches(self, ctx: MatchContext) -> bool:
        """The (possibly carried-over) local weekday is one of ``days``."""
        weekday = ctx.weekday
        if ctx.minute < self.carry_until:
            weekday = (weekday - 1) % 7
        return weekday in self.days


@dataclass(frozen=True, slots=True)
class DateRange:
    """``dates``: the local date is within ``[first, last]`` (either bound open). Before
    minute ``carry_until`` the previous day counts, as for :class:`DaysIn`."""

    first: date | None
    last: date | None
    carry_until: int = 0
    kind: ConditionKind = field(default=ConditionKind.DATES, init=False)

    def matches(self, ctx: MatchContext) -> bool:
        """The (possibly carried-over) local date is inside the range."""
        day = ctx.day
        if ctx.minute < self.carry_until:
            day -= timedelta(days=1)
        return (self.first is None or self.first <= day) and (self.last is None or day <= self.last)


@dataclass(frozen=True, slots=True)
class VisitorIs:
    """``visitor``: ``first`` (no earlier scans of this code by this visitor) or
    ``returning``; ``first_time`` is ``None`` when both were listed."""

    first_time: bool | None
    kind: ConditionKind = field(default=ConditionKind.VISITOR, init=False)

    def matches(self, ctx: MatchContext) -> bool:
        """The visitor's history agrees with ``first_time``."""
        return self.first_time is None or (ctx.prior_scans <= 0) is self.first_time


@dataclass(frozen=True, slots=True)
class NthScan:
    """``nth_scan``: the scan's ordinal (earlier scans + 1) is within ``[low, high]``."""

    low: int
    high: int | None
    kind: ConditionKind = field(default=ConditionKind.NTH_SCAN, init=False)

    def matches(self, ctx: MatchContext) -> bool:
        """The ordinal is inside the bounds."""
        ordinal = ctx.prior_scans + 1
        return ordinal >= self.low and (self.high is None or ordinal <= self.high)
