"""Print QA through the API: run on every save, refused unless forced, available on its own."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from scanroute.bootstrap import Container
from scanroute.domain.workspace import Role
from tests.conftest import Tenant
from tests.qr_api.conftest import PROBLEM

# ~900 characters need a version-20-ish symbol: 64 px leaves under one pixel per module.
LONG = "Menu of the day: " + "soup, bread, cheese, wine; " * 33
UNREADABLE = {"kind": "static", "payload_type": "text", "payload": {"text": LONG}, "design": {"size_px": 64}}


def test_a_design_that_does_not_decode_is_refused_with_reasons_unless_forced(
    client: TestClient, ctr: Container, tenant: Tenant
) -> None:
    r = client.post("/api/v1/codes", json=UNREADABLE, headers=tenant.auth())
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["errors"][0]["field"] == "design"
    assert "does not decode when rendered 64 px wide" in body["detail"]
    assert "force: true" in body["detail"]
    assert client.get("/api/v1/codes", headers=tenant.auth()).json()["items"] == []

    r = client.post("/api/v1/codes", json={**UNREADABLE, "force": True}, headers=tenant.auth())
    assert r.status_code == 201, r.text
    qa = r.json()["qa"]
    assert qa["decodes"] is False
    assert qa["ok"] is False
    assert qa["problems"]
    slug = r.json()["slug"]
    # fixing the design re-runs QA and stores a passing report
    r = client.patch(f"/api/v1/codes/{slug}", json={"design": {"size_px": 1200}}, headers=tenant.auth())
    assert r.status_code == 200
    assert r.json()["qa"]["decodes"] is True
    # and breaking it again is refused, leaving the code as it was
    r = client.patch(f"/api/v1/codes/{slug}", json={"design": {"size_px": 64}}, headers=tenant.auth())
    assert r.status_code == 422
    assert client.get(f"/api/v1/codes/{slug}", headers=tenant.auth()).json()["design"] == {"size_px": 1200}


def test_qa_on_every_save_is_stored_on_the_code(client: TestClient, tenant: Tenant) -> None:
    r = client.post(
        "/api/v1/codes",
        json={"destination": "https://example.com/", "design": {"size_mm": 12, "dpi": 300}},
        headers=tenant.auth(),
    )
    qa = r.json()["qa"]
    assert qa["decodes"]
    assert qa["print_width_mm"] == 12.0
    # 12 mm is too small for 1 m: the report says so and names the size to print
    assert any("print at least" in p for p in qa["problems"])
    assert qa["ok"] is False  # saved (it decodes), with the problem on record
    assert qa["min_print_width_mm"] > 100


def test_check_endpoint_answers_the_report(client: TestClient, tenant: Tenant) -> None:
    r = client.post(
        "/api/v1/qr/check",
        json={"data": "https://example.com/x", "print_width_mm": 20, "scan_distance_m": 0.3},
        headers=tenant.auth(Role.VIEWER),
    )
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["decodes"]
    assert rep["decoded_text"] == "https://example.com/x"
    assert rep["scan_distance_m"] == 0.3
    assert rep["print_width_mm"] == 20
    near = {p["scan_distance_m"]: p["min_print_width_mm"] for p in rep["print_sizes"]}
    assert near[0.3] == pytest.approx(rep["min_print_width_mm"], abs=0.11)
    assert near[3.0] == pytest.approx(10 * near[0.3], rel=0.02)
    r = client.post("/api/v1/qr/check", json={"design": {}}, headers=tenant.auth())
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "data"
    r = client.post("/api/v1/qr/check", json={"slug": "nope"}, headers=tenant.auth())
    assert r.status_code == 404
    r = client.post("/api/v1/qr/check", json={"data": "x", "scan_distance_m": 0}, headers=tenant.auth())
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "scan_distance_m"


def test_check_image_reads_any_upload(client: TestClient, tenant: Tenant) -> None:
    code = client.post(
        "/api/v1/codes", json={"destination": "https://example.com/"}, headers=tenant.auth()
    ).json()
    png = client.get(f"/api/v1/codes/{code['slug']}/qr?format=png", headers=tenant.auth()).content
    r = client.post(
        "/api/v1/qr/check-image",
        files={"file": ("code.png", png, "image/png")},
        data={"expected": code["short_url"], "scan_distance_m": "1"},
        headers=tenant.auth(Role.VIEWER),
    )
    assert r.status_code == 200, r.text
    assert r.json()["ok"]
    assert r.json()["decodes"]
    assert r.json()["min_print_width_mm"] > 100
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, "PNG")
    r = client.post(
        "/api/v1/qr/check-image",
        files={"file": ("blank.png", blank.getvalue(), "image/png")},
        data={"expected": "x"},
        headers=tenant.auth(),
    )
    assert r.status_code == 200
    assert r.json()["decodes"] is False
    assert r.json()["problems"]
    r = client.post(
        "/api/v1/qr/check-image",
        files={"file": ("a.txt", b"hello", "text/plain")},
        data={"expected": "x"},
        headers=tenant.auth(),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "file"
