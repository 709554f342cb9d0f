"""One-time in-store coupon codes: how they are made on the scan path and read back at the till.

A coupon is 8 characters from the upper-case, look-alike-free part of the slug alphabet (no 0/O,
1/I/L, no vowels), so a cashier can type it from a phone screen without ambiguity: 29**8 ≈ 5·10**11
codes. It is drawn at random on the redirect hot path (no I/O, about a microsecond), travels on the
scan event and is stored by ``ScanWriter`` with its scan. Reading one back is forgiving: case,
spaces and dashes do not matter.
"""

from __future__ import annotations

import secrets
from typing import Final

from scanroute.domain.code import SLUG_ALPHABET

COUPON_PARAM: Final = "sr_coupon"
"""Query parameter carrying the coupon to the destination page."""

COUPON_ALPHABET: Final = "".join(c for c in SLUG_ALPHABET if c.isdigit() or c.isupper())
"""``23456789BCDFGHJKLMNPQRSTVWXYZ``: digits and consonants without look-alikes."""

COUPON_LENGTH: Final = 8
_SPACE: Final = len(COUPON_ALPHABET) ** COUPON_LENGTH
_BASE: Final = len(COUPON_ALPHABET)
_ALLOWED: Final = frozenset(COUPON_ALPHABET)


def new_coupon() -> str:
    """A fresh random coupon code (cryptographically random, uniform over the whole space)."""
    n = secrets.randbelow(_SPACE)
    out = []
    for _ in range(COUPON_LENGTH):
        n, digit = divmod(n, _BASE)
        out.append(COUPON_ALPHABET[digit])
    return "".join(out)


def normalise_coupon(text: str) -> str | None:
    """The canonical form of a typed coupon (upper case, no spaces or dashes), or ``None``.

    ``None`` means the text cannot be a coupon this server issued (wrong length or characters).
    """
    code = "".join(ch for ch in text.upper() if ch not in " -_\t")
    if len(code) != COUPON_LENGTH or not set(code) <= _ALLOWED:
        return None
    return code
