"""Render a QR code with a design to SVG, PNG, PDF or EPS bytes, with an in-process LRU cache.

Owns encoding (segno, never Micro QR, UTF-8 for non-ASCII text), the choice of raster/vector
route per format, physical-size metadata, and :class:`RenderCache`.

Routes (measured in ``bench/qr/bench_render.py``):

* SVG — our own layer (``styling.build_svg``) over segno's module matrix, every design.
* PNG — ``raster.py``: Pillow for plain designs (≈20× faster than rasterising the SVG), the
  scene's paths drawn with cairo for styled ones. ``size_mm`` designs carry their dpi (pHYs).
* PDF — cairosvg's vector PDF of the same SVG (size from ``size_mm``, else CSS px at 96/inch).
* EPS — plain designs use segno's own EPS writer; styled designs use cairo's EPS surface via
  cairosvg, which supports everything the SVG does (shapes, eye colours, frames and captions with
  an embedded font; PNG logos are embedded as images, SVG logos stay vector).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal, cast, get_args

import segno

from scanroute.qr.design import Ecc, QrDesign
from scanroute.qr.raster import png_plain, png_scene
from scanroute.qr.styling import build_scene, build_svg

__all__ = [
    "FORMATS",
    "MIME_TYPES",
    "Format",
    "RenderCache",
    "RenderError",
    "Symbol",
    "encode",
    "render",
    "render_symbol",
]

Format = Literal["svg", "png", "pdf", "eps"]
FORMATS: tuple[Format, ...] = get_args(Format)
MIME_TYPES: dict[Format, str] = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "pdf": "application/pdf",
    "eps": "application/postscript",
}


class RenderError(ValueError):
    """The content cannot be encoded (e.g. too long for a QR code at the ECC level)."""


@dataclass(frozen=True)
class Symbol:
    """An encoded QR symbol: module rows (0/1 bytes), version and the ECC level used."""

    matrix: tuple[bytearray, ...]
    version: int
    ecc: Ecc
    qr: segno.QRCode = field(repr=False, compare=False)

    @property
    def size(self) -> int:
        """Modules per side (without quiet zone)."""
        return len(self.matrix)


def encode(content: str, ecc: Ecc) -> Symbol:
    """Encode ``content`` as a (non-Micro) QR symbol at ``ecc`` or better.

    segno raises the level for free when it fits the same version (``boost_error``). Non-ASCII
    text is encoded as UTF-8 in byte mode without an ECI header, which phone readers expect.
    """
    if not isinstance(content, str) or content == "":
        raise RenderError("content must be a non-empty string")
    try:
        encoding = None if content.isascii() else "utf-8"
        qr = segno.make(content, error=ecc, micro=False, boost_error=True, encoding=encoding)
    except segno.DataOverflowError as exc:
        raise RenderError(f"content is too long for a QR code at error correction {ecc}") from exc
    return Symbol(matrix=qr.matrix, version=int(qr.version), ecc=cast(Ecc, qr.error.upper()), qr=qr)


def render(content: str, design: QrDesign, fmt: Format) -> bytes:
    """Render ``content`` with ``design`` as ``fmt`` (svg, png, pdf or eps) and return the bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return render_symbol(encode(content, design.effective_ecc), design, fmt)


def render_symbol(symbol: Symbol, design: QrDesign, fmt: Format, *, pixel_width: int | None = None) -> bytes:
    """Render an already encoded symbol; ``pixel_width`` overrides the PNG width."""
    if fmt == "svg":
        return build_svg(symbol.matrix, design).encode("utf-8")
    if fmt == "png":
        width = pixel_width or design.pixel_width
        if design.is_plain:
            return png_plain(symbol.matrix, design, width)
        return png_scene(build_scene(symbol.matrix, design), design, width)
    import cairosvg

    if fmt == "pdf":
        return bytes(cairosvg.svg2pdf(bytestring=build_svg(symbol.matrix, design).encode()))
    if fmt == "eps":
        if design.is_plain:
            return _eps_segno(symbol, design)
        return bytes(cairosvg.svg2eps(bytestring=build_svg(symbol.matrix, design).encode()))
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


# -- vector -----------------------------------------------------------------------------------
def _eps_segno(symbol: Symbol, design: QrDesign) -> bytes:
    side = symbol.size + 2 * design.quiet_zone
    width_pt = design.size_mm / 25.4 * 72 if design.size_mm is not None else design.pixel_width * 0.75
    out = io.StringIO()
    light = None if design.light == "transparent" else design.light
    symbol.qr.save(
        out, kind="eps", scale=width_pt / side, border=design.quiet_zone, dark=design.dark, light=light
    )
    return out.getvalue().encode("ascii")


# -- cache --------------------------------------------------------------------------------------
class RenderCache:
    """Thread-safe in-process LRU of rendered images keyed by ``cache_key`` + format.

    Bounded by entry count and total bytes; ``hits`` / ``misses`` count lookups.
    """

    def __init__(self, max_entries: int = 1024, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._bytes = 0
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        """Total bytes held."""
        return self._bytes

    @property
    def hit_rate(self) -> float:
        """Hits / lookups (0.0 before the first lookup)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def get(self, key: str, fmt: Format) -> bytes | None:
        """Cached bytes for (key, fmt), marking them recently used; ``None`` on a miss."""
        with self._lock:
            data = self._items.get((key, fmt))
            if data is None:
                self.misses += 1
                return None
            self._items.move_to_end((key, fmt))
            self.hits += 1
            return data

    def put(self, key: str, fmt: Format, data: bytes) -> None:
        """Store bytes, evicting least recently used entries beyond the bounds."""
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop((key, fmt), None)
            if old is not None:
                self._bytes -= len(old)
            self._items[(key, fmt)] = data
            self._bytes += len(data)
            while self._items and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted)

    def render(self, content: str, design: QrDesign, fmt: Format) -> bytes:
        """Return the cached rendering, rendering and storing it on a miss."""
        key = design.cache_key(content)
        data = self.get(key, fmt)
        if data is None:
            data = render(content, design, fmt)
            self.put(key, fmt, data)
        return data

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self.hits = self.misses = 0
