"""Calendar-event payload: an iCalendar (RFC 5545) VEVENT inside a VCALENDAR, and its parser.

Owns :class:`Event`. Times must be timezone-aware and are written in UTC (``…Z``) to the second,
so any reader shows the right local time. UID and DTSTAMP (required by RFC 5545) are derived from
the event itself, so the same event always yields the same payload (and the same cached image).
TEXT values are escaped and lines folded at 75 octets with CRLF line endings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from scanroute.qr._text import CRLF, PayloadError, escape_text, fold, parse_content_lines
from scanroute.qr._text import unescape_text as _unescape

__all__ = ["Event", "build_event", "parse_event"]

_FMT = "%Y%m%dT%H%M%SZ"


def _utc(value: object, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise PayloadError(name, "must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise PayloadError(name, "must carry a time zone (naive times are ambiguous)")
    return value.astimezone(UTC).replace(microsecond=0)


def _text(value: object, name: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise PayloadError(name, "must be a string")
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(value) > max_len:
        raise PayloadError(name, f"is longer than {max_len} characters")
    if any(ord(ch) < 32 and ch != "\n" for ch in value):
        raise PayloadError(name, "must not contain control characters")
    return value


@dataclass(frozen=True)
class Event:
    """A calendar event; ``end`` defaults to none (a point in time), ``uid`` is derived."""

    summary: str
    start: datetime
    end: datetime | None = None
    location: str = ""
    description: str = ""
    uid: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "summary", _text(self.summary, "summary", 255))
        if not self.summary or "\n" in self.summary:
            raise PayloadError("summary", "is required and must be a single line")
        set_(self, "start", _utc(self.start, "start"))
        if self.end is not None:
            set_(self, "end", _utc(self.end, "end"))
            if self.end <= self.start:
                raise PayloadError("end", "must be after start")
        set_(self, "location", _text(self.location, "location", 255))
        set_(self, "description", _text(self.description, "description", 1000))
        if not self.uid:
            seed = "|".join(
                [
                    self.summary,
                    self.start.strftime(_FMT),
                    self.end.strftime(_FMT) if self.end else "",
                    self.location,
                ]
            )
            set_(self, "uid", hashlib.sha256(seed.encode()).hexdigest()[:24] + "@scanroute")
        elif not isinstance(self.uid, str) or any(ch in self.uid for ch in "\r\n"):
            raise PayloadError("uid", "must be a single-line string")


def build_event(event: Event) -> str:
    """Serialise an event as ``BEGIN:VCALENDAR … BEGIN:VEVENT … END:VCALENDAR`` (CRLF)."""
    e = event
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//scanroute//QR studio//EN",
        "BEGIN:VEVENT",
        f"UID:{e.uid}",
        f"DTSTAMP:{e.start.strftime(_FMT)}",
        f"DTSTART:{e.start.strftime(_FMT)}",
    ]
    if e.end is not None:
        lines.append(f"DTEND:{e.end.strftime(_FMT)}")
    lines.append(f"SUMMARY:{escape_text(e.summary)}")
    if e.location:
        lines.append(f"LOCATION:{escape_text(e.location)}")
    if e.description:
        lines.append(f"DESCRIPTION:{escape_text(e.description)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return CRLF.join(fold(line) for line in lines) + CRLF


def _parse_dt(value: str, name: str) -> datetime:
    try:
        if value.endswith("Z"):
            return datetime.strptime(value, _FMT).replace(tzinfo=UTC)
    except ValueError:
        pass
    raise PayloadError(name, f"{value!r} is not a UTC date-time like 20250101T120000Z")


def parse_event(text: str) -> Event:
    """Parse the first VEVENT of an iCalendar text (UTC times) into an :class:`Event`."""
    kw: dict[str, object] = {}
    inside = False
    for ln in parse_content_lines(text):
        if ln.name == "BEGIN" and ln.value.upper() == "VEVENT":
            inside = True
        elif ln.name == "END" and ln.value.upper() == "VEVENT":
            break
        elif inside:
            if ln.name == "DTSTART":
                kw["start"] = _parse_dt(ln.value, "start")
            elif ln.name == "DTEND":
                kw["end"] = _parse_dt(ln.value, "end")
            elif ln.name in ("SUMMARY", "LOCATION", "DESCRIPTION", "UID"):
                kw[ln.name.lower()] = _unescape(ln.value) if ln.name != "UID" else ln.value
    if not inside:
        raise PayloadError("payload", "has no VEVENT")
    if "start" not in kw or "summary" not in kw:
        raise PayloadError("payload", "VEVENT needs DTSTART and SUMMARY")
    return Event(**kw)  # type: ignore[arg-type]
