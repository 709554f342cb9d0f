"""Reading request text for scan capture: the wanted headers, ``Accept-Language``, the query
string and forwarding-header hops. Pure functions that never raise on malformed input; the
context builder (``capture.context``) puts their results together.
"""

from __future__ import annotations

import functools
from ipaddress import IPv4Address
from socket import AF_INET, inet_pton
from typing import Any
from urllib.parse import unquote_plus

from scanroute.capture.privacy import IPAddress, parse_ip

__all__ = [
    "MAX_HEADER_CHARS",
    "MAX_LANGUAGES",
    "MAX_QUERY_PARAMS",
    "parse_accept_language",
    "parse_forwarded_for",
    "parse_node",
    "parse_query",
    "read_headers",
    "read_headers_careful",
]

MAX_LANGUAGES = 10
MAX_QUERY_PARAMS = 64
MAX_HEADER_CHARS = 4096
_DIGITS = frozenset("0123456789")
_CACHED_HEADER_CHARS = 200  # Accept-Language values up to this length are LRU-cached

# Headers the builder reads; everything else in the scope is skipped without decoding.
_WANTED = frozenset(
    {b"user-agent", b"accept-language", b"x-forwarded-for", b"forwarded", b"referer", b"dnt", b"sec-gpc"}
    | {b"sec-purpose", b"purpose", b"sec-ch-ua-mobile", b"sec-ch-ua-platform"}
)
_HEADER_KEYS = {name: name.decode("ascii") for name in _WANTED}
# Headers whose repeated fields are one comma-separated list (RFC 9110 §5.3).
_LISTS = frozenset({"x-forwarded-for", "forwarded", "accept-language"})


def parse_accept_language(header: str | None) -> tuple[str, ...]:
    """Language tags of an ``Accept-Language`` header, best first. Never raises.

    Lower-cased; ordered by q-value (descending), ties by position; ``q=0``, ``*`` and malformed
    entries dropped; duplicates kept once; at most :data:`MAX_LANGUAGES` entries. Results for
    short headers (the usual case: few distinct values) are LRU-cached.
    """
    if not header:
        return ()
    if len(header) <= _CACHED_HEADER_CHARS:
        return _parse_accept_language_cached(header)
    return _parse_accept_language(header)


@functools.lru_cache(maxsize=2048)
def _parse_accept_language_cached(header: str) -> tuple[str, ...]:
    return _parse_accept_language(header)


def _parse_accept_language(header: str) -> tuple[str, ...]:
    weighted: list[tuple[float, int, str]] = []
    for pos, item in enumerate(header[:MAX_HEADER_CHARS].split(",")):
        if pos >= 4 * MAX_LANGUAGES:
            break
        tag, _, params = item.partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*" or not _is_language_tag(tag):
            continue
        q = 1.0
        if params:
            q = _q_value(params)
            if q <= 0.0:
                continue
        weighted.append((-q, pos, tag))
    weighted.sort()
    out: list[str] = []
    for _, _, tag in weighted:
        if tag not in out:
            out.append(tag)
            if len(out) == MAX_LANGUAGES:
                break
    return tuple(out)


def _is_language_tag(tag: str) -> bool:
    if len(tag) > 35:
        return False
    for part in tag.split("-"):
        if not (1 <= len(part) <= 8 and part.isascii() and part.isalnum()):
            return False
    return tag[0].isalpha()


def _q_value(params: str) -> float:
    """The ``q`` parameter of one entry; junk counts as 0 (drop), missing as 1."""
    for param in params.split(";"):
        name, eq, value = param.partition("=")
        if eq and name.strip().lower() == "q":
            value = value.strip()
            if not value or len(value) > 5 or not value.isascii() or not value.replace(".", "", 1).isdigit():
                return 0.0
            q = float(value)
            return q if q <= 1.0 else 0.0
    return 1.0


def parse_query(query_string: bytes | str) -> dict[str, str]:
    """Decode a query string into ``{name: first value}``. Never raises.

    ``+`` is a space, percent-escapes are UTF-8 (invalid bytes replaced), a bare ``name`` is
    ``""``; at most :data:`MAX_QUERY_PARAMS` pairs are read.
    """
    if not query_string:
        return {}
    qs = query_string.decode("utf-8", "replace") if isinstance(query_string, bytes) else query_string
    result: dict[str, str] = {}
    for count, pair in enumerate(qs.split("&")):
        if count >= MAX_QUERY_PARAMS:
            break
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name, errors="replace")
        if not name or name in result:
            continue
        if "%" in value or "+" in value:
            value = unquote_plus(value, errors="replace")
        result[name] = value
    return result


def parse_node(raw: str) -> IPAddress | None:
    """An address from a forwarding header entry: bare, ``v4:port``, ``[v6]`` or ``[v6]:port``."""
    node = raw.strip()
    if 7 <= len(node) <= 15 and node[0] in _DIGITS and node[-1] in _DIGITS:  # a bare IPv4, usually
        try:
            return IPv4Address(inet_pton(AF_INET, node))
        except OSError:
            pass
    if not node or len(node) > 64:
        return None
    if node[0] == '"':
        node = node.strip('"').strip()
        if not node:
            return None
    if node[0] == "[":
        end = node.find("]")
        if end < 0:
            return None
        node = node[1:end]
    elif ":" in node and node.count(":") == 1:
        node = node.partition(":")[0]
    return parse_ip(node)


def parse_forwarded_for(header: str) -> list[str]:
    """The ``for=`` values of an RFC 7239 ``Forwarded`` header, in order (raw, unquoted).

    A hop without ``for=`` yields ``""`` so that positions stay aligned with the chain.
    """
    nodes: list[str] = []
    for element in header.split(","):
        value = ""
        for pair in element.split(";"):
            name, eq, raw = pair.partition("=")
            if eq and name.strip().lower() == "for":
                value = raw.strip()
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
                break
        nodes.append(value)
    return nodes


def read_headers(raw: object) -> dict[str, str]:
    """The wanted headers, names lower-cased, values decoded as Latin-1 (ASGI bytes).

    Malformed entries (not a pair of bytes) are skipped; nothing here raises. The common case,
    a list of ``(bytes, bytes)`` pairs with lower-case names (what ASGI servers give), takes a
    loop without per-header calls; anything unusual goes through the careful path.
    """
    if type(raw) is list:
        out: dict[str, str] = {}
        keys = _HEADER_KEYS
        try:
            for name, value in raw:
                key = keys.get(name)
                if key is None:
                    if type(name) is not bytes or (not name.islower() and name.lower() in keys):
                        break  # upper-case names or not bytes: the careful path
                    continue
                if key in out or type(value) is not bytes:
                    break  # repeated or malformed: the careful path
                out[key] = value[:MAX_HEADER_CHARS].decode("latin-1").strip()
            else:
                return out
        except (TypeError, ValueError):  # not a pair
            pass
    return read_headers_careful(raw)


def read_headers_careful(raw: object) -> dict[str, str]:
    """:func:`read_headers` for any input: repeated list headers joined, odd entries skipped."""
    out: dict[str, str] = {}
    if raw is None or isinstance(raw, str | bytes):
        return out
    try:
        for item in raw:  # type: ignore[attr-defined]
            pair = _header(item)
            if pair is None:
                continue
            key, text = pair
            previous = out.get(key)
            if previous is None:
                out[key] = text
            elif key in _LISTS and len(previous) < MAX_HEADER_CHARS:
                out[key] = f"{previous}, {text}"
    except (TypeError, ValueError, AttributeError, LookupError):  # not iterable
        return out
    return out


def _header(item: Any) -> tuple[str, str] | None:
    """(name, value) of one raw header when it is wanted; None if unwanted or malformed."""
    try:
        name, value = item
        if name not in _WANTED:
            name = name.lower()
            if name not in _WANTED:
                return None
        return _HEADER_KEYS[name], value[:MAX_HEADER_CHARS].decode("latin-1").strip()
    except (TypeError, ValueError, AttributeError, LookupError):  # not a (bytes, bytes) pair
        return None
