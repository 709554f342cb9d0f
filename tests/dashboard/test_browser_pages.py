"""The dashboard in a real browser, page by page: a viewer cannot edit; the main pages render
without script errors; the QR designer previews live and explains refusals; a bulk print run
shows its progress and downloads; the codes list filters as you type. (Server, browser and
helpers: ``browsing.py``.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.browsing import BROWSER_TESTS, Demo, shot, sign_in

pytestmark = BROWSER_TESTS


def test_a_viewer_cannot_edit(browser: Any, demo: Demo, demo_slug: str) -> None:
    r = demo.api(
        "POST",
        "/api/v1/members",
        json={"email": "viewer@democoffee.example", "role": "viewer", "password": "viewer-pass-1"},
    )
    assert r.status_code in (201, 409), r.text
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    sign_in(tab, demo, "viewer@democoffee.example", "viewer-pass-1")
    slug = demo_slug
    tab.goto(f"{demo.url}/app/codes/{slug}")
    tab.locator("#rule-builder li.rule").first.wait_for()
    assert tab.get_by_role("button", name="Save rules").count() == 0
    assert tab.get_by_role("button", name="Delete").count() == 0
    assert tab.locator("#rule-builder input:not([disabled])").count() == 0
    status = tab.evaluate(
        """async (slug) => (await fetch('/api/v1/codes/' + slug, {method: 'PATCH',
             headers: {'Content-Type': 'application/json', 'X-CSRF-Token': document.body.dataset.csrf},
             body: JSON.stringify({rules: []})})).status""",
        slug,
    )
    assert status == 403
    tab.goto(f"{demo.url}/app/settings")
    assert tab.get_by_role("button", name="Create key").count() == 0
    context.close()


@pytest.mark.parametrize(
    ("name", "path", "ready"),
    [
        ("codes", "/app/codes", "#code-rows tr"),
        ("campaigns", "/app/campaigns", "table"),
        ("campaign-detail", "/app/campaigns/1", "canvas"),
        ("settings", "/app/settings", "#members"),
    ],
)
def test_main_pages_render(
    browser: Any, owner_state: dict[str, Any], demo: Demo, name: str, path: str, ready: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, storage_state=owner_state)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(demo.url + path)
    page.locator(ready).first.wait_for()
    assert page.locator("h1").first.inner_text()
    shot(page, name)
    context.close()
    assert errors == [], errors


def test_qr_designer_previews_live_and_explains_refusals(page: Any, demo: Demo, demo_slug: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{demo.url}/app/qr?slug={demo_slug}")
    page.locator("#designer-qa [data-qa-result='ok']").wait_for()
    first = page.locator("#preview").get_attribute("src")
    page.get_by_label("Module shape").select_option("dot")
    page.get_by_label("Caption").fill("Scan for today's offer")
    page.get_by_label("Frame", exact=True).select_option("banner")
    expect(page.locator("#preview")).not_to_have_attribute("src", first or "")
    page.locator("#designer-qa [data-qa-result='ok']").wait_for()
    # a pale module colour cannot be scanned: refused, and the reason sits next to that control
    page.get_by_label("Module colour").fill("#dddddd")
    error = page.locator("#d-dark ~ .field-error, #d-dark + .field-error").first
    error.wait_for()
    assert "contrast" in error.inner_text()
    page.get_by_label("Module colour").fill("#0f1b3d")
    expect(page.locator("#designer .field-error")).to_have_count(0)
    shot(page, "qr-designer")


def test_bulk_print_run_shows_progress_and_downloads(page: Any, demo: Demo, tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_text(
        "name,medium,city,country,campaign,destination,variant,caption\n"
        "Test window #1,window,Berlin,DE,Beans To Go,https://democoffee.example/beans,A,Scan me\n"
        "Test menu #2,menu,Paris,FR,Beans To Go,https://democoffee.example/beans,B,Scannez-moi\n"
    )
    page.goto(f"{demo.url}/app/placements")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Create codes and render").click()
    page.get_by_role("link", name="Download ZIP").wait_for(timeout=30_000)
    assert page.locator("#pr-bar").get_attribute("value") == page.locator("#pr-bar").get_attribute("max")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    assert info.value.suggested_filename.endswith(".pdf")
    shot(page, "placements")


def test_codes_list_filters_as_you_type(page: Any, demo: Demo) -> None:
    from playwright.sync_api import expect

    page.goto(f"{demo.url}/app/codes")
    rows = page.locator("#code-rows tr:has(input[name='slug'])")
    everything = rows.count()
    assert everything >= 40
    page.get_by_label("Search").fill("berlin")
    page.wait_for_url(re.compile(r"[?&]q=berlin"))  # htmx swapped the rows and kept the URL in step
    expect(rows).not_to_have_count(everything)
    for text in rows.all_inner_texts():
        assert "berlin" in text.lower()
    page.get_by_role("checkbox", name="Select all codes shown").check()
    expect(page.locator("[data-bulk-count]")).to_have_text(f"{rows.count()} selected")
