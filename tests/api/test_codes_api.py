"""Codes through the HTTP API: the issue's done-when path and CRUD behaviour."""

from __future__ import annotations

from fastapi.testclient import TestClient

from scanroute.domain.workspace import Role

PROBLEM = "application/problem+json"


def test_owner_creates_code_viewer_refused_other_workspace_blind(client: TestClient, tenant, other) -> None:
    r = client.post("/api/v1/codes", json={"destination": "https://example.com/menu"}, headers=tenant.auth())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["destination"] == "https://example.com/menu"
    assert body["short_url"] == f"http://sr.test/{body['slug']}"
    assert len(body["slug"]) == 7
    assert r.headers["location"] == f"/api/v1/codes/{body['slug']}"

    r = client.post(
        "/api/v1/codes",
        json={"destination": "https://example.com/x"},
        headers=tenant.auth(Role.VIEWER),
    )
    assert r.status_code == 403
    assert r.headers["content-type"] == PROBLEM
    assert "editor" in r.json()["detail"]

    r = client.get(f"/api/v1/codes/{body['slug']}", headers=other.auth())
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert client.get(f"/api/v1/codes/{body['slug']}", headers=tenant.auth(Role.VIEWER)).status_code == 200


def test_missing_or_bad_key_is_401_problem(client: TestClient) -> None:
    r = client.get("/api/v1/codes")
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.get("/api/v1/codes", headers={"Authorization": "Bearer sr_nope"})
    assert r.status_code == 401
    assert "not valid" in r.json()["detail"]


def test_custom_slug_campaign_by_name_utm_and_update(client: TestClient, tenant) -> None:
    r = client.post(
        "/api/v1/codes",
        headers=tenant.auth(Role.EDITOR),
        json={
            "destination": "HTTPS://Example.COM/menu?x=1",
            "slug": "table-7",
            "campaign": "spring",
            "utm": {"source": "qr", "medium": "poster", "campaign": "spring"},
            "timezone": "Europe/Paris",
            "tags": ["a", "a", "b"],
            "fallback": "https://example.com/closed",
        },
    )
    assert r.status_code == 201, r.text
    code = r.json()
    assert code["slug"] == "table-7"
    assert code["destination"] == "https://example.com/menu?x=1"
    assert code["utm"] == {"source": "qr", "medium": "poster", "campaign": "spring"}
    assert code["tags"] == ["a", "b"]
    campaigns = client.get("/api/v1/campaigns", headers=tenant.auth()).json()["items"]
    assert [c["name"] for c in campaigns] == ["spring"]
    assert code["campaign_id"] == campaigns[0]["id"]

    r = client.patch(
        "/api/v1/codes/table-7",
        headers=tenant.auth(Role.EDITOR),
        json={"destination": "https://example.com/new", "status": "paused"},
    )
    assert r.status_code == 200
    assert r.json()["destination"] == "https://example.com/new"
    assert r.json()["status"] == "paused"
    assert r.json()["version"] == 2
    assert r.json()["utm"]["medium"] == "poster"  # untouched fields stay

    assert client.delete("/api/v1/codes/table-7", headers=tenant.auth(Role.EDITOR)).status_code == 204
    assert client.get("/api/v1/codes/table-7", headers=tenant.auth()).status_code == 404


def test_duplicate_and_reserved_slugs_refused_nothing_written(client: TestClient, tenant, other) -> None:
    assert (
        client.post(
            "/api/v1/codes",
            headers=tenant.auth(),
            json={"destination": "https://a.example/", "slug": "menu"},
        ).status_code
        == 201
    )
    r = client.post(
        "/api/v1/codes",
        headers=other.auth(),
        json={"destination": "https://b.example/", "slug": "menu"},
    )
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "slug", "reason": "slug 'menu' is already taken"}]
    for reserved in ("api", "app", "healthz", "metrics", "t", "c", "static"):
        r = client.post(
            "/api/v1/codes",
            headers=tenant.auth(),
            json={"destination": "https://a.example/", "slug": reserved},
        )
        assert r.status_code == 422, reserved
        assert r.json()["errors"][0]["field"] == "slug"
    assert [c["slug"] for c in client.get("/api/v1/codes", headers=other.auth()).json()["items"]] == []


def test_list_paging_filters_and_sort(client: TestClient, tenant) -> None:
    for i in range(7):
        client.post(
            "/api/v1/codes",
            headers=tenant.auth(),
            json={
                "destination": f"https://example.com/{i}",
                "slug": f"code-{i}",
                "status": "paused" if i % 2 else "active",
            },
        )
    seen, cursor = [], None
    while True:
        params = {"limit": 3, "sort": "-slug"} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/codes", params=params, headers=tenant.auth()).json()
        seen += [c["slug"] for c in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [f"code-{i}" for i in range(6, -1, -1)]
    paused = client.get("/api/v1/codes", params={"status": "paused"}, headers=tenant.auth()).json()["items"]
    assert sorted(c["slug"] for c in paused) == ["code-1", "code-3", "code-5"]
    found = client.get("/api/v1/codes", params={"q": "example.com/4"}, headers=tenant.auth()).json()["items"]
    assert [c["slug"] for c in found] == ["code-4"]
    r = client.get("/api/v1/codes", params={"cursor": "garbage!"}, headers=tenant.auth())
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "cursor"
    r = client.get("/api/v1/codes", params={"sort": "password"}, headers=tenant.auth())
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "sort"


def test_rules_validated_on_write(client: TestClient, tenant) -> None:
    good = [{"name": "iPhone", "when": {"os": ["iOS"]}, "to": "https://apps.apple.com/app/id1"}]
    r = client.post(
        "/api/v1/codes",
        headers=tenant.auth(),
        json={"destination": "https://e.example/", "rules": good},
    )
    assert r.status_code == 201
    assert r.json()["rules"] == good
    bad = [{"when": {"time": {"from": "25:00", "to": "23:00"}}, "to": "https://e.example/x"}]
    r = client.post(
        "/api/v1/codes",
        headers=tenant.auth(),
        json={"destination": "https://e.example/", "rules": bad},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"].startswith("rules[0].when.time")
    schema = client.get("/api/v1/schemas/rules").json()
    assert "array" in schema["type"]


def test_openapi_and_docs(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "/api/v1/codes" in doc["paths"]
    assert client.get("/api/docs").status_code == 200


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_simulator_explains_where_a_visit_goes(client: TestClient, tenant) -> None:
    rules = [
        {"name": "iPhone", "when": {"os": ["iOS"]}, "to": "https://apps.apple.com/app/id1"},
        {"name": "German", "when": {"language": ["de"]}, "to": "https://example.com/de"},
        {
            "name": "Happy hour",
            "when": {"days": ["sat", "sun"], "time": {"from": "18:00", "to": "23:00"}},
            "to": "https://example.com/happy",
        },
    ]
    client.post(
        "/api/v1/codes",
        headers=tenant.auth(),
        json={
            "destination": "https://example.com/",
            "slug": "sim",
            "rules": rules,
            "timezone": "Europe/Berlin",
            "utm": {"source": "qr"},
        },
    )
    h = tenant.auth(Role.VIEWER)
    saturday_evening = "2026-11-21T19:30:00Z"  # 20:30 in Berlin
    r = client.post(
        "/api/v1/codes/sim/simulate",
        headers=h,
        json={"os": "iOS", "language": "de-DE", "at": saturday_evening},
    )
    assert r.status_code == 200, r.text
    assert r.json()["rule_name"] == "iPhone"
    assert r.json()["destination"] == "https://apps.apple.com/app/id1?utm_source=qr"
    assert r.json()["local_time"].startswith("2026-11-21T20:30:00+01:00")
    r = client.post(
        "/api/v1/codes/sim/simulate",
        headers=h,
        json={"os": "Android", "language": "en", "at": saturday_evening},
    )
    assert r.json()["rule_name"] == "Happy hour"
    r = client.post(
        "/api/v1/codes/sim/simulate", headers=h, json={"os": "Android", "at": "2026-11-23T10:00:00Z"}
    )
    assert (r.json()["rule_index"], r.json()["destination"]) == (None, "https://example.com/?utm_source=qr")
    r = client.post("/api/v1/codes/sim/simulate", headers=h, json={"at": "2026-11-23T10:00:00"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "at"
