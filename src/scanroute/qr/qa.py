"""Print QA: render a design as it will be used, decode it, and report what could go wrong.

Owns :func:`check` (a design + content at a print width / scanning distance), :func:`check_image`
(any PNG), :func:`simulate_capture` (a crude phone-camera model) and the sizing rule.

Sizing rule (:data:`RULE`): a module must be at least ``max(0.4 mm, distance / 250)``. The
distance term is the common "scan distance ≈ 10 × code width" rule of thumb stated for a
25-module (version 2) symbol and scaled by module count, so denser codes are asked to print
larger; 0.4 mm is the floor for close-range scanning of offset/laser prints. The printed width is
that module size times the image width in modules (symbol + 2 × quiet zone + frame).

Thresholds: contrast below 3:1 is a problem (the design validator already refuses it), below
4.5:1 a warning. A logo covering more than the ECC level's recovery share (L 7 %, M 15 %,
Q 25 %, H 30 %) is a problem, more than half of it a warning. Light-on-dark codes are warned
about (many scanner apps do not try inverted codes). Decoding is done without inversion first.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import asdict, dataclass
from typing import Any

import zxingcpp
from PIL import Image, ImageChops, ImageFilter

from scanroute.qr.color import contrast_ratio, rgb_to_hex
from scanroute.qr.design import ECC_RECOVERY, QrDesign
from scanroute.qr.render import encode, render_symbol
from scanroute.qr.styling import compute_layout, logo_square

__all__ = [
    "CAPTURE_TRIALS",
    "MIN_MODULE_MM",
    "RULE",
    "QaReport",
    "check",
    "check_image",
    "simulate_capture",
]

MIN_MODULE_MM = 0.4
DISTANCE_FACTOR = 250.0  # 10:1 distance-to-width for 25 modules → module ≥ distance / 250
RULE = (
    "module ≥ max(0.4 mm, scan distance ÷ 250) — the 10:1 scan-distance-to-code-width rule of "
    "thumb for a 25-module code, scaled by module count; printed width = module × (modules + "
    "2 × quiet zone + frame)"
)
MAX_DECODE_PX = 2048
#: Simulated phone captures: (tilt in degrees, noise seed).
CAPTURE_TRIALS: tuple[tuple[float, int], ...] = ((4.0, 1), (-7.0, 2), (11.0, 3))
_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


@dataclass(frozen=True)
class QaReport:
    """The outcome of a QA check. ``ok`` = decodes to the expected text with no problems."""

    decodes: bool
    decoded_text: str | None
    matches: bool
    version: int | None
    modules: int | None
    ecc: str | None
    image_px: int
    module_size_px: float | None
    print_width_mm: float | None
    module_size_mm: float | None
    scan_distance_m: float | None
    min_print_width_mm: float | None
    rule: str
    contrast_ratio: float
    logo_coverage: float
    logo_budget: float | None
    inverted: bool
    captures_decoded: int | None
    problems: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the image decodes to the expected text and no problem was found."""
        return self.decodes and self.matches and not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples as lists, plus ``ok``)."""
        out = asdict(self)
        out["problems"] = list(self.problems)
        out["warnings"] = list(self.warnings)
        out["ok"] = self.ok
        return out


def _flatten_rgb(img: Image.Image) -> Image.Image:
    """RGB image with any transparency composited onto white paper."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        paper.alpha_composite(rgba)
        img = paper
    return img.convert("RGB")


def _flatten(img: Image.Image) -> Image.Image:
    """Greyscale image with any transparency composited onto white paper."""
    return _flatten_rgb(img).convert("L")


def _read(img: Image.Image) -> tuple[Any | None, bool]:
    """First QR found, and whether it was only found by inverting the image."""
    found = zxingcpp.read_barcodes(img, formats=_QR, try_invert=False)
    if found:
        return found[0], False
    found = zxingcpp.read_barcodes(img, formats=_QR, try_invert=True)
    return (found[0], True) if found else (None, False)


def simulate_capture(
    img: Image.Image, px_per_module: float, *, angle: float = 4.0, seed: int = 1
) -> Image.Image:
    """A crude, deterministic phone capture: tilt, ¼-module blur, 3 px/module, noise σ≈17."""
    img = _flatten(img)
    img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(radius=0.25 * px_per_module))
    scale = 3.0 / px_per_module
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    img = img.resize(size, Image.Resampling.BOX)
    raw = random.Random(seed).randbytes(2 * size[0] * size[1])
    it = iter(raw)
    levels = bytes(max(0, min(255, 128 + (a + b - 255) // 6)) for a, b in zip(it, it, strict=True))
    return ImageChops.add(img, Image.frombytes("L", size, levels), scale=1.0, offset=-128)


def _captures(symbol_png: bytes, px_per_module: float, expected: str) -> int:
    base = Image.open(io.BytesIO(symbol_png))
    hits = 0
    for angle, seed in CAPTURE_TRIALS:
        found, _ = _read(simulate_capture(base, px_per_module, angle=angle, seed=seed))
        hits += bool(found is not None and found.text == expected)
    return hits


def _sizing(
    units: float, print_width_mm: float | None, scan_distance_m: float | None
) -> tuple[float, float | None, str | None]:
    """(required module mm, module mm at the print width, reason for the requirement)."""
    need = MIN_MODULE_MM
    reason = f"the {MIN_MODULE_MM} mm print floor"
    if scan_distance_m is not None:
        by_distance = scan_distance_m * 1000.0 / DISTANCE_FACTOR
        if by_distance > need:
            need, reason = by_distance, f"scanning from {scan_distance_m:g} m"
    module_mm = print_width_mm / units if print_width_mm else None
    return need, module_mm, reason


def check(
    content: str,
    design: QrDesign,
    *,
    print_width_mm: float | None = None,
    scan_distance_m: float | None = None,
) -> QaReport:
    """Render ``content`` with ``design`` at the target size, decode it and report.

    The target raster is ``print_width_mm`` at the design's dpi, else the design's own pixel
    width, capped at 2048 px (a larger perfect render proves nothing more to a decoder).
    """
    for name, value in (("print_width_mm", print_width_mm), ("scan_distance_m", scan_distance_m)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number")
    symbol = encode(content, design.effective_ecc)
    lay = compute_layout(symbol.size, design)
    units = lay.width
    target = round(print_width_mm / 25.4 * design.dpi) if print_width_mm else design.pixel_width
    px = max(16, min(target, MAX_DECODE_PX))
    png = render_symbol(symbol, design, "png", pixel_width=px)
    found, inverted_only = _read(_flatten(Image.open(io.BytesIO(png))))
    text = found.text if found is not None else None
    problems: list[str] = []
    warnings: list[str] = []
    if found is None:
        problems.append(f"The code does not decode when rendered {px} px wide.")
    elif text != content:
        problems.append("The code decodes to different text than its content.")

    if print_width_mm is None and design.size_mm is not None:
        print_width_mm = design.size_mm
    need, module_mm, reason = _sizing(units, print_width_mm, scan_distance_m)
    min_width = need * units
    if module_mm is not None and module_mm + 1e-9 < need:
        problems.append(
            f"At {print_width_mm:g} mm wide the modules are {module_mm:.2f} mm; {reason} needs "
            f"≥ {need:.2f} mm — print at least {math.ceil(min_width)} mm wide."
        )

    module_px = px / units
    if target <= MAX_DECODE_PX and module_px < 3:
        warnings.append(
            f"Modules are {module_px:.1f} px at {px} px wide; screens and scaled previews "
            "need ≥ 3 px per module."
        )

    paper = design.paper_color
    ratio = min(contrast_ratio(design.dark, paper), contrast_ratio(design.eye_fill, paper))
    if ratio < 3:
        problems.append(f"Contrast {ratio:.1f}:1 is too low to scan (needs ≥ 3:1).")
    elif ratio < 4.5:
        warnings.append(f"Contrast {ratio:.1f}:1 is low; aim for ≥ 4.5:1 (black on white: 21:1).")
    if design.inverted:
        warnings.append("Light modules on a dark background: many scanner apps do not read inverted codes.")
    if design.light == "transparent":
        warnings.append("Transparent background: checked on white paper; print on a light surface.")
    if design.quiet_zone < 4:
        warnings.append(f"Quiet zone is {design.quiet_zone} modules; ISO/IEC 18004 asks for 4.")
    if (
        design.caption
        and contrast_ratio(design.caption_fill, design.frame_fill if design.frame == "banner" else paper) < 3
    ):
        warnings.append("The caption colour has too little contrast with its background.")

    coverage = 0.0
    budget = ECC_RECOVERY[symbol.ecc]
    if design.logo is not None:
        _, k = logo_square(symbol.size, design.logo_scale)
        coverage = k * k / symbol.size**2
        if coverage > budget:
            problems.append(
                f"The logo covers {coverage:.0%} of the symbol, more than error correction "
                f"{symbol.ecc} can restore ({budget:.0%})."
            )
        elif coverage > budget / 2:
            warnings.append(
                f"The logo uses {coverage / budget:.0%} of the {symbol.ecc} error-correction "
                "budget; dirt or damage may make it unreadable."
            )

    captures = None
    if found is not None and text == content:
        ppm = 4.0
        small = render_symbol(symbol, design, "png", pixel_width=round(ppm * units))
        captures = _captures(small, ppm, content)
        if captures < len(CAPTURE_TRIALS):
            warnings.append(
                f"Decoded {captures} of {len(CAPTURE_TRIALS)} simulated phone captures (tilt, "
                "blur, noise); simplify the style or enlarge the code."
            )
    if inverted_only and not design.inverted:
        warnings.append("The code was only found by inverting the image.")

    return QaReport(
        decodes=found is not None,
        decoded_text=text,
        matches=text == content,
        version=symbol.version,
        modules=symbol.size,
        ecc=symbol.ecc,
        image_px=px,
        module_size_px=round(module_px, 2),
        print_width_mm=print_width_mm,
        module_size_mm=round(module_mm, 3) if module_mm is not None else None,
        scan_distance_m=scan_distance_m,
        min_print_width_mm=round(min_width, 1),
        rule=RULE,
        contrast_ratio=round(ratio, 2),
        logo_coverage=round(coverage, 4),
        logo_budget=budget,
        inverted=design.inverted or inverted_only,
        captures_decoded=captures,
        problems=tuple(problems),
        warnings=tuple(warnings),
    )


def _estimate_colors(gray: Image.Image, rgb: Image.Image) -> tuple[str, str]:
    """Mean colour of the darker and lighter halves of the pixels (split at the mean grey)."""
    hist = gray.histogram()
    total = sum(hist)
    mean = sum(i * h for i, h in enumerate(hist)) / max(total, 1)
    mask_dark = gray.point(lambda v: 255 if v <= mean else 0)
    mask_light = gray.point(lambda v: 255 if v > mean else 0)
    colors = []
    for mask in (mask_dark, mask_light):
        stat = [rgb.getchannel(c).histogram(mask) for c in range(3)]
        n = sum(stat[0]) or 1
        colors.append(rgb_to_hex(tuple(round(sum(i * v for i, v in enumerate(h)) / n) for h in stat)))  # type: ignore[arg-type]
    return colors[0], colors[1]


def check_image(png_bytes: bytes, expected: str, *, scan_distance_m: float | None = None) -> QaReport:
    """Decode any image and report what can be told from pixels alone.

    Contrast is estimated from the mean colours of the darker and lighter pixels; the minimum
    print width assumes a 4-module quiet zone and no frame.
    """
    img = Image.open(io.BytesIO(png_bytes))
    img.load()
    rgb = _flatten_rgb(img)
    gray = rgb.convert("L")
    found, inverted_only = _read(gray)
    text = found.text if found is not None else None
    problems: list[str] = []
    warnings: list[str] = []
    if found is None:
        problems.append("No QR code could be decoded from the image.")
    elif text != expected:
        problems.append("The code decodes to different text than expected.")
    version: int | None = None
    ecc: str | None = None
    modules: int | None = None
    module_px: float | None = None
    if found is not None:
        extra = found.extra if isinstance(found.extra, dict) else {}
        raw_version = str(extra.get("Version", ""))
        if raw_version.isascii() and raw_version.isdigit():
            version = int(raw_version)
            modules = 17 + 4 * version
        ecc = str(extra.get("ECLevel") or found.ec_level or "") or None
        pos = found.position
        side = math.dist((pos.top_left.x, pos.top_left.y), (pos.top_right.x, pos.top_right.y))
        module_px = round(side / modules, 2) if modules else None
    dark, light = _estimate_colors(gray, rgb)
    ratio = contrast_ratio(dark, light)
    if ratio < 3:
        problems.append(f"Contrast {ratio:.1f}:1 is too low to scan reliably (needs ≥ 3:1).")
    elif ratio < 4.5:
        warnings.append(f"Contrast {ratio:.1f}:1 is low; aim for ≥ 4.5:1.")
    if inverted_only:
        warnings.append("Light modules on a dark background: many scanner apps do not read inverted codes.")
    units = (modules + 8) if modules else None
    need, _, _ = _sizing(units or 1, None, scan_distance_m)
    return QaReport(
        decodes=found is not None,
        decoded_text=text,
        matches=text == expected,
        version=version,
        modules=modules,
        ecc=ecc,
        image_px=img.width,
        module_size_px=module_px,
        print_width_mm=None,
        module_size_mm=None,
        scan_distance_m=scan_distance_m,
        min_print_width_mm=round(need * units, 1) if units else None,
        rule=RULE,
        contrast_ratio=round(ratio, 2),
        logo_coverage=0.0,
        logo_budget=ECC_RECOVERY.get(ecc) if ecc in ECC_RECOVERY else None,  # type: ignore[call-overload]
        inverted=inverted_only,
        captures_decoded=None,
        problems=tuple(problems),
        warnings=tuple(warnings),
    )
