"""The dashboard in a real browser, end to end: sign in and read the overview; build a code with
rules in the rule builder and simulate it, download and decode its PNG, scan it with a phone's
user agent and see the scan in the live feed and on the overview, import a till CSV and see
revenue and ROI rise. (Server, browser and helpers: ``browsing.py``.)
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dashboard.browsing import APP_STORE, BROWSER_TESTS, IPHONE, Demo, kpi, number, shot

pytestmark = BROWSER_TESTS


def test_sign_in_and_overview_with_charts(page: Any, demo: Demo) -> None:
    assert number(kpi(page, "scans")) > 1000
    assert page.evaluate("SR.charts.drawn.length") >= 3  # series, devices, countries
    assert page.locator(".kpi .delta.good, .kpi .delta.bad").count() >= 4  # period comparison
    shot(page, "overview")
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 376  # no sideways scrolling
    shot(page, "overview-phone")


def build_code_with_rules(page: Any, demo: Demo) -> str:
    """Create a code with the form, give it two rules in the builder, simulate; answers the slug."""
    from playwright.sync_api import expect

    page.goto(f"{demo.url}/app/codes/new")
    page.get_by_label("Destination URL").fill("https://democoffee.example/welcome")
    page.get_by_label("Title").fill("Browser test poster")
    page.get_by_label("Campaign", exact=True).select_option(label="Autumn Latte Launch")
    page.get_by_role("button", name="Create code").click()
    page.wait_for_url(re.compile(r"/app/codes/[A-Za-z0-9]+#rules$"))
    slug = str(page.url.split("/app/codes/")[1].split("#")[0])

    builder = page.locator("#rule-builder")
    builder.get_by_role("button", name="Add rule").click()
    rule = builder.locator("li.rule").nth(0)
    rule.get_by_label("Name").fill("iPhone app")
    rule.get_by_label("Condition to add to rule 1").select_option("os")
    rule.get_by_role("button", name="Add condition").click()
    rule.get_by_label("Operating system is any of").fill("iOS")
    rule.get_by_label("URL", exact=True).fill(APP_STORE)
    # a second rule without a URL: the server's problem+json error shows next to that field
    builder.get_by_role("button", name="Add rule").click()
    builder.get_by_role("button", name="Save rules").click()
    error = builder.locator("li.rule").nth(1).locator(".field-error")
    error.wait_for()
    assert error.inner_text().strip()
    url = builder.locator("li.rule").nth(1).get_by_label("URL", exact=True)
    assert url.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in (url.get_attribute("aria-describedby") or "")
    second = builder.locator("li.rule").nth(1)
    second.get_by_label("URL", exact=True).fill("https://democoffee.example/evening")
    second.get_by_label("Condition to add to rule 2").select_option("time")
    second.get_by_role("button", name="Add condition").click()
    second.get_by_label("Time of day from").fill("18:00")
    second.get_by_label("to", exact=True).fill("23:00")
    # keyboard: move the evening rule up and back down with the buttons
    builder.get_by_role("button", name="Move rule 2 up").focus()
    page.keyboard.press("Enter")
    assert builder.locator("li.rule").nth(0).get_by_label("Name").input_value() == ""
    # focus follows the moved rule (now first, so its "down" button), and Enter moves it back
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Move rule 1 down"
    page.keyboard.press("Enter")
    assert builder.locator("li.rule").nth(0).get_by_label("Name").input_value() == "iPhone app"
    builder.get_by_role("button", name="Save rules").click()
    page.get_by_text("Saved: version").wait_for()

    saved = demo.api("GET", f"/api/v1/codes/{slug}").json()["rules"]
    assert saved[0] == {"name": "iPhone app", "when": {"os": ["iOS"]}, "to": APP_STORE}
    assert saved[1]["when"] == {"time": {"from": "18:00", "to": "23:00"}}

    sim = page.locator("#simulator")
    sim.get_by_label("Operating system").select_option("iOS")
    sim.get_by_role("button", name="Simulate").click()
    result = page.locator("[data-sim-destination]")
    result.wait_for()
    assert result.inner_text().startswith(APP_STORE)
    assert "rule 1 “iPhone app”" in page.locator("#sim-result").inner_text()
    sim.get_by_label("Operating system").select_option("Android")
    sim.get_by_label("Time (Europe/Berlin)").fill("20:30")
    sim.get_by_role("button", name="Simulate").click()
    expect(page.locator("#sim-result")).to_contain_text("rule 2")
    assert result.inner_text().startswith("https://democoffee.example/evening")
    page.locator("#qa [data-qa-result]").wait_for()
    shot(page, "code-detail")
    return slug


def download_and_decode(page: Any, demo: Demo, slug: str, tmp_path: Path) -> None:
    """The PNG downloaded from the code's page decodes to the code's short link."""
    import zxingcpp
    from PIL import Image

    page.goto(f"{demo.url}/app/codes/{slug}")
    with page.expect_download() as info:
        page.locator("[data-download='png']").click()
    target = tmp_path / "code.png"
    info.value.save_as(target)
    found = zxingcpp.read_barcodes(Image.open(target))
    assert [r.text for r in found] == [f"{demo.url}/{slug}"]


def scan_and_watch(page: Any, demo: Demo, slug: str) -> str:
    """Scan with an iPhone's user agent: the scan shows in the live feed and on the overview and
    the code's page; answers the scan id."""
    page.goto(f"{demo.url}/app/?days=7")
    before = number(kpi(page, "scans"))
    page.goto(f"{demo.url}/app/live")
    page.get_by_text("Connected").wait_for()
    r = httpx.get(
        f"{demo.url}/{slug}", headers={"user-agent": IPHONE, "accept-language": "de-DE"}, timeout=10
    )
    assert r.status_code == 302
    assert r.headers["location"].startswith(APP_STORE)
    found = re.search(r"sr_sid=([^&]+)", r.headers["location"])
    assert found

    line = page.locator(f"#feed li[data-slug='{slug}']")
    line.wait_for(timeout=15_000)
    assert "iOS" in line.inner_text()
    assert page.locator("#live-scans").inner_text() == "1"
    shot(page, "live")
    page.goto(f"{demo.url}/app/?days=7")
    assert number(kpi(page, "scans")) == before + 1
    page.goto(f"{demo.url}/app/codes/{slug}")
    assert kpi(page, "scans") == "1"
    return found.group(1)


def import_sale(page: Any, demo: Demo, scan_id: str, tmp_path: Path) -> None:
    """A till CSV with a sale for the scan (and one unknown scan) raises revenue and ROI."""
    from playwright.sync_api import expect

    page.goto(f"{demo.url}/app/conversions")
    roi_before = number(kpi(page, "roi"))
    revenue_before = number(kpi(page, "revenue"))
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["Receipt", "Time", "Total", "Scan"])
    writer.writerow(["till-0001", datetime.now(UTC).isoformat(timespec="seconds"), "950.00", scan_id])
    writer.writerow(["till-0002", datetime.now(UTC).isoformat(timespec="seconds"), "12.00", "not-a-scan"])
    path = tmp_path / "till.csv"
    path.write_text(rows.getvalue())
    form = page.locator("#pos-import")
    form.get_by_label("CSV file").set_input_files(str(path))
    expect(form.get_by_label("Order id (required)")).to_have_value("Receipt")  # guessed from the header
    form.get_by_label("Amount").select_option("Total")
    form.get_by_label("Time of the order (required)").select_option("Time")
    form.get_by_label("Scan id (sr_sid)").select_option("Scan")
    form.get_by_role("button", name="Check the file").click()
    page.locator("[data-import-result]").wait_for()
    report = page.locator("#pos-report").inner_text()
    assert "matched" in report
    assert "unmatched" in report
    form.get_by_role("button", name="Import").click()
    page.locator("[data-import-result='imported'], [data-import-result='refused']").wait_for()
    if page.locator("[data-import-result='refused']").count():
        pytest.fail(page.locator("#pos-report").inner_text())
    shot(page, "conversions")
    page.get_by_role("button", name="Show the new figures").click()
    page.wait_for_load_state("networkidle")
    assert number(kpi(page, "revenue")) >= revenue_before + 950
    assert number(kpi(page, "roi")) > roi_before


def test_a_code_from_the_rule_builder_to_a_scan_and_a_sale(page: Any, demo: Demo, tmp_path: Path) -> None:
    slug = build_code_with_rules(page, demo)
    download_and_decode(page, demo, slug, tmp_path)
    scan_id = scan_and_watch(page, demo, slug)
    import_sale(page, demo, scan_id, tmp_path)
