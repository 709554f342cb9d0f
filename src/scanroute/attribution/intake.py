"""Conversion intake rules that need no database: scan-id shape and age, metadata bounds,
idempotency keys and request fingerprints, conversion types.

Pure functions shared by the API, the pixel, the POS import and the CLI. A scan id is the 24
lower-case base32hex characters of ``capture.event.new_scan_id`` (48-bit millisecond clock + 72
random bits), so its age can be read without a lookup: a well-formed id minted in the last
``RECENT`` may name a scan the drainer has not stored yet.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import orjson

SCAN_ID: Final = re.compile(r"^[0-9a-v]{24}$")
RECENT: Final = timedelta(minutes=10)
"""How old an unknown but well-formed scan id may be and still be waited for."""
CLOCK_SKEW: Final = timedelta(seconds=5)

CONVERSION_TYPE: Final = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STANDARD_TYPES: Final = ("purchase", "lead", "signup", "redemption")
LEAD_TYPES: Final = frozenset({"lead", "signup"})
"""Types de-duplicated per (customer, type) inside ``SCANROUTE_LEAD_DEDUPE_HOURS``."""

MAX_METADATA_KEYS: Final = 20
MAX_METADATA_KEY: Final = 40
MAX_METADATA_STRING: Final = 500
MAX_METADATA_BYTES: Final = 2_048
MAX_VALUE: Final = Decimal(1_000_000_000)
"""The largest conversion value accepted, in major units of its currency."""
FUTURE_TOLERANCE: Final = timedelta(minutes=5)
MAX_AGE: Final = timedelta(days=5 * 366)

ORDER_KEY_PREFIX: Final = "order:"


def scan_id_time(scan_id: str) -> datetime | None:
    """When a well-formed scan id was minted, or ``None`` when it is not one of ours."""
    if not SCAN_ID.match(scan_id):
        return None
    try:
        raw = base64.b32hexdecode(scan_id.upper())
    except (binascii.Error, ValueError):
        return None
    ms = int.from_bytes(raw[:6], "big")
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def is_recent_scan_id(scan_id: str, now: datetime) -> bool:
    """True when the id is well formed and was minted in the last ``RECENT`` (not in the future)."""
    minted = scan_id_time(scan_id)
    return minted is not None and now - RECENT <= minted <= now + CLOCK_SKEW


def check_metadata(value: Mapping[str, Any]) -> dict[str, Any]:
    """Bounded metadata: at most 20 keys of up to 40 characters, scalar values (strings up to 500
    characters), 2 KB as JSON. Raises ``ValueError`` with the reason."""
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"has {len(value)} keys; at most {MAX_METADATA_KEYS} are allowed")
    for key, item in value.items():
        if not key or len(key) > MAX_METADATA_KEY:
            raise ValueError(f"keys must be 1-{MAX_METADATA_KEY} characters")
        if isinstance(item, str):
            if len(item) > MAX_METADATA_STRING:
                raise ValueError(f"value of '{key}' is longer than {MAX_METADATA_STRING} characters")
        elif item is not None and not isinstance(item, bool | int | float):
            raise ValueError(f"value of '{key}' must be a string, number, boolean or null")
    size = len(orjson.dumps(dict(value)))
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"is {size} bytes as JSON; at most {MAX_METADATA_BYTES} are allowed")
    return dict(value)


def check_occurred_at(moment: datetime, now: datetime) -> datetime:
    """An aware time, not more than 5 minutes ahead and not older than 5 years (as UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("must include a time zone offset (e.g. 2026-05-01T12:30:00Z)")
    if moment > now + FUTURE_TOLERANCE:
        raise ValueError("is in the future")
    if moment < now - MAX_AGE:
        raise ValueError("is more than 5 years ago")
    return moment.astimezone(UTC)


def idempotency_key(header: str | None, body: str | None, order_id: str | None) -> str | None:
    """The key a conversion is idempotent by: the header, else the body field, else its order id.

    Raises ``ValueError`` when the header and the body name different keys.
    """
    if header and body and header != body:
        raise ValueError("differs from the Idempotency-Key header")
    if header or body:
        return header or body
    return f"{ORDER_KEY_PREFIX}{order_id}" if order_id else None


def request_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the request as sent (canonical JSON): replays must match it exactly."""

    def _default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")  # 20, 20.0 and 20.00 are one amount
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    return hashlib.sha256(
        orjson.dumps(dict(payload), default=_default, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()
