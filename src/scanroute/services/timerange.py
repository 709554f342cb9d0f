"""``from`` / ``to`` query values → a UTC half-open range, in the workspace's time zone.

A date (``2026-03-01``) means that whole local day: as ``from`` its first instant, as ``to`` the
end of it (inclusive). A date-time with an offset (``2026-03-01T08:00:00Z``) is that instant; one
without an offset is read in the workspace's time zone. ``to`` is exclusive for date-times.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scanroute.domain.errors import Invalid

MAX_TEXT = 40


def _instant(value: str, zone: ZoneInfo, field: str, *, end: bool) -> datetime:
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise Invalid("is too long for a date or date-time", field=field)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(0), zone)
            return moment.astimezone(UTC)
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("must be a date (YYYY-MM-DD) or an ISO 8601 date-time", field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def resolve(
    start: str | None, end: str | None, zone: ZoneInfo, now: datetime, *, default_days: int = 30
) -> tuple[datetime, datetime]:
    """The UTC range [from, to) the caller asked for (default: the last ``default_days`` days)."""
    until = _instant(end, zone, "to", end=True) if end else now
    since = _instant(start, zone, "from", end=False) if start else until - timedelta(days=default_days)
    if since >= until:
        raise Invalid("must be after from", field="to")
    return since, until
