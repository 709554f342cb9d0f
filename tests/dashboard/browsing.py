"""Browser-test kit: a real ``scanroute serve`` on SQLite with the demo workspace and generated
history, Debian's Chromium driven by Playwright (headless), a signed-in owner's page, helpers.

The fixtures are imported by ``conftest.py``: the server is shared by every browser test module
(session scope), the browser is started per module — Playwright's sync API keeps an event loop
running while it is open, which async tests elsewhere must not meet. The browser tests carry
``xdist_group("browser")`` so that they run in one worker. Screenshots go to ``docs/screenshots/``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import unavailable
from tests.server.conftest import EXE, Server

BROWSER_TESTS = [pytest.mark.browser, pytest.mark.server, pytest.mark.xdist_group("browser")]
"""``pytestmark`` of every browser test module."""
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
APP_STORE = "https://apps.apple.com/app/id42"
DEMO_SCANS = "20000"


@dataclass
class Demo:
    """The running server and the demo owner's credentials."""

    server: Server
    email: str
    password: str
    api_key: str

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the REST API with the demo owner's key."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """``scanroute demo --scans …`` into a fresh SQLite file, then ``scanroute serve`` on it."""
    if not Path(CHROMIUM).exists():
        unavailable("browser", f"{CHROMIUM} is missing (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("browser")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANROUTE_")}
    env.update(
        SCANROUTE_DATA_DIR=str(tmp / "data"),
        SCANROUTE_DRAIN_INTERVAL="0.1",
        SCANROUTE_LOG_LEVEL="WARNING",
        SCANROUTE_JOBS_ENABLED="false",
    )
    server = Server({}, tmp / "server.log")
    env["SCANROUTE_BASE_URL"] = server.url
    subprocess.run(
        [EXE, "demo", "--scans", DEMO_SCANS], env=env, check=True, capture_output=True, timeout=120
    )
    server.env = env
    server.start(timeout=60)
    creds = json.loads((tmp / "data" / "demo-credentials.json").read_text())
    yield Demo(server, creds["email"], creds["password"], creds["api_key"])
    server.stop()


@pytest.fixture(scope="session")
def demo_slug(demo: Demo) -> str:
    """A demo code with routing rules."""
    codes = demo.api("GET", "/api/v1/codes?limit=50").json()["items"]
    return str(next(c["slug"] for c in codes if c["rules"]))


@pytest.fixture(scope="module")
def browser(demo: Demo) -> Iterator[Any]:
    """Headless Chromium from Debian."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable("browser", f"playwright is not installed ({exc})")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def owner_state(browser: Any, demo: Demo) -> dict[str, Any]:
    """The owner's signed-in browser state (cookies), made once through the sign-in form."""
    context = browser.new_context()
    tab = context.new_page()
    sign_in(tab, demo, demo.email, demo.password)
    state: dict[str, Any] = context.storage_state()
    context.close()
    return state


@pytest.fixture
def page(browser: Any, demo: Demo, owner_state: dict[str, Any]) -> Iterator[Any]:
    """A signed-in owner's page on the overview; fails the test on any script error in the page."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, storage_state=owner_state
    )
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(f"{demo.url}/app/")
    yield tab
    context.close()
    assert errors == [], errors


def sign_in(tab: Any, demo: Demo, email: str, password: str) -> None:
    """Sign in through the form."""
    tab.goto(f"{demo.url}/app/")
    assert "/login" in tab.url
    tab.get_by_label("E-mail").fill(email)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{demo.url}/app/")


def shot(tab: Any, name: str) -> None:
    """Save a full-page screenshot for the README."""
    tab.wait_for_load_state("networkidle")
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def kpi(tab: Any, name: str) -> str:
    """The text of a KPI card's value."""
    return str(
        tab.locator(f"[data-kpi='{name}'] .value, .value[data-kpi='{name}']").first.inner_text()
    ).strip()


def number(text: str) -> Decimal:
    """``"USD 1,234.50"`` / ``"-19.4 %"`` → an exact decimal (money sums compare exactly)."""
    return Decimal(re.sub(r"[^0-9.\-]", "", text))
