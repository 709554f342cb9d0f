"""Anomalies end to end: stored daily scans → the scan job → the API (list, back-test, bad input)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from scanroute.bootstrap import Container
from scanroute.domain.workspace import Role
from scanroute.jobs.scheduler import Busy, Scheduler
from scanroute.services.anomalies import AnomalyService
from scanroute.services.catalog import CampaignCreate
from scanroute.storage import insights as store
from scanroute.storage import jobs as job_store
from tests.conftest import Tenant
from tests.insights.conftest import make_code, owner, seed_daily, set_timezone

NOW = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)  # yesterday (local) = 2026-06-09
DAYS = 120
FIRST = date(2026, 6, 9) - timedelta(days=DAYS - 1)
WEEK = np.array([120, 110, 100, 100, 130, 60, 40], dtype=float)


def series(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(np.tile(WEEK, DAYS // 7 + 1)[:DAYS]).astype(float)


@pytest.fixture
def seeded(ctr: Container, tenant: Tenant, other: Tenant) -> dict[str, int]:
    """acme (New York time): a quiet code, a code with a spike yesterday and a drop 40 days ago,
    a campaign; globex: a code with a spike (must never show up for acme)."""
    set_timezone(ctr, tenant.workspace_id, "America/New_York")
    campaign = ctr.campaigns.create(owner(tenant.workspace_id), CampaignCreate(name="Spring")).id
    quiet = make_code(ctr, tenant.workspace_id, "quiet")
    spiky = make_code(ctr, tenant.workspace_id, "spiky")
    foreign = make_code(ctr, other.workspace_id, "foreign")
    seed_daily(ctr, tenant.workspace_id, series(1), FIRST, code_id=quiet, zone="America/New_York", bots=500)
    spiked = series(2)
    spiked[-1] *= 4  # yesterday
    spiked[-41] = 5  # 40 days earlier: a drop
    seed_daily(
        ctr, tenant.workspace_id, spiked, FIRST, code_id=spiky, campaign_id=campaign, zone="America/New_York"
    )
    alien = series(3)
    alien[-1] *= 5
    seed_daily(ctr, other.workspace_id, alien, FIRST, code_id=foreign)
    return {"quiet": quiet, "spiky": spiky, "campaign": campaign, "foreign": foreign}


def test_daily_series_are_local_days_without_bots(
    ctr: Container, tenant: Tenant, seeded: dict[str, int]
) -> None:
    with ctr.db.read() as conn:
        clock = store.workspace_clock(conn, tenant.workspace_id)
        by_code = store.daily_series(conn, clock, FIRST, date(2026, 6, 9), "code")
        by_campaign = store.daily_series(conn, clock, FIRST, date(2026, 6, 9), "campaign")
    assert set(by_code) == {seeded["quiet"], seeded["spiky"]}
    assert list(by_code[seeded["quiet"]]) == list(series(1))  # the 500 bot scans a day are left out
    assert set(by_campaign) == {seeded["campaign"]}
    assert by_campaign[seeded["campaign"]][-1] == series(2)[-1] * 4


def test_scan_finds_exactly_the_injected_anomalies(
    ctr: Container, tenant: Tenant, seeded: dict[str, int]
) -> None:
    service = AnomalyService(ctr.db)
    assert service.scan(tenant.workspace_id, now=NOW) == 2  # the code and its campaign, yesterday
    assert service.scan(tenant.workspace_id, now=NOW) == 0  # idempotent
    items, nxt = service.list(owner(tenant.workspace_id))
    assert nxt is None
    found = {(i["scope"], i["scope_id"], i["day"], i["direction"]) for i in items}
    assert found == {
        ("code", seeded["spiky"], date(2026, 6, 9), "spike"),
        ("campaign", seeded["campaign"], date(2026, 6, 9), "spike"),
    }
    code_item = next(i for i in items if i["scope"] == "code")
    assert code_item["slug"] == "spiky"
    assert code_item["observed"] == series(2)[-1] * 4
    assert code_item["observed"] > code_item["expected_high"]


def test_api_lists_pages_and_isolates_workspaces(
    client: TestClient, ctr: Container, tenant: Tenant, other: Tenant, seeded: dict[str, int]
) -> None:
    AnomalyService(ctr.db).scan(tenant.workspace_id, now=NOW)
    AnomalyService(ctr.db).scan(other.workspace_id, now=NOW)
    r = client.get("/api/v1/insights/anomalies?limit=1", headers=tenant.auth(Role.VIEWER))
    assert r.status_code == 200, r.text
    page = r.json()
    assert len(page["items"]) == 1
    assert page["next"]
    r2 = client.get(
        f"/api/v1/insights/anomalies?limit=1&cursor={page['next']}", headers=tenant.auth(Role.VIEWER)
    )
    both = page["items"] + r2.json()["items"]
    assert r2.json()["next"] is None
    assert {(i["scope"], i["code"], i["campaign"]) for i in both} == {
        ("code", "spiky", None),
        ("campaign", None, "Spring"),
    }
    only_codes = client.get("/api/v1/insights/anomalies?scope=code&direction=spike", headers=tenant.auth())
    assert [i["code"] for i in only_codes.json()["items"]] == ["spiky"]
    theirs = client.get("/api/v1/insights/anomalies", headers=other.auth()).json()["items"]
    assert [i["code"] for i in theirs] == ["foreign"]


def test_backtest_counts_what_would_have_fired(
    client: TestClient,
    ctr: Container,
    tenant: Tenant,
    seeded: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("scanroute.services.anomalies.utcnow", lambda: NOW)
    r = client.get("/api/v1/insights/anomalies/backtest?days=60&scope=code", headers=tenant.auth(Role.VIEWER))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from"] == "2026-04-11"
    assert body["to"] == "2026-06-09"
    assert body["series"] == 2
    assert [(i["scope_id"], i["day"], i["direction"]) for i in body["items"]] == [
        (seeded["spiky"], "2026-06-09", "spike"),
        (seeded["spiky"], "2026-04-30", "drop"),
    ]
    assert (body["fired"], body["spikes"], body["drops"], body["series_fired"]) == (2, 1, 1, 1)
    strict = client.get(
        "/api/v1/insights/anomalies/backtest?days=60&spike_z=40&drop_z=40", headers=tenant.auth()
    )
    assert strict.json()["fired"] == 0
    assert strict.json()["params"]["spike_z"] == 40
    one = client.get("/api/v1/insights/anomalies/backtest?days=30&code=spiky", headers=tenant.auth()).json()
    assert [(i["scope"], i["day"]) for i in one["items"]] == [("code", "2026-06-09")]
    by_campaign = client.get(
        "/api/v1/insights/anomalies/backtest?days=30&campaign=Spring", headers=tenant.auth()
    )
    assert by_campaign.json()["fired"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("backtest?days=3", "days"),
        ("backtest?spike_z=-1", "spike_z"),
        ("backtest?poisson_alpha=0.9", "poisson_alpha"),
        ("backtest?code=nope", "code"),
        ("backtest?campaign=nope", "campaign"),
        ("?cursor=bogus", "cursor"),
        ("?from=2026-05-02&to=2026-05-01", "to"),
        ("?scope=planet", "scope"),
    ],
)
def test_bad_input_names_the_field(client: TestClient, tenant: Tenant, query: str, field: str) -> None:
    path = "/api/v1/insights/anomalies" + ("/" + query if query.startswith("backtest") else query)
    r = client.get(path, headers=tenant.auth())
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.json()["detail"]


def test_scan_endpoint_needs_an_editor(
    client: TestClient, tenant: Tenant, seeded: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("scanroute.services.anomalies.utcnow", lambda: NOW)
    assert client.post("/api/v1/insights/anomalies/scan", headers=tenant.auth(Role.VIEWER)).status_code == 403
    r = client.post("/api/v1/insights/anomalies/scan?days=90", headers=tenant.auth(Role.EDITOR))
    assert r.status_code == 200, r.text
    assert r.json() == {"found": 4, "through": "2026-06-09"}  # code + campaign: the spike and the drop
    assert client.get("/api/v1/insights/anomalies").status_code == 401


def test_scheduled_job_runs_once_under_its_lease(
    ctr: Container, tenant: Tenant, seeded: dict[str, int]
) -> None:
    first = Scheduler(ctr, holder="worker-a")
    second = Scheduler(ctr, holder="worker-b")
    names = {j.name for j in first.due()}
    assert {"anomaly-scan", "leadscore-retrain"} <= names
    with ctr.db.write() as conn:  # worker-b holds the lease
        assert job_store.acquire(
            conn, "anomaly-scan", "worker-b", NOW, datetime.now(UTC) + timedelta(hours=1)
        )
    with pytest.raises(Busy):
        first.run("anomaly-scan")
    with ctr.db.write() as conn:
        job_store.release(conn, "anomaly-scan", "worker-b")
    result = first.run("anomaly-scan")
    assert result.status == "ok"
    assert result.result == {"workspaces": 2, "anomalies": result.result["anomalies"]}
    assert "anomaly-scan" not in {j.name for j in second.due()}  # ran just now
    later = datetime.now(UTC) + timedelta(days=1, minutes=1)
    assert "anomaly-scan" in {j.name for j in second.due(later)}
    with ctr.db.read() as conn:
        runs = job_store.history(conn, "anomaly-scan", 10)
    assert [(r["status"], r["holder"], r["trigger"]) for r in runs] == [("ok", "worker-a", "manual")]


def test_a_failing_job_is_recorded_and_retried_after_an_hour(ctr: Container) -> None:
    from scanroute.jobs.registry import Job

    def boom(_: Container) -> dict[str, int]:
        raise RuntimeError("kaput")

    job = Job("boom", timedelta(days=7), boom, "fails")
    scheduler = Scheduler(ctr, {"boom": job}, holder="w")
    result = scheduler.run("boom")
    assert (result.status, result.error) == ("failed", "RuntimeError: kaput")
    assert scheduler.due() == []
    assert scheduler.due(datetime.now(UTC) + timedelta(hours=1, minutes=1)) == [job]
    with ctr.db.write() as conn:  # the lease was given back even though it failed
        assert job_store.acquire(
            conn, "boom", "other", datetime.now(UTC), datetime.now(UTC) + timedelta(minutes=5)
        )
