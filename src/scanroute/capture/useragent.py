"""User-agent parsing for scan capture: device class, OS, browser, in-app browsers.

Owns the mapping from a ``User-Agent`` string (plus the low-entropy client hints
``Sec-CH-UA-Mobile`` and ``Sec-CH-UA-Platform``) to an :class:`Agent`. Parsing is done by
ua-parser 1.x with its Rust (``ua-parser-rs``) resolver; this module only canonicalises what it
returns and derives the device type (mobile / tablet / desktop) itself. Results are LRU-cached per
(user agent, hints), since this runs on every scan.

Canonical OS families: ``iOS``, ``Android``, ``Windows``, ``macOS``, ``Linux``, ``ChromeOS``;
other families are kept as ua-parser names them, ``None`` when unknown. Browser families are
ua-parser's (``Mobile Safari``, ``Chrome Mobile``, ``Instagram``, ``Samsung Internet``, ``Edge``,
…), except that ``WeChat Browser`` is called ``WeChat`` and an in-app browser that ua-parser only
sees as a generic web view (WeChat on Android, LinkedIn, …) is named after its app.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import ua_parser
from ua_parser import Domain, Resolver

from scanroute.domain.visit import DeviceType

__all__ = [
    "MAX_UA_LENGTH",
    "Agent",
    "AgentParser",
    "ClientHints",
    "canonical_os",
    "parse_client_hints",
]

MAX_UA_LENGTH = 1024
"""User agents are cut to this many characters before parsing (real ones stay well below)."""


@dataclass(frozen=True, slots=True)
class ClientHints:
    """Low-entropy User-Agent Client Hints sent by Chromium browsers on every request."""

    mobile: bool | None = None
    """``Sec-CH-UA-Mobile``: ``?1`` → True, ``?0`` → False, absent/garbage → None."""
    platform: str | None = None
    """``Sec-CH-UA-Platform`` without its quotes, e.g. ``Android``, ``Windows``, ``macOS``."""


@dataclass(frozen=True, slots=True)
class Agent:
    """What the user agent says about the visitor's device and software."""

    device: DeviceType = DeviceType.DESKTOP
    os: str | None = None
    os_version: str | None = None
    browser: str | None = None
    browser_version: str | None = None
    device_family: str | None = None
    in_app: bool = False


def parse_client_hints(mobile: str | None, platform: str | None) -> ClientHints | None:
    """Build :class:`ClientHints` from raw header values; ``None`` when neither is usable."""
    is_mobile: bool | None = None
    if mobile is not None:
        value = mobile.strip()
        if value == "?1":
            is_mobile = True
        elif value == "?0":
            is_mobile = False
    plat: str | None = None
    if platform is not None:
        plat = platform.strip().strip('"').strip()[:32] or None
    if is_mobile is None and plat is None:
        return None
    return ClientHints(mobile=is_mobile, platform=plat)


_OS_ALIASES: dict[str, str] = {
    "Mac OS X": "macOS",
    "Mac OS": "macOS",
    "macOS": "macOS",
    "Chrome OS": "ChromeOS",
    "ChromeOS": "ChromeOS",
    "Chromium OS": "ChromeOS",
    "iOS": "iOS",
    "iPadOS": "iOS",
    "Android": "Android",
    "Windows": "Windows",
    "Linux": "Linux",
}
_LINUX_DISTROS = frozenset(
    {
        "Ubuntu",
        "Kubuntu",
        "Xubuntu",
        "Lubuntu",
        "Fedora",
        "Debian",
        "Linux Mint",
        "Mint",
        "Arch Linux",
        "Manjaro",
        "openSUSE",
        "SUSE",
        "Red Hat",
        "CentOS",
        "Gentoo",
        "Slackware",
        "Mandriva",
        "Mageia",
        "PCLinuxOS",
        "elementary OS",
        "Knoppix",
        "Puppy",
        "Raspbian",
        "Zenwalk",
    }
)
# Windows families that are not the desktop OS and keep their own name.
_WINDOWS_OTHER = ("Windows Phone", "Windows Mobile", "Windows CE", "Windows RT")
# Sec-CH-UA-Platform values → canonical OS family.
_HINT_PLATFORMS: dict[str, str] = {
    "android": "Android",
    "chrome os": "ChromeOS",
    "chromeos": "ChromeOS",
    "chromium os": "ChromeOS",
    "ios": "iOS",
    "linux": "Linux",
    "macos": "macOS",
    "windows": "Windows",
}
_DESKTOP_OS = frozenset({"Windows", "macOS", "Linux", "ChromeOS"})
_MOBILE_OS = frozenset(
    {"KaiOS", "Windows Phone", "Windows Mobile", "BlackBerry OS", "Symbian OS", "Firefox OS"}
)
_PHONE_DEVICES = frozenset({"iPhone", "iPod", "Generic Smartphone", "Generic Feature Phone"})
_TABLET_DEVICE = re.compile(r"^(?:iPad|Kindle|Generic Tablet)|Tablet|Galaxy Tab|Nexus (?:7|9|10)\b")
_TABLET_UA_TOKENS = ("ipad", "tablet", "kindle", "silk/", "playbook")  # matched lower-cased
_ANDROID_MOBILE_UA = re.compile(r"\bMobile\b")

# Families ua-parser reports for a plain web view or the stock browser; an in-app marker
# found in the UA names the app instead.
_GENERIC_FAMILIES = frozenset(
    {
        "Chrome Mobile WebView",
        "Mobile Safari UI/WKWebView",
        "Mobile Safari",
        "Chrome Mobile",
        "Chrome",
        "Safari",
        "Android",
        "Other",
    }
)
_BROWSER_ALIASES: dict[str, str] = {"WeChat Browser": "WeChat"}
_WEBVIEW_FAMILIES = frozenset({"Chrome Mobile WebView", "Mobile Safari UI/WKWebView"})
# (case-sensitive UA substrings, app family) of in-app browsers, most specific first. Plain
# substring tests: one regex alternation over the whole UA costs ~20x more.
_IN_APP: tuple[tuple[tuple[str, ...], str], ...] = (
    (("Instagram",), "Instagram"),
    (("FBAN/Messenger", "FB_IAB/MESSENGER"), "Facebook Messenger"),
    (("FBAN/", "FBAV/", "FB_IAB/", "FBIOS", "FB4A"), "Facebook"),
    (("MicroMessenger/",), "WeChat"),
    ((" Line/",), "LINE"),
    (("musical_ly_", "trill_", "BytedanceWebview/", "TikTok"), "TikTok"),
    (("Snapchat/",), "Snapchat"),
    (("GSA/",), "Google"),
    (("Pinterest",), "Pinterest"),
    (("Twitter for ", "TwitterAndroid"), "Twitter"),
    (("LinkedInApp",), "LinkedIn"),
    (("KAKAOTALK",), "KakaoTalk"),
    (("NAVER(inapp",), "Naver"),
    (("DaumApps",), "Daum"),
    (("Zalo/", "ZaloTheme"), "Zalo"),
    (("Telegram-Android", "Telegram/"), "Telegram"),
)
_ANDROID_WEBVIEW_TOKENS = ("; wv)", ";wv)")


def _in_app_family(ua: str) -> str | None:
    for tokens, family in _IN_APP:
        for token in tokens:
            if token in ua:
                return family
    return None


def canonical_os(family: str | None) -> str | None:
    """Map a ua-parser OS family to the canonical name (``Mac OS X`` → ``macOS``, …)."""
    if family is None or family == "Other" or not family:
        return None
    alias = _OS_ALIASES.get(family)
    if alias is not None:
        return alias
    if family in _LINUX_DISTROS:
        return "Linux"
    if family.startswith("Windows") and not family.startswith(_WINDOWS_OTHER):
        return "Windows"
    return family


def _version(major: str | None, minor: str | None, patch: str | None) -> str | None:
    if not major:
        return None
    parts = [major]
    if minor:
        parts.append(minor)
        if patch:
            parts.append(patch)
    return ".".join(parts)


@functools.cache
def _resolver() -> Resolver:
    """The shared ua-parser resolver (building the Rust matchers takes ~0.2 s, once)."""
    regex_resolver = ua_parser.RegexResolver
    if regex_resolver is not None:
        return regex_resolver(ua_parser.load_lazy_builtins())
    return ua_parser.BasicResolver(ua_parser.load_builtins())  # pragma: no cover


def _device_type(
    ua: str,
    os: str | None,
    device_family: str | None,
    device_brand: str | None,
    hints: ClientHints | None,
) -> DeviceType:
    if hints is not None and hints.mobile is True:
        return DeviceType.MOBILE
    family = device_family or ""
    if _TABLET_DEVICE.search(family) or device_brand == "Generic_Android_Tablet":
        return DeviceType.TABLET
    if os not in _DESKTOP_OS:
        lowered = ua.lower()
        if any(token in lowered for token in _TABLET_UA_TOKENS):
            return DeviceType.TABLET
    if family in _PHONE_DEVICES or os in _MOBILE_OS or os == "iOS":
        return DeviceType.MOBILE
    if os == "Android":
        # Chrome on Android says "Mobile" on phones only; a ?0 hint (also sent by a phone in
        # "desktop site" mode, which cannot be told apart) counts as a tablet.
        if hints is not None and hints.mobile is False:
            return DeviceType.TABLET
        return DeviceType.MOBILE if _ANDROID_MOBILE_UA.search(ua) else DeviceType.TABLET
    return DeviceType.DESKTOP


class AgentParser:
    """Parses user agents into :class:`Agent` values, with an LRU cache of ``cache_size``."""

    __slots__ = ("_cached", "_resolver")

    def __init__(self, cache_size: int = 10_000) -> None:
        """Create a parser; ``cache_size`` bounds the (user agent, hints) LRU (0 disables it)."""
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        self._resolver = _resolver()
        self._cached = functools.lru_cache(maxsize=cache_size)(self._parse)

    def parse(self, ua: str, hints: ClientHints | None = None) -> Agent:
        """Parse ``ua`` (cut to :data:`MAX_UA_LENGTH`) with optional client hints. Never raises."""
        if len(ua) > MAX_UA_LENGTH:
            ua = ua[:MAX_UA_LENGTH]
        return self._cached(ua, hints)

    def cache_info(self) -> functools._CacheInfo:
        """Hit/miss statistics of the LRU (for metrics)."""
        return self._cached.cache_info()

    def _parse(self, ua: str, hints: ClientHints | None) -> Agent:
        try:
            result = self._resolver(ua, Domain.ALL)
        except UnicodeError:  # lone surrogates cannot cross into Rust (never from ASGI)
            ua = ua.encode("utf-8", "replace").decode("utf-8")
            result = self._resolver(ua, Domain.ALL)
        uam, osm, dev = result.user_agent, result.os, result.device

        os = canonical_os(osm.family) if osm is not None else None
        os_version = _version(osm.major, osm.minor, osm.patch) if osm is not None else None
        if hints is not None and hints.platform is not None:
            hinted = _HINT_PLATFORMS.get(hints.platform.lower())
            if hinted is not None and hinted != os:
                os, os_version = hinted, None

        browser: str | None = None
        browser_version: str | None = None
        if uam is not None and uam.family != "Other":
            browser = _BROWSER_ALIASES.get(uam.family, uam.family)
            browser_version = _version(uam.major, uam.minor, uam.patch)

        app = _in_app_family(ua)
        in_app = app is not None
        if app is not None:
            if browser is None or browser in _GENERIC_FAMILIES:
                browser, browser_version = app, None
        elif browser in _WEBVIEW_FAMILIES or any(t in ua for t in _ANDROID_WEBVIEW_TOKENS):
            in_app = True

        device_family: str | None = None
        brand: str | None = None
        if dev is not None and dev.family not in ("Other", ""):
            device_family, brand = dev.family, dev.brand
        device = _device_type(ua, os, device_family, brand, hints)
        return Agent(
            device=device,
            os=os,
            os_version=os_version,
            browser=browser,
            browser_version=browser_version,
            device_family=device_family,
            in_app=in_app,
        )
