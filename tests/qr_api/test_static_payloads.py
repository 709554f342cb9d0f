"""Static codes: every payload type built from fields, decoded from its image, parsed back equal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scanroute.domain.workspace import Role
from scanroute.qr import parse_payload
from scanroute.qr.payloads import Address, Contact, EmailMessage, Event, GeoPoint, Phone, Sms, WifiNetwork
from tests.conftest import Tenant
from tests.qr_api.conftest import PROBLEM, decode_png

CASES: list[tuple[str, dict[str, Any], object]] = [
    (
        "wifi",
        {"ssid": "Café; Gäste", "password": 'pa:ss;wo,rd"1', "security": "WPA", "hidden": True},
        WifiNetwork("Café; Gäste", 'pa:ss;wo,rd"1', "WPA", True),
    ),
    (
        "vcard",
        {
            "version": "3.0",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "organization": "Analytical Engines Ltd",
            "title": "Programmer",
            "phones": [{"number": "+44 20 7946 0958", "kind": "work"}],
            "emails": ["ada@example.com"],
            "urls": ["https://example.com/ada"],
            "addresses": [{"street": "12 St James's Sq", "locality": "London", "country": "UK"}],
            "note": "Met at the\nexpo",
        },
        Contact(
            given_name="Ada",
            family_name="Lovelace",
            organization="Analytical Engines Ltd",
            title="Programmer",
            phones=(Phone("+44 20 7946 0958", "work"),),
            emails=("ada@example.com",),
            urls=("https://example.com/ada",),
            addresses=(Address(street="12 St James's Sq", locality="London", country="UK"),),
            note="Met at the\nexpo",
        ),
    ),
    (
        "vcard",
        {
            "version": "4.0",
            "given_name": "Grace",
            "family_name": "Hopper",
            "phones": [{"number": "+15550100"}],
        },
        Contact(given_name="Grace", family_name="Hopper", phones=(Phone("+15550100"),)),
    ),
    (
        "mecard",
        {
            "given_name": "Alan",
            "family_name": "Turing",
            "phones": [{"number": "+441234567"}],
            "emails": ["a@t.uk"],
        },
        Contact(given_name="Alan", family_name="Turing", phones=(Phone("+441234567"),), emails=("a@t.uk",)),
    ),
    ("text", {"text": "Ask for the secret menu 🍜"}, "Ask for the secret menu 🍜"),
    ("url", {"url": "https://example.com/offline"}, "https://example.com/offline"),
    ("geo", {"lat": 48.8583701, "lon": 2.2944813}, GeoPoint(48.8583701, 2.2944813)),
    (
        "email",
        {"to": "hello@example.com", "subject": "Table 7", "body": "Hi,\nthe bill please"},
        EmailMessage("hello@example.com", "Table 7", "Hi,\nthe bill please"),
    ),
    ("sms", {"number": "+15550100", "message": "JOIN spring"}, Sms("+15550100", "JOIN spring")),
    ("phone", {"number": "+33 1 23 45 67 89"}, "+33123456789"),
    (
        "event",
        {"summary": "Launch party", "start": "2026-05-01T19:00:00+02:00", "location": "Rooftop"},
        Event("Launch party", datetime(2026, 5, 1, 17, tzinfo=UTC), location="Rooftop"),
    ),
]


@pytest.mark.parametrize(
    ("kind", "fields", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_static_payload_decodes_and_parses_back(
    client: TestClient, tenant: Tenant, kind: str, fields: dict[str, Any], expected: object
) -> None:
    r = client.post(
        "/api/v1/codes",
        json={"kind": "static", "payload_type": kind, "payload": fields, "title": kind},
        headers=tenant.auth(Role.EDITOR),
    )
    assert r.status_code == 201, r.text
    code = r.json()
    assert code["kind"] == "static"
    assert code["payload_type"] == kind
    assert code["destination"] is None
    assert code["qa"]["decodes"]
    assert code["qa"]["decoded_text"] == code["payload"]
    png = client.get(f"/api/v1/codes/{code['slug']}/qr?format=png&size_px=1000", headers=tenant.auth())
    [text] = decode_png(png.content)
    assert text == code["payload"]
    parsed_kind, value = parse_payload(text)
    assert parsed_kind == ("vcard" if kind == "vcard" else kind)
    if kind == "mecard":
        assert isinstance(expected, Contact)
        expected = expected.mecard_subset()
    assert value == expected


def test_wifi_and_vcard_are_in_the_formats_phones_read(client: TestClient, tenant: Tenant) -> None:
    wifi = client.post(
        "/api/v1/codes",
        json={"kind": "static", "payload_type": "wifi", "payload": {"ssid": "Cafe", "password": "secret123"}},
        headers=tenant.auth(),
    ).json()
    assert wifi["payload"] == "WIFI:T:WPA;S:Cafe;P:secret123;;"  # ZXing's format: Android + iOS cameras
    card = client.post(
        "/api/v1/codes",
        json={
            "kind": "static",
            "payload_type": "vcard",
            "payload": {"given_name": "Ada", "family_name": "L"},
        },
        headers=tenant.auth(),
    ).json()
    lines = card["payload"].split("\r\n")
    assert lines[:2] == ["BEGIN:VCARD", "VERSION:3.0"]
    assert card["payload"].endswith("\r\nEND:VCARD\r\n")
    assert "N:L;Ada;;;" in lines
    assert "FN:Ada L" in lines
    for code in (wifi, card):
        png = client.get(f"/api/v1/codes/{code['slug']}/qr?format=png", headers=tenant.auth()).content
        assert decode_png(png) == [code["payload"]]


def test_raw_payload_text_is_recognised_and_checked(client: TestClient, tenant: Tenant) -> None:
    r = client.post(
        "/api/v1/codes",
        json={"kind": "static", "payload": "WIFI:T:WPA;S:Home;P:longenough;;"},
        headers=tenant.auth(),
    )
    assert r.status_code == 201
    assert r.json()["payload_type"] == "wifi"
    r = client.post("/api/v1/codes", json={"kind": "static", "payload": "geo:91,0"}, headers=tenant.auth())
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "payload.lat"
    r = client.post(
        "/api/v1/codes",
        json={"kind": "static", "payload_type": "wifi", "payload": "hello"},
        headers=tenant.auth(),
    )
    assert r.status_code == 422
    assert "is a text payload, not wifi" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"payload_type": "wifi", "payload": {"ssid": "x" * 33, "password": "secret123"}},
            "payload.ssid",
            "32",
        ),
        ({"payload_type": "wifi", "payload": {"ssid": "n", "password": "short"}}, "payload.password", "8–63"),
        (
            {"payload_type": "vcard", "payload": {"given_name": "A", "phones": [{"number": "abc"}]}},
            "payload.number",
            "phone",
        ),
        ({"payload_type": "vcard", "payload": {"emails": ["nope"]}}, "payload.emails[0]", "e-mail"),
        ({"payload_type": "geo", "payload": {"lat": 10, "lon": 181}}, "payload.lon", "180"),
        ({"payload_type": "event", "payload": {"summary": "x", "start": "tomorrow"}}, "payload.start", "ISO"),
        ({"payload_type": "email", "payload": {"to": "not-an-address"}}, "payload.to", "e-mail"),
        ({"payload_type": "wifi", "payload": {"ssid": "n", "colour": "red"}}, "payload", "colour"),
        ({"payload": {"ssid": "n"}}, "payload_type", "required"),
        ({"payload_type": "fax", "payload": {"number": "1"}}, "payload_type", ""),
        ({"payload_type": "url", "payload": {"url": "javascript:alert(1)"}}, "payload.url", "http"),
        ({}, "payload", "required"),
    ],
)
def test_static_payload_errors_name_the_field(
    client: TestClient, tenant: Tenant, body: dict[str, Any], field: str, words: str
) -> None:
    r = client.post("/api/v1/codes", json={"kind": "static", **body}, headers=tenant.auth())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == field
    assert words in r.json()["detail"]


def test_static_codes_never_redirect_and_dynamic_codes_carry_no_payload(
    client: TestClient, tenant: Tenant
) -> None:
    code = client.post(
        "/api/v1/codes",
        json={"kind": "static", "payload_type": "text", "payload": {"text": "hi"}},
        headers=tenant.auth(),
    ).json()
    r = client.get(f"/{code['slug']}", follow_redirects=False)
    assert r.status_code == 404
    assert "location" not in r.headers
    r = client.post(
        "/api/v1/codes",
        json={"destination": "https://example.com/", "payload_type": "text", "payload": {"text": "x"}},
        headers=tenant.auth(),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "payload"
    # a static code's payload can be changed (its image changes with it, by nature)
    r = client.patch(
        f"/api/v1/codes/{code['slug']}",
        json={"payload_type": "phone", "payload": {"number": "+15550100"}},
        headers=tenant.auth(),
    )
    assert r.status_code == 200
    assert r.json()["payload"] == "tel:+15550100"
    png = client.get(f"/api/v1/codes/{code['slug']}/qr?format=png", headers=tenant.auth()).content
    assert decode_png(png) == ["tel:+15550100"]
