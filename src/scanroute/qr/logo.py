"""Logos for QR designs: PNG or SVG bytes, validated, digested, and parsed from JSON-like input.

Owns :class:`Logo` and :func:`parse_logo`. Validation keeps untrusted files harmless: at most
512 KB; PNGs must open with Pillow and stay under 4096 × 4096 pixels; SVGs must be well-formed XML
with an ``<svg>`` root and no DOCTYPE/entity declarations. SVG logos are only ever embedded as
``data:`` images (browsers run no scripts there) and rasterised by cairosvg in its safe mode
(``data:`` URLs only, no external files).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, get_args

from scanroute.qr.errors import DesignError

__all__ = ["MAX_LOGO_BYTES", "Logo", "LogoLoader", "LogoMime", "parse_logo"]

LogoMime = Literal["image/png", "image/svg+xml"]
#: Resolves a logo reference (asset id) to (bytes, mime).
LogoLoader = Callable[[str], tuple[bytes, str]]

MAX_LOGO_BYTES = 512 * 1024
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_MIME_ALIASES: Mapping[str, LogoMime] = {
    "image/png": "image/png",
    "png": "image/png",
    "image/svg+xml": "image/svg+xml",
    "svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Logo:
    """Logo bytes (PNG or SVG) and an optional reference (asset id) they were loaded from."""

    data: bytes = field(repr=False)
    mime: LogoMime
    ref: str | None = None

    def __post_init__(self) -> None:
        _validate_logo(self.data, self.mime)

    @cached_property
    def digest(self) -> str:
        """SHA-256 hex digest of the logo bytes (part of the cache key)."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def data_uri(self) -> str:
        """The logo as a ``data:`` URI for embedding in SVG."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def _validate_logo(data: bytes, mime: str) -> None:
    if mime not in get_args(LogoMime):
        raise DesignError("logo.mime", f"must be image/png or image/svg+xml, not {mime!r}")
    if not data:
        raise DesignError("logo.data", "is empty")
    if len(data) > MAX_LOGO_BYTES:
        raise DesignError("logo.data", f"is {len(data)} bytes; the limit is {MAX_LOGO_BYTES}")
    if mime == "image/png":
        if not data.startswith(_PNG_MAGIC):
            raise DesignError("logo.data", "is not a PNG file")
        from PIL import Image

        try:
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > 4096 * 4096:
                    raise DesignError("logo.data", "PNG is larger than 4096×4096 pixels")
                im.verify()
        except DesignError:
            raise
        except Exception as exc:
            raise DesignError("logo.data", f"PNG cannot be read ({exc})") from exc
    else:
        if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
            raise DesignError("logo.data", "SVG must not contain a DOCTYPE or entity declarations")
        try:
            root = ET.fromstring(data)  # noqa: S314 - expat: no external entities, bomb-guarded
        except ET.ParseError as exc:
            raise DesignError("logo.data", f"SVG is not well-formed XML ({exc})") from exc
        if root.tag not in ("svg", "{http://www.w3.org/2000/svg}svg"):
            raise DesignError("logo.data", "SVG root element is not <svg>")


def parse_logo(value: object, loader: LogoLoader | None = None) -> Logo:
    """Build a :class:`Logo` from ``{"mime", "data"}`` (base64 or bytes) or ``{"ref"}`` + loader."""
    if isinstance(value, Logo):
        return value
    if not isinstance(value, Mapping):
        raise DesignError("logo", "must be an object with mime and data, or a ref")
    ref = value.get("ref")
    raw = value.get("data")
    if ref is not None and not isinstance(ref, str):
        raise DesignError("logo.ref", "must be a string")
    mime_in = value.get("mime")
    if raw is None:
        if ref is None:
            raise DesignError("logo.data", "is required (or a ref with a logo loader)")
        if loader is None:
            raise DesignError("logo.ref", "cannot be resolved: no logo loader configured")
        try:
            raw, mime_in = loader(ref)
        except (KeyError, LookupError, OSError) as exc:
            raise DesignError("logo.ref", f"cannot be loaded ({exc})") from exc
    mime = _MIME_ALIASES.get(str(mime_in).lower()) if mime_in is not None else None
    if mime is None:
        raise DesignError("logo.mime", f"must be image/png or image/svg+xml, not {mime_in!r}")
    if isinstance(raw, str):
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DesignError("logo.data", "is not valid base64") from exc
    elif isinstance(raw, bytes | bytearray | memoryview):
        data = bytes(raw)
    else:
        raise DesignError("logo.data", "must be base64 text or bytes")
    digest = value.get("sha256")
    if isinstance(digest, str) and digest != hashlib.sha256(data).hexdigest():
        raise DesignError("logo.sha256", "does not match the logo data")
    return Logo(data=data, mime=mime, ref=ref)
