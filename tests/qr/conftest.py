"""Shared helpers for the QR tests: decoding, and a tiny vector rasteriser for PDF and EPS.

No PDF/PS rasteriser is installed here (no pdftoppm, Ghostscript or MuPDF), so the vector
round-trip tests draw the files themselves: :class:`MiniRaster` executes the small subset of
PDF content-stream / PostScript operators that cairo, segno and reportlab emit for our output
(paths, rectangles, Béziers, fills, fill colours, transforms, axis strokes; text and images are
skipped) with Pillow, and the result is decoded with zxing-cpp like any PNG.
"""

from __future__ import annotations

import base64
import io
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageDraw

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1, 0, 0, 1, 0, 0)


def _mul(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


_TOKEN = re.compile(
    rb"%[^\r\n]*|\((?:\\.|[^\\()]|\((?:\\.|[^\\()])*\))*\)|<~.*?~>|<<|>>|<[0-9A-Fa-f\s]*>"
    rb"|\[|\]|\{|\}|/[^\s/\[\]()<>{}%]*|[^\s/\[\]()<>{}%]+",
    re.S,
)
_NUM = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)")


@dataclass
class _State:
    ctm: Matrix = IDENTITY
    fill: tuple[int, int, int] = (0, 0, 0)
    line_width: float = 1.0


@dataclass
class MiniRaster:
    """Executes path/fill operators onto a white Pillow canvas (device y grows downward)."""

    width_pt: float
    height_pt: float
    scale: float
    aliases: dict[bytes, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.img = Image.new(
            "RGB", (round(self.width_pt * self.scale), round(self.height_pt * self.scale)), "white"
        )
        self.state = _State()
        self.stack_states: list[_State] = []
        self.path: list[list[tuple[float, float]]] = []  # device-space subpaths
        self.segments: list[tuple[tuple[float, float], tuple[float, float]]] = []  # user space
        self.cur: tuple[float, float] = (0.0, 0.0)  # user space
        self.fills = 0
        self.strokes = 0

    # device transform: user -> PDF default space -> pixels
    def _dev(self, x: float, y: float) -> tuple[float, float]:
        px, py = _apply(self.state.ctm, x, y)
        return px * self.scale, (self.height_pt - py) * self.scale

    def _move(self, x: float, y: float) -> None:
        self.cur = (x, y)
        self.path.append([self._dev(x, y)])

    def _line(self, x: float, y: float) -> None:
        if not self.path:
            self._move(*self.cur)
        self.segments.append((self.cur, (x, y)))
        self.cur = (x, y)
        self.path[-1].append(self._dev(x, y))

    def _curve(self, x1: float, y1: float, x2: float, y2: float, x3: float, y3: float) -> None:
        x0, y0 = self.cur
        for i in range(1, 13):
            t = i / 12
            u = 1 - t
            x = u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3
            y = u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3
            self.path[-1].append(self._dev(x, y))
        self.cur = (x3, y3)

    def _fill(self, evenodd: bool) -> None:
        polys = [p for p in self.path if len(p) >= 3]
        if polys:
            if evenodd:
                mask = Image.new("1", self.img.size, 0)
                for p in polys:
                    one = Image.new("1", self.img.size, 0)
                    ImageDraw.Draw(one).polygon(p, fill=1)
                    mask = ImageChops.logical_xor(mask, one)
                self.img.paste(self.state.fill, mask=mask)
            else:  # union of same-orientation subpaths, which is what our producers emit
                draw = ImageDraw.Draw(self.img)
                for p in polys:
                    draw.polygon(p, fill=self.state.fill, outline=self.state.fill)
            self.fills += 1
        self._newpath()

    def _stroke(self) -> None:
        hw = self.state.line_width / 2
        draw = ImageDraw.Draw(self.img)
        for (x0, y0), (x1, y1) in self.segments:
            dx, dy = x1 - x0, y1 - y0
            length = (dx * dx + dy * dy) ** 0.5 or 1.0
            nx, ny = -dy / length * hw, dx / length * hw
            quad = [(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)]
            draw.polygon([self._dev(*p) for p in quad], fill=self.state.fill, outline=self.state.fill)
        self.strokes += 1
        self._newpath()

    def _newpath(self) -> None:
        self.path, self.segments = [], []

    def run(self, data: bytes) -> None:
        """Execute a content stream (PDF) or page description (PostScript)."""
        ops: list[Any] = []
        depth = 0  # inside [ ] arrays or { } procedures: collect, do not execute
        for tok in _TOKEN.findall(data):
            if tok.startswith(b"%"):
                continue
            if tok in (b"[", b"{"):
                depth += 1
                continue
            if tok in (b"]", b"}"):
                depth = max(0, depth - 1)
                ops.append(None)
                continue
            if depth:
                continue
            if _NUM.fullmatch(tok):
                ops.append(float(tok))
            elif tok[:1] in (b"/", b"(", b"<"):
                ops.append(tok)
            else:
                self._op(self.aliases.get(tok, tok), ops)
                ops = []

    def _op(self, op: bytes, a: list[Any]) -> None:
        nums = [x for x in a if isinstance(x, float)]
        st = self.state
        if op in (b"q", b"gsave"):
            self.stack_states.append(_State(st.ctm, st.fill, st.line_width))
        elif op in (b"Q", b"grestore") and self.stack_states:
            self.state = self.stack_states.pop()
        elif op in (b"cm", b"concat") and len(nums) >= 6:
            st.ctm = _mul(tuple(nums[-6:]), st.ctm)  # type: ignore[arg-type]
        elif op == b"scale" and len(nums) >= 2:
            st.ctm = _mul((nums[-2], 0, 0, nums[-1], 0, 0), st.ctm)
        elif op == b"translate" and len(nums) >= 2:
            st.ctm = _mul((1, 0, 0, 1, nums[-2], nums[-1]), st.ctm)
        elif op in (b"m", b"moveto") and len(nums) >= 2:
            self._move(nums[-2], nums[-1])
        elif op == b"rmoveto" and len(nums) >= 2:
            self._move(self.cur[0] + nums[-2], self.cur[1] + nums[-1])
        elif op in (b"l", b"lineto") and len(nums) >= 2:
            self._line(nums[-2], nums[-1])
        elif op == b"rlineto" and len(nums) >= 2:
            self._line(self.cur[0] + nums[-2], self.cur[1] + nums[-1])
        elif op in (b"c", b"curveto") and len(nums) >= 6:
            self._curve(*nums[-6:])
        elif op in (b"re", b"rectfill") and len(nums) >= 4:
            x, y, w, h = nums[-4:]
            self._move(x, y)
            for px, py in ((x + w, y), (x + w, y + h), (x, y + h)):
                self._line(px, py)
            if op == b"rectfill":
                self._fill(False)
        elif op in (b"f", b"F", b"fill"):
            self._fill(False)
        elif op in (b"f*", b"eofill"):
            self._fill(True)
        elif op in (b"S", b"s", b"stroke"):
            self._stroke()
        elif op in (b"n", b"newpath", b"W", b"W*", b"clip", b"eoclip"):
            if op in (b"n", b"newpath"):
                self._newpath()
        elif op == b"clippath":
            self._newpath()
            self._move(0, 0)
            for px, py in ((self.width_pt, 0), (self.width_pt, self.height_pt), (0, self.height_pt)):
                self._line(px, py)
        elif op in (b"rg", b"setrgbcolor") and len(nums) >= 3:
            st.fill = tuple(round(v * 255) for v in nums[-3:])  # type: ignore[assignment]
        elif op in (b"g", b"setgray") and nums:
            gray = round(nums[-1] * 255)
            st.fill = (gray, gray, gray)
        elif op in (b"w", b"setlinewidth") and nums:
            st.line_width = nums[-1]
        # h/closepath: polygons close themselves; text, images, gs, clips: ignored


def _pdf_objects(pdf: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S)}


def _stream(body: bytes) -> bytes:
    m = re.search(rb"stream\r?\n(.*?)\r?\n?endstream", body, re.S)
    assert m, "object has no stream"
    data = m.group(1)
    head = body[: m.start()]
    filters = re.findall(rb"/(ASCII85Decode|FlateDecode)", head)
    for f in filters:
        if f == b"ASCII85Decode":
            data = base64.a85decode(data.strip().removesuffix(b"~>"), adobe=False)
        else:
            data = zlib.decompressobj().decompress(data)
    return data


def pdf_pages(pdf: bytes) -> list[bytes]:
    """Page object bodies in document order (first /Pages /Kids)."""
    objs = _pdf_objects(pdf)
    pages = {n: b for n, b in objs.items() if re.search(rb"/Type\s*/Page(?![s\w])", b)}
    order: list[int] = []
    for body in objs.values():
        if re.search(rb"/Type\s*/Pages", body):
            for kid in re.findall(rb"(\d+)\s+0\s+R", body.split(b"/Kids", 1)[1].split(b"]", 1)[0]):
                if int(kid) in pages:
                    order.append(int(kid))
    return [pages[n] for n in order] if len(order) == len(pages) else list(pages.values())


def rasterize_pdf(pdf: bytes, page: int = 0, px_per_pt: float = 2.0) -> Image.Image:
    """Rasterise one page of a PDF produced by cairo or reportlab (see module docstring)."""
    objs = _pdf_objects(pdf)
    body = pdf_pages(pdf)[page]
    box = [float(v) for v in re.search(rb"/MediaBox\s*\[([^\]]*)\]", body).group(1).split()]  # type: ignore[union-attr]
    contents = re.search(rb"/Contents\s*(\[[^\]]*\]|\d+\s+0\s+R)", body)
    assert contents, "page without contents"
    raster = MiniRaster(box[2] - box[0], box[3] - box[1], px_per_pt)
    for ref in re.findall(rb"(\d+)\s+0\s+R", contents.group(1)):
        raster.run(_stream(objs[int(ref)]))
    return raster.img


def rasterize_eps(eps: bytes, px_per_pt: float = 2.0) -> Image.Image:
    """Rasterise an EPS written by segno or cairo (see module docstring)."""
    bbox = re.search(rb"%%BoundingBox:\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", eps)
    assert bbox, "no %%BoundingBox"
    x0, y0, x1, y1 = (float(v) for v in bbox.groups())
    aliases = {
        m.group(1): m.group(2)
        for m in re.finditer(rb"/([^\s/{}]+)\s*\{\s*([^\s{}]+)\s*\}\s*(?:bind\s+)?def", eps)
    }
    body = eps
    for start, end in ((b"%%BeginSetup", b"%%EndSetup"), (b"%%BeginProlog", b"%%EndProlog")):
        body = re.sub(re.escape(start) + rb".*?" + re.escape(end), b"", body, flags=re.S)
    body = re.sub(rb"/[^\s/{}]+\s*\{.*?\}\s*(?:bind\s+)?def", b"", body, flags=re.S)
    raster = MiniRaster(x1 - x0, y1 - y0, px_per_pt, aliases)
    raster.state.ctm = (1, 0, 0, 1, -x0, -y0)
    raster.run(body)
    return raster.img


def decode_image(img: Image.Image, *, try_invert: bool = False) -> list[str]:
    """Texts of the QR codes zxing-cpp finds (transparent pixels flattened onto white)."""
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        bg.alpha_composite(rgba)
        img = bg
    found = zxingcpp.read_barcodes(
        img.convert("L"),
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        try_invert=try_invert,
    )
    return [b.text for b in found]


def decode_png(png: bytes) -> list[str]:
    """Decode a PNG file."""
    return decode_image(Image.open(io.BytesIO(png)))


def decode_svg(svg: bytes, width: int = 600) -> list[str]:
    """Rasterise an SVG with cairosvg and decode it."""
    import cairosvg

    return decode_png(cairosvg.svg2png(bytestring=svg, output_width=width))


def make_png(color: str = "#c0392b", size: int = 120) -> bytes:
    """A small opaque PNG logo: a disc on a coloured square."""
    img = Image.new("RGB", (size, size), color)
    ImageDraw.Draw(img).ellipse((size // 6, size // 6, size * 5 // 6, size * 5 // 6), fill="#2c3e50")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


LOGO_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<rect width="10" height="10" fill="#16a085"/><circle cx="5" cy="5" r="3" fill="#fff"/></svg>'
)


class Kit:
    """Helpers handed to tests through the ``kit`` fixture."""

    decode_png = staticmethod(decode_png)
    decode_svg = staticmethod(decode_svg)
    decode_image = staticmethod(decode_image)
    rasterize_pdf = staticmethod(rasterize_pdf)
    rasterize_eps = staticmethod(rasterize_eps)
    pdf_pages = staticmethod(pdf_pages)
    make_png = staticmethod(make_png)
    logo_svg = LOGO_SVG


@pytest.fixture(scope="session")
def kit() -> Kit:
    """Decode/rasterise helpers (see module docstring)."""
    return Kit()
