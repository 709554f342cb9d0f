"""Label sheets (PDF pages, layout, crop marks, decodable codes) and ZIP bundles."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest

from scanroute.qr.bundle import MANIFEST_FIELDS, BundleItem, safe_name, zip_bundle
from scanroute.qr.design import QrDesign
from scanroute.qr.render import RenderCache
from scanroute.qr.sheet import Label, SheetError, label_sheet


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def _labels(n: int) -> list[Label]:
    return [Label(f"https://qr.example.com/t{i:03d}", f"Table {i} — Café") for i in range(n)]


def test_23_labels_on_a4_3x8_make_one_page_and_all_decode(kit: Any) -> None:
    pdf = label_sheet(_labels(23), paper="A4", columns=3, rows=8, margin_mm=10, gutter_mm=4)
    assert pdf.startswith(b"%PDF-")
    assert _page_count(pdf) == 1
    assert len(kit.pdf_pages(pdf)) == 1
    box = re.search(rb"/MediaBox \[ ?0 0 ([\d.]+) ([\d.]+)", pdf)
    assert box
    assert (float(box.group(1)), float(box.group(2))) == pytest.approx((595.2756, 841.8898), abs=0.01)
    img = kit.rasterize_pdf(pdf, 0, 3.0)  # no pdftoppm here: our own vector rasteriser
    import zxingcpp

    found = zxingcpp.read_barcodes(
        img.convert("L"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    assert sorted(b.text for b in found) == [f"https://qr.example.com/t{i:03d}" for i in range(23)]
    assert b"DejaVuSans" in pdf  # captions use the embedded DejaVu font


def test_pages_flow_and_paper_sizes() -> None:
    assert _page_count(label_sheet(_labels(24), columns=3, rows=8)) == 1
    assert _page_count(label_sheet(_labels(25), columns=3, rows=8)) == 2
    assert _page_count(label_sheet(_labels(49), columns=3, rows=8)) == 3
    letter = label_sheet(_labels(5), paper="Letter", columns=2, rows=3)
    assert _page_count(letter) == 1
    assert re.search(rb"/MediaBox \[ ?0 0 612 792", letter)


def test_crop_marks_are_optional(kit: Any) -> None:
    with_marks = kit.rasterize_pdf(label_sheet(_labels(1), columns=2, rows=2, crop_marks=True), 0, 1.0)
    without = kit.rasterize_pdf(label_sheet(_labels(1), columns=2, rows=2, crop_marks=False), 0, 1.0)
    # a mark sits 1 mm outside the first cell's top-left corner, in the 10 mm margin
    corner = (round(10 / 25.4 * 72) - 5, round(10 / 25.4 * 72))
    region = (corner[0] - 6, corner[1] - 2, corner[0] + 2, corner[1] + 2)
    assert with_marks.crop(region).convert("L").getextrema()[0] < 128
    assert without.crop(region).convert("L").getextrema()[0] == 255


def test_styled_labels_are_embedded_as_images(kit: Any) -> None:
    styled = [Label("https://qr.example.com/s", "Dots", QrDesign(module_shape="dot", eye_shape="circle"))]
    pdf = label_sheet(styled, columns=2, rows=4)
    assert b"/Subtype /Image" in pdf
    plain = label_sheet(_labels(1), columns=2, rows=4)
    assert b"/Subtype /Image" not in plain  # plain codes stay vector


def test_sheet_errors() -> None:
    with pytest.raises(SheetError):
        label_sheet([], columns=3, rows=8)
    with pytest.raises(SheetError, match="at least 15"):
        label_sheet(_labels(1), columns=12, rows=24)
    with pytest.raises(SheetError):
        label_sheet(_labels(1), paper="A3")  # type: ignore[arg-type]


def test_safe_name() -> None:
    assert safe_name("Lobby Poster / Nord") == "lobby-poster-nord"
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("Café Crème ☕") == "cafe-creme"
    assert safe_name("東京") == "code"
    assert len(safe_name("x" * 200)) == 60


def test_zip_bundle_names_manifest_and_contents(kit: Any) -> None:
    items = [
        BundleItem("spring24", "https://qr.example.com/spring24", "Lobby Poster / Nord"),
        BundleItem("spring24", "https://qr.example.com/spring24", "Lobby Poster / Nord"),
        BundleItem("evil", "https://qr.example.com/evil", "../../etc/passwd"),
        BundleItem("formula", "https://qr.example.com/formula", '=HYPERLINK("x")'),
        BundleItem("wifi", "https://qr.example.com/wifi", content="WIFI:T:WPA;S:Guest;P:welcome1;;"),
    ]
    data = zip_bundle(items, timestamp=datetime(2025, 1, 2, 3, 4, 6, tzinfo=UTC))
    assert data is not None
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = zf.namelist()
    assert names == [
        "lobby-poster-nord--spring24.svg",
        "lobby-poster-nord--spring24.png",
        "lobby-poster-nord--spring24-2.svg",
        "lobby-poster-nord--spring24-2.png",
        "etc-passwd--evil.svg",
        "etc-passwd--evil.png",
        "hyperlink-x--formula.svg",
        "hyperlink-x--formula.png",
        "wifi.svg",
        "wifi.png",
        "manifest.csv",
    ]
    assert all("/" not in n and not n.startswith(".") for n in names)
    assert zf.getinfo("wifi.png").date_time == (2025, 1, 2, 3, 4, 6)  # ZIP keeps even seconds
    rows = list(csv.DictReader(io.StringIO(zf.read("manifest.csv").decode("utf-8"))))
    assert tuple(rows[0]) == MANIFEST_FIELDS
    assert rows[0]["svg"] == "lobby-poster-nord--spring24.svg"
    assert rows[0]["short_url"] == "https://qr.example.com/spring24"
    assert rows[3]["placement"].startswith("'=")  # spreadsheet formula neutralised
    assert rows[4]["content"] == "WIFI:T:WPA;S:Guest;P:welcome1;;"
    assert kit.decode_png(zf.read("wifi.png")) == ["WIFI:T:WPA;S:Guest;P:welcome1;;"]
    assert kit.decode_svg(zf.read("etc-passwd--evil.svg")) == ["https://qr.example.com/evil"]


def test_zip_bundle_streams_to_a_file_and_uses_the_cache() -> None:
    out = io.BytesIO()
    cache = RenderCache()
    items = [BundleItem("a", "https://qr.example.com/a"), BundleItem("b", "https://qr.example.com/b")]
    assert zip_bundle(items, out=out, formats=("svg",), cache=cache, design=QrDesign(dark="#112233")) is None
    zf = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    assert zf.namelist() == ["a.svg", "b.svg", "manifest.csv"]
    assert b'fill="#112233"' in zf.read("a.svg")
    assert (cache.misses, len(cache)) == (2, 2)
    zip_bundle(items, out=io.BytesIO(), formats=("svg",), cache=cache, design=QrDesign(dark="#112233"))
    assert cache.hits == 2
    with pytest.raises(ValueError, match="formats"):
        zip_bundle(items, formats=("gif",))  # type: ignore[arg-type]
