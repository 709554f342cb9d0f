"""QrDesign validation, (de)serialisation, ECC raising and cache keys."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from scanroute.qr.design import EYE_LOGO_CAPS, LOGO_CAPS, DesignError, Logo, QrDesign, logo_cap


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_defaults(kit: Any) -> None:
    d = QrDesign.from_dict({})
    assert (d.size_px, d.quiet_zone, d.ecc, d.dark, d.light) == (512, 4, "M", "#000000", "#ffffff")
    assert (d.module_shape, d.eye_shape, d.frame, d.logo, d.caption) == (
        "square",
        "square",
        "none",
        None,
        None,
    )
    assert d.is_plain
    assert d.pixel_width == 512


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"ecc": "X"}, "ecc"),
        ({"ecc": "m"}, "ecc"),
        ({"dark": "black"}, "dark"),
        ({"light": "#ggg"}, "light"),
        ({"dark": "#eeeeee"}, "dark"),  # 1.2:1 on white
        ({"eye_color": "#fafafa"}, "eye_color"),
        ({"dark": "#ffffff", "light": "#000000"}, "dark"),  # inverted without opt-in
        ({"light": "#777777", "eye_color": "#ffffff", "allow_inverted": True}, "eye_color"),  # mixed
        ({"dark": "#ffffff", "light": "transparent"}, "dark"),
        ({"dark": "#ffffff", "light": "transparent", "allow_inverted": True}, "allow_inverted"),
        ({"module_shape": "star"}, "module_shape"),
        ({"eye_shape": "heart"}, "eye_shape"),
        ({"frame": "ribbon"}, "frame"),
        ({"size_px": 100, "size_mm": 20}, "size_px"),
        ({"size_px": 10}, "size_px"),
        ({"size_px": 512.0}, "size_px"),
        ({"size_px": True}, "size_px"),
        ({"size_mm": 2000, "dpi": 600}, "dpi"),
        ({"size_mm": "40"}, "size_mm"),
        ({"quiet_zone": 1}, "quiet_zone"),
        ({"caption": "x" * 61}, "caption"),
        ({"caption": "two\nlines"}, "caption"),
        ({"bogus": 1}, "bogus"),
        ({"logo": "logo.png"}, "logo"),
        ({"logo": {"mime": "image/gif", "data": _b64(b"GIF89a")}}, "logo.mime"),
        ({"logo": {"mime": "png", "data": "!!not base64!!"}}, "logo.data"),
        ({"logo": {"mime": "png", "data": _b64(b"not a png")}}, "logo.data"),
        ({"logo": {"mime": "svg", "data": _b64(b"<html/>")}}, "logo.data"),
        ({"logo": {"mime": "svg", "data": _b64(b"<svg")}}, "logo.data"),
        ({"logo": {"mime": "svg", "data": _b64(b'<!DOCTYPE svg [<!ENTITY a "b">]><svg/>')}}, "logo.data"),
        ({"logo": {"ref": "brand"}}, "logo.ref"),
        ({"logo": {"mime": "png"}}, "logo.data"),
        ({"logo_scale": 0}, "logo_scale"),
        ({"allow_inverted": "yes"}, "allow_inverted"),
    ],
)
def test_from_dict_rejects_with_field_path(data: dict[str, object], field: str) -> None:
    with pytest.raises(DesignError) as err:
        QrDesign.from_dict(data)
    assert err.value.field == field
    assert err.value.reason
    assert str(err.value).startswith(f"{field}: ")


@pytest.mark.parametrize("eyes", ["square", "rounded", "circle"])
@pytest.mark.parametrize("shape", ["square", "rounded", "dot"])
def test_logo_scale_capped_per_shape(kit: Any, shape: str, eyes: str) -> None:
    logo = {"mime": "image/png", "data": _b64(kit.make_png())}
    cap = logo_cap(shape, eyes, "H")  # type: ignore[arg-type]
    base = {"module_shape": shape, "eye_shape": eyes, "logo": logo}
    assert QrDesign.from_dict({**base, "logo_scale": cap}).logo_scale == cap
    with pytest.raises(DesignError) as err:
        QrDesign.from_dict({**base, "logo_scale": cap + 0.01})
    assert err.value.field == "logo_scale"
    assert f"{cap:g}" in err.value.reason


def test_cap_tables_are_sane() -> None:
    for table in (*LOGO_CAPS.values(), *EYE_LOGO_CAPS.values()):
        levels = [table[e] for e in "LMQH"]  # type: ignore[index]
        assert levels == sorted(levels)  # more error correction never allows a smaller logo
        assert max(levels) <= 0.25  # LIBRARIES.md: 25 % of the width at H is the ceiling
    assert LOGO_CAPS["rounded"]["H"] < LOGO_CAPS["square"]["H"]
    assert logo_cap("square", "circle", "H") < logo_cap("square", "square", "H")


def test_ecc_is_raised_for_a_logo_and_never_lowered(kit: Any) -> None:
    logo = Logo(kit.make_png(), "image/png")
    caps = LOGO_CAPS["square"]
    big = QrDesign(logo=logo, logo_scale=caps["H"], ecc="L")
    assert big.effective_ecc == next(e for e in "LMQH" if caps[e] >= caps["H"])  # type: ignore[index]
    assert big.ecc == "L"  # the request is kept; the raise is derived
    assert QrDesign(logo=logo, logo_scale=0.05, ecc="H").effective_ecc == "H"
    small = QrDesign(logo=logo, logo_scale=min(c for c in caps.values() if c > 0), ecc="L")
    assert small.effective_ecc in ("L", "M")
    assert QrDesign(ecc="Q").effective_ecc == "Q"


def test_colours_are_normalised_and_contrast_allows_3_to_1() -> None:
    d = QrDesign.from_dict({"dark": "#1A2B3C", "light": "#FFF", "eye_color": "#A00"})
    assert (d.dark, d.light, d.eye_color) == ("#1a2b3c", "#ffffff", "#aa0000")
    QrDesign(dark="#767676")  # 4.5:1 on white
    QrDesign(dark="#949494")  # 3.03:1 on white: the floor
    with pytest.raises(DesignError):
        QrDesign(dark="#969696")  # 2.96:1


def test_inverted_needs_opt_in() -> None:
    d = QrDesign.from_dict({"dark": "#ffffff", "light": "#111111", "allow_inverted": True})
    assert d.inverted
    assert not QrDesign().inverted


def test_to_dict_round_trip_is_json_and_equal(kit: Any) -> None:
    data = {
        "size_mm": 40,
        "dpi": 600,
        "quiet_zone": 3,
        "ecc": "Q",
        "dark": "#123456",
        "light": "transparent",
        "eye_color": "#aa0000",
        "module_shape": "rounded",
        "eye_shape": "circle",
        "logo": {"mime": "image/svg+xml", "data": _b64(kit.logo_svg)},
        "logo_scale": 0.08,
        "frame": "banner",
        "caption": "  Scan for the menu — café  ",
        "caption_color": "#ffee00",
        "frame_color": "#000000",
    }
    d = QrDesign.from_dict(data)
    assert d.caption == "Scan for the menu — café"  # trimmed
    assert d.size_px is None
    text = json.dumps(d.to_dict())
    again = QrDesign.from_dict(json.loads(text))
    assert again == d
    assert again.cache_key("x") == d.cache_key("x")


def test_logo_refs_resolve_through_a_loader(kit: Any) -> None:
    png = kit.make_png()
    store = {"brand": (png, "image/png")}
    d = QrDesign.from_dict({"logo": {"ref": "brand"}, "ecc": "H"}, logo_loader=store.__getitem__)
    assert d.logo is not None
    assert d.logo.data == png
    assert d.logo.ref == "brand"
    slim = d.to_dict(include_logo_data=False)
    assert "data" not in slim["logo"]
    assert slim["logo"]["sha256"] == d.logo.digest
    assert QrDesign.from_dict(slim, logo_loader=store.__getitem__) == d
    with pytest.raises(DesignError) as err:
        QrDesign.from_dict({"logo": {"ref": "missing"}}, logo_loader=store.__getitem__)
    assert err.value.field == "logo.ref"
    tampered = dict(slim, logo={**slim["logo"], "data": _b64(kit.make_png("#00ff00"))})
    with pytest.raises(DesignError) as err:
        QrDesign.from_dict(tampered)
    assert err.value.field == "logo.sha256"


def test_cache_key_is_stable_and_sensitive(kit: Any) -> None:
    a = QrDesign.from_dict({"dark": "#000", "ecc": "M"})
    b = QrDesign.from_dict({"ecc": "M", "dark": "#000000"})
    assert a.cache_key("https://x.test/a") == b.cache_key("https://x.test/a")
    assert len(a.cache_key("c")) == 64
    keys = {
        a.cache_key("https://x.test/a"),
        a.cache_key("https://x.test/b"),
        QrDesign(dark="#111111").cache_key("https://x.test/a"),
        QrDesign(size_px=513).cache_key("https://x.test/a"),
        QrDesign(module_shape="dot").cache_key("https://x.test/a"),
        QrDesign(logo=Logo(kit.make_png(), "image/png"), ecc="H").cache_key("https://x.test/a"),
        QrDesign(logo=Logo(kit.make_png("#00ff00"), "image/png"), ecc="H").cache_key("https://x.test/a"),
    }
    assert len(keys) == 7
    # the logo scale is irrelevant without a logo; ECC raised by a logo equals the explicit level
    assert QrDesign(logo_scale=0.1).cache_key("c") == QrDesign(logo_scale=0.2).cache_key("c")
    # a pinned key: changing the key recipe must be deliberate (it invalidates cached images)
    assert QrDesign().cache_key("https://x.test/a") == (
        "6ba249bd85449637b5d0c8ae30b00fe706c71950deca6a9c2a20ab844af5876b"
    )


def test_size_mm_converts_to_pixels() -> None:
    d = QrDesign(size_mm=25.4, dpi=300)
    assert d.pixel_width == 300
    assert QrDesign(size_mm=50, dpi=600).pixel_width == 1181
