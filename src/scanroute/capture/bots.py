"""Bot, link-preview and security-scanner detection for scan capture.

Owns the verdict that keeps non-human fetches out of the KPIs (DESIGN.md §4 "Counting": they
are recorded but flagged). Sources, in order of precedence:

1. the user agent against the operator's extra patterns (``scanner`` unless prefixed with
   another kind), then a small built-in list of security scanners (mail gateways,
   Google-Safety) and of link-preview fetchers (chat apps, social networks, mail clients);
2. the user agent against crawlerdetect's patterns (kind ``bot``);
3. request signals: ``Sec-Purpose``/``Purpose: prefetch`` (``preview``), a ``HEAD`` request
   (``scanner``), no ``Accept-Language`` at all (suspected ``scanner``).

The user-agent part is LRU-cached per user-agent string; the request signals are a few
comparisons per call. crawlerdetect's own matcher costs ~0.45 ms per new user agent, so its
pattern data is compiled with the Rust regex engine that ua-parser already uses (see
:class:`CrawlerMatcher`), which answers the same in ~10-20 µs.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from crawlerdetect import CrawlerDetect
from crawlerdetect.providers.crawlers import data as crawlers_data
from crawlerdetect.providers.exclusions import data as exclusions_data

__all__ = [
    "DEFAULT_PREVIEW_PATTERNS",
    "DEFAULT_SCANNER_PATTERNS",
    "HUMAN",
    "BotDetector",
    "BotKind",
    "BotVerdict",
    "CrawlerMatcher",
]

BotKind = Literal["bot", "preview", "scanner"]

_MAX_UA = 1024

DEFAULT_PREVIEW_PATTERNS: tuple[str, ...] = (
    "Slackbot-LinkExpanding",
    "Slack-ImgProxy",
    "Slackbot",
    "facebookexternalhit",
    "Facebot",
    "WhatsApp",
    "TelegramBot",
    "Twitterbot",
    "LinkedInBot",
    "Discordbot",
    "SkypeUriPreview",
    "MicrosoftPreview",
    "BingPreview",
    "Microsoft Office",
    "ms-office",
    "MSOffice",
    "Outlook",
    "Iframely",
    "Embedly",
    "redditbot",
    "Pinterestbot",
    "Snap URL Preview",
    "vkShare",
    "Mastodon",
    "Bluesky",
    "Google-PageRenderer",
    "Google-Read-Aloud",
    "Yahoo Link Preview",
)
"""User-agent substrings (case-insensitive) of link-preview and unfurling fetchers."""

DEFAULT_SCANNER_PATTERNS: tuple[str, ...] = (
    "Google-Safety",
    "Proofpoint",
    "Mimecast",
    "Barracuda",
    "Forcepoint",
    "Trend Micro",
    "TrendMicro",
    "Cisco Secure Email",
    "IronPort",
    "Sophos",
    "Symantec",
    "FireEye",
    "Zscaler",
    "Cloudmark",
    "SafeLinks",
    "VirusTotal",
    "urlscan",
    "Palo Alto",
)
"""User-agent substrings (case-insensitive) of mail gateways and URL security scanners."""

_KINDS: tuple[BotKind, ...] = ("bot", "preview", "scanner")


@dataclass(frozen=True, slots=True)
class BotVerdict:
    """Whether a fetch is non-human, what kind, and why (for logs and audits)."""

    is_bot: bool = False
    kind: BotKind | None = None
    reason: str | None = None


HUMAN = BotVerdict()
"""The verdict for a request with no bot signal."""

# Python-only regex syntax the Rust engine rejects (look-around, back-references).
_PY_ONLY_SYNTAX = re.compile(r"\(\?<?[=!]|\\[1-9]")


class CrawlerMatcher:
    """crawlerdetect's verdict, computed on its own pattern data with a faster regex engine.

    crawlerdetect joins ~1,500 patterns into one Python ``re`` alternation (~0.4-0.5 ms per user
    agent). The same patterns compiled by ``ua-parser-rs`` (the Rust regex engine behind
    ua-parser, case-insensitive flag) answer in ~10-20 µs. Patterns needing Python-only syntax
    (look-around) stay in a small Python regex. crawlerdetect's exclusions are stripped first,
    exactly as crawlerdetect does. If the Rust engine is missing or rejects the data, this falls
    back to ``CrawlerDetect`` itself.
    """

    __slots__ = ("_exclusions", "_fallback", "_fallback_lock", "_patterns", "_py", "_rust")

    def __init__(self, *, use_rust: bool = True) -> None:
        """Compile crawlerdetect's installed pattern data (~0.3 s)."""
        self._exclusions = re.compile("|".join(exclusions_data), re.IGNORECASE)
        self._patterns: tuple[str, ...] = tuple(crawlers_data)
        self._rust: Any = None
        self._py: re.Pattern[str] | None = None
        self._fallback: CrawlerDetect | None = None
        self._fallback_lock = threading.Lock()
        rules: list[tuple[str, Literal["i"] | None, str | None, str | None, str | None]] = []
        py_only: list[str] = []
        for i, pattern in enumerate(self._patterns):
            if _PY_ONLY_SYNTAX.search(pattern):
                py_only.append(pattern)
            else:
                rules.append((pattern, "i", str(i), None, None))
        try:
            if not use_rust:
                raise RuntimeError("Rust engine disabled")
            import ua_parser_rs

            self._rust = ua_parser_rs.DeviceExtractor(rules)
            self._py = re.compile("|".join(py_only), re.IGNORECASE) if py_only else None
        except (ImportError, ValueError, TypeError, RuntimeError):
            # Engine missing, or a pattern it rejects: use crawlerdetect as is.
            self._rust = None
            self._fallback = CrawlerDetect()

    @property
    def accelerated(self) -> bool:
        """Whether the Rust engine is in use."""
        return self._rust is not None

    def match(self, ua: str) -> str | None:
        """The crawlerdetect pattern (or matched text) flagging ``ua`` as a crawler, or None."""
        if self._rust is None:
            assert self._fallback is not None
            with self._fallback_lock:  # CrawlerDetect keeps its last match on the instance
                hit = self._fallback.is_crawler(ua)
                return (self._fallback.get_matches() or "?") if hit else None
        rest = self._exclusions.sub("", ua)
        if not rest:
            return None
        found = self._rust.extract(rest)
        if found is not None:
            return self._patterns[int(found.family)]
        if self._py is not None:
            m = self._py.search(rest)
            if m is not None:
                return m.group(0)
        return None


@functools.cache
def _shared_crawler_matcher() -> CrawlerMatcher:
    """One compiled crawlerdetect matcher per process."""
    return CrawlerMatcher()


class BotDetector:
    """Classifies a request as human, ``bot``, ``preview`` or ``scanner``.

    ``extra_patterns`` are case-insensitive user-agent substrings from the configuration
    (``SCANROUTE_EXTRA_BOT_PATTERNS``: "flagged as link scanners"); a pattern counts as
    ``scanner`` unless prefixed with another kind (``"preview:Acme Unfurler"``,
    ``"bot:AcmeCrawler"``; ``"scanner:"`` is accepted too). They are checked first, then the
    built-in scanner list, then the preview list, then crawlerdetect (whose hits are ``bot``).
    """

    __slots__ = ("_cached", "_crawler", "_patterns")

    def __init__(self, extra_patterns: Sequence[str] = (), cache_size: int = 10_000) -> None:
        """Create a detector; ``cache_size`` bounds the per-user-agent LRU (0 disables it)."""
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        entries: list[tuple[BotKind, str]] = []
        for raw in extra_patterns:
            kind, text = _split_kind(raw)
            if text:
                entries.append((kind, text))
        entries += [("scanner", p) for p in DEFAULT_SCANNER_PATTERNS]
        entries += [("preview", p) for p in DEFAULT_PREVIEW_PATTERNS]
        # (lower-cased needle, kind, reason) in precedence order; a pattern listed twice keeps
        # its first (highest-precedence) kind.
        seen: dict[str, tuple[str, BotKind, str]] = {}
        for kind, text in entries:
            seen.setdefault(text.lower(), (text.lower(), kind, f"ua:{text}"))
        self._patterns: tuple[tuple[str, BotKind, str], ...] = tuple(seen.values())
        self._crawler = _shared_crawler_matcher()
        self._cached = functools.lru_cache(maxsize=cache_size)(self._classify_ua)

    def classify(
        self,
        ua: str,
        *,
        method: str = "GET",
        accept_language: str | None = None,
        purpose: str | None = None,
    ) -> BotVerdict:
        """Classify one request; ``purpose`` is the ``Sec-Purpose``/``Purpose`` header value.

        Never raises. A user-agent match wins over request signals.
        """
        if len(ua) > _MAX_UA:
            ua = ua[:_MAX_UA]
        verdict = self._cached(ua)
        if verdict.is_bot:
            return verdict
        if purpose is not None and "prefetch" in purpose.lower():
            return BotVerdict(True, "preview", "header:purpose-prefetch")
        if method.upper() == "HEAD":
            return BotVerdict(True, "scanner", "method:HEAD")
        if accept_language is None or not accept_language.strip():
            return BotVerdict(True, "scanner", "header:no-accept-language")
        return HUMAN

    def classify_user_agent(self, ua: str) -> BotVerdict:
        """The cached user-agent-only part of :meth:`classify`."""
        return self._cached(ua[:_MAX_UA])

    def cache_info(self) -> functools._CacheInfo:
        """Hit/miss statistics of the LRU (for metrics)."""
        return self._cached.cache_info()

    def _classify_ua(self, ua: str) -> BotVerdict:
        stripped = ua.strip()
        if not stripped:
            return BotVerdict(True, "bot", "ua:empty")
        lowered = stripped.lower()
        for needle, kind, reason in self._patterns:
            if needle in lowered:
                return BotVerdict(True, kind, reason)
        try:
            matched = self._crawler.match(stripped)
        except UnicodeError:  # lone surrogates cannot cross into Rust (never from ASGI)
            matched = self._crawler.match(_scrub(stripped))
        if matched is not None:
            return BotVerdict(True, "bot", f"crawlerdetect:{matched}")
        return HUMAN


def _scrub(text: str) -> str:
    """``text`` with unencodable code points (lone surrogates) replaced."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _split_kind(raw: str) -> tuple[BotKind, str]:
    head, sep, tail = raw.partition(":")
    kind = head.strip().lower()
    if sep and kind in _KINDS:
        return _as_kind(kind), tail.strip()
    return "scanner", raw.strip()


def _as_kind(kind: str) -> BotKind:
    if kind == "preview":
        return "preview"
    if kind == "scanner":
        return "scanner"
    return "bot"
