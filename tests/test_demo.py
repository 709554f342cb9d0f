"""The demo workspace: realistic size, rules that validate, idempotent, credentials that work."""

from __future__ import annotations

from fastapi.testclient import TestClient

from scanroute.bootstrap import Container
from scanroute.demo import DEMO_PASSWORD, ensure_demo
from scanroute.routing.schema import validate_rules
from scanroute.services.tenants import verify_password
from scanroute.storage.tenants import UserStore


def test_demo_workspace(ctr: Container, client: TestClient) -> None:
    info = ensure_demo(ctr)
    h = {"Authorization": f"Bearer {info.api_key}"}
    ws = client.get("/api/v1/workspaces", headers=h).json()["items"][0]
    assert ws["name"] == "Demo Coffee Co."
    campaigns = client.get("/api/v1/campaigns", headers=h).json()["items"]
    placements = client.get("/api/v1/placements", params={"limit": 200}, headers=h).json()["items"]
    codes = client.get("/api/v1/codes", params={"limit": 200}, headers=h).json()["items"]
    assert len(campaigns) == 3
    assert len(placements) == 20
    assert len(codes) == 40
    assert len({p["city"] for p in placements}) >= 4
    assert len({p["medium"] for p in placements}) >= 5
    with_rules = [c for c in codes if c["rules"]]
    assert len(with_rules) >= 10
    assert all(validate_rules(c["rules"]) == [] for c in with_rules)
    assert all(c["campaign_id"] and c["placement_id"] for c in codes)
    with ctr.db.read() as conn:
        user = UserStore().by_email(conn, info.email)
    assert user is not None
    assert verify_password(user.password_hash, DEMO_PASSWORD)
    # a second start reuses the workspace and prints the same key
    again = ensure_demo(ctr)
    assert again == info
    assert len(client.get("/api/v1/codes", params={"limit": 200}, headers=h).json()["items"]) == 40
