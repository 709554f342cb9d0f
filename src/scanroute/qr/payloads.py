"""Static QR payloads (content encoded in the code itself) with validation and parsers.

Owns the payload builders and their inverse parsers:

* plain text; ``tel:`` (E.164-ish); ``geo:lat,lon`` (RFC 5870, range-checked); ``mailto:`` with
  percent-encoded subject/body (RFC 6068, body line breaks as CRLF);
* SMS as ZXing's ``SMSTO:number:message`` (default; read by Android and iOS camera apps) or
  RFC 5724 ``sms:number?body=…``;
* Wi-Fi ``WIFI:T:…;S:…;P:…;H:true;;`` with ``\\ ; , : "`` backslash-escaped (ZXing's format).
  Security ``WPA`` covers WPA/WPA2/WPA3-Personal (transition mode) and is the safe default;
  ``WPA3`` writes ``T:WPA;R:1`` — the Wi-Fi Alliance WPA3 URI convention (R:1 = transition
  disable, SAE only), which Android's WifiUriParser maps to SAE; ``SAE`` writes ``T:SAE``, which
  Android 10+ reads but other readers may not. Hex-looking values are *not* wrapped in quotes:
  current Android/iOS readers take values literally;
* contacts (``vcard.py``: vCard 3.0/4.0, MeCard) and calendar events (``ical.py``).

:func:`build_payload` builds any of them from JSON-like data (for the API); :func:`parse_payload`
recognises a decoded string and parses it back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args
from urllib.parse import parse_qs, quote, unquote

from scanroute.qr._text import PayloadError
from scanroute.qr.ical import Event, build_event, parse_event
from scanroute.qr.vcard import (
    Address,
    Contact,
    Phone,
    build_mecard,
    build_vcard,
    normalize_phone,
    parse_mecard,
    parse_vcard,
)

__all__ = [
    "Address",
    "Contact",
    "EmailMessage",
    "Event",
    "GeoPoint",
    "PayloadError",
    "Phone",
    "Sms",
    "WifiNetwork",
    "build_email",
    "build_event",
    "build_geo",
    "build_mecard",
    "build_payload",
    "build_phone",
    "build_sms",
    "build_text",
    "build_vcard",
    "build_wifi",
    "parse_email",
    "parse_event",
    "parse_geo",
    "parse_mecard",
    "parse_payload",
    "parse_phone",
    "parse_sms",
    "parse_vcard",
    "parse_wifi",
]

WifiSecurity = Literal["WPA", "WPA3", "SAE", "WEP", "nopass"]
_EMAIL_RE = re.compile(r"[^@\s?&#/:<>\"\\]+@[^@\s?&#/:<>\"\\]+\.[^@\s?&#/:<>\"\\]+")
_HEX = re.compile(r"[0-9A-Fa-f]+")


def build_text(text: str) -> str:
    """Plain text: any non-empty string without NUL characters."""
    if not isinstance(text, str) or not text:
        raise PayloadError("text", "must be a non-empty string")
    if "\x00" in text:
        raise PayloadError("text", "must not contain NUL characters")
    return text


# -- Wi-Fi -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WifiNetwork:
    """A Wi-Fi network to join; ``password`` is ``None`` for open (``nopass``) networks."""

    ssid: str
    password: str | None = None
    security: WifiSecurity = "WPA"
    hidden: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.ssid, str) or not 1 <= len(self.ssid.encode()) <= 32:
            raise PayloadError("ssid", "must be 1–32 bytes of UTF-8")
        if any(ord(ch) < 32 for ch in self.ssid):
            raise PayloadError("ssid", "must not contain control characters")
        if self.security not in get_args(WifiSecurity):
            raise PayloadError("security", f"must be one of {', '.join(get_args(WifiSecurity))}")
        if not isinstance(self.hidden, bool):
            raise PayloadError("hidden", "must be true or false")
        pw = self.password or None
        object.__setattr__(self, "password", pw)
        if self.security == "nopass":
            if pw is not None:
                raise PayloadError("password", "must be empty for an open (nopass) network")
            return
        if pw is None:
            raise PayloadError("password", f"is required for {self.security}")
        if not isinstance(pw, str) or not all(32 <= ord(ch) <= 126 for ch in pw):
            raise PayloadError("password", "must be printable ASCII characters")
        if self.security == "WEP":
            hex_ok = len(pw) in (10, 26, 32, 58) and _HEX.fullmatch(pw)
            if not hex_ok and len(pw) not in (5, 13, 16, 29):
                raise PayloadError("password", "a WEP key is 5/13/16/29 characters or 10/26/32/58 hex")
        elif not (8 <= len(pw) <= 63 or (len(pw) == 64 and _HEX.fullmatch(pw))):
            raise PayloadError("password", "a WPA passphrase is 8–63 characters (or 64 hex digits)")


def _wifi_escape(value: str) -> str:
    out = value.replace("\\", "\\\\")
    for ch in ';,:"':
        out = out.replace(ch, "\\" + ch)
    return out


def build_wifi(network: WifiNetwork) -> str:
    """``WIFI:T:WPA;S:ssid;P:password;H:true;;`` (see the module notes on WPA3)."""
    n = network
    t = {"WPA3": "WPA;R:1"}.get(n.security, n.security)
    out = f"WIFI:T:{t};S:{_wifi_escape(n.ssid)};"
    if n.password is not None:
        out += f"P:{_wifi_escape(n.password)};"
    if n.hidden:
        out += "H:true;"
    return out + ";"


def parse_wifi(text: str) -> WifiNetwork:
    """Parse a ``WIFI:`` payload (fields in any order, backslash escapes) into a network."""
    if text[:5].upper() != "WIFI:":
        raise PayloadError("payload", "does not start with WIFI:")
    fields: dict[str, str] = {}
    i, body = 0, text[5:]
    while i < len(body):
        if body[i] in "; \t\r\n":
            i += 1
            continue
        colon = body.find(":", i)
        if colon < 0:
            raise PayloadError("payload", f"field without a colon at {i + 5}")
        key = body[i:colon].upper()
        value: list[str] = []
        j = colon + 1
        while j < len(body) and body[j] != ";":
            if body[j] == "\\" and j + 1 < len(body):
                j += 1
            value.append(body[j])
            j += 1
        fields.setdefault(key, "".join(value))
        i = j + 1
    if "S" not in fields:
        raise PayloadError("ssid", "missing S: field")
    t = fields.get("T", "nopass" if not fields.get("P") else "WPA")
    if t.upper() == "WPA" and fields.get("R") == "1":
        t = "WPA3"
    known = {"WPA": "WPA", "WPA2": "WPA", "WPA3": "WPA3", "SAE": "SAE", "WEP": "WEP"}
    security = known.get(t.upper(), "nopass" if t.upper() in ("NOPASS", "") else t)
    return WifiNetwork(
        ssid=fields["S"],
        password=fields.get("P") or None,
        security=security,  # type: ignore[arg-type]
        hidden=fields.get("H", "").lower() == "true",
    )


# -- geo, phone, e-mail, SMS --------------------------------------------------------------------
@dataclass(frozen=True)
class GeoPoint:
    """WGS-84 latitude/longitude in degrees (stored rounded to 7 decimals, ≈1 cm)."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        for name, lim in (("lat", 90.0), ("lon", 180.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise PayloadError(name, "must be a finite number")
            if not -lim <= v <= lim:
                raise PayloadError(name, f"must be between -{lim:g} and {lim:g}")
            object.__setattr__(self, name, round(float(v), 7) + 0.0)


def _fmt_deg(v: float) -> str:
    return f"{v:.7f}".rstrip("0").rstrip(".")


def build_geo(point: GeoPoint) -> str:
    """``geo:lat,lon``."""
    return f"geo:{_fmt_deg(point.lat)},{_fmt_deg(point.lon)}"


def parse_geo(text: str) -> GeoPoint:
    """Parse ``geo:lat,lon[,alt][;params]``."""
    m = re.fullmatch(r"(?i)geo:(-?[0-9.]+),(-?[0-9.]+)(?:,-?[0-9.]+)?(?:;.*)?", text.strip())
    if not m:
        raise PayloadError("payload", "is not a geo: URI")
    return GeoPoint(float(m.group(1)), float(m.group(2)))


def build_phone(number: str) -> str:
    """``tel:+15551234567`` (visual separators dropped)."""
    return "tel:" + normalize_phone(number)


def parse_phone(text: str) -> str:
    """The number of a ``tel:`` URI."""
    if text[:4].lower() != "tel:":
        raise PayloadError("payload", "is not a tel: URI")
    return normalize_phone(unquote(text[4:]))


@dataclass(frozen=True)
class EmailMessage:
    """A pre-addressed e-mail; line breaks in ``body`` are normalised to ``\\n``."""

    to: str
    subject: str = ""
    body: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.to, str) or not _EMAIL_RE.fullmatch(self.to):
            raise PayloadError("to", f"{self.to!r} is not an e-mail address")
        if not isinstance(self.subject, str) or any(ord(c) < 32 for c in self.subject):
            raise PayloadError("subject", "must be a single line of text")
        if not isinstance(self.body, str):
            raise PayloadError("body", "must be a string")
        object.__setattr__(self, "body", self.body.replace("\r\n", "\n").replace("\r", "\n"))


def build_email(message: EmailMessage) -> str:
    """``mailto:to?subject=…&body=…`` with RFC 3986 percent-encoding (CRLF line breaks)."""
    query = []
    if message.subject:
        query.append("subject=" + quote(message.subject, safe=""))
    if message.body:
        query.append("body=" + quote(message.body.replace("\n", "\r\n"), safe=""))
    return f"mailto:{quote(message.to, safe='@')}" + ("?" + "&".join(query) if query else "")


def parse_email(text: str) -> EmailMessage:
    """Parse a ``mailto:`` URI (first recipient, subject, body)."""
    if text[:7].lower() != "mailto:":
        raise PayloadError("payload", "is not a mailto: URI")
    addr, _, query = text[7:].partition("?")
    params = parse_qs(query, keep_blank_values=True)
    return EmailMessage(
        to=unquote(addr.split(",")[0]),
        subject=params.get("subject", [""])[0],
        body=params.get("body", [""])[0],
    )


@dataclass(frozen=True)
class Sms:
    """A pre-filled text message; ``scheme`` picks ``SMSTO:`` (default) or RFC 5724 ``sms:``."""

    number: str
    message: str = ""
    scheme: Literal["smsto", "sms"] = "smsto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "number", normalize_phone(self.number, "number"))
        if not isinstance(self.message, str) or len(self.message) > 1000:
            raise PayloadError("message", "must be a string of at most 1000 characters")
        if self.scheme not in ("smsto", "sms"):
            raise PayloadError("scheme", "must be smsto or sms")


def build_sms(sms: Sms) -> str:
    """``SMSTO:+number:message`` or ``sms:+number?body=…``."""
    if sms.scheme == "sms":
        return f"sms:{sms.number}" + (f"?body={quote(sms.message, safe='')}" if sms.message else "")
    return f"SMSTO:{sms.number}:{sms.message}"


def parse_sms(text: str) -> Sms:
    """Parse ``SMSTO:`` / ``sms:`` payloads."""
    if text[:6].upper() == "SMSTO:":
        number, _, message = text[6:].partition(":")
        return Sms(number, message, "smsto")
    if text[:4].lower() == "sms:":
        number, _, query = text[4:].partition("?")
        body = parse_qs(query, keep_blank_values=True).get("body", [""])[0]
        return Sms(unquote(number), body, "sms")
    raise PayloadError("payload", "is not an SMSTO: or sms: payload")


# -- JSON entry points --------------------------------------------------------------------------
def _dt(value: object, name: str) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise PayloadError(name, "must be an ISO-8601 date-time with a time zone")


def _build(kind: str, d: dict[str, Any]) -> str:
    if kind in ("text", "url"):
        return build_text(d.get("text") or d.get("url") or "")
    if kind == "wifi":
        return build_wifi(WifiNetwork(**d))
    if kind in ("vcard", "mecard"):
        version = d.pop("version", "3.0")
        d["phones"] = tuple(Phone(**p) for p in d.get("phones", ()))
        d["addresses"] = tuple(Address(**a) for a in d.get("addresses", ()))
        contact = Contact(**d)
        return build_vcard(contact, version) if kind == "vcard" else build_mecard(contact)
    if kind == "geo":
        return build_geo(GeoPoint(**d))
    if kind == "email":
        return build_email(EmailMessage(**d))
    if kind == "sms":
        return build_sms(Sms(**d))
    if kind == "phone":
        return build_phone(d.get("number", ""))
    if kind == "event":
        d["start"] = _dt(d.get("start"), "start")
        if d.get("end") is not None:
            d["end"] = _dt(d["end"], "end")
        return build_event(Event(**d))
    raise PayloadError("type", f"unknown payload type {kind!r}")


def build_payload(data: Mapping[str, Any]) -> str:
    """Build a payload from ``{"type": "wifi" | "vcard" | …, **fields}``; raise PayloadError."""
    d = dict(data)
    kind = str(d.pop("type", ""))
    try:
        return _build(kind, d)
    except TypeError as exc:  # unknown or missing keyword
        raise PayloadError(kind or "type", str(exc).split(".")[-1].strip()) from exc


def parse_payload(text: str) -> tuple[str, object]:
    """Recognise a decoded payload and parse it: returns (type, parsed value)."""
    head = text[:16].upper()
    if head.startswith("WIFI:"):
        return "wifi", parse_wifi(text)
    if head.startswith("BEGIN:VCARD"):
        return "vcard", parse_vcard(text)
    if head.startswith("MECARD:"):
        return "mecard", parse_mecard(text)
    if head.startswith("BEGIN:VCALENDAR") or head.startswith("BEGIN:VEVENT"):
        return "event", parse_event(text)
    if head.startswith("GEO:"):
        return "geo", parse_geo(text)
    if head.startswith("MAILTO:"):
        return "email", parse_email(text)
    if head.startswith(("SMSTO:", "SMS:")):
        return "sms", parse_sms(text)
    if head.startswith("TEL:"):
        return "phone", parse_phone(text)
    if re.match(r"(?i)https?://", text):
        return "url", text
    return "text", text
