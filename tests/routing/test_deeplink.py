"""app_page(): self-contained, works without JavaScript, safe with hostile URLs."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanroute.routing import APP_PAGE_CSP, app_page
from scanroute.routing.rules import FORBIDDEN_SCHEMES


class Page(HTMLParser):
    """Collects what a browser would see: elements with attributes, script and style text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._open: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._open = tag

    def handle_data(self, data: str) -> None:
        if self._open == "script":
            self.scripts.append(data)
        elif self._open == "style":
            self.styles.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def link(self, element_id: str) -> str | None:
        return next(a["href"] for tag, a in self.elements if a.get("id") == element_id)

    def refresh(self) -> str | None:
        return next(a["content"] for tag, a in self.elements if a.get("http-equiv") == "refresh")


def csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_page_links_refresh_and_script() -> None:
    app = "myapp://offer?id=1&x=2"
    store = "https://apps.apple.com/app/id1?a=1&b=2"
    html = app_page(app, store)
    page = Page(html)
    assert page.link("app") == app
    assert page.link("fallback") == store
    assert page.refresh() == f"2;url={store}"
    assert "setTimeout" in page.scripts[0]
    assert "1500" in page.scripts[0]
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=\"?https?:", html)
    assert "<noscript>" in html


def test_csp_allows_exactly_the_page_script_and_style() -> None:
    page = Page(app_page("myapp://x", "https://example.com/"))
    assert len(page.scripts) == len(page.styles) == 1
    assert f"script-src '{csp_hash(page.scripts[0])}'" in APP_PAGE_CSP
    assert f"style-src '{csp_hash(page.styles[0])}'" in APP_PAGE_CSP
    assert "default-src 'none'" in APP_PAGE_CSP


@pytest.mark.parametrize(
    "hostile",
    [
        '"><script>alert(1)</script>',
        "https://example.com/</script><script>alert(1)</script>",
        "https://example.com/?q='onmouseover='alert(1)",
        "https://example.com/\u2028\u2029x",
        'myapp://x"></a><img src=x onerror=alert(1)>',
        "https://example.com/;url=javascript:alert(1)",
    ],
)
def test_hostile_urls_cannot_inject_markup(hostile: str) -> None:
    page = Page(app_page(hostile, hostile))
    assert [tag for tag, _ in page.elements].count("script") == 1
    assert all(
        tag in {"html", "head", "meta", "title", "noscript", "style", "body", "p", "a", "script"}
        for tag, _ in page.elements
    )
    assert all(not name.startswith("on") for _, attrs in page.elements for name in attrs)
    assert page.scripts == Page(app_page("a://b", "https://c/")).scripts
    content = page.refresh() or ""
    assert re.fullmatch(r"2;url=[^\s'\"]+", content), content


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:x",
        "file:///etc/passwd",
    ],
)
def test_forbidden_schemes_become_about_blank(url: str) -> None:
    page = Page(app_page(url, url))
    assert page.link("app") == page.link("fallback") == "about:blank"
    assert page.refresh() == "2;url=about:blank"


@given(app=st.text(), fallback=st.text())
def test_any_input_yields_one_constant_script_and_no_dangerous_link(app: str, fallback: str) -> None:
    page = Page(app_page(app, fallback))
    assert page.scripts == Page(app_page("a://b", "https://c/")).scripts
    for element_id in ("app", "fallback"):
        href = page.link(element_id) or ""
        scheme = href.partition(":")[0].lower() if ":" in href else ""
        assert scheme not in FORBIDDEN_SCHEMES
        assert not re.search(r"[\s\"'<>]", href)
