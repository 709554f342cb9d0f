"""The routing view of one scan: what the routing engine may look at.

Built once per request by ``capture.context`` from the ASGI scope and handed to
``routing.engine.resolve``. Plain data, no HTTP objects.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv6Address
from types import MappingProxyType
from typing import NamedTuple

_NO_QUERY: Mapping[str, str] = MappingProxyType({})


class DeviceType(enum.StrEnum):
    """Coarse device class derived from the user agent and client hints."""

    MOBILE = "mobile"
    TABLET = "tablet"
    DESKTOP = "desktop"


class Visit(NamedTuple):
    """Everything a routing condition can match on (immutable; a named tuple because one is
    built per scan and a frozen dataclass costs three times as much to build).

    ``os`` uses canonical families: ``iOS``, ``Android``, ``Windows``, ``macOS``, ``Linux``,
    ``ChromeOS`` (or another ua-parser family name, or ``None`` when unknown). ``languages`` are
    lower-cased BCP 47 tags in the visitor's order of preference (q-values applied, q=0 dropped).
    ``ip`` is the full client address: it is available to routing but is never stored.
    ``visitor`` is the daily-rotated privacy hash (``None`` when tracking is refused).
    """

    device: DeviceType = DeviceType.DESKTOP
    os: str | None = None
    browser: str | None = None
    languages: tuple[str, ...] = ()
    country: str | None = None
    region: str | None = None
    city: str | None = None
    ip: IPv4Address | IPv6Address | None = None
    query: Mapping[str, str] = _NO_QUERY
    visitor: str | None = None
    is_bot: bool = False
