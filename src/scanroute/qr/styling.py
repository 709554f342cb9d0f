"""The SVG styling layer drawn over segno's module matrix.

Owns the geometry of a styled code in module units: the layout (quiet zone, frame, caption band),
module paths (merged row runs for squares, corner-aware rounded modules, dots), finder-pattern
"eyes" (square, rounded, circle), the cleared logo square with its light pad, and the caption
text. :func:`build_scene` computes these layers once (:class:`Scene`); :func:`scene_svg` writes
them as SVG and ``raster.py`` draws the very same path data with cairo, so SVG and PNG match.

All module shapes of one colour go into a single ``<path>`` so rasterisers compute coverage on the
union (no hairline seams between neighbouring modules). Curves are cubic Béziers, not SVG arcs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from scanroute.qr.design import QrDesign

__all__ = [
    "CAPTION_FONT_FAMILY",
    "FONT_PATHS",
    "Layout",
    "Scene",
    "build_scene",
    "build_svg",
    "caption_em_width",
    "compute_layout",
    "logo_square",
    "scene_svg",
]

Matrix = Sequence[bytes | bytearray]

FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
CAPTION_FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif"
_RUN = re.compile(rb"\x01+")
_ROUND_R = 0.5  # corner radius of rounded modules, in modules
_DOT_R = 0.45  # dot radius, in modules


@dataclass(frozen=True)
class Layout:
    """Positions in module units: image size, code origin, frame and caption band."""

    n: int  # symbol modules per side
    quiet: int
    frame: float  # frame border thickness (0 without a frame)
    caption_h: float  # height of the caption band (0 without caption or banner)
    width: float
    height: float

    @property
    def code_width(self) -> float:
        """Width of the symbol plus quiet zone."""
        return self.n + 2 * self.quiet

    @property
    def symbol_origin(self) -> float:
        """x (and y) of the symbol's top-left module."""
        return self.frame + self.quiet

    @property
    def caption_top(self) -> float:
        """y of the top of the caption band."""
        return self.frame + self.code_width


def compute_layout(n: int, design: QrDesign) -> Layout:
    """Lay out a symbol of ``n`` modules per side with the design's quiet zone and frame."""
    code_w = n + 2 * design.quiet_zone
    t = 0.0 if design.frame == "none" else max(1.0, round(code_w / 30, 2))
    cap = round(max(3.0, code_w * 0.14), 2) if design.caption or design.frame == "banner" else 0.0
    return Layout(n, design.quiet_zone, t, cap, code_w + 2 * t, code_w + cap + 2 * t)


def logo_square(n: int, scale: float) -> tuple[int, int]:
    """(first module, side) of the centred logo square: the largest odd side ≤ scale·n."""
    k = max(1, int(scale * n + 1e-9))
    if k % 2 == 0:
        k -= 1
    k = max(1, k)
    return (n - k) // 2, k


@lru_cache(maxsize=1)
def _font() -> object | None:
    from PIL import ImageFont

    for path in FONT_PATHS:
        if Path(path).exists():
            try:
                return ImageFont.truetype(path, 100)
            except OSError:  # pragma: no cover - broken font file
                continue
    return None


@lru_cache(maxsize=512)
def caption_em_width(text: str) -> float:
    """Width of ``text`` in em at DejaVu Sans metrics (0.6 em per character without the font)."""
    font = _font()
    if font is None:
        return 0.6 * len(text)
    from PIL import ImageFont

    assert isinstance(font, ImageFont.FreeTypeFont)
    return float(font.getlength(text)) / 100.0


def _num(x: float) -> str:
    if x == int(x):
        return str(int(x))
    return f"{x:.3f}".rstrip("0").rstrip(".")


# -- module paths ----------------------------------------------------------------------------
def _square_path(rows: Matrix) -> str:
    parts: list[str] = []
    add = parts.append
    for y, row in enumerate(rows):
        for m in _RUN.finditer(row):
            s, e = m.span()
            add(f"M{s} {y}h{e - s}v1h{s - e}z")
    return "".join(parts)


_KAPPA = 0.5522847498  # cubic Bézier handle length for a quarter circle


def _corner(r: float, d1: tuple[int, int], d2: tuple[int, int]) -> str:
    """Relative cubic Bézier for a quarter circle of radius r turning from d1 to d2.

    Béziers instead of SVG arcs: identical look, and cairosvg parses them ~3× faster.
    """
    k = _KAPPA * r
    pts = (
        (d1[0] * k, d1[1] * k),
        (d1[0] * r + d2[0] * (r - k), d1[1] * r + d2[1] * (r - k)),
        (d1[0] * r + d2[0] * r, d1[1] * r + d2[1] * r),
    )
    return "c" + " ".join(f"{_num(px)} {_num(py)}" for px, py in pts)


_RIGHT, _DOWN, _LEFT, _UP = (1, 0), (0, 1), (-1, 0), (0, -1)
_R = _ROUND_R
_C_TR, _C_BR = _corner(_R, _RIGHT, _DOWN), _corner(_R, _DOWN, _LEFT)
_C_BL, _C_TL = _corner(_R, _LEFT, _UP), _corner(_R, _UP, _RIGHT)


def _rounded_path(rows: Matrix) -> str:
    """Modules with a corner rounded wherever neither neighbour touching that corner is dark."""
    n = len(rows)
    r = _R
    parts: list[str] = []
    add = parts.append
    for y, row in enumerate(rows):
        up = rows[y - 1] if y > 0 else None
        down = rows[y + 1] if y + 1 < n else None
        for x in range(n):
            if not row[x]:
                continue
            u = bool(up and up[x])
            d = bool(down and down[x])
            left = x > 0 and bool(row[x - 1])
            right = x + 1 < n and bool(row[x + 1])
            if (u and d) or (left and right):
                add(f"M{x} {y}h1v1h-1z")
                continue
            tl = r if not (u or left) else 0.0
            tr = r if not (u or right) else 0.0
            br = r if not (d or right) else 0.0
            bl = r if not (d or left) else 0.0
            seg = [f"M{_num(x + tl)} {y}"]
            if 1 - tl - tr:
                seg.append(f"h{_num(1 - tl - tr)}")
            if tr:
                seg.append(_C_TR)
            if 1 - tr - br:
                seg.append(f"v{_num(1 - tr - br)}")
            if br:
                seg.append(_C_BR)
            if 1 - br - bl:
                seg.append(f"h-{_num(1 - br - bl)}")
            if bl:
                seg.append(_C_BL)
            if 1 - bl - tl:
                seg.append(f"v-{_num(1 - bl - tl)}")
            if tl:
                seg.append(_C_TL)
            seg.append("z")
            add("".join(seg))
    return "".join(parts)


def _circle(cx: float, cy: float, r: float) -> str:
    """A full circle as four Bézier quarters, clockwise from the leftmost point."""
    return (
        f"M{_num(cx - r)} {_num(cy)}{_corner(r, _UP, _RIGHT)}{_corner(r, _RIGHT, _DOWN)}"
        f"{_corner(r, _DOWN, _LEFT)}{_corner(r, _LEFT, _UP)}z"
    )


def _dot_path(rows: Matrix) -> str:
    tail = _circle(0.0, 0.0, _DOT_R)[len(f"M{_num(-_DOT_R)} 0") :]
    off = 0.5 - _DOT_R
    parts: list[str] = []
    add = parts.append
    for y, row in enumerate(rows):
        cy = f" {_num(y + 0.5)}"
        for x, v in enumerate(row):
            if v:
                add(f"M{_num(x + off)}{cy}{tail}")
    return "".join(parts)


def _rrect(x: float, y: float, w: float, h: float, r: float) -> str:
    return (
        f"M{_num(x + r)} {_num(y)}h{_num(w - 2 * r)}{_corner(r, _RIGHT, _DOWN)}v{_num(h - 2 * r)}"
        f"{_corner(r, _DOWN, _LEFT)}h-{_num(w - 2 * r)}{_corner(r, _LEFT, _UP)}v-{_num(h - 2 * r)}"
        f"{_corner(r, _UP, _RIGHT)}z"
    )


def _eye_path(n: int, shape: str) -> str:
    parts: list[str] = []
    for ex, ey in ((0, 0), (n - 7, 0), (0, n - 7)):
        if shape == "circle":
            c = (ex + 3.5, ey + 3.5)
            parts += [_circle(*c, 3.5), _circle(*c, 2.5), _circle(*c, 1.5)]
        elif shape == "rounded":
            parts += [
                _rrect(ex, ey, 7, 7, 2.2),
                _rrect(ex + 1, ey + 1, 5, 5, 1.2),
                _rrect(ex + 2, ey + 2, 3, 3, 0.9),
            ]
        else:
            parts.append(f"M{ex} {ey}h7v7h-7zM{ex + 1} {ey + 1}v5h5v-5zM{ex + 2} {ey + 2}h3v3h-3z")
    return "".join(parts)


def _masked(matrix: Matrix, *, clear_eyes: bool, logo: tuple[int, int] | None) -> Matrix:
    if not clear_eyes and logo is None:
        return matrix
    n = len(matrix)
    rows = [bytearray(r) for r in matrix]
    if clear_eyes:
        blank = bytes(7)
        for y in range(7):
            rows[y][0:7] = blank
            rows[y][n - 7 : n] = blank
            rows[n - 7 + y][0:7] = blank
    if logo is not None:
        start, k = logo
        blank = bytes(k)
        for y in range(start, start + k):
            rows[y][start : start + k] = blank
    return rows


# -- document --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scene:
    """A styled code as layers in module units, shared by the SVG writer and the rasteriser.

    Paths are SVG path data using only ``M H V h v c z``; ``modules`` and ``eyes`` are drawn
    translated by ``layout.symbol_origin``. ``overlay`` holds SVG elements (logo pad and image,
    caption) drawn last.
    """

    layout: Layout
    size_attrs: str
    background: str | None
    frame: tuple[str, str] | None  # (fill, path) even-odd
    modules: tuple[str, str]  # (fill, path) non-zero
    eyes: tuple[str, str] | None  # (fill, path) even-odd
    overlay: str


def build_scene(matrix: Matrix, design: QrDesign) -> Scene:
    """Compute every layer of a styled code for a module ``matrix`` (rows of 0/1 bytes)."""
    n = len(matrix)
    lay = compute_layout(n, design)
    w, h = lay.width, lay.height
    if design.size_mm is not None:
        size = f'width="{_num(design.size_mm)}mm" height="{_num(design.size_mm * h / w)}mm"'
    else:
        px = design.pixel_width
        size = f'width="{px}" height="{_num(px * h / w)}"'
    frame = None
    t = lay.frame
    if t:
        inner_h = lay.code_width + (0 if design.frame == "banner" else lay.caption_h)
        outer = f"M0 0H{_num(w)}V{_num(h)}H0z"
        inner = f"M{_num(t)} {_num(t)}v{_num(inner_h)}h{_num(lay.code_width)}V{_num(t)}z"
        frame = (design.frame_fill, outer + inner)
    logo = logo_square(n, design.logo_scale) if design.logo else None
    # square eyes in the module colour stay part of the square module path; any other style
    # draws the finder patterns whole (a finder made of dots is not found by scanners)
    plain_eyes = (
        design.module_shape == "square" and design.eye_shape == "square" and design.eye_fill == design.dark
    )
    rows = _masked(matrix, clear_eyes=not plain_eyes, logo=logo)
    if design.module_shape == "rounded":
        d = _rounded_path(rows)
    elif design.module_shape == "dot":
        d = _dot_path(rows)
    else:
        d = _square_path(rows)
    eyes = None if plain_eyes else (design.eye_fill, _eye_path(n, design.eye_shape))
    overlay: list[str] = []
    if design.logo is not None and logo is not None:
        start, k = logo
        x0 = lay.symbol_origin + start
        rx = min(1.0, k * 0.15)
        inset = min(0.5, k * 0.1)
        overlay.append(
            f'<rect x="{_num(x0)}" y="{_num(x0)}" width="{k}" height="{k}" rx="{_num(rx)}" '
            f'fill="{design.paper_color}"/>'
            f'<image x="{_num(x0 + inset)}" y="{_num(x0 + inset)}" width="{_num(k - 2 * inset)}" '
            f'height="{_num(k - 2 * inset)}" preserveAspectRatio="xMidYMid meet" '
            f'xlink:href="{design.logo.data_uri}"/>'
        )
    if design.caption:
        cap_top, cap_h = lay.caption_top, lay.caption_h
        fs = min(cap_h * 0.6, 0.92 * lay.code_width / max(caption_em_width(design.caption), 0.5))
        baseline = cap_top + cap_h / 2 + 0.36 * fs
        overlay.append(
            f'<text x="{_num(w / 2)}" y="{_num(baseline)}" font-family={quoteattr(CAPTION_FONT_FAMILY)} '
            f'font-size="{_num(fs)}" fill="{design.caption_fill}" text-anchor="middle">'
            f"{escape(design.caption)}</text>"
        )
    background = None if design.light == "transparent" else design.light
    return Scene(lay, size, background, frame, (design.dark, d), eyes, "".join(overlay))


def scene_svg(scene: Scene, *, overlay_only: bool = False) -> str:
    """Serialise a scene as an SVG document (``overlay_only``: just the overlay elements)."""
    lay = scene.layout
    w, h = _num(lay.width), _num(lay.height)
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'version="1.1" {scene.size_attrs} viewBox="0 0 {w} {h}">'
    ]
    if not overlay_only:
        if scene.background:
            out.append(f'<rect width="{w}" height="{h}" fill="{scene.background}"/>')
        if scene.frame:
            out.append(f'<path fill="{scene.frame[0]}" fill-rule="evenodd" d="{scene.frame[1]}"/>')
        o = _num(lay.symbol_origin)
        move = f' transform="translate({o} {o})"'
        out.append(f'<path fill="{scene.modules[0]}"{move} d="{scene.modules[1]}"/>')
        if scene.eyes:
            out.append(f'<path fill="{scene.eyes[0]}" fill-rule="evenodd"{move} d="{scene.eyes[1]}"/>')
    out.append(scene.overlay)
    out.append("</svg>")
    return "".join(out)


def build_svg(matrix: Matrix, design: QrDesign) -> str:
    """Return the SVG document for a module ``matrix`` (rows of 0/1 bytes) and a design."""
    return scene_svg(build_scene(matrix, design))
