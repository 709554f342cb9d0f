"""The scan event: the plain struct written to the spool and drained into the store.

Encoded with msgspec (≈0.3 µs); never holds a raw IP, only the truncated network.
"""

from __future__ import annotations

import os
import threading
import time

import msgspec

from scanroute.native import scanpath


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
_TO_CHAR = bytes.maketrans(bytes(range(256)), "".join(_ALPHABET[b & 31] for b in range(256)).encode())
"""Random byte → random base32hex character (256 is a multiple of 32: still uniform)."""
_LOW2 = {c: i & 3 for i, c in enumerate(_ALPHABET)}
_RANDOM_CHARS = 15 * 512


class _RandomText:
    """Random base32hex characters from ``os.urandom``, 7.7 KB at a time: one system call and
    one C-level translation per 512 ids (a call per id released the GIL twice per request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buf = ""
        self._pos = 0
        os.register_at_fork(after_in_child=self._forget)  # a child must not repeat its parent's ids

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._buf = ""
        self._pos = 0

    def take15(self) -> str:
        """15 random characters (75 random bits)."""
        with self._lock:
            start = self._pos
            if start >= len(self._buf):
                self._buf, start = os.urandom(_RANDOM_CHARS).translate(_TO_CHAR).decode("ascii"), 0
            self._pos = start + 15
            return self._buf[start : start + 15]


class _Clock:
    """The first nine characters (45 high bits of the 48-bit millisecond clock) of the current
    millisecond, encoded once per millisecond rather than once per id. The (ms, prefix) pair is
    one attribute, replaced whole, so that threads never see one's ms with another's prefix."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = (-1, "")

    def prefix_of(self, ms: int) -> str:
        """The nine clock characters of ``ms``."""
        last = self.last
        if last[0] == ms:
            return last[1]
        high = ms >> 3  # 45 bits: nine characters
        prefix = "".join([_ALPHABET[(high >> s) & 31] for s in range(40, -1, -5)])
        self.last = (ms, prefix)
        return prefix


_pool = _RandomText()
_clock = _Clock()


def new_scan_id_python() -> str:
    """A 24-character, time-ordered, URL-safe scan id (48-bit ms clock + 72 random bits).

    The base32hex encoding (lower case) of the 15 bytes clock + randomness, as
    ``base64.b32hexencode`` would give: nine characters of clock, one of the clock's three low
    bits and two random bits, then fourteen random characters.
    """
    ms = (time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF
    rand = _pool.take15()
    return f"{_clock.prefix_of(ms)}{_ALPHABET[(ms & 7) << 2 | _LOW2[rand[0]]]}{rand[1:]}"


new_scan_id = scanpath.new_scan_id if scanpath is not None else new_scan_id_python
"""A new scan id (see :func:`new_scan_id_python`, the reference; compiled when installed)."""
