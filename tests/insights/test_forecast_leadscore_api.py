"""Forecast and lead score through the API, on stored scans and conversions."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from scanroute.bootstrap import Container
from scanroute.domain.workspace import Role
from scanroute.services.catalog import CampaignCreate, PlacementCreate
from scanroute.services.leadscore import LeadScoreService
from tests.conftest import Tenant
from tests.insights.conftest import add_conversion, event, make_code, owner, seed_daily, store

NOW = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)
WEEK = np.array([120, 110, 100, 100, 130, 60, 40], dtype=float)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    for target in (
        "scanroute.services.forecasts.utcnow",
        "scanroute.services.leadscore.utcnow",
        "scanroute.web.api.insights.utcnow",
    ):
        monkeypatch.setattr(target, lambda: NOW)


def test_forecast_of_a_code(client: TestClient, ctr: Container, tenant: Tenant, frozen: None) -> None:
    code = make_code(ctr, tenant.workspace_id, "menu")
    rng = np.random.default_rng(4)
    counts = rng.poisson(np.tile(WEEK, 10)).astype(float)  # 70 days ending yesterday (2026-06-09)
    seed_daily(
        ctr, tenant.workspace_id, counts, date(2026, 6, 9) - timedelta(days=69), code_id=code, bots=300
    )
    r = client.get(
        "/api/v1/insights/forecast?code=menu&horizon=14&level=0.9", headers=tenant.auth(Role.VIEWER)
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timezone"] == "UTC"
    assert body["level"] == 0.9
    assert [h["scans"] for h in body["history"]] == [int(c) for c in counts]  # bots left out
    assert body["history"][-1]["date"] == "2026-06-09"
    points = body["forecast"]
    assert [p["date"] for p in points] == [str(date(2026, 6, 10) + timedelta(days=i)) for i in range(14)]
    assert all(0 <= p["low"] <= p["expected"] <= p["high"] for p in points)
    expected = np.array([p["expected"] for p in points[:7]])
    weekday_means = np.array([counts[(70 + i) % 7 :: 7].mean() for i in range(7)])  # same weekdays
    assert np.corrcoef(expected, weekday_means)[0, 1] > 0.9
    whole = client.get("/api/v1/insights/forecast?horizon=7", headers=tenant.auth()).json()
    assert [h["scans"] for h in whole["history"]] == [int(c) for c in counts]


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("code=nope", 404, "code"),
        ("campaign=nope", 404, "campaign"),
        ("code=menu&campaign=1", 422, "campaign"),
        ("horizon=0", 422, "horizon"),
        ("horizon=91", 422, "horizon"),
        ("level=0.42", 422, "level"),
        ("history=5", 422, "history"),
        ("code=menu", 409, "history"),  # ten days of scans: too short
    ],
)
def test_forecast_bad_input(
    client: TestClient, ctr: Container, tenant: Tenant, frozen: None, query: str, status: int, field: str
) -> None:
    code = make_code(ctr, tenant.workspace_id, "menu")
    seed_daily(ctr, tenant.workspace_id, [5.0] * 10, date(2026, 5, 31), code_id=code)
    r = client.get(f"/api/v1/insights/forecast?{query}", headers=tenant.auth())
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.json()["detail"]


def seed_leads(ctr: Container, tenant: Tenant, n: int, *, rate: float | None = None) -> list[str]:
    """``n`` scans over 120 days before NOW; desktop scans from the poster convert far more often."""
    ws = tenant.workspace_id
    campaign = ctr.campaigns.create(owner(ws), CampaignCreate(name="Launch")).id
    poster = ctr.placements.create(owner(ws), PlacementCreate(name="Poster", medium="poster")).id
    code = make_code(ctr, ws, "lead")
    rng = random.Random(5)
    events, converts = [], []
    for i in range(n):
        ts = NOW - timedelta(days=120) + timedelta(minutes=i * 120 * 24 * 60 // n)
        device = rng.choice(["mobile", "mobile", "desktop"])
        on_poster = rng.random() < 0.5
        p = rate if rate is not None else 0.03 + 0.4 * (device == "desktop") + 0.2 * on_poster
        e = event(
            ws, code, ts, device=device, campaign=campaign, placement=poster if on_poster else None,
            bot=i % 50 == 0,
        )  # fmt: skip
        events.append(e)
        if rng.random() < p and not e.bot:
            converts.append((e.id, ts + timedelta(hours=rng.randrange(1, 100))))
    store(ctr, events)
    for scan, at in converts:
        add_conversion(ctr, ws, scan, at)
    return [e.id for e in events]


def test_lead_score_train_card_and_scores(
    client: TestClient, ctr: Container, tenant: Tenant, other: Tenant, frozen: None
) -> None:
    ids = seed_leads(ctr, tenant, 1500)
    assert client.get("/api/v1/insights/leadscore/model", headers=tenant.auth()).status_code == 404
    assert (
        client.post("/api/v1/insights/leadscore/train", headers=tenant.auth(Role.VIEWER)).status_code == 403
    )
    r = client.post("/api/v1/insights/leadscore/train", headers=tenant.auth(Role.EDITOR))
    assert r.status_code == 200, r.text
    card = r.json()
    assert card["status"] == "ready", card
    assert card["auc"] > 0.7
    assert card["label"] == "converted within 7 days of the scan"
    assert card["examples"] < 1500  # bots and the last 7 days (label not final yet) are left out
    assert (
        client.get("/api/v1/insights/leadscore/model", headers=tenant.auth(Role.VIEWER)).json()["id"]
        == card["id"]
    )

    r = client.get(
        "/api/v1/insights/leadscore/scores?from=2026-06-01&limit=50", headers=tenant.auth(Role.VIEWER)
    )
    assert r.status_code == 200, r.text
    page = r.json()
    assert len(page["items"]) == 50
    assert page["next"]
    assert all(0 <= i["score"] <= 100 for i in page["items"])
    assert [i["scan_id"] for i in page["items"]] == sorted(
        (i["scan_id"] for i in page["items"]), reverse=True
    )
    more = client.get(f"/api/v1/insights/leadscore/scores?from=2026-06-01&limit=50&cursor={page['next']}",
                      headers=tenant.auth()).json()  # fmt: skip
    assert not {i["scan_id"] for i in more["items"]} & {i["scan_id"] for i in page["items"]}
    high = client.get("/api/v1/insights/leadscore/scores?from=2026-06-01&min_score=80", headers=tenant.auth())
    assert all(i["score"] >= 80 for i in high.json()["items"])

    human = next(i for n, i in enumerate(ids) if n % 50 != 0)
    one = client.get(f"/api/v1/insights/leadscore/scans/{human}", headers=tenant.auth()).json()
    assert one["scan_id"] == human
    assert 0 <= one["score"] <= 100
    bot = client.get(f"/api/v1/insights/leadscore/scans/{ids[0]}", headers=tenant.auth())
    assert bot.status_code == 409
    assert "bot" in bot.json()["detail"]
    assert client.get(f"/api/v1/insights/leadscore/scans/{human}", headers=other.auth()).status_code == 409
    assert client.get("/api/v1/insights/leadscore/scans/zzz", headers=tenant.auth()).status_code == 422


def test_desktop_poster_scans_score_higher(ctr: Container, tenant: Tenant) -> None:
    seed_leads(ctr, tenant, 1500)
    service = LeadScoreService(ctr.db)
    assert service.train(tenant.workspace_id, now=NOW)["status"] == "ready"
    items, _ = service.scores(
        owner(tenant.workspace_id), since=NOW - timedelta(days=120), until=NOW, limit=1000
    )
    with ctr.db.read() as conn:
        from sqlalchemy import select

        from scanroute.storage.schema import scans

        device = dict(conn.execute(select(scans.c.id, scans.c.device)).all())
    desktop = np.mean([i["score"] for i in items if device[i["scan_id"]] == "desktop"])
    mobile = np.mean([i["score"] for i in items if device[i["scan_id"]] == "mobile"])
    assert desktop > mobile + 20


def test_thin_data_is_said_instead_of_scored(
    client: TestClient, ctr: Container, tenant: Tenant, frozen: None
) -> None:
    seed_leads(ctr, tenant, 120)
    card = client.post("/api/v1/insights/leadscore/train", headers=tenant.auth()).json()
    assert card["status"] == "insufficient"
    assert any("needs 200" in reason for reason in card["reasons"])
    r = client.get("/api/v1/insights/leadscore/scores", headers=tenant.auth())
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "too thin" in r.json()["detail"]
    assert "needs 200" in r.json()["detail"]


def test_scores_bad_range(client: TestClient, tenant: Tenant) -> None:
    r = client.get("/api/v1/insights/leadscore/scores?from=2026-06-02&to=2026-06-01", headers=tenant.auth())
    assert r.status_code == 422
    assert "to" in r.json()["detail"]
    r = client.get("/api/v1/insights/leadscore/scores?from=yesterday", headers=tenant.auth())
    assert r.status_code == 422
    assert "from" in r.json()["detail"]
