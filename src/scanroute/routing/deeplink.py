"""The app-opening page served for ``Decision.kind == "app"``.

Owns :func:`app_page`: a small self-contained HTML page (no external resources) that tries the
app link and, if the page is still visible after :data:`FALLBACK_DELAY_MS`, replaces itself
with the fallback (store or web) URL. Without JavaScript it shows both links and a meta refresh
takes the visitor to the fallback.

The script and style are constants: the URLs travel only in ``href`` attributes, which the
script reads, so nothing visitor- or user-supplied is ever inside ``<script>``. The page can
therefore be served with the strict :data:`APP_PAGE_CSP`. URLs are cleaned (quotes, angle
brackets, backslashes, whitespace and control characters percent-encoded) and HTML-escaped; a
URL with a forbidden scheme (``javascript:``, ``data:``, …) is replaced by ``about:blank``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from urllib.parse import quote

from scanroute.routing.rules import FORBIDDEN_SCHEMES

FALLBACK_DELAY_MS = 1500
"""How long the page waits for the app to take over before going to the fallback URL."""

_SCRIPT = (
    "(function(){var d=document,"
    'a=d.getElementById("app").getAttribute("href"),'
    'f=d.getElementById("fallback").getAttribute("href"),'
    f"t=setTimeout(function(){{location.replace(f)}},{FALLBACK_DELAY_MS});"
    'd.addEventListener("visibilitychange",function(){if(d.hidden)clearTimeout(t)});'
    "location.href=a})();"
)
_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:3rem 1.5rem;text-align:center}"
    "a{display:inline-block;margin:.5rem;padding:.75rem 1.25rem;border-radius:.5rem;"
    "background:#1d4ed8;color:#fff;text-decoration:none}"
    "a#fallback{background:#e5e7eb;color:#111827}"
)


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


APP_PAGE_CSP = (
    f"default-src 'none'; script-src 'sha256-{_sha256(_SCRIPT)}'; "
    f"style-src 'sha256-{_sha256(_STYLE)}'; base-uri 'none'; form-action 'none'"
)
"""A ``Content-Security-Policy`` header value that allows exactly this page's script and style."""

_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f\"'<>`\\]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def _clean(url: str) -> str:
    url = _UNSAFE.sub(lambda match: quote(match.group(), safe=""), url)
    scheme = _SCHEME.match(url)
    if scheme is not None and scheme.group(1).lower() in FORBIDDEN_SCHEMES:
        return "about:blank"
    return html.escape(url, quote=True)


def app_page(app_url: str, fallback_url: str) -> str:
    """HTML that opens ``app_url`` and falls back to ``fallback_url`` after ~1.5 s.

    Serve it with ``Content-Type: text/html; charset=utf-8``, ``Cache-Control: no-store`` and
    ``Content-Security-Policy: APP_PAGE_CSP``.
    """
    app = _clean(app_url)
    fallback = _clean(fallback_url)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        "<title>Opening the app…</title>"
        f'<noscript><meta http-equiv="refresh" content="2;url={fallback}"></noscript>'
        f"<style>{_STYLE}</style></head><body>"
        "<p>Opening the app…</p>"
        f'<p><a id="app" href="{app}">Open the app</a>'
        f'<a id="fallback" href="{fallback}">Continue without the app</a></p>'
        f"<script>{_SCRIPT}</script></body></html>"
    )
