"""The scan event: the plain struct written to the spool and drained into the store.

Encoded with msgspec (≈0.3 µs); never holds a raw IP, only the truncated network.
"""

from __future__ import annotations

import base64
import os
import time

import msgspec


class ScanEvent(msgspec.Struct, omit_defaults=True, array_like=False):
    """One request to a code (or to an unknown slug: ``code`` is ``None``, ``outcome`` not_found)."""

    id: str
    ws: int
    slug: str
    ts: int  # microseconds since the epoch, UTC
    outcome: str  # redirect, app, fallback, paused, expired, limit, not_found
    code: int | None = None
    dest: str | None = None
    rule: int | None = None
    variant: str | None = None
    campaign: int | None = None
    placement: int | None = None
    creative: str | None = None
    device: str | None = None
    os: str | None = None
    browser: str | None = None
    lang: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    asn: int | None = None
    ip_net: str | None = None
    visitor: str | None = None
    returning: bool = False
    bot: bool = False
    bot_kind: str | None = None
    ref_host: str | None = None
    refused: bool = False
    caps: list[str] = msgspec.field(default_factory=list)
    coupon: str | None = None  # one-time in-store coupon issued to this scan (code option issue_coupon)


encode_event = msgspec.json.Encoder().encode
decode_event = msgspec.json.Decoder(ScanEvent).decode


def new_scan_id() -> str:
    """A 24-character, time-ordered, URL-safe scan id (48-bit ms clock + 72 random bits)."""
    ms = time.time_ns() // 1_000_000
    raw = ms.to_bytes(6, "big") + os.urandom(9)
    return base64.b32hexencode(raw).decode().lower()
