"""Static payloads: exact wire format, validation, and encode → render → decode → parse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanroute.qr.design import QrDesign
from scanroute.qr.payloads import (
    Address,
    Contact,
    EmailMessage,
    Event,
    GeoPoint,
    PayloadError,
    Phone,
    Sms,
    WifiNetwork,
    build_email,
    build_event,
    build_geo,
    build_mecard,
    build_payload,
    build_phone,
    build_sms,
    build_text,
    build_vcard,
    build_wifi,
    parse_email,
    parse_event,
    parse_geo,
    parse_mecard,
    parse_payload,
    parse_phone,
    parse_sms,
    parse_vcard,
    parse_wifi,
)
from scanroute.qr.render import render

DESIGN = QrDesign(size_px=900, ecc="L")


def through_qr(kit: Any, payload: str) -> str:
    """Render the payload as a PNG and return what the decoder reads."""
    found: list[str] = kit.decode_png(render(payload, DESIGN, "png"))
    assert len(found) == 1
    return found[0]


# -- Wi-Fi --------------------------------------------------------------------------------------
def test_wifi_wire_format_and_escaping() -> None:
    net = WifiNetwork(ssid='My;Net,"5G":\\', password='pa;ss,wo:rd"\\', security="WPA")
    assert build_wifi(net) == 'WIFI:T:WPA;S:My\\;Net\\,\\"5G\\"\\:\\\\;P:pa\\;ss\\,wo\\:rd\\"\\\\;;'
    assert (
        build_wifi(WifiNetwork("Guest", security="nopass", hidden=True)) == "WIFI:T:nopass;S:Guest;H:true;;"
    )
    assert build_wifi(WifiNetwork("Home", "hunter22", "WPA3")) == "WIFI:T:WPA;R:1;S:Home;P:hunter22;;"
    assert build_wifi(WifiNetwork("Home", "hunter22", "SAE")) == "WIFI:T:SAE;S:Home;P:hunter22;;"
    assert build_wifi(WifiNetwork("Old", "abcde", "WEP")) == "WIFI:T:WEP;S:Old;P:abcde;;"


@pytest.mark.parametrize(
    "net",
    [
        WifiNetwork(ssid='Café;Bar,"x":\\y', password='p;a,s:s"w\\ord', security="WPA"),
        WifiNetwork(ssid="Hidden Lab", password="correct horse battery", security="WPA3", hidden=True),
        WifiNetwork(ssid="Open", security="nopass"),
        WifiNetwork(ssid="ABCDEF", password="0123456789", security="WEP"),
        WifiNetwork(ssid="SAE-only", password="a" * 63, security="SAE"),
    ],
)
def test_wifi_round_trips_through_a_code(kit: Any, net: WifiNetwork) -> None:
    payload = build_wifi(net)
    assert through_qr(kit, payload) == payload
    assert parse_wifi(through_qr(kit, payload)) == net


_wifi_chars = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])
_ascii_pw = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=8, max_size=63)


@settings(max_examples=200, deadline=None)
@given(
    ssid=st.text(_wifi_chars, min_size=1, max_size=8),  # ≤ 32 bytes even at 4 bytes a character
    password=_ascii_pw,
    security=st.sampled_from(["WPA", "WPA3", "SAE"]),
    hidden=st.booleans(),
)
def test_wifi_parse_inverts_build(ssid: str, password: str, security: str, hidden: bool) -> None:
    net = WifiNetwork(ssid, password, security, hidden)  # type: ignore[arg-type]
    assert parse_wifi(build_wifi(net)) == net


def test_wifi_parser_reads_other_writers() -> None:
    assert parse_wifi("WIFI:S:Cafe;T:WPA2;P:secret123;H:true;;") == WifiNetwork(
        "Cafe", "secret123", "WPA", True
    )
    assert parse_wifi("wifi:S:Open;;") == WifiNetwork("Open", security="nopass")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ssid": "", "password": "12345678"}, "ssid"),
        ({"ssid": "x" * 33, "password": "12345678"}, "ssid"),
        ({"ssid": "é" * 17, "password": "12345678"}, "ssid"),  # 34 bytes of UTF-8
        ({"ssid": "n", "password": "short"}, "password"),
        ({"ssid": "n", "password": "x" * 64}, "password"),
        ({"ssid": "n"}, "password"),
        ({"ssid": "n", "password": "pässwort1"}, "password"),
        ({"ssid": "n", "password": "12345678", "security": "nopass"}, "password"),
        ({"ssid": "n", "password": "1234", "security": "WEP"}, "password"),
        ({"ssid": "n", "password": "12345678", "security": "WPA4"}, "security"),
    ],
)
def test_wifi_validation(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(PayloadError) as err:
        WifiNetwork(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


# -- vCard / MeCard ------------------------------------------------------------------------------
CONTACT = Contact(
    family_name="Müller-Lüdenscheidt",
    given_name="Zoë",
    prefix="Dr.",
    organization="Acme; Widgets, Inc.",
    title="Head of R&D, Europe",
    phones=(Phone("+49 (30) 1234-5678", "work"), Phone("+1 555 010 9999", "cell")),
    emails=("zoe@example.com",),
    urls=("https://example.com/zoë?a=1&b=2",),
    addresses=(
        Address(street="Unter den Linden 1; Hof 2", locality="Berlin", postal_code="10117", country="DE"),
    ),
    note="Line one\nLine two, with comma; semicolon \\ backslash — and a long tail " + "é" * 40,
)


def test_vcard3_wire_format() -> None:
    text = build_vcard(CONTACT, "3.0")
    assert text.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n")
    assert text.endswith("END:VCARD\r\n")
    assert "\n" not in text.replace("\r\n", "")  # CRLF only
    assert "N:Müller-Lüdenscheidt;Zoë;;Dr.;\r\n" in text
    assert "ORG:Acme\\; Widgets\\, Inc.\r\n" in text
    assert "TITLE:Head of R&D\\, Europe\r\n" in text
    assert "TEL;TYPE=WORK:+493012345678\r\n" in text
    assert "ADR;TYPE=WORK:;;Unter den Linden 1\\; Hof 2;Berlin;;10117;DE\r\n" in text
    assert "NOTE:Line one\\nLine two\\, with comma\\; semicolon \\\\ backslash" in text.replace("\r\n ", "")
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    assert "\r\n " in text  # the note was folded


def test_vcard4_wire_format() -> None:
    text = build_vcard(CONTACT, "4.0")
    assert "VERSION:4.0\r\n" in text
    assert "TEL;VALUE=uri;TYPE=work:tel:+493012345678\r\n" in text
    assert "EMAIL:zoe@example.com\r\n" in text


def test_folding_never_splits_utf8() -> None:
    c = Contact(given_name="A", note="€" * 200)
    for line in build_vcard(c).split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
        line.encode("utf-8").decode("utf-8")  # whole characters only


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_vcard_round_trips_through_a_code(kit: Any, version: str) -> None:
    payload = build_vcard(CONTACT, version)  # type: ignore[arg-type]
    decoded = through_qr(kit, payload)
    assert decoded == payload
    assert parse_vcard(decoded) == CONTACT


_field = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=30).map(
    str.strip
)


@settings(max_examples=150, deadline=None)
@given(
    family=_field,
    given=_field,
    org=_field,
    title=_field,
    note=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200),
    version=st.sampled_from(["3.0", "4.0"]),
)
def test_vcard_parse_inverts_build(
    family: str, given: str, org: str, title: str, note: str, version: str
) -> None:
    note = note.replace("\r\n", "\n").replace("\r", "\n")
    try:
        c = Contact(family_name=family, given_name=given, organization=org, title=title, note=note)
    except PayloadError:
        return  # no name at all, or control characters: refused, nothing to encode
    assert parse_vcard(build_vcard(c, version)) == c  # type: ignore[arg-type]


def test_mecard_round_trip(kit: Any) -> None:
    payload = build_mecard(CONTACT)
    assert payload.startswith("MECARD:N:Müller-Lüdenscheidt,Zoë;")
    assert "ORG:Acme\\; Widgets\\, Inc.;" in payload
    assert payload.endswith(";;")
    assert parse_mecard(through_qr(kit, payload)) == CONTACT.mecard_subset()
    org_only = Contact(organization="Bäckerei: Korn, Brot")
    assert parse_mecard(build_mecard(org_only)) == org_only.mecard_subset() == org_only


def test_contact_validation() -> None:
    with pytest.raises(PayloadError) as err:
        Contact()
    assert err.value.field == "family_name"
    with pytest.raises(PayloadError) as err:
        Contact(given_name="A", emails=("not-an-email",))
    assert err.value.field == "emails[0]"
    with pytest.raises(PayloadError) as err:
        Contact(given_name="A", phones=(Phone("12"),))
    assert err.value.field == "number"
    assert Contact(given_name="Ann", family_name="Lee", prefix="Dr.").formatted_name == "Dr. Ann Lee"


# -- calendar -----------------------------------------------------------------------------------
def test_event_wire_format_and_round_trip(kit: Any) -> None:
    cet = timezone(timedelta(hours=1))
    ev = Event(
        summary="Launch; party, with \\ backslash",
        start=datetime(2025, 3, 1, 19, 30, 15, 999, tzinfo=cet),
        end=datetime(2025, 3, 1, 23, 0, tzinfo=cet),
        location="Halle 7, Köln",
        description="Bring: badge; ticket\nDoors, 19:00",
    )
    text = build_event(ev)
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert "BEGIN:VEVENT\r\n" in text
    assert text.endswith("END:VEVENT\r\nEND:VCALENDAR\r\n")
    assert "DTSTART:20250301T183015Z\r\n" in text
    assert "DTEND:20250301T220000Z\r\n" in text
    assert "SUMMARY:Launch\\; party\\, with \\\\ backslash\r\n" in text
    assert "DESCRIPTION:Bring: badge\\; ticket\\nDoors\\, 19:00\r\n" in text
    assert "LOCATION:Halle 7\\, Köln\r\n" in text
    assert "UID:" in text
    assert "DTSTAMP:" in text
    assert build_event(ev) == text  # deterministic
    back = parse_event(through_qr(kit, text))
    assert back == ev
    assert back.start.tzinfo == UTC


def test_event_validation() -> None:
    with pytest.raises(PayloadError) as err:
        Event("x", datetime(2025, 1, 1, 10))
    assert err.value.field == "start"
    start = datetime(2025, 1, 1, 10, tzinfo=UTC)
    with pytest.raises(PayloadError) as err:
        Event("x", start, start - timedelta(minutes=1))
    assert err.value.field == "end"
    with pytest.raises(PayloadError) as err:
        Event("", start)
    assert err.value.field == "summary"


# -- small URIs ----------------------------------------------------------------------------------
def test_geo(kit: Any) -> None:
    p = GeoPoint(52.5163, 13.3777)
    assert build_geo(p) == "geo:52.5163,13.3777"
    assert parse_geo(through_qr(kit, build_geo(p))) == p
    assert build_geo(GeoPoint(-33.8688197, 151.2092955)) == "geo:-33.8688197,151.2092955"
    assert build_geo(GeoPoint(0, -0.0)) == "geo:0,0"
    for lat, lon, field in ((90.1, 0, "lat"), (0, -180.5, "lon"), (float("nan"), 0, "lat")):
        with pytest.raises(PayloadError) as err:
            GeoPoint(lat, lon)
        assert err.value.field == field


@given(st.floats(-90, 90), st.floats(-180, 180))
def test_geo_parse_inverts_build(lat: float, lon: float) -> None:
    p = GeoPoint(lat, lon)
    assert parse_geo(build_geo(p)) == p


def test_email(kit: Any) -> None:
    msg = EmailMessage("team@example.com", "Hello & welcome?", "Line 1\nLine 2 = 100% ü")
    text = build_email(msg)
    assert text == (
        "mailto:team@example.com?subject=Hello%20%26%20welcome%3F&body=Line%201%0D%0ALine%202%20%3D%20100%25%20%C3%BC"
    )
    assert parse_email(through_qr(kit, text)) == msg
    assert build_email(EmailMessage("a@b.co")) == "mailto:a@b.co"
    with pytest.raises(PayloadError) as err:
        EmailMessage("nobody")
    assert err.value.field == "to"


def test_sms_and_phone(kit: Any) -> None:
    sms = Sms("+49 170 123 4567", "Ja: bitte, 2 Stück")
    assert build_sms(sms) == "SMSTO:+491701234567:Ja: bitte, 2 Stück"
    assert parse_sms(through_qr(kit, build_sms(sms))) == sms
    rfc = Sms("+15550100", "hi & bye", "sms")
    assert build_sms(rfc) == "sms:+15550100?body=hi%20%26%20bye"
    assert parse_sms(build_sms(rfc)) == rfc
    assert build_phone("+1 (555) 010-9999") == "tel:+15550109999"
    assert parse_phone(through_qr(kit, "tel:+15550109999")) == "+15550109999"
    for bad in ("12", "+1234567890123456", "call me", "++15550100"):
        with pytest.raises(PayloadError):
            build_phone(bad)


def test_text() -> None:
    assert build_text("hello") == "hello"
    with pytest.raises(PayloadError):
        build_text("")


# -- JSON entry points ----------------------------------------------------------------------------
def test_build_payload_dispatch_and_parse_payload() -> None:
    cases: dict[str, dict[str, Any]] = {
        "wifi": {"type": "wifi", "ssid": "Net;1", "password": "secret123", "hidden": True},
        "vcard": {
            "type": "vcard",
            "version": "4.0",
            "given_name": "Ann",
            "phones": [{"number": "+4930123456", "kind": "home"}],
            "addresses": [{"street": "Main St 1", "locality": "Springfield"}],
        },
        "mecard": {"type": "mecard", "family_name": "Lee", "emails": ["lee@example.com"]},
        "geo": {"type": "geo", "lat": 1.5, "lon": 2.25},
        "email": {"type": "email", "to": "a@example.com", "subject": "Hi"},
        "sms": {"type": "sms", "number": "+15550100", "message": "yo"},
        "phone": {"type": "phone", "number": "+15550100"},
        "event": {"type": "event", "summary": "Meet", "start": "2025-05-01T10:00:00+02:00"},
        "url": {"type": "url", "url": "https://example.com"},
        "text": {"type": "text", "text": "just words"},
    }
    for kind, data in cases.items():
        payload = build_payload(data)
        parsed_kind, value = parse_payload(payload)
        assert parsed_kind == kind, payload
        assert value is not None
    _, wifi = parse_payload(build_payload(cases["wifi"]))
    assert wifi == WifiNetwork("Net;1", "secret123", hidden=True)
    _, event = parse_payload(build_payload(cases["event"]))
    assert isinstance(event, Event)
    assert event.start == datetime(2025, 5, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "wifi", "ssid": "n", "password": "short"}, "password"),
        ({"type": "geo", "lat": 91, "lon": 0}, "lat"),
        ({"type": "event", "summary": "x", "start": "tomorrow"}, "start"),
        ({"type": "fax"}, "type"),
        ({"type": "wifi", "ssid": "n", "colour": "red"}, "wifi"),
    ],
)
def test_build_payload_errors(data: dict[str, object], field: str) -> None:
    with pytest.raises(PayloadError) as err:
        build_payload(data)
    assert err.value.field == field
