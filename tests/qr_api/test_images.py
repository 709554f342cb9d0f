"""Code images through the API: every format decodes to the short URL; caching; the done-when path."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from scanroute.bootstrap import Container
from scanroute.domain.workspace import Role
from tests.conftest import Tenant
from tests.qr_api.conftest import (
    PROBLEM,
    decode,
    decode_eps,
    decode_png,
    decode_svg,
    make_png,
    pdf_pages,
    upload_logo,
)


def _code(client: TestClient, t: Tenant, **extra: object) -> dict[str, object]:
    body = {"destination": "https://example.com/menu", **extra}
    r = client.post("/api/v1/codes", json=body, headers=t.auth(Role.EDITOR))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_styled_png_with_logo_and_caption_decodes_to_the_short_url(
    client: TestClient, tenant: Tenant
) -> None:
    logo = upload_logo(client, tenant, make_png())
    assert logo.status_code == 201, logo.text
    design = {
        "size_px": 800,
        "module_shape": "rounded",
        "eye_shape": "rounded",
        "eye_color": "#b03a2e",
        "dark": "#1b2631",
        "logo": logo.json()["ref"],
        "logo_scale": 0.24,
        "frame": "banner",
        "caption": "Scan for the menu",
    }
    code = _code(client, tenant, design=design)
    assert code["design"]["logo"] == {"ref": str(logo.json()["id"])}
    qa = code["qa"]
    assert qa["ok"] is True
    assert qa["decodes"] is True
    assert qa["scope"] == "code"
    assert qa["ecc"] in ("Q", "H")  # raised from M: a 0.24 logo needs ≥ Q with rounded modules
    assert qa["scan_distance_m"] == 1.0
    sizes = {p["scan_distance_m"]: p["min_print_width_mm"] for p in qa["print_sizes"]}
    assert sizes[1.0] == pytest.approx(qa["min_print_width_mm"], abs=0.11)
    assert sizes[1.0] > 100 > sizes[0.3]  # 1 m needs a poster-sized code, 30 cm a sticker

    r = client.get(f"/api/v1/codes/{code['slug']}/qr?format=png", headers=tenant.auth(Role.VIEWER))
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.width == 800
    assert img.height > 800
    assert decode(img) == [code["short_url"]]
    assert code["short_url"] == f"http://sr.test/{code['slug']}"

    check = client.post(
        "/api/v1/qr/check",
        json={"slug": code["slug"], "scan_distance_m": 1},
        headers=tenant.auth(Role.VIEWER),
    )
    assert check.status_code == 200
    assert check.json()["min_print_width_mm"] == pytest.approx(sizes[1.0], abs=0.11)
    assert "scan distance" in check.json()["rule"]


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf", "eps"])
def test_every_format_decodes_to_the_short_url(client: TestClient, tenant: Tenant, fmt: str) -> None:
    code = _code(client, tenant, design={"module_shape": "dot", "eye_shape": "circle", "size_mm": 40})
    r = client.get(f"/api/v1/codes/{code['slug']}/qr?format={fmt}", headers=tenant.auth())
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == f'inline; filename="{code["slug"]}.{fmt}"'
    if fmt == "svg":
        assert r.headers["content-type"].startswith("image/svg+xml")
        found = decode_svg(r.content)
    elif fmt == "png":
        found = decode_png(r.content)
    elif fmt == "pdf":
        assert r.headers["content-type"] == "application/pdf"
        pages = pdf_pages(r.content, scale=6)
        assert len(pages) == 1
        found = decode(pages[0])
    else:
        assert r.headers["content-type"] == "application/postscript"
        found = decode_eps(r.content)
    assert found == [code["short_url"]]


def test_destination_update_never_changes_the_image(client: TestClient, tenant: Tenant) -> None:
    code = _code(client, tenant, design={"dark": "#123456"})
    url = f"/api/v1/codes/{code['slug']}/qr?format=png"
    before = client.get(url, headers=tenant.auth())
    r = client.patch(
        f"/api/v1/codes/{code['slug']}",
        json={"destination": "https://other.example/new"},
        headers=tenant.auth(),
    )
    assert r.status_code == 200
    assert r.json()["destination"] == "https://other.example/new"
    assert r.json()["qa"] == code["qa"]  # the look did not change, so QA did not run again
    after = client.get(url, headers=tenant.auth())
    assert after.content == before.content
    assert after.headers["etag"] == before.headers["etag"]
    assert decode_png(after.content) == [code["short_url"]]
    # a design change does change it
    client.patch(f"/api/v1/codes/{code['slug']}", json={"design": {"dark": "#000000"}}, headers=tenant.auth())
    assert client.get(url, headers=tenant.auth()).headers["etag"] != before.headers["etag"]


def test_caching_headers_etag_304_and_downloads(client: TestClient, ctr: Container, tenant: Tenant) -> None:
    code = _code(client, tenant)
    url = f"/api/v1/codes/{code['slug']}/qr"
    first = client.get(url, headers=tenant.auth())
    assert first.headers["cache-control"] == "public, max-age=300"
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('.svg"')
    hits = ctr.qr.cache.hits
    again = client.get(url, headers=tenant.auth())
    assert again.content == first.content
    assert ctr.qr.cache.hits == hits + 1
    r = client.get(url, headers={**tenant.auth(), "If-None-Match": f'W/"nope", {etag}'})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    assert client.get(url, headers={**tenant.auth(), "If-None-Match": '"other"'}).status_code == 200
    dl = client.get(url + "?format=png&download=true", headers=tenant.auth())
    assert dl.headers["content-disposition"] == f'attachment; filename="{code["slug"]}.png"'
    assert dl.headers["etag"] != etag


def test_query_options_override_the_saved_design(client: TestClient, tenant: Tenant) -> None:
    code = _code(client, tenant, design={"size_px": 900})
    r = client.get(f"/api/v1/codes/{code['slug']}/qr?format=png&size_px=300", headers=tenant.auth())
    assert Image.open(io.BytesIO(r.content)).width == 300
    r = client.get(f"/api/v1/codes/{code['slug']}/qr?format=png&size_mm=20&dpi=300", headers=tenant.auth())
    img = Image.open(io.BytesIO(r.content))
    assert img.width == round(20 / 25.4 * 300)
    assert decode(img) == [code["short_url"]]
    r = client.get(f"/api/v1/codes/{code['slug']}/qr?dark=%23eeeeee", headers=tenant.auth())
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "dark"
    assert "contrast" in r.json()["detail"]
    r = client.get(f"/api/v1/codes/{code['slug']}/qr?format=gif", headers=tenant.auth())
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "format"


def test_images_are_scoped_to_the_workspace(client: TestClient, tenant: Tenant, other: Tenant) -> None:
    code = _code(client, tenant)
    r = client.get(f"/api/v1/codes/{code['slug']}/qr", headers=other.auth())
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert client.get(f"/api/v1/codes/{code['slug']}/qr", headers=tenant.auth(Role.VIEWER)).status_code == 200
    assert client.get(f"/api/v1/codes/{code['slug']}/qr").status_code == 401


def test_preview_renders_without_saving(client: TestClient, ctr: Container, tenant: Tenant) -> None:
    body = {"data": "https://example.com/preview", "design": {"module_shape": "rounded"}, "format": "png"}
    r = client.post("/api/v1/qr/preview", json=body, headers=tenant.auth(Role.VIEWER))
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert decode_png(r.content) == ["https://example.com/preview"]
    sample = client.post("/api/v1/qr/preview", json={}, headers=tenant.auth(Role.VIEWER))
    assert decode_svg(sample.content) == [f"http://sr.test/{'x' * ctr.settings.slug_length}"]
    assert client.get("/api/v1/codes", headers=tenant.auth()).json()["items"] == []
    bad = client.post("/api/v1/qr/preview", json={"design": {"sizepx": 300}}, headers=tenant.auth())
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "design.sizepx"
    assert "unknown design option" in bad.json()["detail"]
    both = client.post("/api/v1/qr/preview", json={"data": "a", "slug": "b"}, headers=tenant.auth())
    assert both.status_code == 422
    assert both.json()["errors"][0]["field"] == "data"
    assert "only one of slug, data or payload" in both.json()["detail"]
