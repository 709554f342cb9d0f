"""Benchmark the QR renderer against segno's own writers, and the render cache.

Run: ``.venv/bin/python bench/qr/bench_render.py [--n 300] [--repeat 3]``

Every row renders ``--n`` distinct short URLs (so nothing is cached unless the row says so) and
reports the best of ``--repeat`` round-robin rounds (each round runs every row once, so load from
other processes hits all rows alike). "end-to-end" rows include encoding (segno.make, ~3 ms);
"writer only" rows reuse one encoded symbol to isolate the cost of the SVG/PNG layer. The ratio
column compares each row with the segno row of its group in the same run. The target is that our
plain SVG costs at most 10 % more than segno's ``save(kind="svg")``.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import segno
from PIL import Image, ImageDraw

from scanroute.qr.design import Logo, QrDesign
from scanroute.qr.render import RenderCache, encode, render, render_symbol

BASE = "https://qr.example.com/"
PX = 512


def _logo() -> Logo:
    img = Image.new("RGB", (160, 160), "#1b4f9c")
    ImageDraw.Draw(img).ellipse((20, 20, 140, 140), fill="#f2b705")
    out = io.BytesIO()
    img.save(out, "PNG")
    return Logo(out.getvalue(), "image/png")


def _timed(fn: Callable[[int], object], n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, rep = args.n, args.repeat
    plain = QrDesign(size_px=PX)
    styled = QrDesign(
        size_px=PX,
        module_shape="rounded",
        eye_shape="rounded",
        eye_color="#b03a2e",
        logo=_logo(),
        logo_scale=0.2,
        frame="banner",
        caption="Scan for the menu",
    )
    urls = [f"{BASE}c{i:06d}" for i in range(n)]
    qr = segno.make(urls[0], error="m", micro=False)
    symbol = encode(urls[0], "M")
    scale = PX // (symbol.size + 8)

    def seg_svg(i: int) -> None:
        segno.make(urls[i], error="m", micro=False).save(io.BytesIO(), kind="svg", border=4)

    def seg_png(i: int) -> None:
        segno.make(urls[i], error="m", micro=False).save(io.BytesIO(), kind="png", scale=scale, border=4)

    specs: list[tuple[str, str, Callable[[int], object], str | None]] = []  # group, name, fn, baseline

    def add(group: str, name: str, fn: Callable[[int], object], base: str | None = None) -> None:
        specs.append((group, name, fn, base))

    add("svg end-to-end", "segno make+save(svg)", seg_svg)
    add("svg end-to-end", "ours plain", lambda i: render(urls[i], plain, "svg"), "segno make+save(svg)")
    add("svg end-to-end", "ours styled", lambda i: render(urls[i], styled, "svg"), "segno make+save(svg)")
    add("svg writer only", "segno save(svg)", lambda i: qr.save(io.BytesIO(), kind="svg", border=4))
    add("svg writer only", "ours plain", lambda i: render_symbol(symbol, plain, "svg"), "segno save(svg)")
    add("svg writer only", "ours styled", lambda i: render_symbol(symbol, styled, "svg"), "segno save(svg)")
    add("png end-to-end", f"segno make+save(png, scale={scale})", seg_png)
    seg_png_name = f"segno make+save(png, scale={scale})"
    add(
        "png end-to-end", f"ours plain {PX}px (Pillow)", lambda i: render(urls[i], plain, "png"), seg_png_name
    )
    add(
        "png end-to-end",
        f"ours styled {PX}px (cairo)",
        lambda i: render(urls[i], styled, "png"),
        seg_png_name,
    )
    add("pdf/eps end-to-end", "ours plain pdf", lambda i: render(urls[i], plain, "pdf"))
    add("pdf/eps end-to-end", "ours plain eps (segno)", lambda i: render(urls[i], plain, "eps"))

    for _, _, fn, _ in specs:
        _timed(fn, min(n, 20))  # warm-up
    best = [float("inf")] * len(specs)
    for _ in range(rep):
        for k, (_, _, fn, _) in enumerate(specs):
            best[k] = min(best[k], _timed(fn, n))
    rows = [(g, name, t, base) for (g, name, _, base), t in zip(specs, best, strict=True)]
    times = {(g, name): t for g, name, t, _ in rows}
    print(f"QR render benchmark: {n} distinct codes per row, best of {rep}\n")
    print(f"{'group':20} {'renderer':36} {'codes/s':>9} {'ms/code':>8} {'vs segno':>9}")
    for group, name, t, base in rows:
        ratio = f"{t / times[(group, base)]:.2f}x" if base else ""
        print(f"{group:20} {name:36} {n / t:9.0f} {t / n * 1000:8.2f} {ratio:>9}")

    # cache: 5000 requests over 200 codes with a skewed popularity (Zipf-like), plain + styled
    rng = random.Random(42)
    keys = [f"{BASE}hot{i:04d}" for i in range(200)]
    weights = [1 / (r + 1) for r in range(len(keys))]
    requests = rng.choices(keys, weights, k=5000)
    print()
    for label, design, fmt in (
        ("plain svg", plain, "svg"),
        ("plain png", plain, "png"),
        ("styled png", styled, "png"),
    ):
        cache = RenderCache(max_entries=1000)
        t0 = time.perf_counter()
        for url in requests:
            cache.render(url, design, fmt)  # type: ignore[arg-type]
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        for url in requests:
            cache.render(url, design, fmt)  # type: ignore[arg-type]
        warm = time.perf_counter() - t0
        print(
            f"RenderCache {label:10}: cold pass {len(requests) / total:8.0f} req/s "
            f"({cache.misses} misses, hit rate {1 - cache.misses / len(requests):.1%}); "
            f"warm pass (all hits) {len(requests) / warm:9.0f} req/s"
        )


if __name__ == "__main__":
    main()
