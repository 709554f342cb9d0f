"""Cost allocation: campaign spend and placement print costs spread over days, cut to windows.

Rule (docs/analytics.md, "Cost"):

- a campaign's ``spend`` is spread evenly over ``[starts_on, ends_on]``; a missing start is the day
  its first code was created (else the campaign's creation day), a missing end is today;
- a placement's ``print_cost`` is spread evenly over ``[installed_on, removed_on]``; a missing
  install day is the placement's creation day, a missing removal day is today;
- amounts in another currency are first converted with the workspace's ``fx_rates`` (half-even,
  to the minor unit); an item without a rate is left out and reported in ``warnings``;
- the cost of an item over days ``[a, b]`` is ``R(b + 1) − R(a)`` with ``R(d)`` the amount spread
  over the days before ``d``, rounded half-even to the minor unit. Adjacent windows therefore add
  up exactly (a month's days sum to the month, a series to its window), to the cent.

Days are local calendar days of the workspace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, func, select

from scanroute.analytics.clock import day_number
from scanroute.attribution.money import convert
from scanroute.storage.schema import campaigns, codes, fx_rates, placements


@dataclass(frozen=True, slots=True)
class CostItem:
    """One campaign's spend or one placement's print cost, in the workspace currency."""

    owner: str  # campaign or placement
    id: int
    total_minor: int
    first: int  # day numbers, inclusive
    last: int

    def until(self, t: int, per: int = 1) -> int:
        """``R(t)``: the amount spread before ``t`` (in days, or hours with ``per=24``), half-even."""
        n = (self.last - self.first + 1) * per
        elapsed = min(max(t - self.first * per, 0), n)
        return _half_even(self.total_minor * elapsed, n)

    def over(self, first: int, last: int, per: int = 1) -> int:
        """The item's cost over ``first``…``last`` (inclusive days, or hours with ``per=24``)."""
        return self.until(last + 1, per) - self.until(first, per)


@dataclass(slots=True)
class CostBook:
    """Every cost item of a workspace, and what could not be converted."""

    items: list[CostItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def select(self, *, campaign_id: int | None = None, placement_id: int | None = None) -> list[CostItem]:
        """The items a filter scope owns (see ``scope``)."""
        if campaign_id is None and placement_id is None:
            return list(self.items)
        if campaign_id is not None:
            return [i for i in self.items if i.owner == "campaign" and i.id == campaign_id]
        return [i for i in self.items if i.owner == "placement" and i.id == placement_id]

    def owned(self, owner: str) -> dict[int, CostItem]:
        """Items of one owner kind by id."""
        return {i.id: i for i in self.items if i.owner == owner}


def bucket_costs(items: Sequence[CostItem], bounds: Sequence[int], per: int = 1) -> list[int]:
    """Cost of each contiguous bucket ``bounds[k] … bounds[k + 1] - 1`` (days, or hours with ``per=24``).

    The same integers as summing ``item.over(first, last, per)`` bucket by bucket (both are
    differences of ``R(t)``), but ``R`` is evaluated once per boundary, for all items at once with
    numpy: an hourly month is 721 boundaries instead of 1 440 Python calls per item.
    """
    if len(bounds) < 2:
        return []
    t = np.asarray(bounds, dtype=np.int64)
    spread = np.zeros(len(t), dtype=np.int64)
    for item in items:
        n = (item.last - item.first + 1) * per
        if item.total_minor * n >= 1 << 62:  # would overflow int64: exact Python integers
            spread += np.array([item.until(int(b), per) for b in bounds], dtype=np.int64)
            continue
        numerator = item.total_minor * np.clip(t - item.first * per, 0, n)
        q, r = np.divmod(numerator, n)
        q += (2 * r > n) | ((2 * r == n) & (q % 2 == 1))
        spread += q
    return [int(c) for c in np.diff(spread)]


def _half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-even, in integers (``denominator`` > 0)."""
    q, r = divmod(numerator, denominator)
    twice = 2 * r
    return q + 1 if twice > denominator or (twice == denominator and q % 2) else q


def scope(given: dict[str, object]) -> dict[str, int | None] | None:
    """Which costs belong to a filter set: ``None`` when cost is not attributable to it.

    No filter: every campaign's spend and every placement's print cost. A campaign filter: that
    campaign's spend; a placement filter: that placement's print cost. Both, or any filter on
    code, creative, country or device: not attributable.
    """
    if set(given) - {"campaign_id", "placement_id"}:
        return None
    if "campaign_id" in given and "placement_id" in given:
        return None
    return {"campaign_id": given.get("campaign_id"), "placement_id": given.get("placement_id")}  # type: ignore[dict-item]


def _local_day(moment: datetime, tz: ZoneInfo) -> int:
    return day_number(moment.astimezone(tz).date())


def load(conn: Connection, workspace_id: int, currency: str, tz: ZoneInfo, today: date) -> CostBook:
    """Read the workspace's campaigns and placements into cost items (a few rows each)."""
    book = CostBook()
    rates = {
        r.currency: Decimal(r.rate)
        for r in conn.execute(
            select(fx_rates.c.currency, fx_rates.c.rate).where(fx_rates.c.workspace_id == workspace_id)
        )
    }
    now = day_number(today)
    first_code = dict(
        conn.execute(
            select(codes.c.campaign_id, func.min(codes.c.created_at))
            .where(codes.c.workspace_id == workspace_id, codes.c.campaign_id.is_not(None))
            .group_by(codes.c.campaign_id)
        ).all()
    )
    for c in conn.execute(
        select(campaigns).where(campaigns.c.workspace_id == workspace_id, campaigns.c.spend_minor != 0)
    ):
        start = (
            day_number(c.starts_on) if c.starts_on else _local_day(first_code.get(c.id) or c.created_at, tz)
        )
        end = day_number(c.ends_on) if c.ends_on else max(now, start)
        _add(book, "campaign", c.id, c.name, c.spend_minor, c.currency, currency, rates, start, end)
    for p in conn.execute(
        select(placements).where(
            placements.c.workspace_id == workspace_id, placements.c.print_cost_minor != 0
        )
    ):
        start = day_number(p.installed_on) if p.installed_on else _local_day(p.created_at, tz)
        end = day_number(p.removed_on) if p.removed_on else max(now, start)
        _add(book, "placement", p.id, p.name, p.print_cost_minor, p.currency, currency, rates, start, end)
    return book


def _add(
    book: CostBook,
    owner: str,
    ident: int,
    name: str,
    amount: int,
    from_currency: str,
    currency: str,
    rates: dict[str, Decimal],
    start: int,
    end: int,
) -> None:
    if from_currency != currency:
        rate = rates.get(from_currency)
        if rate is None:
            book.warnings.append(
                f"{owner} '{name}' costs {from_currency} and the workspace has no {from_currency} rate:"
                " left out"
            )
            return
        amount = convert(amount, from_currency, currency, rate)
    book.items.append(CostItem(owner, ident, amount, start, max(start, end)))
