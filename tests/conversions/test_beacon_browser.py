"""The landing beacon in a real browser: Chromium scans a code of a real ``scanroute serve``, lands
on a page of ANOTHER site that includes ``/t.js``, and the arrival and a named step are recorded;
the scan id lives in a first-party cookie of the landing site and scanroute sets no cookie."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import unavailable
from tests.server.conftest import EXE, Server

pytestmark = [pytest.mark.browser, pytest.mark.server]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def landing(tmp_path: Path) -> Iterator[tuple[Server, str, ThreadingHTTPServer]]:
    """scanroute on 127.0.0.1 and a landing site on localhost (another host: another site)."""
    if not Path(CHROMIUM).exists():
        unavailable("browser", f"{CHROMIUM} is missing (apt-get install chromium)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANROUTE_")}
    env.update(
        SCANROUTE_DATA_DIR=str(tmp_path / "data"),
        SCANROUTE_DRAIN_INTERVAL="0.1",
        SCANROUTE_LOG_LEVEL="WARNING",
        SCANROUTE_JOBS_ENABLED="false",
    )
    server = Server(env, tmp_path / "server.log")
    env["SCANROUTE_BASE_URL"] = server.url
    key = subprocess.run(
        [EXE, "keys", "create", "--name", "t"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    script = f"{server.url}/t.js"

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (
                f"<!doctype html><title>landing</title><script src='{script}'></script>"
                "<button onclick=\"scanroute.step('form_started')\">go</button>"
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    site = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    server.start(timeout=60)
    try:
        yield server, key, site
    finally:
        server.stop()
        site.shutdown()


def test_arrival_and_steps_from_a_real_browser(
    landing: tuple[Server, str, ThreadingHTTPServer], tmp_path: Path
) -> None:
    server, key, site = landing
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable("browser", f"playwright is not installed ({exc})")
    destination = f"http://localhost:{site.server_address[1]}/landing"
    code = httpx.post(
        f"{server.url}/api/v1/codes",
        json={"destination": destination},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert code.status_code == 201, code.text
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context()
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{server.url}/{code.json()['slug']}")
        assert page.url.startswith(destination)
        sid = page.url.split("sr_sid=")[1]
        page.wait_for_function("window.scanroute && window.scanroute.sid")
        assert page.evaluate("window.scanroute.sid") == sid
        page.click("button")
        cookies = {c["name"]: c for c in context.cookies(destination)}
        ours = context.cookies(server.url)
        browser_cookie = cookies["sr_sid"]
        page.close()  # pagehide: nothing more to send (the page was not visible for 10 s)
        browser.close()
    assert errors == []
    assert browser_cookie["value"] == sid
    assert browser_cookie["sameSite"] == "Lax"
    assert browser_cookie["path"] == "/"
    assert 29 * 86400 < browser_cookie["expires"] - time.time() <= 30 * 86400
    assert ours == []  # no cookie of scanroute's own host: no third-party cookie
    db = Path(server.env["SCANROUTE_DATA_DIR"]) / "scanroute.db"
    deadline = time.monotonic() + 10
    rows: set[tuple[str, str]] = set()
    while time.monotonic() < deadline and len(rows) < 2:
        with sqlite3.connect(db) as conn:
            rows = {(r[0], r[1]) for r in conn.execute("SELECT scan_id, kind FROM beacon_events")}
        time.sleep(0.2)
    assert rows == {(sid, "arrived"), (sid, "form_started")}
