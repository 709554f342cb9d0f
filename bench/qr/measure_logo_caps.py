"""Measure the largest logo that still decodes, per module shape, eye shape and ECC level.

Run: ``.venv/bin/python bench/qr/measure_logo_caps.py``  (about 5 minutes on 2 cores)

For each combination and payloads whose lengths give versions 1 to ~13, the cleared logo square
grows one odd module count at a time until the code stops "decoding", which here means both:

* the PNG rendered by our pipeline at 4 px/module decodes with zxing-cpp, and
* at least 2 of the 3 simulated phone captures (``qa.simulate_capture``: tilt, blur of ¼ module,
  3 px/module, sensor noise) decode.

The largest nominal ``logo_scale`` safe for *every* payload is ``min((k_max + 2) / n)`` because
``logo_square`` rounds scale·n down to an odd k. ``design.LOGO_CAPS`` holds those limits × 0.8,
rounded down to 0.01, never above 0.25 (LIBRARIES.md). A first table shows how often the
simulated captures decode with no logo at all, per module and eye shape.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import zxingcpp
from PIL import Image, ImageDraw

import scanroute.qr.design as design_mod
from scanroute.qr.design import ECC_LEVELS, EyeShape, Logo, ModuleShape, QrDesign
from scanroute.qr.qa import CAPTURE_TRIALS, simulate_capture
from scanroute.qr.render import Symbol, encode, render_symbol
from scanroute.qr.styling import compute_layout

PPM = 4.0
SHAPES: tuple[ModuleShape, ...] = ("square", "rounded", "dot")
EYES: tuple[EyeShape, ...] = ("square", "rounded", "circle")
_BASE = "https://qr.example.com/spring-campaign/poster-17?utm_source=qr&utm_medium=print&id="
#: payload lengths chosen so that each ECC level sees versions 1 to ~10
PAYLOADS = [(_BASE + "9" * 300)[:length] for length in (12, 20, 30, 45, 60, 80, 100, 130, 160, 200)]


def _logo() -> Logo:
    img = Image.new("RGB", (240, 240), "#1b4f9c")
    draw = ImageDraw.Draw(img)
    draw.ellipse((30, 30, 210, 210), fill="#f2b705")
    draw.rectangle((95, 60, 145, 180), fill="#000000")
    out = io.BytesIO()
    img.save(out, "PNG")
    return Logo(data=out.getvalue(), mime="image/png")


def _score(sym: Symbol, design: QrDesign, expected: str) -> tuple[bool, int]:
    """(perfect render decodes, simulated captures decoded)."""
    px = round(PPM * compute_layout(sym.size, design).width)
    img = Image.open(io.BytesIO(render_symbol(sym, design, "png", pixel_width=px))).convert("L")
    fmt = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)

    def ok(im: Image.Image) -> bool:
        return any(b.text == expected for b in zxingcpp.read_barcodes(im, formats=fmt, try_invert=False))

    if not ok(img):
        return False, 0
    return True, sum(ok(simulate_capture(img, PPM, angle=a, seed=s)) for a, s in CAPTURE_TRIALS)


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    design_mod.LOGO_CAPS = {s: dict.fromkeys(ECC_LEVELS, 1.0) for s in SHAPES}
    design_mod.EYE_LOGO_CAPS = {}
    logo = _logo()
    t0 = time.perf_counter()
    print(f"no logo, ECC M: simulated captures decoded (of {len(CAPTURE_TRIALS)}) per version")
    for shape in SHAPES:
        for eyes in EYES:
            row = []
            for payload in PAYLOADS:
                sym = encode(payload, "M")
                perfect, caps = _score(sym, QrDesign(module_shape=shape, eye_shape=eyes), payload)
                row.append(f"v{sym.version}:{caps if perfect else 'X'}")
            print(f"  {shape:8} {eyes:8} {' '.join(row)}", flush=True)

    limits: dict[tuple[str, str], float] = {}  # (module shape, ecc), square/rounded eyes
    circle: dict[str, float] = {}  # ecc -> limit with circle eyes, any module shape
    print(f"\n{'shape':8} {'eyes':8} ecc  limit  (worst payload: version, k_max/n)")
    for shape in SHAPES:
        for eyes in EYES:
            for ecc in ECC_LEVELS:
                worst = (math.inf, "")
                for payload in PAYLOADS:
                    sym = encode(payload, ecc)
                    n = sym.size
                    base_ok, base_caps = _score(sym, QrDesign(module_shape=shape, eye_shape=eyes), payload)
                    if not base_ok or base_caps < 2:
                        continue  # the style itself fails capture here: not a logo limit
                    k_max = -1
                    for k in range(1, n, 2):
                        if (k + 0.5) / n < 0.05:  # below the smallest accepted logo
                            k_max = k
                            continue
                        d = QrDesign(
                            module_shape=shape,
                            eye_shape=eyes,
                            ecc=ecc,
                            logo=logo,
                            logo_scale=min(1.0, (k + 0.5) / n),
                        )
                        perfect, caps = _score(sym, d, payload)
                        if not perfect or caps < 2:
                            break
                        k_max = k
                    limit = (k_max + 2) / n if k_max > 0 else 0.0
                    if limit < worst[0]:
                        worst = (limit, f"v{sym.version}{sym.ecc}, {k_max}/{n}")
                if eyes == "circle":
                    circle[ecc] = min(circle.get(ecc, math.inf), worst[0])
                else:
                    limits[(shape, ecc)] = min(limits.get((shape, ecc), math.inf), worst[0])
                print(f"{shape:8} {eyes:8} {ecc:3} {worst[0]:6.3f}  ({worst[1]})", flush=True)
    print("\nproposed caps (limit × 0.8, ≤ 0.25, non-decreasing L→H):")
    for shape in SHAPES:
        print(f"  LOGO_CAPS[{shape!r}] = {_caps({e: limits[(shape, e)] for e in ECC_LEVELS})}")
    print(f"  EYE_LOGO_CAPS['circle'] = {_caps(circle)}")
    print(f"took {time.perf_counter() - t0:.1f} s")


def _caps(limit_by_ecc: dict[str, float]) -> dict[str, float]:
    raw = [min(0.25, math.floor(limit_by_ecc[e] * 0.8 * 100) / 100) for e in ECC_LEVELS]
    out: list[float] = []
    running = math.inf
    for value in reversed(raw):  # a level never allows more than any higher level
        running = min(running, value)
        out.append(running)
    return dict(zip(ECC_LEVELS, reversed(out), strict=True))


if __name__ == "__main__":
    main()
