"""The scan event: the plain struct written to the spool and drained into the store.

Encoded with msgspec (≈0.3 µs); never holds a raw IP, only the truncated network.
"""

from __future__ import annotations

import os
import threading
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


_ALPHABET = "0123456789abcdefghijklmnopqrstuv"  # base32hex, lower case: sorts like the clock
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # 10 bits → two characters
_SHIFTS = tuple(range(110, -1, -10))
_RANDOM_BLOCK = 9 * 512


class _RandomPool:
    """Random bytes from ``os.urandom`` fetched 4.6 KB at a time: one system call per 512 ids
    (a call per id released the GIL twice per request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buf = b""
        self._pos = 0

    def take72(self) -> int:
        """72 fresh random bits."""
        with self._lock:
            if self._pos >= len(self._buf):
                self._buf, self._pos = os.urandom(_RANDOM_BLOCK), 0
            start = self._pos
            self._pos = start + 9
            return int.from_bytes(self._buf[start : start + 9], "big")


_pool = _RandomPool()


def new_scan_id() -> str:
    """A 24-character, time-ordered, URL-safe scan id (48-bit ms clock + 72 random bits).

    The base32hex encoding (lower case) of the 15 bytes clock + randomness, as
    ``base64.b32hexencode`` would give, built from a table (that function is pure Python).
    """
    n = ((time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF) << 72 | _pool.take72()
    pairs = _PAIRS
    return "".join([pairs[(n >> s) & 0x3FF] for s in _SHIFTS])
