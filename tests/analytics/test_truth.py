"""Every KPI the API answers equals an independent computation over the raw tables.

Counts exactly, money to the cent, on SQLite and PostgreSQL, for history loaded through the scan
writer (incremental rollups) and in bulk (rollups grouped from the generated columns).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from scanroute.storage.schema import campaigns, codes, fx_rates, placements
from tests.analytics.conftest import LAST, TZ, Loaded
from tests.analytics.truth import bounds, credit_truth, item_cost, scan_truth, truth

FIRST = date(2026, 2, 23)
WEEK = (date(2026, 3, 2), date(2026, 3, 8))
COUNTS = ("scans", "bot_scans", "unique_visitors", "returning_visitors", "arrived", "engaged")


def ids(loaded: Loaded) -> dict[str, Any]:
    with loaded.ctr.db.read() as conn:
        camp = dict(conn.execute(select(campaigns.c.name, campaigns.c.id)).all())
        place = dict(conn.execute(select(placements.c.name, placements.c.id)).all())
        code = dict(conn.execute(select(codes.c.slug, codes.c.id)).all())
    return {"campaign": camp, "placement": place, "code": code}


def filter_sets(loaded: Loaded) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """(API parameters, raw-table filters) pairs."""
    known = ids(loaded)
    return [
        ({}, {}),
        ({"campaign": "Latte"}, {"campaign": known["campaign"]["Latte"]}),
        (
            {"placement": str(known["placement"]["Berlin poster"])},
            {"placement": known["placement"]["Berlin poster"]},
        ),
        ({"code": "code3"}, {"code": known["code"]["code3"]}),
        ({"creative": "A"}, {"creative": "A"}),
        ({"country": "de"}, {"country": "DE"}),
        ({"device": "tablet"}, {"device": "tablet"}),
        ({"campaign": "App", "country": "US"}, {"campaign": known["campaign"]["App"], "country": "US"}),
    ]


def assert_matches(kpis: dict[str, Any], expected: dict[str, Any]) -> None:
    for name in COUNTS:
        assert kpis[name] == expected[name], name
    assert kpis["conversions"] == expected["conversions"]
    assert kpis["orders"] == expected["orders"]
    assert Decimal(kpis["revenue"]) == expected["revenue"]
    assert kpis["ghost_scans"] == expected["scans"] - expected["arrived"]
    if expected["scans"]:
        assert kpis["conversion_rate"] == pytest.approx(
            expected["conversions"] / expected["scans"], rel=1e-12
        )
        assert kpis["bot_share"] == pytest.approx(
            expected["bot_scans"] / (expected["scans"] + expected["bot_scans"])
        )


@pytest.mark.parametrize("window", [(FIRST, LAST), WEEK], ids=["all", "week"])
def test_summary_equals_raw_tables(loaded: Loaded, window: tuple[date, date]) -> None:
    first, last = window
    for params, raw in filter_sets(loaded):
        body = loaded.get("summary", **{"from": first.isoformat(), "to": last.isoformat(), **params})
        with loaded.ctr.db.read() as conn:
            expected = truth(conn, loaded.workspace_id, TZ, first, last, **raw)
        assert body["context"]["timezone"] == TZ  # type: ignore[index]
        assert expected["scans"] > 0 or params, params
        assert_matches(body, expected)


def test_history_is_rich_enough_to_mean_something(loaded: Loaded) -> None:
    with loaded.ctr.db.read() as conn:
        expected = truth(conn, loaded.workspace_id, TZ, FIRST, LAST)
        lo, hi = bounds(TZ, FIRST, LAST)
        multi = conn.execute(
            text(
                "SELECT COUNT(*) FROM (SELECT conversion_id FROM attribution_credits"
                " WHERE model = 'linear' GROUP BY conversion_id HAVING COUNT(*) > 1) x"
            )
        ).scalar()
        total = scan_truth(conn, loaded.workspace_id, lo - timedelta(days=2), hi + timedelta(days=2))
    assert total["scans"] + total["bot_scans"] == 2_400  # nothing outside the history, nothing lost
    assert expected["bot_scans"] > 100
    assert expected["returning_visitors"] > 50
    assert 0 < expected["arrived"] < expected["scans"]
    assert expected["conversions"] > 50
    assert multi
    assert multi > 5


def costs_expected(loaded: Loaded, first: date, last: date) -> dict[tuple[str, str], int]:
    """Each campaign's and placement's cost over the window, by the documented rule."""
    today = datetime.now(ZoneInfo(TZ)).date()
    with loaded.ctr.db.read() as conn:
        rates = {r.currency: Decimal(r.rate) for r in conn.execute(select(fx_rates))}
        out = {}
        for c in conn.execute(select(campaigns)):
            if c.spend_minor:
                out[("campaign", c.name)] = item_cost(
                    c.spend_minor,
                    c.currency,
                    rates.get(c.currency),
                    c.starts_on,
                    c.ends_on or today,
                    first,
                    last,
                )
        for p in conn.execute(select(placements)):
            out[("placement", p.name)] = item_cost(
                p.print_cost_minor,
                p.currency,
                rates.get(p.currency),
                p.installed_on,
                p.removed_on or today,
                first,
                last,
            )
    return out


@pytest.mark.parametrize("window", [(FIRST, LAST), WEEK], ids=["all", "week"])
def test_cost_roi_cpa_per_campaign_and_placement(loaded: Loaded, window: tuple[date, date]) -> None:
    first, last = window
    span = {"from": first.isoformat(), "to": last.isoformat()}
    expected = costs_expected(loaded, first, last)
    summary = loaded.get("summary", **span)
    assert Decimal(summary["cost"]) == Decimal(sum(expected.values())) / 100
    for by in ("campaign", "placement"):
        body = loaded.get("breakdown", by=by, **span)
        rows = {r["label"]: r for r in body["rows"]}  # type: ignore[union-attr]
        for (owner, name), minor in expected.items():
            if owner != by:
                continue
            row = rows[name]
            cost, revenue = Decimal(row["cost"]), Decimal(row["revenue"])
            assert cost == Decimal(minor) / 100, name
            if cost:
                assert row["roi"] == pytest.approx(float((revenue - cost) / cost))
                assert row["roas"] == pytest.approx(float(revenue / cost))
            if cost and row["conversions"]:
                assert Decimal(row["cpa"]) == (cost / Decimal(str(row["conversions"]))).quantize(
                    Decimal("0.01")
                )
        other = sum(m for (o, _), m in expected.items() if o != by)
        assert Decimal(body["unallocated_cost"]) == Decimal(other) / 100  # type: ignore[arg-type]
    assert (
        Decimal(loaded.get("summary", campaign="Latte", **span)["cost"])
        == Decimal(expected[("campaign", "Latte")]) / 100
    )
    assert loaded.get("summary", code="code1", **span)["cost"] is None  # not attributable to a code


ADDITIVE = (*COUNTS, "conversions", "orders")


def assert_adds_up(rows: list[dict[str, Any]], totals: dict[str, Any], summary: dict[str, Any]) -> None:
    for name in ADDITIVE:
        assert totals[name] == summary[name], name
        assert sum(r[name] for r in rows) == pytest.approx(totals[name], abs=1e-9), name
    assert (
        sum(Decimal(r["revenue"]) for r in rows) == Decimal(totals["revenue"]) == Decimal(summary["revenue"])
    )


@pytest.mark.parametrize(
    "by",
    [
        "campaign",
        "placement",
        "code",
        "creative",
        "device",
        "os",
        "browser",
        "country",
        "city",
        "hour_of_day",
        "day_of_week",
    ],
)
def test_breakdown_totals_equal_summary(loaded: Loaded, by: str) -> None:
    span = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    summary = loaded.get("summary", **span)
    body = loaded.get("breakdown", by=by, limit=3, **span)
    rows: list[dict[str, Any]] = body["rows"]  # type: ignore[assignment]
    assert_adds_up(rows, body["totals"], summary)  # type: ignore[arg-type]
    if by in ("hour_of_day", "day_of_week"):
        assert [r["key"] for r in rows] == [str(i) for i in range(24 if by == "hour_of_day" else 7)]
    elif len(rows) == 4:
        assert rows[-1]["key"] == "__other__"
    costs = [Decimal(r["cost"]) for r in rows if r["cost"] is not None]
    assert sum(costs) + Decimal(body["unallocated_cost"]) == Decimal(summary["cost"])  # type: ignore[arg-type]


def local_counts(loaded: Loaded, first: date, last: date, unit: str) -> dict[int, int]:
    """Human scans per local hour of day / weekday / day index, from raw timestamps."""
    lo, hi = bounds(TZ, first, last)
    zone = ZoneInfo(TZ)
    with loaded.ctr.db.read() as conn:
        rows = (
            conn.execute(text("SELECT ts FROM scans WHERE NOT is_bot AND code_id IS NOT NULL"))
            .scalars()
            .all()
        )
    out: dict[int, int] = {}
    for ts in rows:
        moment = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
        moment = moment.replace(tzinfo=moment.tzinfo or ZoneInfo("UTC"))
        if not lo <= moment < hi:
            continue
        local = moment.astimezone(zone)
        key = {"hour": local.hour, "weekday": local.weekday(), "day": (local.date() - first).days}[unit]
        out[key] = out.get(key, 0) + 1
    return out


def test_local_hour_weekday_and_day_come_from_raw_timestamps(loaded: Loaded) -> None:
    span = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    hours = local_counts(loaded, FIRST, LAST, "hour")
    by_hour = loaded.get("breakdown", by="hour_of_day", **span)["rows"]
    assert [r["scans"] for r in by_hour] == [hours.get(h, 0) for h in range(24)]  # type: ignore[index]
    weekdays = local_counts(loaded, FIRST, LAST, "weekday")
    by_day = loaded.get("breakdown", by="day_of_week", **span)["rows"]
    assert [r["scans"] for r in by_day] == [weekdays.get(d, 0) for d in range(7)]  # type: ignore[index]
    days = local_counts(loaded, FIRST, LAST, "day")
    series = loaded.get("timeseries", granularity="day", **span)["points"]
    assert [p["scans"] for p in series] == [days.get(i, 0) for i in range(len(series))]  # type: ignore[index]
    assert series[0]["start"] == FIRST.isoformat()  # type: ignore[index]


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_timeseries_adds_up_to_summary(loaded: Loaded, granularity: str) -> None:
    span = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    summary = loaded.get("summary", **span)
    body = loaded.get("timeseries", granularity=granularity, **span)
    points: list[dict[str, Any]] = body["points"]  # type: ignore[assignment]
    assert_adds_up(points, body["totals"], summary)  # type: ignore[arg-type]
    assert sum(Decimal(p["cost"]) for p in points) == Decimal(summary["cost"])
    starts = [p["start"] for p in points]
    if granularity == "week":
        assert all(date.fromisoformat(s).weekday() == 0 for s in starts)
    if granularity == "month":
        assert starts == ["2026-02-01", "2026-03-01"]


def test_hourly_series_matches_raw_local_hours(loaded: Loaded) -> None:
    first = last = date(2026, 3, 7)
    body = loaded.get("timeseries", granularity="hour", **{"from": first.isoformat(), "to": last.isoformat()})
    points: list[dict[str, Any]] = body["points"]  # type: ignore[assignment]
    assert len(points) == 24
    zone = ZoneInfo(TZ)
    with loaded.ctr.db.read() as conn:
        for h, point in enumerate(points):
            lo = datetime(2026, 3, 7, h, tzinfo=zone).astimezone(ZoneInfo("UTC"))
            assert point["start"] == f"2026-03-07T{h:02d}:00"
            assert (
                point["scans"] == scan_truth(conn, loaded.workspace_id, lo, lo + timedelta(hours=1))["scans"]
            )
    assert sum(Decimal(p["cost"]) for p in points) == Decimal(
        loaded.get("summary", **{"from": "2026-03-07", "to": "2026-03-07"})["cost"]
    )


def test_previous_period_and_change(loaded: Loaded) -> None:
    body = loaded.get(
        "summary", compare="previous", **{"from": WEEK[0].isoformat(), "to": WEEK[1].isoformat()}
    )
    before = loaded.get("summary", **{"from": "2026-02-23", "to": "2026-03-01"})
    previous: dict[str, Any] = body["previous"]  # type: ignore[assignment]
    for name in (*ADDITIVE, "revenue", "cost"):
        assert previous[name] == before[name], name
    assert body["change"]["scans"] == pytest.approx((body["scans"] - before["scans"]) / before["scans"])  # type: ignore[index, operator]
    rows = loaded.get(
        "breakdown",
        by="campaign",
        compare="previous",
        **{"from": WEEK[0].isoformat(), "to": WEEK[1].isoformat()},
    )["rows"]
    assert sum(r["previous"]["scans"] for r in rows) == before["scans"]  # type: ignore[index, union-attr]


def test_funnel_stages(loaded: Loaded) -> None:
    span = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    summary = loaded.get("summary", **span)
    stages = loaded.get("funnel", **span)["stages"]
    assert [s["stage"] for s in stages] == ["scan", "arrived", "engaged", "lead", "customer"]  # type: ignore[union-attr, index]
    counts = [s["count"] for s in stages]  # type: ignore[union-attr, index]
    assert counts == [
        summary["scans"],
        summary["arrived"],
        summary["engaged"],
        summary["conversions"],
        summary["orders"],
    ]
    assert stages[1]["rate_from_previous"] == pytest.approx(counts[1] / counts[0])  # type: ignore[index]


def test_attribution_models_share_totals_but_not_groups(loaded: Loaded) -> None:
    span = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    lo, hi = bounds(TZ, FIRST, LAST)
    known = ids(loaded)["campaign"]
    per_model = {}
    for model in ("last", "first", "linear", "time_decay", "position"):
        body = loaded.get("attribution", model=model, by="campaign", **span)
        rows = {r["label"]: r for r in body["rows"]}  # type: ignore[union-attr]
        with loaded.ctr.db.read() as conn:
            for name, ident in known.items():
                expected = credit_truth(conn, loaded.workspace_id, model, lo, hi, campaign=ident)
                got = rows.get(name, {"conversions": 0.0, "revenue": "0.00"})
                assert got["conversions"] == expected["credit_ppm"] / 1_000_000, (model, name)
                assert Decimal(got["revenue"]) == Decimal(expected["value_minor"]) / 100, (model, name)
        totals = {m["model"]: m for m in body["models"]}  # type: ignore[union-attr]
        assert len({t["conversions"] for t in totals.values()}) == 1
        assert len({t["revenue"] for t in totals.values()}) == 1
        per_model[model] = {k: r["conversions"] for k, r in rows.items()}
    assert per_model["linear"] != per_model["last"]


def test_a_workspace_sees_only_its_own_numbers(loaded: Loaded) -> None:
    from scanroute.domain.workspace import Role
    from scanroute.services.tenants import WorkspaceCreate

    try:
        ws = loaded.ctr.workspaces.create(WorkspaceCreate(slug="outsider", timezone=TZ))
    except Exception:  # noqa: BLE001 - created by an earlier run of this test on the same module data
        ws = loaded.ctr.workspaces.ensure("outsider")
    key = loaded.ctr.keys.issue(ws.id, "k", Role.VIEWER, None)[0]
    h = {"Authorization": f"Bearer {key}"}
    span = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    body = loaded.client.get("/api/v1/analytics/summary", params=span, headers=h).json()
    assert body["scans"] == body["bot_scans"] == body["unique_visitors"] == 0
    assert body["conversions"] == 0
    assert (
        loaded.client.get("/api/v1/analytics/breakdown", params=span | {"by": "code"}, headers=h).json()[
            "rows"
        ]
        == []
    )
    r = loaded.client.get("/api/v1/analytics/summary", params=span | {"code": "code1"}, headers=h)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "code"
