"""Printable label sheets: many QR codes with captions on A4/Letter pages, as one PDF.

Owns :class:`Label` and :func:`label_sheet`. Cells are laid out in a grid of ``columns`` ×
``rows`` inside ``margin_mm`` with ``gutter_mm`` between cells; each cell holds the code (vector
rectangles for plain designs, a PNG rendered at ≥ 600 dpi for styled ones) and its caption under
it in DejaVu Sans (Helvetica if the font is missing, which cannot show non-Latin-1 text). Crop
marks are drawn outside each cell, never reaching into a neighbour. Extra labels flow onto new
pages. Output is deterministic (reportlab's invariant mode).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import FILL_NON_ZERO, Canvas

from scanroute.qr.design import QrDesign
from scanroute.qr.render import encode, render_symbol
from scanroute.qr.styling import FONT_PATHS, compute_layout

__all__ = ["PAPER_SIZES", "Label", "Paper", "SheetError", "label_sheet"]

Paper = Literal["A4", "Letter"]
PAPER_SIZES: dict[str, tuple[float, float]] = {"A4": A4, "Letter": LETTER}
_RASTER_DPI = 600
_CROP_LEN = 3 * mm
_CROP_OFFSET = 1 * mm


class SheetError(ValueError):
    """The sheet layout cannot be built (too many columns for the paper, bad margins, …)."""


@dataclass(frozen=True)
class Label:
    """One label: the encoded ``content``, an optional caption and an optional design."""

    content: str
    caption: str | None = None
    design: QrDesign | None = None


@lru_cache(maxsize=1)
def _font_name() -> str:
    for path in FONT_PATHS:
        if Path(path).exists():
            try:
                pdfmetrics.registerFont(TTFont("DejaVuSans", path))
                return "DejaVuSans"
            except (OSError, TTFError):
                continue
    return "Helvetica"


def _draw_vector(c: Canvas, content: str, design: QrDesign, x: float, y: float, side: float) -> None:
    """Draw a plain design as filled rectangles (one path for all dark modules)."""
    symbol = encode(content, design.effective_ecc)
    n, q = symbol.size, design.quiet_zone
    unit = side / (n + 2 * q)
    if design.light != "transparent":
        c.setFillColor(design.light)
        c.rect(x, y, side, side, stroke=0, fill=1)
    c.setFillColor(design.dark)
    path = c.beginPath()
    top = y + side - q * unit
    for r, row in enumerate(symbol.matrix):
        start = -1
        for col in range(n + 1):
            dark = col < n and row[col]
            if dark and start < 0:
                start = col
            elif not dark and start >= 0:
                path.rect(x + (q + start) * unit, top - (r + 1) * unit, (col - start) * unit, unit)
                start = -1
    c.drawPath(path, stroke=0, fill=1, fillMode=FILL_NON_ZERO)


def _draw_raster(c: Canvas, content: str, design: QrDesign, x: float, y: float, side: float) -> None:
    """Draw a styled design as a ≥ 600 dpi PNG, fitted into the square and top-aligned."""
    symbol = encode(content, design.effective_ecc)
    lay = compute_layout(symbol.size, design)
    aspect = lay.height / lay.width
    w = min(side, side / aspect)
    h = w * aspect
    px = min(4000, max(300, round(w / 72 * _RASTER_DPI)))
    png = render_symbol(symbol, design, "png", pixel_width=px)
    c.drawImage(ImageReader(io.BytesIO(png)), x + (side - w) / 2, y + side - h, w, h, mask="auto")


def _fit_caption(text: str, font: str, max_w: float, size: float) -> tuple[str, float]:
    while size > 5 and pdfmetrics.stringWidth(text, font, size) > max_w:
        size -= 0.5
    while len(text) > 1 and pdfmetrics.stringWidth(text, font, size) > max_w:
        text = text[:-2] + "…"
    return text, size


def _crop_marks(
    c: Canvas, x: float, y: float, w: float, h: float, room: tuple[float, float, float, float]
) -> None:
    """Marks at the four corners pointing outward; ``room`` = space left, right, below, above."""
    left, right, below, above = room
    c.setStrokeColor("#000000")
    c.setLineWidth(0.25)
    for cx, sx, hroom in ((x, -1, left), (x + w, 1, right)):
        for cy, sy, vroom in ((y, -1, below), (y + h, 1, above)):
            horiz = min(_CROP_LEN, hroom - _CROP_OFFSET)
            vert = min(_CROP_LEN, vroom - _CROP_OFFSET)
            if horiz >= 0.5 * mm:
                start = cx + sx * _CROP_OFFSET
                c.line(start, cy, start + sx * horiz, cy)
            if vert >= 0.5 * mm:
                start = cy + sy * _CROP_OFFSET
                c.line(cx, start, cx, start + sy * vert)


def label_sheet(
    labels: Sequence[Label],
    *,
    paper: Paper = "A4",
    columns: int = 3,
    rows: int = 8,
    margin_mm: float = 10.0,
    gutter_mm: float = 4.0,
    crop_marks: bool = True,
    design: QrDesign | None = None,
    title: str = "scanroute labels",
) -> bytes:
    """Lay ``labels`` out on as many pages as needed and return the PDF bytes.

    ``design`` applies to labels that carry none (default: a plain black-on-white code).
    """
    if paper not in PAPER_SIZES:
        raise SheetError(f"paper must be one of {', '.join(PAPER_SIZES)}")
    if not labels:
        raise SheetError("no labels to print")
    if not (1 <= columns <= 12 and 1 <= rows <= 24):
        raise SheetError("columns must be 1–12 and rows 1–24")
    if margin_mm < 0 or gutter_mm < 0:
        raise SheetError("margin_mm and gutter_mm must not be negative")
    page_w, page_h = PAPER_SIZES[paper]
    margin, gutter = margin_mm * mm, gutter_mm * mm
    cell_w = (page_w - 2 * margin - (columns - 1) * gutter) / columns
    cell_h = (page_h - 2 * margin - (rows - 1) * gutter) / rows
    if cell_w < 15 * mm or cell_h < 15 * mm:
        raise SheetError(
            f"cells would be {cell_w / mm:.1f} × {cell_h / mm:.1f} mm; at least 15 × 15 mm needed"
        )
    default = design or QrDesign()
    font = _font_name()
    has_captions = any(lb.caption for lb in labels)
    cap_h = min(7 * mm, cell_h * 0.2) if has_captions else 0.0
    pad = 1 * mm
    side = min(cell_w, cell_h - cap_h) - 2 * pad
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(page_w, page_h), invariant=True)
    c.setTitle(title)
    c.setCreator("scanroute")
    per_page = columns * rows
    for i, label in enumerate(labels):
        if i and i % per_page == 0:
            c.showPage()
        slot = i % per_page
        col, row = slot % columns, slot // columns
        x = margin + col * (cell_w + gutter)
        y = page_h - margin - (row + 1) * cell_h - row * gutter
        d = label.design or default
        qx = x + (cell_w - side) / 2
        qy = y + cap_h + pad + (cell_h - cap_h - 2 * pad - side)
        if d.is_plain:
            _draw_vector(c, label.content, d, qx, qy, side)
        else:
            _draw_raster(c, label.content, d, qx, qy, side)
        if label.caption:
            text, size = _fit_caption(label.caption, font, cell_w - 2 * pad, min(10.0, cap_h * 0.6))
            c.setFillColor("#000000")
            c.setFont(font, size)
            c.drawCentredString(x + cell_w / 2, y + cap_h / 2 - size * 0.35 + pad / 2, text)
        if crop_marks:
            half = gutter / 2
            room = (
                margin if col == 0 else half,
                margin if col == columns - 1 else half,
                margin if row == rows - 1 else half,
                margin if row == 0 else half,
            )
            _crop_marks(c, x, y, cell_w, cell_h, room)
    c.showPage()
    c.save()
    return buf.getvalue()
