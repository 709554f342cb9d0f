"""Destination URLs: campaign (UTM) parameters, pass-through parameters and the scan id.

Owns the one rule for adding parameters to the URL a visitor is sent to: **parameters already
in the destination always win**. Added parameters come in this order of precedence, each
skipped when its name is already taken by the destination or by an earlier source:

1. the campaign's UTM parameters (``utm`` keys :data:`UTM_KEYS` become ``utm_source``, …;
   empty values are left out),
2. ``extra`` (parameters the server adds),
3. ``passthrough`` (the scan URL's own query; it is visitor-controlled, so it never overrides
   configured parameters and can never set ``sr_sid``),
4. ``sr_sid``, the scan id.

``sr_sid`` convention: it is appended when a scan id is given and the destination does not
already carry one. A destination that already holds ``sr_sid`` keeps it as configured and gets
no second copy (two copies would be read differently by different landing pages). Rule
validation refuses rule URLs carrying ``sr_sid`` (see ``routing.rules.check_web_url``), so the
case only arises for a default destination stored with one; the API should refuse it there too.

Runs on every scan, so the work is split: :func:`prepare` merges a code's UTM parameters into a
destination once (the redirect path keeps the result per route and destination), and
:func:`finish` appends what belongs to one scan; ``build_destination`` is the two in a row. The
split of a URL (its parameter names, fragment) and each encoded ``name=value`` pair are cached.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote_plus, unquote_plus

UTM_KEYS: tuple[str, ...] = ("source", "medium", "campaign", "term", "content", "id")
"""The UTM template keys a campaign or code may set; each becomes ``utm_<key>``."""

SCAN_ID_PARAM = "sr_sid"
"""Query parameter carrying the scan id to the landing page."""

_UTM_PARAMS = {key: f"utm_{key}" for key in UTM_KEYS}
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]+")


@lru_cache(maxsize=4096)
def _split(url: str) -> tuple[str, str, frozenset[str], str]:
    """``(url before '#', separator for the next parameter, parameter names, '#fragment')``."""
    base, hash_mark, fragment = url.partition("#")
    _, question_mark, query = base.partition("?")
    if not question_mark:
        return base, "?", frozenset(), hash_mark + fragment
    names = frozenset(_decode_name(part) for part in query.split("&") if part)
    separator = "" if not query or query.endswith("&") else "&"
    return base, separator, names, hash_mark + fragment


@lru_cache(maxsize=4096)
def _pair(name: str, value: str) -> str:
    """``name=value`` form-encoded; cached because campaign values repeat on every scan."""
    return f"{quote_plus(name)}={quote_plus(value)}"


def _decode_name(part: str) -> str:
    name = part.partition("=")[0]
    return unquote_plus(name) if "%" in name or "+" in name else name


def query_names(url: str) -> frozenset[str]:
    """The (decoded) names of the query parameters of ``url``."""
    return _split(url)[2]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A destination with its UTM parameters merged in, waiting for the per-scan parameters.

    ``head`` is the URL before its fragment with the UTM pairs added, ``joiner`` what goes
    before the next parameter (``?``, ``&`` or nothing), ``taken`` the parameter names already
    present (the URL's own and the UTM ones), ``plain`` the whole URL when a scan adds nothing.
    ``sid_prefix`` is what goes before the scan id when a scan adds only ``sr_sid`` (``None``
    when the URL has its own: then the scan goes to ``plain``).
    """

    plain: str
    head: str
    joiner: str
    fragment: str
    taken: frozenset[str]
    sid_prefix: str | None = field(init=False)

    def __post_init__(self) -> None:
        prefix = None if SCAN_ID_PARAM in self.taken else f"{self.head}{self.joiner}{SCAN_ID_PARAM}="
        object.__setattr__(self, "sid_prefix", prefix)  # derived once: the object is immutable


def prepare(url: str, utm: Mapping[str, str]) -> Prepared:
    """The per-code part of :func:`build_destination`: ``url`` with ``utm`` merged in.

    The redirect path keeps one per destination of a route, so that a scan only appends its
    own parameters (see :func:`finish`).
    """
    base, separator, existing, fragment = _split(url)
    pairs: list[str] = []
    added: list[str] = []
    for key, name in _UTM_PARAMS.items():
        value = utm.get(key)
        if value and name not in existing:
            pairs.append(_pair(name, value))
            added.append(name)
    if not pairs:
        return Prepared(url, base, separator, fragment, existing)
    head = base + separator + "&".join(pairs)
    return Prepared(head + fragment, head, "&", fragment, existing.union(added))


def finish(
    prepared: Prepared,
    scan_id: str | None,
    passthrough: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The URL a visitor is sent to: ``prepared`` plus extra, pass-through parameters and
    ``sr_sid`` (see the module docstring for the order of precedence)."""
    taken = prepared.taken
    pairs: list[str] = []
    if extra or passthrough:
        added: set[str] = set()
        for params in (extra, passthrough):
            if not params:
                continue
            for name, value in params.items():
                if name and name != SCAN_ID_PARAM and name not in taken and name not in added:
                    pairs.append(_pair(name, value))
                    added.add(name)
    if scan_id and SCAN_ID_PARAM not in taken:
        encoded = scan_id if _URL_SAFE.fullmatch(scan_id) else quote_plus(scan_id)
        pairs.append(f"{SCAN_ID_PARAM}={encoded}")
    if not pairs:
        return prepared.plain
    return prepared.head + prepared.joiner + "&".join(pairs) + prepared.fragment


def build_destination(
    url: str,
    *,
    utm: Mapping[str, str],
    scan_id: str | None,
    passthrough: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """Return ``url`` with UTM, extra, pass-through parameters and ``sr_sid`` merged in.

    Nothing already in ``url`` is replaced or repeated; the fragment stays at the end. See the
    module docstring for the order of precedence. Returns ``url`` unchanged when there is
    nothing to add.
    """
    return finish(prepare(url, utm), scan_id, passthrough, extra)


def merge_utm(
    campaign_defaults: Mapping[str, str] | None, code_template: Mapping[str, str] | None
) -> dict[str, str]:
    """The UTM template a code uses: its campaign's defaults overridden key by key by the code.

    Only :data:`UTM_KEYS` are kept. A code value of ``""`` removes the campaign's value for
    that key (e.g. to drop ``term``); empty campaign values are left out.
    """
    merged = {key: value for key, value in (campaign_defaults or {}).items() if key in UTM_KEYS and value}
    for key, value in (code_template or {}).items():
        if key not in UTM_KEYS:
            continue
        if value:
            merged[key] = value
        else:
            merged.pop(key, None)
    return merged
