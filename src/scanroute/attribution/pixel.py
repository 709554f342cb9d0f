"""Signing of conversion-pixel URLs (``GET /c``): nobody without the workspace's secret can forge
revenue.

The signature is HMAC-SHA256, in lower-case hex, keyed with the workspace's ``pixel_secret``
(as UTF-8 text), over the canonical query: every parameter except ``sig``, sorted by name (then
value), each as ``name=value`` with the values exactly as sent (percent-decoded), joined with
``&``. A name that appears twice is refused. Verification is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import quote, urlencode

SIGNATURE_PARAM: Final = "sig"
PIXEL_PARAMS: Final = frozenset(
    {"w", "sid", "type", "value", "currency", "order_id", "external_id", "coupon", "ts", SIGNATURE_PARAM}
)
"""The parameters ``/c`` understands; ``w`` (workspace slug) and ``type`` are required."""


def canonical(params: Iterable[tuple[str, str]]) -> str:
    """The signed text: parameters except ``sig``, sorted, ``name=value`` joined by ``&``."""
    pairs = sorted((k, v) for k, v in params if k != SIGNATURE_PARAM)
    return "&".join(f"{k}={v}" for k, v in pairs)


def sign(secret: str, params: Iterable[tuple[str, str]]) -> str:
    """The hex HMAC-SHA256 signature of ``params`` under ``secret``."""
    return hmac.new(secret.encode(), canonical(params).encode(), hashlib.sha256).hexdigest()


def verify(secret: str, params: Iterable[tuple[str, str]], signature: str) -> bool:
    """True when ``signature`` is the signature of ``params`` (constant-time comparison)."""
    expected = sign(secret, params)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def signed_url(base_url: str, secret: str, params: Mapping[str, str]) -> str:
    """A ready-to-use pixel URL for ``params`` (adds ``sig``)."""
    signature = sign(secret, params.items())
    query = urlencode(sorted(params.items()), quote_via=quote)
    return f"{base_url.rstrip('/')}/c?{query}&{SIGNATURE_PARAM}={signature}"
