"""Brand templates, logos and creative variants through the API."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scanroute.domain.workspace import Role
from tests.conftest import Tenant
from tests.qr_api.conftest import LOGO_SVG, PROBLEM, decode_png, make_png, upload_logo


def _template(client: TestClient, t: Tenant, name: str, design: dict[str, Any]) -> dict[str, Any]:
    r = client.post(
        "/api/v1/qr/templates", json={"name": name, "design": design}, headers=t.auth(Role.EDITOR)
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/qr/templates/{r.json()['id']}"
    return r.json()  # type: ignore[no-any-return]


def test_logo_upload_dedupe_content_and_safety(client: TestClient, tenant: Tenant, other: Tenant) -> None:
    png = make_png()
    first = upload_logo(client, tenant, png, "brand.png")
    assert first.status_code == 201
    logo = first.json()
    assert logo["mime"] == "image/png"
    assert logo["size"] == len(png)
    assert logo["ref"] == {"ref": str(logo["id"])}
    again = upload_logo(client, tenant, png, "again.png")
    assert again.status_code == 200
    assert again.json()["id"] == logo["id"]
    content = client.get(logo["content_url"], headers=tenant.auth(Role.VIEWER))
    assert content.content == png
    assert content.headers["content-type"] == "image/png"
    assert client.get(logo["content_url"], headers=other.auth()).status_code == 404
    svg = upload_logo(client, tenant, LOGO_SVG, "brand.svg", "image/svg+xml")
    assert svg.status_code == 201
    assert svg.json()["mime"] == "image/svg+xml"
    assert (
        "sandbox"
        in client.get(svg.json()["content_url"], headers=tenant.auth()).headers["content-security-policy"]
    )
    listed = client.get("/api/v1/logos", headers=tenant.auth(Role.VIEWER)).json()["items"]
    assert [x["id"] for x in listed] == [logo["id"], svg.json()["id"]]
    assert client.get("/api/v1/logos", headers=other.auth()).json()["items"] == []


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 422, "<script>"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 422, "event handlers"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
            b'<image x:href="https://evil.example/t.png"/></svg>',
            422,
            "external",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(http://e.x/a)"/></svg>',
            422,
            "load",
        ),
        (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg/>', 422, "DOCTYPE"),
        (b"GIF89a not a logo", 422, "PNG or SVG"),
        (b"\x89PNG\r\n\x1a\nbroken", 422, "PNG"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * (512 * 1024), 413, "512"),
    ],
)
def test_bad_logos_are_refused(
    client: TestClient, tenant: Tenant, data: bytes, status: int, words: str
) -> None:
    r = upload_logo(client, tenant, data, "x.svg", "image/svg+xml")
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "file"
    assert words in r.json()["detail"]
    assert client.get("/api/v1/logos", headers=tenant.auth()).json()["items"] == []


def test_inline_logo_in_a_code_design_is_stored_once(client: TestClient, tenant: Tenant) -> None:
    inline = {"mime": "image/png", "data": base64.b64encode(make_png()).decode()}
    slugs = []
    for _ in range(2):
        r = client.post(
            "/api/v1/codes",
            json={"destination": "https://example.com/", "design": {"logo": inline, "logo_scale": 0.2}},
            headers=tenant.auth(),
        )
        assert r.status_code == 201, r.text
        slugs.append(r.json()["slug"])
    logos = client.get("/api/v1/logos", headers=tenant.auth()).json()["items"]
    assert len(logos) == 1
    for slug in slugs:
        code = client.get(f"/api/v1/codes/{slug}", headers=tenant.auth()).json()
        assert code["design"]["logo"] == {"ref": str(logos[0]["id"])}
    r = client.delete(f"/api/v1/logos/{logos[0]['id']}", headers=tenant.auth())
    assert r.status_code == 409
    assert slugs[0] in r.json()["detail"]
    r = client.post(
        "/api/v1/codes",
        json={"destination": "https://example.com/", "design": {"logo": {"ref": "999"}}},
        headers=tenant.auth(),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "design.logo.ref"


def test_templates_apply_to_codes_and_codes_override_fields(
    client: TestClient, tenant: Tenant, other: Tenant
) -> None:
    logo = upload_logo(client, tenant, make_png()).json()
    brand = _template(
        client,
        tenant,
        "Brand",
        {"dark": "#1b4f9c", "module_shape": "rounded", "logo": logo["ref"], "logo_scale": 0.2},
    )
    assert brand["design"]["logo"] == {"ref": str(logo["id"])}
    r = client.post(
        "/api/v1/codes",
        json={
            "destination": "https://example.com/",
            "template": "Brand",
            "design": {"dark": "#000000", "module_shape": "rounded"},
        },
        headers=tenant.auth(),
    )
    assert r.status_code == 201, r.text
    code = r.json()
    assert code["template_id"] == brand["id"]
    assert code["design"] == {
        "dark": "#000000",
        "module_shape": "rounded",
    }
    svg = client.get(f"/api/v1/codes/{code['slug']}/qr", headers=tenant.auth()).text
    assert "#000000" in svg
    assert "#1b4f9c" not in svg
    assert "data:image/png;base64," in svg
    before = client.get(f"/api/v1/codes/{code['slug']}/qr?format=png", headers=tenant.auth())

    # redesigning the template changes (and re-checks) every code that uses it
    r = client.patch(
        f"/api/v1/qr/templates/{brand['id']}",
        json={"design": {"eye_color": "#b03a2e"}},
        headers=tenant.auth(),
    )
    assert r.status_code == 200
    assert r.json()["design"] == {"eye_color": "#b03a2e"}
    after = client.get(f"/api/v1/codes/{code['slug']}/qr?format=png", headers=tenant.auth())
    assert after.headers["etag"] != before.headers["etag"]
    assert decode_png(after.content) == [code["short_url"]]
    refreshed = client.get(f"/api/v1/codes/{code['slug']}", headers=tenant.auth()).json()
    assert refreshed["qa"]["checked_at"] > code["qa"]["checked_at"]

    # a redesign that would break a code using it is refused, naming the code: a 0.25 logo is
    # fine for the template's square modules but above the cap for this code's rounded ones
    r = client.patch(
        f"/api/v1/qr/templates/{brand['id']}",
        json={"design": {"logo": logo["ref"], "logo_scale": 0.25}},
        headers=tenant.auth(),
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "design.logo_scale"
    assert code["slug"] in r.json()["detail"]
    assert client.get(f"/api/v1/qr/templates/{brand['id']}", headers=tenant.auth()).json()["design"] == {
        "eye_color": "#b03a2e"
    }

    assert client.delete(f"/api/v1/qr/templates/{brand['id']}", headers=tenant.auth()).status_code == 409
    assert client.get(f"/api/v1/qr/templates/{brand['id']}", headers=other.auth()).status_code == 404
    r = client.post(
        "/api/v1/codes", json={"destination": "https://e.example/", "template": "Brand"}, headers=other.auth()
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "template"
    r = client.patch(f"/api/v1/codes/{code['slug']}", json={"template": None}, headers=tenant.auth())
    assert r.json()["template_id"] is None
    assert client.delete(f"/api/v1/qr/templates/{brand['id']}", headers=tenant.auth()).status_code == 204


def test_template_validation_and_names(client: TestClient, tenant: Tenant) -> None:
    _template(client, tenant, "Plain", {})
    r = client.post("/api/v1/qr/templates", json={"name": "Plain", "design": {}}, headers=tenant.auth())
    assert r.status_code == 409
    r = client.post(
        "/api/v1/qr/templates", json={"name": "Bad", "design": {"ecc": "X"}}, headers=tenant.auth()
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "design.ecc"
    r = client.post(
        "/api/v1/qr/templates",
        json={"name": "Tiny", "design": {"size_px": 64}},
        headers=tenant.auth(Role.VIEWER),
    )
    assert r.status_code == 403
    listed = client.get("/api/v1/qr/templates?q=pla", headers=tenant.auth(Role.VIEWER)).json()["items"]
    assert [t["name"] for t in listed] == ["Plain"]


def test_apply_a_template_to_a_campaign(client: TestClient, tenant: Tenant) -> None:
    slugs = []
    for i in range(3):
        r = client.post(
            "/api/v1/codes",
            json={
                "destination": f"https://example.com/{i}",
                "campaign": "spring",
                "design": {"frame": "box"},
            },
            headers=tenant.auth(),
        )
        slugs.append(r.json()["slug"])
    client.post("/api/v1/codes", json={"destination": "https://example.com/x"}, headers=tenant.auth())
    tpl = _template(client, tenant, "Spring", {"dark": "#145a32", "caption": "Scan me"})
    r = client.post(
        f"/api/v1/qr/templates/{tpl['id']}/apply",
        json={"campaign": "spring", "keep_design": False},
        headers=tenant.auth(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["applied"] == 3
    assert sorted(r.json()["slugs"]) == sorted(slugs)
    for slug in slugs:
        code = client.get(f"/api/v1/codes/{slug}", headers=tenant.auth()).json()
        assert code["template_id"] == tpl["id"]
        assert code["design"] is None
        assert code["qa"]["decodes"]
    r = client.post(
        f"/api/v1/qr/templates/{tpl['id']}/apply", json={"slugs": ["nope"]}, headers=tenant.auth()
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "slugs[0]"
    r = client.post(f"/api/v1/qr/templates/{tpl['id']}/apply", json={}, headers=tenant.auth())
    assert r.status_code == 422


def test_creative_variants_of_a_campaign(client: TestClient, tenant: Tenant, other: Tenant) -> None:
    camp = client.post("/api/v1/campaigns", json={"name": "Summer"}, headers=tenant.auth()).json()
    body = {
        "destination": "https://example.com/summer",
        "variants": [
            {"label": "blue", "design": {"dark": "#1b4f9c"}},
            {"label": "red", "design": {"dark": "#922b21", "module_shape": "dot"}},
        ],
    }
    r = client.post(f"/api/v1/campaigns/{camp['id']}/creatives", json=body, headers=tenant.auth(Role.EDITOR))
    assert r.status_code == 201, r.text
    items = r.json()["items"]
    assert [c["creative"] for c in items] == ["blue", "red"]
    assert {c["campaign_id"] for c in items} == {camp["id"]}
    assert items[0]["design"] != items[1]["design"]
    listed = client.get(f"/api/v1/codes?campaign_id={camp['id']}&creative=red", headers=tenant.auth()).json()
    assert [c["slug"] for c in listed["items"]] == [items[1]["slug"]]
    dup = {**body, "variants": [{"label": "a"}, {"label": "a"}]}
    r = client.post(f"/api/v1/campaigns/{camp['id']}/creatives", json=dup, headers=tenant.auth())
    assert r.status_code == 422
    bad = {**body, "variants": [{"label": "ok"}, {"label": "bad", "design": {"ecc": "Z"}}]}
    r = client.post(f"/api/v1/campaigns/{camp['id']}/creatives", json=bad, headers=tenant.auth())
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "variants[1].design.ecc"
    assert (
        client.post(f"/api/v1/campaigns/{camp['id']}/creatives", json=body, headers=other.auth()).status_code
        == 404
    )
    assert len(client.get("/api/v1/codes", headers=tenant.auth()).json()["items"]) == 2


@pytest.mark.anyio
async def test_scans_record_the_creative_label(ctr: Any, tenant: Tenant) -> None:
    from scanroute.domain.workspace import Principal
    from scanroute.services.codes import CodeCreate
    from scanroute.web.app import create_app
    from tests.scan.conftest import Scanner

    owner = Principal(workspace_id=tenant.workspace_id, role=Role.OWNER)
    codes = ctr.codes.create_many(
        owner,
        [
            CodeCreate(
                destination="https://example.com/", campaign="C", creative=label, design={"dark": color}
            )
            for label, color in (("A", "#000000"), ("B", "#1b4f9c"))
        ],
    )
    app = create_app(ctr)
    await app.start()
    try:
        scanner = Scanner(app, ctr)
        for code in codes:
            assert (await scanner.scan(code.slug)).status_code == 302
        stored = {s["slug"]: s["creative"] for s in scanner.stored()}
    finally:
        await app.stop()
    assert stored == {codes[0].slug: "A", codes[1].slug: "B"}
