"""Cost allocation: exact to the cent, additive over adjacent windows, converted, scoped."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from scanroute.analytics import costs
from scanroute.analytics.clock import day_number
from scanroute.bootstrap import Container
from scanroute.domain.workspace import Principal, Role
from scanroute.services.catalog import CampaignCreate, PlacementCreate
from scanroute.services.codes import CodeCreate
from tests.conftest import Tenant


@given(
    total=st.integers(0, 10**9),
    length=st.integers(1, 400),
    cuts=st.lists(st.integers(-30, 430), min_size=1, max_size=8),
)
def test_adjacent_windows_add_up_exactly(total: int, length: int, cuts: list[int]) -> None:
    item = costs.CostItem("campaign", 1, total, 1000, 1000 + length - 1)
    assert item.over(900, 1000 + length + 50) == total  # the whole period, whatever surrounds it
    edges = sorted({1000 + c for c in cuts} | {970, 1000 + length + 40})
    assert sum(item.over(a, b - 1) for a, b in itertools.pairwise(edges)) == item.over(
        edges[0], edges[-1] - 1
    )
    day = 1000 + min(max(cuts[0], 0), length - 1)
    assert sum(item.over(h, h, per=24) for h in range(day * 24, day * 24 + 24)) == item.over(day, day)


@given(
    items=st.lists(
        st.tuples(st.integers(0, 10**12), st.integers(900, 1100), st.integers(0, 400)), max_size=6
    ),
    start=st.integers(850, 1200),
    widths=st.lists(st.integers(1, 60), min_size=1, max_size=40),
    per=st.sampled_from([1, 24]),
)
def test_bucket_costs_equal_the_per_bucket_sums(
    items: list[tuple[int, int, int]], start: int, widths: list[int], per: int
) -> None:
    book = [
        costs.CostItem("campaign", i, total, first, first + span)
        for i, (total, first, span) in enumerate(items)
    ]
    bounds = list(itertools.accumulate(widths, initial=start * per))
    expected = [sum(i.over(a, b - 1, per) for i in book) for a, b in itertools.pairwise(bounds)]
    assert costs.bucket_costs(book, bounds, per) == expected


def test_bucket_costs_round_ties_to_even_like_over() -> None:
    halves = [costs.CostItem("campaign", 1, 1, 0, 1), costs.CostItem("placement", 2, 3, 0, 1)]
    # R(1) = 0.5 → 0 and 1.5 → 2 (half-even), so the first day carries 0 + 2 of the 4
    assert costs.bucket_costs(halves[:1], [0, 1, 2]) == [0, 1]
    assert costs.bucket_costs(halves[1:], [0, 1, 2]) == [2, 1]
    assert costs.bucket_costs(halves, [0, 1, 2]) == [sum(i.over(d, d) for i in halves) for d in (0, 1)]


def test_bucket_costs_keep_exact_integers_past_int64() -> None:
    item = costs.CostItem("campaign", 1, 10**17, 0, 364)  # 10^17 × 8 760 hours overflows int64
    bounds = list(range(0, 366 * 24, 24))
    assert costs.bucket_costs([item], bounds, 24) == [
        item.over(a, b - 1, 24) for a, b in itertools.pairwise(bounds)
    ]
    assert sum(costs.bucket_costs([item], [0, 365 * 24], 24)) == 10**17


def test_rounding_is_half_even_per_cumulative_share() -> None:
    item = costs.CostItem("placement", 1, 1000, 0, 2)  # 10.00 over three days: 3.33 | 3.34 | 3.33
    assert [item.over(d, d) for d in range(3)] == [333, 334, 333]
    assert costs.CostItem("placement", 1, 5, 0, 1).over(0, 0) == 2  # 2.5 → 2 (half to even)


def test_scope_of_filters() -> None:
    assert costs.scope({}) == {"campaign_id": None, "placement_id": None}
    assert costs.scope({"campaign_id": 3}) == {"campaign_id": 3, "placement_id": None}
    assert costs.scope({"placement_id": 4}) == {"campaign_id": None, "placement_id": 4}
    assert costs.scope({"campaign_id": 3, "placement_id": 4}) is None
    assert costs.scope({"code_id": 1}) is None
    assert costs.scope({"country": "DE", "campaign_id": 3}) is None


def test_dates_default_and_currencies_convert(ctr: Container, tenant: Tenant) -> None:
    owner = Principal(workspace_id=tenant.workspace_id, role=Role.OWNER)
    today = date(2026, 6, 30)
    ctr.campaigns.create(
        owner,
        CampaignCreate(
            name="dated", spend=Decimal("300.00"), starts_on=date(2026, 6, 1), ends_on=date(2026, 6, 30)
        ),
    )
    undated = ctr.campaigns.create(owner, CampaignCreate(name="undated", spend=Decimal("50.00")))
    code = ctr.codes.create(owner, CodeCreate(destination="https://example.com/", campaign=undated.id))
    ctr.placements.create(
        owner,
        PlacementCreate(
            name="euro", print_cost=Decimal("10.00"), currency="EUR", installed_on=date(2026, 6, 21)
        ),
    )
    ctr.placements.create(owner, PlacementCreate(name="yen", print_cost=Decimal("1000"), currency="JPY"))
    from sqlalchemy import insert

    from scanroute.services.common import utcnow
    from scanroute.storage.schema import fx_rates

    with ctr.db.write() as conn:
        conn.execute(
            insert(fx_rates).values(
                workspace_id=tenant.workspace_id, currency="EUR", rate=Decimal("1.1"), updated_at=utcnow()
            )
        )
    with ctr.db.read() as conn:
        book = costs.load(conn, tenant.workspace_id, "USD", ZoneInfo("UTC"), today)
    items = {(i.owner, i.total_minor): i for i in book.items}
    dated = items[("campaign", 30000)]
    assert (dated.first, dated.last) == (day_number(date(2026, 6, 1)), day_number(today))
    assert dated.over(day_number(date(2026, 6, 1)), day_number(date(2026, 6, 10))) == 10000
    created = next(i for i in book.items if i.total_minor == 5000)  # no dates: from its first code's creation
    assert created.first == day_number(code.created_at.date())
    assert created.last == max(created.first, day_number(today))  # … to today
    euro = items[("placement", 1100)]  # 10.00 EUR at 1.1 = 11.00 USD, spread over 21 … 30 June
    assert euro.over(day_number(date(2026, 6, 21)), day_number(date(2026, 6, 25))) == 550
    assert [w for w in book.warnings if "JPY" in w and "yen" in w]
    assert not [i for i in book.items if i.owner == "placement" and i.total_minor == 1000]
