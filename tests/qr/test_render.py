"""Rendering: every format decodes back to the content; any accepted design decodes; the cache."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from scanroute.qr.color import contrast_ratio, relative_luminance, rgb_to_hex
from scanroute.qr.design import LOGO_CAPS, DesignError, Logo, QrDesign, logo_cap
from scanroute.qr.render import FORMATS, RenderCache, RenderError, encode, render

URL = "https://qr.example.com/Ab3xYz"


def _designs(kit: Any) -> dict[str, QrDesign]:
    logo = Logo(kit.make_png(), "image/png")
    return {
        "plain": QrDesign(),
        "plain-mm": QrDesign(size_mm=30, dpi=300, dark="#1b2a49", light="#fffbe6"),
        "transparent": QrDesign(light="transparent", dark="#123456"),
        "rounded": QrDesign(module_shape="rounded", eye_shape="rounded", eye_color="#b03a2e"),
        "dots": QrDesign(module_shape="dot", eye_shape="circle"),
        "logo-banner": QrDesign(
            module_shape="rounded",
            logo=logo,
            logo_scale=LOGO_CAPS["rounded"]["H"],
            frame="banner",
            caption="Scan me — café",
        ),
        "svg-logo-box": QrDesign(
            logo=Logo(kit.logo_svg, "image/svg+xml"), logo_scale=0.15, frame="box", caption="Menu"
        ),
    }


@pytest.mark.parametrize(
    "name", ["plain", "plain-mm", "transparent", "rounded", "dots", "logo-banner", "svg-logo-box"]
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_decodes_to_the_content(kit: Any, name: str, fmt: str) -> None:
    design = _designs(kit)[name]
    data = render(URL, design, fmt)  # type: ignore[arg-type]
    if fmt == "svg":
        assert data.startswith(b"<svg")
        found = kit.decode_svg(data)
    elif fmt == "png":
        assert data.startswith(b"\x89PNG")
        found = kit.decode_png(data)
    elif fmt == "pdf":
        assert data.startswith(b"%PDF-")
        found = kit.decode_image(kit.rasterize_pdf(data))
    else:
        assert data.startswith(b"%!PS-Adobe-3.0 EPSF-3.0")
        found = kit.decode_image(kit.rasterize_eps(data))
    assert found == [URL]


def test_png_size_and_dpi(kit: Any) -> None:
    png = render(URL, QrDesign(size_px=333), "png")
    assert Image.open(io.BytesIO(png)).size == (333, 333)
    framed = Image.open(io.BytesIO(render(URL, QrDesign(size_px=400, frame="banner", caption="Hi"), "png")))
    assert framed.width == 400
    assert framed.height > 400  # the caption band adds height
    for design in (QrDesign(size_mm=20, dpi=600), QrDesign(size_mm=20, dpi=600, module_shape="dot")):
        img = Image.open(io.BytesIO(render(URL, design, "png")))
        assert img.width == round(20 / 25.4 * 600)
        assert img.info["dpi"] == pytest.approx((600, 600), abs=0.1)


def test_transparent_png_has_alpha(kit: Any) -> None:
    for design in (QrDesign(light="transparent"), QrDesign(light="transparent", module_shape="dot")):
        img = Image.open(io.BytesIO(render(URL, design, "png"))).convert("RGBA")
        pixel = img.getpixel((1, 1))
        assert isinstance(pixel, tuple)
        assert pixel[3] == 0  # quiet zone is see-through
        assert kit.decode_image(img) == [URL]


def test_plain_svg_is_one_merged_path_and_sized() -> None:
    svg = render(URL, QrDesign(), "svg").decode()
    assert svg.count("<path") == 1
    assert 'width="512" height="512"' in svg
    mm = render(URL, QrDesign(size_mm=40), "svg").decode()
    assert 'width="40mm" height="40mm"' in mm


def test_styled_svg_parts() -> None:
    svg = render(URL, QrDesign(eye_color="#aa0000", caption="<Tom & Jerry's>", frame="box"), "svg").decode()
    assert 'fill="#aa0000"' in svg
    assert "&lt;Tom &amp; Jerry's&gt;" in svg
    assert "<Tom" not in svg
    assert svg.count('fill-rule="evenodd"') == 2  # frame ring and eyes


def test_logo_is_embedded_as_data_uri_on_a_pad(kit: Any) -> None:
    svg = render(URL, QrDesign(logo=Logo(kit.logo_svg, "image/svg+xml"), logo_scale=0.2), "svg").decode()
    m = re.search(r'xlink:href="data:image/svg\+xml;base64,([^"]+)"', svg)
    assert m
    assert base64.b64decode(m.group(1)) == kit.logo_svg


def test_eps_route_plain_is_segno_styled_is_cairo() -> None:
    assert b"Segno" in render(URL, QrDesign(), "eps")[:200]
    assert b"cairo" in render(URL, QrDesign(module_shape="dot"), "eps")[:200]


def test_pdf_physical_size() -> None:
    pdf = render(URL, QrDesign(size_mm=50), "pdf")
    box = re.search(rb"/MediaBox \[ ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) \]", pdf)
    assert box
    assert float(box.group(3)) == pytest.approx(50 / 25.4 * 72, abs=0.5)


@pytest.mark.parametrize("text", ["Grüße aus Köln", "東京タワー", "emoji 🎉 ok", "https://x.test/a?b=1&c=ü"])
def test_unicode_content_round_trips(kit: Any, text: str) -> None:
    assert kit.decode_png(render(text, QrDesign(), "png")) == [text]


def test_errors() -> None:
    with pytest.raises(RenderError):
        render("x" * 3000, QrDesign(ecc="H"), "png")
    with pytest.raises(RenderError):
        render("", QrDesign(), "svg")
    with pytest.raises(ValueError, match="unknown format"):
        render(URL, QrDesign(), "gif")  # type: ignore[arg-type]


def test_encode_never_makes_micro_qr_and_reports_version() -> None:
    sym = encode("1", "L")
    assert sym.version == 1
    assert sym.size == 21
    assert encode("https://qr.example.com/" + "a" * 120, "M").version > 4


# -- any design from_dict accepts must decode ---------------------------------------------------
_hex = st.integers(0, 0xFFFFFF).map(lambda v: rgb_to_hex(((v >> 16) & 255, (v >> 8) & 255, v & 255)))
_caption = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=60)


@st.composite
def design_dicts(draw: st.DrawFn, logos: tuple[bytes, bytes]) -> dict[str, object]:
    shape = draw(st.sampled_from(["square", "rounded", "dot"]))
    eyes = draw(st.sampled_from(["square", "rounded", "circle"]))
    data: dict[str, object] = {
        "dark": draw(_hex),
        "light": draw(st.one_of(_hex, st.just("transparent"), st.just("#ffffff"))),
        "ecc": draw(st.sampled_from("LMQH")),
        "module_shape": shape,
        "eye_shape": eyes,
        "quiet_zone": draw(st.integers(2, 6)),
        "frame": draw(st.sampled_from(["none", "box", "banner"])),
        "size_px": draw(st.integers(300, 700)),
    }
    if draw(st.booleans()):
        data["eye_color"] = draw(_hex)
    if draw(st.booleans()):
        data["caption"] = draw(_caption)
    if draw(st.booleans()):
        png, svg = logos
        mime, raw = draw(st.sampled_from([("image/png", png), ("image/svg+xml", svg)]))
        data["logo"] = {"mime": mime, "data": base64.b64encode(raw).decode()}
        data["logo_scale"] = draw(st.floats(0.05, logo_cap(shape, eyes, "H")))  # type: ignore[arg-type]
    return data


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_accepted_design_decodes(kit: Any, data: st.DataObject) -> None:
    raw = data.draw(design_dicts((kit.make_png(), kit.logo_svg)))
    paper = "#ffffff" if raw["light"] == "transparent" else str(raw["light"])
    colors = [str(raw["dark"]), str(raw.get("eye_color", raw["dark"]))]
    refusable = any(
        contrast_ratio(c, paper) < 3 or relative_luminance(c) > relative_luminance(paper) for c in colors
    )
    if refusable:  # low contrast or inverted without opt-in: the validator must say no
        with pytest.raises(DesignError) as err:
            QrDesign.from_dict(raw)
        assert err.value.field in {"dark", "eye_color"}
        assume(False)
    design = QrDesign.from_dict(raw)
    content = data.draw(st.sampled_from([URL, "https://s.io/a", "WIFI:T:WPA;S:Café;P:p\\;w\\:d;;"]))
    png = render(content, design, "png")
    assert kit.decode_png(png) == [content], raw


# -- cache --------------------------------------------------------------------------------------
def test_cache_hits_and_formats() -> None:
    cache = RenderCache()
    d = QrDesign()
    first = cache.render(URL, d, "svg")
    assert cache.render(URL, QrDesign.from_dict({}), "svg") is first
    assert (cache.hits, cache.misses) == (1, 1)
    png = cache.render(URL, d, "png")
    assert png.startswith(b"\x89PNG")
    assert (cache.hits, cache.misses, len(cache)) == (1, 2, 2)
    assert cache.hit_rate == pytest.approx(1 / 3)
    cache.clear()
    assert (len(cache), cache.size_bytes, cache.hits) == (0, 0, 0)


def test_cache_evicts_least_recently_used() -> None:
    cache = RenderCache(max_entries=2)
    cache.put("a", "svg", b"1")
    cache.put("b", "svg", b"2")
    assert cache.get("a", "svg") == b"1"  # a is now most recent
    cache.put("c", "svg", b"3")
    assert cache.get("b", "svg") is None
    assert cache.get("a", "svg") == b"1"
    by_bytes = RenderCache(max_bytes=10)
    by_bytes.put("a", "png", b"x" * 6)
    by_bytes.put("b", "png", b"y" * 6)
    assert (len(by_bytes), by_bytes.size_bytes) == (1, 6)
    by_bytes.put("huge", "png", b"z" * 11)  # larger than the whole cache: not stored
    assert by_bytes.get("huge", "png") is None
    assert by_bytes.get("b", "png") == b"y" * 6
