"""QR studio: design, render (SVG/PNG/PDF/EPS), print QA, static payloads, sheets and bundles.

Pure library code. The public entry points are re-exported here; see each module for details.
"""

from scanroute.qr.bundle import BundleItem, zip_bundle
from scanroute.qr.design import DesignError, Logo, QrDesign
from scanroute.qr.payloads import PayloadError, build_payload, parse_payload
from scanroute.qr.qa import QaReport, check, check_image
from scanroute.qr.render import FORMATS, MIME_TYPES, Format, RenderCache, RenderError, render
from scanroute.qr.sheet import Label, SheetError, label_sheet

__all__ = [
    "FORMATS",
    "MIME_TYPES",
    "BundleItem",
    "DesignError",
    "Format",
    "Label",
    "Logo",
    "PayloadError",
    "QaReport",
    "QrDesign",
    "RenderCache",
    "RenderError",
    "SheetError",
    "build_payload",
    "check",
    "check_image",
    "label_sheet",
    "parse_payload",
    "render",
    "zip_bundle",
]
