"""PNG output: Pillow for plain designs, cairo for styled scenes.

Owns rasterisation. Measured at 512 px (``bench/qr/bench_render.py`` and the module notes in
``render.py``):

* plain designs (square modules and eyes, no logo/frame/caption) are drawn with Pillow at one
  pixel per module and scaled up with nearest-neighbour: crisp edges, ≈ 1 ms;
* styled designs draw the :class:`~scanroute.qr.styling.Scene` paths straight onto a cairo
  surface (the same path data the SVG carries, so both outputs match), and only the overlay
  (logo, caption) goes through cairosvg; ≈ 3× faster than rasterising the whole SVG with
  cairosvg, whose Python path parser dominates for rounded and dotted modules.

``size_mm`` designs carry their dpi in the PNG (pHYs).
"""

from __future__ import annotations

import importlib
import io
import re
from typing import Any

from PIL import Image

from scanroute.qr.design import QrDesign
from scanroute.qr.styling import Scene, scene_svg

__all__ = ["draw_path", "png_plain", "png_scene"]

# cairocffi is cairosvg's own binding (always installed with it); imported dynamically because it
# ships no type information.
cairo: Any = importlib.import_module("cairocffi")

_CMD = re.compile(r"([MHVhvcz])([^MHVhvcz]*)")
_COMPRESS = 6


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return int(hex_color[1:3], 16), int(hex_color[3:5], 16), int(hex_color[5:7], 16)


def png_plain(matrix: tuple[bytearray, ...], design: QrDesign, width: int) -> bytes:
    """A plain design: one pixel per module, nearest-neighbour scaled to ``width``."""
    n, q = len(matrix), design.quiet_zone
    side = n + 2 * q
    buf = bytearray(side * side)
    for y, row in enumerate(matrix):
        off = (y + q) * side + q
        buf[off : off + n] = row
    img = Image.frombytes("P", (side, side), bytes(buf))
    light = (255, 255, 255) if design.light == "transparent" else _rgb(design.light)
    img.putpalette([*light, *_rgb(design.dark)])
    img = img.resize((width, width), Image.Resampling.NEAREST)
    return _save(img, design, transparency=0 if design.light == "transparent" else None)


def draw_path(ctx: Any, d: str) -> None:
    """Trace SVG path data (the ``M H V h v c z`` subset our styling emits) on a cairo context."""
    x = y = sx = sy = 0.0
    for cmd, args in _CMD.findall(d):
        v = [float(t) for t in args.replace("-", " -").split()]
        if cmd == "M":
            x, y = v[0], v[1]
            sx, sy = x, y
            ctx.move_to(x, y)
        elif cmd == "h":
            x += v[0]
            ctx.line_to(x, y)
        elif cmd == "v":
            y += v[0]
            ctx.line_to(x, y)
        elif cmd == "H":
            x = v[0]
            ctx.line_to(x, y)
        elif cmd == "V":
            y = v[0]
            ctx.line_to(x, y)
        elif cmd == "c":
            for i in range(0, len(v), 6):
                ctx.rel_curve_to(*v[i : i + 6])
                x += v[i + 4]
                y += v[i + 5]
        else:  # z
            ctx.close_path()
            x, y = sx, sy


def _fill(ctx: Any, color: str, d: str, *, evenodd: bool) -> None:
    r, g, b = _rgb(color)
    ctx.set_source_rgb(r / 255, g / 255, b / 255)
    ctx.set_fill_rule(cairo.FILL_RULE_EVEN_ODD if evenodd else cairo.FILL_RULE_WINDING)
    draw_path(ctx, d)
    ctx.fill()


def png_scene(scene: Scene, design: QrDesign, width: int) -> bytes:
    """Rasterise a styled scene ``width`` pixels wide (height follows the layout)."""
    lay = scene.layout
    height = max(1, round(width * lay.height / lay.width))
    surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, width, height)
    ctx = cairo.Context(surface)
    ctx.scale(width / lay.width, height / lay.height)
    if scene.background:
        r, g, b = _rgb(scene.background)
        ctx.set_source_rgb(r / 255, g / 255, b / 255)
        ctx.rectangle(0, 0, lay.width, lay.height)
        ctx.fill()
    if scene.frame:
        _fill(ctx, *scene.frame, evenodd=True)
    ctx.translate(lay.symbol_origin, lay.symbol_origin)
    _fill(ctx, *scene.modules, evenodd=False)
    if scene.eyes:
        _fill(ctx, *scene.eyes, evenodd=True)
    if scene.overlay:
        from cairosvg.parser import Tree
        from cairosvg.surface import PNGSurface

        tree = Tree(bytestring=scene_svg(scene, overlay_only=True).encode("utf-8"))
        overlay = PNGSurface(tree, None, 96, output_width=width, output_height=height)
        ctx.identity_matrix()
        ctx.set_source_surface(overlay.cairo, 0, 0)
        ctx.paint()
    surface.flush()
    img = Image.frombuffer("RGBA", (width, height), bytes(surface.get_data()), "raw", "BGRa", 0, 1)
    if scene.background:
        img = img.convert("RGB")
    return _save(img, design)


def _save(img: Image.Image, design: QrDesign, transparency: int | None = None) -> bytes:
    out = io.BytesIO()
    kwargs: dict[str, Any] = {"compress_level": _COMPRESS}
    if transparency is not None:
        kwargs["transparency"] = transparency
    if design.size_mm is not None:
        kwargs["dpi"] = (design.dpi, design.dpi)
    img.save(out, "PNG", **kwargs)
    return out.getvalue()
