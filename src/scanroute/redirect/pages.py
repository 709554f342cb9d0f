"""Small self-contained HTML pages of the redirect path (no external assets)."""

from __future__ import annotations

from html import escape

_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;"
    "background:#f6f7f9;color:#1d2433}main{max-width:28rem;padding:2rem;text-align:center}"
    "h1{font-size:1.4rem;margin:0 0 .5rem}p{margin:0;color:#4a5568}"
)


def page(title: str, message: str) -> bytes:
    """A minimal page with a title and one sentence."""
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<meta name=robots content=noindex><title>{escape(title)}</title><style>{_STYLE}</style>"
        f"<main><h1>{escape(title)}</h1><p>{escape(message)}</p></main></html>"
    ).encode()


NOT_FOUND = page(
    "Code not found", "This QR code is not (or no longer) in use. Please check the printed code."
)
PAUSED = page("Temporarily unavailable", "This QR code is paused right now. Please try again later.")
EXPIRED = page("This offer has ended", "The campaign behind this QR code is over. Thank you for scanning!")
UNAVAILABLE = page(
    "Please try again", "We could not look up this code just now. Please scan again in a moment."
)
