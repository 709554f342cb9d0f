"""Helpers for the QR studio through the API, the CLI and real renderers.

PDF pages are rendered with pypdfium2 (PDFium, the real thing) and decoded with zxing-cpp; SVGs
are rasterised with cairosvg; EPS (no PostScript interpreter here) goes through the small test
rasteriser of ``tests/qr/conftest.py``.
"""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from scanroute.domain.workspace import Role
from tests.conftest import Tenant

QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
PROBLEM = "application/problem+json"


def decode(img: Image.Image) -> list[str]:
    """Texts of every QR code zxing-cpp finds in an image (transparency on white paper)."""
    if img.mode in ("RGBA", "LA", "P"):
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, "white")
        paper.alpha_composite(rgba)
        img = paper
    return [b.text for b in zxingcpp.read_barcodes(img.convert("L"), formats=QR)]


def decode_png(data: bytes) -> list[str]:
    """Decode a PNG."""
    return decode(Image.open(io.BytesIO(data)))


def decode_svg(data: bytes, width: int = 600) -> list[str]:
    """Rasterise an SVG with cairosvg and decode it."""
    import cairosvg

    return decode_png(cairosvg.svg2png(bytestring=data, output_width=width, background_color="white"))


def pdf_pages(data: bytes, scale: float = 3.0) -> list[Image.Image]:
    """Every page of a PDF rendered by PDFium (``scale`` × 72 dpi)."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    try:
        return [pdf[i].render(scale=scale).to_pil().convert("RGB") for i in range(len(pdf))]
    finally:
        pdf.close()


def decode_eps(data: bytes) -> list[str]:
    """Rasterise an EPS with the test rasteriser of tests/qr and decode it."""
    from tests.qr.conftest import rasterize_eps

    return decode(rasterize_eps(data, 3.0))


def make_png(size: int = 120) -> bytes:
    """A small two-colour PNG logo."""
    img = Image.new("RGB", (size, size), "#1b4f9c")
    ImageDraw.Draw(img).ellipse((size // 6, size // 6, size * 5 // 6, size * 5 // 6), fill="#f2b705")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


LOGO_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<rect width="10" height="10" fill="#c0392b"/><circle cx="5" cy="5" r="3" fill="#fff"/></svg>'
)


def upload_logo(
    client: TestClient, t: Tenant, data: bytes, name: str = "logo.png", mime: str = "image/png"
) -> Any:
    """POST a logo; returns the response."""
    return client.post("/api/v1/logos", files={"file": (name, data, mime)}, headers=t.auth(Role.EDITOR))


def wait_job(client: TestClient, t: Tenant, job_id: int, timeout: float = 180) -> dict[str, Any]:
    """Poll a job until it finishes; returns its last state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=t.auth(Role.VIEWER)).json()
        if job["status"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
