"""Colour parsing and contrast maths for QR designs.

Owns the one hex-colour syntax the QR studio accepts (``#rgb`` / ``#rrggbb``, case-insensitive,
normalised to lower-case ``#rrggbb``) and the WCAG 2.x relative-luminance and contrast-ratio
formulas used by design validation and print QA.
"""

from __future__ import annotations

import re

__all__ = [
    "ColorError",
    "contrast_ratio",
    "normalize_hex",
    "parse_hex",
    "relative_luminance",
    "rgb_to_hex",
]

_HEX_RE = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")

RGB = tuple[int, int, int]


class ColorError(ValueError):
    """Raised for a colour that is not ``#rgb`` or ``#rrggbb``."""


def normalize_hex(value: str) -> str:
    """Return ``value`` as lower-case ``#rrggbb``; raise :class:`ColorError` if it is not hex."""
    if not isinstance(value, str) or not _HEX_RE.fullmatch(value.strip()):
        raise ColorError(f"{value!r} is not a hex colour like #1a2b3c")
    v = value.strip().lower()
    if len(v) == 4:
        v = "#" + "".join(ch * 2 for ch in v[1:])
    return v


def parse_hex(value: str) -> RGB:
    """Parse ``#rgb`` / ``#rrggbb`` into an (r, g, b) tuple of 0–255 ints."""
    v = normalize_hex(value)
    return int(v[1:3], 16), int(v[3:5], 16), int(v[5:7], 16)


def rgb_to_hex(rgb: RGB) -> str:
    """Format an (r, g, b) tuple as ``#rrggbb``."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _linear(channel: int) -> float:
    c = channel / 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str | RGB) -> float:
    """WCAG 2.x relative luminance (0 = black, 1 = white) of a hex colour or RGB tuple."""
    r, g, b = parse_hex(color) if isinstance(color, str) else color
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(a: str | RGB, b: str | RGB) -> float:
    """WCAG contrast ratio ``(L1 + 0.05) / (L2 + 0.05)`` between two colours (1.0 … 21.0)."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)
