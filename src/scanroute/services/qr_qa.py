"""Print QA as the services run it: on every save, stored on the code, refused when it fails.

A stored report is :meth:`scanroute.qr.QaReport.to_dict` plus:

* ``scope`` — ``"code"`` when this code's own image was rendered and decoded; ``"design"`` when
  the report was measured on another code with the same design and content length and this code's
  own decode is still to come (bulk print runs decode every code's PNG while rendering the ZIP and
  then store a ``"code"`` report);
* ``print_sizes`` — the minimum printed width for several scanning distances, by the same sizing
  rule as ``min_print_width_mm`` (which is for :data:`DEFAULT_DISTANCE_M`);
* ``checked_at`` — when the check ran.

:class:`QaRun` makes batches affordable: the full check (render at the design's size, decode,
three simulated phone captures, sizing; ≈ 30 ms) runs once per (design, content length, character
class); every other code of the group only renders and decodes its own PNG (≈ 6 ms) and shares
the design-level findings (captures, contrast, sizing).
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from typing import Any

import zxingcpp
from PIL import Image

from scanroute.domain.errors import Invalid
from scanroute.qr import QaReport, QrDesign, check
from scanroute.qr.qa import DISTANCE_FACTOR as _DISTANCE_FACTOR
from scanroute.qr.qa import MIN_MODULE_MM
from scanroute.qr.render import encode, render_symbol
from scanroute.qr.styling import compute_layout
from scanroute.services.common import utcnow

__all__ = [
    "DEFAULT_DISTANCE_M",
    "PRINT_DISTANCES_M",
    "QaRefused",
    "QaRun",
    "decode_png",
    "print_sizes",
    "stored_report",
    "with_decode",
]

#: Scanning distance the stored report's ``min_print_width_mm`` is for (a poster on a wall).
DEFAULT_DISTANCE_M = 1.0
PRINT_DISTANCES_M = (0.15, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0)
_NUMERIC = re.compile(r"[0-9]*")
_ALNUM = re.compile(r"[0-9A-Z $%*+\-./:]*")
_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


class QaRefused(Invalid):
    """The design does not decode; the report's problems are the reasons (``force`` overrides)."""

    def __init__(self, report: dict[str, Any], *, what: str = "design") -> None:
        reasons = " ".join(report.get("problems") or ["The code does not decode."])
        super().__init__(
            f"the {what} does not decode, so it is refused: {reasons} "
            "Change the design, or send force: true to save it anyway.",
            field="design",
        )
        self.report = report


def print_sizes(units: float) -> list[dict[str, float]]:
    """Minimum printed width (mm) per scanning distance for an image ``units`` modules wide."""
    out = []
    for distance in PRINT_DISTANCES_M:
        module = max(MIN_MODULE_MM, distance * 1000.0 / _DISTANCE_FACTOR)
        out.append({"scan_distance_m": distance, "min_print_width_mm": round(module * units, 1)})
    return out


def stored_report(report: QaReport, design: QrDesign, *, scope: str = "code") -> dict[str, Any]:
    """The JSON stored on a code (and answered by the check endpoint)."""
    out = report.to_dict()
    out["scope"] = scope
    out["checked_at"] = utcnow().isoformat()
    if report.modules:
        out["print_sizes"] = print_sizes(compute_layout(report.modules, design).width)
    else:
        out["print_sizes"] = []
    return out


def _charset(content: str) -> str:
    if _NUMERIC.fullmatch(content):
        return "numeric"
    if _ALNUM.fullmatch(content):
        return "alnum"
    return "ascii" if content.isascii() else "utf-8"


class QaRun:
    """QA for a batch of saves; see the module notes for how groups share the full check."""

    def __init__(self, *, per_code: bool = True, scan_distance_m: float = DEFAULT_DISTANCE_M) -> None:
        self.per_code = per_code
        self.scan_distance_m = scan_distance_m
        self._groups: dict[tuple[str, int, str], QaReport] = {}
        self._design_reports: dict[tuple[str, int, str], dict[str, Any]] = {}
        #: Lookups shared by the saves of one batch (template ids by reference).
        self.lookups: dict[tuple[str, object], Any] = {}
        self.full_checks = 0

    def report(self, content: str, design: QrDesign) -> dict[str, Any]:
        """The stored report for ``content`` rendered with ``design``."""
        key = (design.fingerprint, len(content), _charset(content))
        base = self._groups.get(key)
        if base is None:
            full = check(content, design, scan_distance_m=self.scan_distance_m)
            self.full_checks += 1
            if full.decodes and full.matches:
                self._groups[key] = full
            return stored_report(full, design)
        if not self.per_code:
            shared = self._design_reports.get(key)
            if shared is None:
                shared = stored_report(replace(base, decoded_text=None), design, scope="design")
                self._design_reports[key] = shared
            return dict(shared)
        png = render_symbol(encode(content, design.effective_ecc), design, "png", pixel_width=base.image_px)
        return with_decode(stored_report(base, design), decode_png(png), content)


def decode_png(png: bytes) -> str | None:
    """The text of the first QR code zxing-cpp finds in a PNG (upright, not inverted), or None.

    Transparency is composited onto white paper first, as QA does everywhere.
    """
    with Image.open(io.BytesIO(png)) as opened:
        img: Image.Image = opened
        img.load()
        if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
            rgba = img.convert("RGBA")
            paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            paper.alpha_composite(rgba)
            img = paper.convert("L")
        found = zxingcpp.read_barcodes(img, formats=_QR, try_invert=False, try_rotate=False)
    return found[0].text if found else None


def with_decode(report: dict[str, Any], text: str | None, expected: str) -> dict[str, Any]:
    """A stored (design-level) report updated with one code's own decode of its image."""
    out = dict(report)
    problems = [p for p in out.get("problems", []) if "decode" not in p]
    if text is None:
        problems.append("This code's own image does not decode.")
    elif text != expected:
        problems.append("This code's own image decodes to different text than its content.")
    out.update(
        decodes=text is not None,
        decoded_text=text,
        matches=text == expected,
        problems=problems,
        scope="code",
        checked_at=utcnow().isoformat(),
    )
    out["ok"] = bool(text == expected and not problems)
    return out
