"""What the redirect benchmark sends and which codes it creates.

Owns the traffic mix (user agents, ``Accept-Language`` values, query strings, client networks)
that ``scan.lua`` draws from, the codes of each scenario (``hot``: one code without rules;
``mix``: 1 000 codes, a share of them with rules of every kind) and the file that hands slugs
and the traffic mix to wrk.

User agents are real strings of the clients that scan QR codes (camera apps open Safari or
Chrome; links shared in chats open in-app browsers) plus the bots and link-preview fetchers that
hit shared short links. Versions and device models vary, as in real traffic, so the agent caches
see a few hundred distinct strings rather than a dozen.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIX_CODES = 1_000
RULES_SHARE = 0.4  # share of the mix's codes that carry routing rules
RETURNING_SHARE = 0.35  # share of mix requests made by a visitor the thread has used before


@dataclass(frozen=True, slots=True)
class Agent:
    """One user-agent string, its traffic weight and whether it is a bot/preview fetcher."""

    ua: str
    weight: float
    bot: bool = False


# -- user agents ---------------------------------------------------------------------------------

_IOS = ["16_6_1", "16_7_8", "17_4_1", "17_5_1", "17_6_1", "18_0_1", "18_1", "18_2"]
_SAFARI = {"16": "16.6", "17": "17.5", "18": "18.1"}
_CHROME = ["124.0.6367.179", "125.0.6422.165", "126.0.6478.122", "127.0.6533.103", "128.0.6613.127"]
_ANDROID_DEVICES = [
    ("14", "Pixel 8"),
    ("14", "SM-S918B"),
    ("13", "SM-A536B"),
    ("14", "SM-A546B"),
    ("13", "2201117TY"),
    ("12", "CPH2451"),
    ("13", "moto g54 5G"),
    ("10", "K"),
]
_IPHONES = ["iPhone14,5", "iPhone15,2", "iPhone15,3", "iPhone16,1", "iPhone13,2"]


def _iphone_safari() -> Iterator[str]:
    for ios in _IOS:
        version = _SAFARI[ios.split("_")[0]]
        yield (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{version} Mobile/15E148 Safari/604.1"
        )


def _iphone_chrome() -> Iterator[str]:
    for ios, chrome in zip(_IOS[2:], _CHROME, strict=False):
        yield (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) CriOS/{chrome} Mobile/15E148 Safari/604.1"
        )


def _ipad() -> Iterator[str]:
    for ios in _IOS[2:]:
        version = _SAFARI[ios.split("_")[0]]
        yield (
            f"Mozilla/5.0 (iPad; CPU OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Version/{version} Mobile/15E148 Safari/604.1"
        )


def _android_chrome() -> Iterator[str]:
    for (android, model), chrome in itertools.product(_ANDROID_DEVICES, _CHROME):
        major = chrome.split(".")[0]
        yield (
            f"Mozilla/5.0 (Linux; Android {android}; {model}) AppleWebKit/537.36 "
            f"(KHTML, like Gecko) Chrome/{major}.0.0.0 Mobile Safari/537.36"
        )


def _samsung() -> Iterator[str]:
    for model, (sbrowser, chrome) in itertools.product(
        ["SM-S918B", "SM-A536B", "SM-G991B", "SM-A146B"],
        [("23.0", "115.0.0.0"), ("24.0", "117.0.0.0"), ("25.0", "121.0.0.0"), ("26.0", "122.0.0.0")],
    ):
        yield (
            f"Mozilla/5.0 (Linux; Android 14; SAMSUNG {model}) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"SamsungBrowser/{sbrowser} Chrome/{chrome} Mobile Safari/537.36"
        )


def _instagram() -> Iterator[str]:
    for ios, device in zip(_IOS[2:], itertools.cycle(_IPHONES), strict=False):
        yield (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Mobile/15E148 Instagram 337.0.3.23.54 ({device}; iOS {ios}; "
            "en_US; en; scale=3.00; 1290x2796; 614126316)"
        )
    for android, model in _ANDROID_DEVICES[:5]:
        yield (
            f"Mozilla/5.0 (Linux; Android {android}; {model} Build/TP1A.220624.014; wv) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile "
            f"Safari/537.36 Instagram 334.0.0.42.95 Android (33/13; 450dpi; 1080x2186; samsung; "
            f"{model}; a53x; s5e8825; de_DE; 601420827)"
        )


def _facebook() -> Iterator[str]:
    for ios, device in zip(_IOS[2:], itertools.cycle(_IPHONES), strict=False):
        yield (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            f"(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.40.98;FBBV/613513013;"
            f"FBDV/{device};FBMD/iPhone;FBSN/iOS;FBSV/{ios.replace('_', '.')};FBSS/3;FBID/phone;"
            "FBLC/en_US;FBOP/5;FBRV/615215046]"
        )
    for android, model in _ANDROID_DEVICES[:5]:
        yield (
            f"Mozilla/5.0 (Linux; Android {android}; {model} Build/UP1A.231005.007; wv) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile "
            "Safari/537.36 [FB_IAB/FB4A;FBAV/468.1.0.56.78;]"
        )


def _wechat() -> Iterator[str]:
    for ios in _IOS[3:]:
        yield (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003129) NetType/WIFI "
            "Language/zh_CN"
        )
    yield (
        "Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160117 "
        "MMWEBSDK/20240404 MMWEBID/2307 MicroMessenger/8.0.49.2600(0x2800315A) WeChat/arm64 "
        "Weixin NetType/5G Language/zh_CN ABI/arm64"
    )


def _desktop() -> Iterator[str]:
    for chrome in _CHROME:
        major = chrome.split(".")[0]
        yield (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Safari/537.36"
        )
        yield (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Safari/537.36"
        )
        yield (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Safari/537.36 Edg/{major}.0.0.0"
        )
    for version in ("17.5", "17.6", "18.1"):
        yield (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Version/{version} Safari/605.1.15"
        )
    for version in ("126.0", "128.0", "131.0"):
        yield f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{version}) Gecko/20100101 Firefox/{version}"
        yield f"Mozilla/5.0 (X11; Linux x86_64; rv:{version}) Gecko/20100101 Firefox/{version}"


BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "facebookexternalhit/1.1;line-poker/1.0",
    "WhatsApp/2.23.20.0",
    "WhatsApp/2.24.12.78 A",
    "Twitterbot/1.0",
    "TelegramBot (like TwitterBot)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) "
    "Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
]

# (family, share of all requests in %, strings)
_FAMILIES: list[tuple[str, float, list[str]]] = [
    ("iPhone Safari", 30, list(_iphone_safari())),
    ("iPhone Chrome", 4, list(_iphone_chrome())),
    ("iPad Safari", 3, list(_ipad())),
    ("Android Chrome", 24, list(_android_chrome())),
    ("Samsung Internet", 6, list(_samsung())),
    ("Instagram in-app", 6, list(_instagram())),
    ("Facebook in-app", 4, list(_facebook())),
    ("WeChat in-app", 3, list(_wechat())),
    ("desktop browsers", 10, list(_desktop())),
    ("bots and preview fetchers", 10, BOTS),
]


def agents() -> list[Agent]:
    """Every user agent of the mix with its weight (a family's share split evenly)."""
    out: list[Agent] = []
    for family, share, strings in _FAMILIES:
        bot = family.startswith("bots")
        out.extend(Agent(ua, share / len(strings), bot) for ua in strings)
    return out


def family_shares() -> list[tuple[str, float, int]]:
    """(family, % of requests, distinct strings) for the report."""
    return [(family, share, len(strings)) for family, share, strings in _FAMILIES]


HOT_AGENT = next(_iphone_safari())

# (Accept-Language value, weight); bots send none (the Lua script drops it for them).
LANGUAGES: list[tuple[str, float]] = [
    ("en-US,en;q=0.9", 28),
    ("en-GB,en;q=0.9", 8),
    ("de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7", 12),
    ("de-AT,de;q=0.9", 2),
    ("de-CH,de;q=0.9,fr;q=0.8,en;q=0.7", 2),
    ("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", 8),
    ("es-ES,es;q=0.9", 6),
    ("it-IT,it;q=0.9,en-US;q=0.8,en;q=0.7", 4),
    ("nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7", 3),
    ("pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7", 4),
    ("ja-JP,ja;q=0.9", 4),
    ("zh-CN,zh-Hans;q=0.9", 5),
    ("en-IN,en;q=0.9,hi;q=0.8", 4),
    ("en", 3),
    ("*", 1),
    ("", 6),
]

# (query string, weight): most scans carry none; printed codes sometimes add a source tag.
QUERIES: list[tuple[str, float]] = [
    ("", 84),
    ("?src=flyer", 5),
    ("?src=poster&ref=store12", 3),
    ("?promo", 3),
    ("?utm_source=newsletter&utm_medium=email", 2),
    ("?lang=de", 2),
    ("?src=table-tent&promo=1", 1),
]

# (first two octets, weight): public networks of the countries the rules name (checked against
# iptocc); the Lua script adds random third and fourth octets and sends X-Forwarded-For.
NETWORKS: list[tuple[str, float]] = [
    ("3.80", 12),  # US
    ("8.8", 4),  # US
    ("217.0", 8),  # DE
    ("84.128", 6),  # DE
    ("90.1", 7),  # FR
    ("81.2", 5),  # GB
    ("86.128", 5),  # GB
    ("88.12", 5),  # ES
    ("79.20", 4),  # IT
    ("145.1", 3),  # NL
    ("91.113", 2),  # AT
    ("62.2", 2),  # CH
    ("126.1", 4),  # JP
    ("177.10", 4),  # BR
    ("49.36", 5),  # IN
    ("36.110", 4),  # CN
    ("110.32", 3),  # AU
]


# -- codes -------------------------------------------------------------------------------------


def _url(i: int, what: str) -> str:
    return f"https://shop.example.com/c{i}/{what}"


RuleSet = list[dict[str, Any]]


def _os(i: int) -> RuleSet:
    return [
        {"name": "iPhone", "when": {"os": ["iOS"]}, "to": f"https://apps.apple.com/app/id{100000 + i}"},
        {
            "name": "Android",
            "when": {"os": "Android"},
            "to": f"https://play.google.com/store/apps/details?id=com.example.app{i}",
        },
    ]


def _device(i: int) -> RuleSet:
    return [
        {"when": {"device": "desktop"}, "to": _url(i, "desktop")},
        {"when": {"device": ["tablet"]}, "to": _url(i, "tablet")},
    ]


def _language(i: int) -> RuleSet:
    return [
        {"when": {"language": ["de", "de-AT", "de-CH"]}, "to": _url(i, "de")},
        {"when": {"language": ["fr"]}, "to": _url(i, "fr")},
        {"when": {"language": "es"}, "to": _url(i, "es")},
        {"when": {"language": ["ja", "zh"]}, "to": _url(i, "asia")},
    ]


def _country(i: int) -> RuleSet:
    return [
        {"when": {"country": ["DE", "AT", "CH"]}, "to": _url(i, "dach")},
        {"when": {"country": "US"}, "to": _url(i, "us")},
        {"when": {"country": ["GB", "IE"]}, "to": _url(i, "uk")},
    ]


def _time(i: int) -> RuleSet:
    return [
        {"when": {"days": ["sat", "sun"], "time": {"from": "18:00", "to": "23:00"}}, "to": _url(i, "hh")},
        {"when": {"time": {"from": "22:00", "to": "06:00"}}, "to": _url(i, "night")},
        {"when": {"days": ["mon", "tue", "wed", "thu", "fri"]}, "to": _url(i, "weekday")},
    ]


def _dates(i: int) -> RuleSet:
    return [
        {"when": {"dates": {"from": "2024-11-25", "to": "2024-12-02"}}, "to": _url(i, "black-friday")},
        {"when": {"dates": {"from": "2025-01-01"}}, "to": _url(i, "current")},
    ]


def _visitor(i: int) -> RuleSet:
    return [{"when": {"visitor": "returning"}, "to": _url(i, "welcome-back")}]


def _nth_scan(i: int) -> RuleSet:
    return [
        {"when": {"nth_scan": {"min": 3}}, "to": _url(i, "loyal")},
        {"when": {"nth_scan": {"max": 1}, "os": "iOS"}, "to": _url(i, "first-ios")},
    ]


def _query(i: int) -> RuleSet:
    return [
        {"when": {"query": {"src": "flyer"}}, "to": _url(i, "flyer")},
        {"when": {"query": {"promo": True}}, "to": _url(i, "promo")},
        {"when": {"query": {"lang": ["de", "fr"]}}, "to": _url(i, "localised")},
    ]


def _variants(i: int) -> RuleSet:
    return [
        {
            "when": {},
            "variants": [
                {"to": _url(i, "a"), "weight": 70, "label": "A"},
                {"to": _url(i, "b"), "weight": 30, "label": "B"},
            ],
        }
    ]


def _caps(i: int) -> RuleSet:
    return [
        {"name": "first 20 free", "when": {"device": "mobile"}, "to": _url(i, "free-gift"), "cap": 20},
        {
            "when": {},
            "variants": [
                {"to": _url(i, "x"), "weight": 1, "cap": 50},
                {"to": _url(i, "y"), "weight": 1},
            ],
        },
    ]


def _ip(i: int) -> RuleSet:
    return [
        {
            "name": "staff",
            "when": {"ip": ["10.0.0.0/8", "192.168.0.0/16", "81.2.69.0/24"]},
            "to": _url(i, "staff"),
        },
        {"when": {"ip": "2001:db8::/32"}, "to": _url(i, "lab")},
    ]


def _campaign_page(i: int) -> RuleSet:
    """A busy code: app stores, a language page, an A/B test with caps, a loyalty page."""
    return [
        {"when": {"os": "iOS", "query": {"src": "flyer"}}, "to": f"https://apps.apple.com/app/id{i}"},
        {"when": {"country": ["DE", "AT"], "language": "de", "visitor": "first"}, "to": _url(i, "de-first")},
        {"when": {"nth_scan": {"min": 2, "max": 5}, "device": ["mobile", "tablet"]}, "to": _url(i, "again")},
        {"when": {"days": ["fri", "sat"], "time": {"from": "17:00", "to": "02:00"}}, "to": _url(i, "late")},
        {
            "when": {"device": "mobile"},
            "variants": [
                {"to": _url(i, "v1"), "weight": 50, "label": "hero", "cap": 200},
                {"to": _url(i, "v2"), "weight": 50, "label": "video"},
            ],
        },
        {"when": {}, "to": _url(i, "fallback-offer"), "cap": 1000},
    ]


RULE_KINDS = [
    _os,
    _device,
    _language,
    _country,
    _time,
    _dates,
    _visitor,
    _nth_scan,
    _query,
    _variants,
    _caps,
    _ip,
    _campaign_page,
]
_TIMEZONES = [None, "Europe/Berlin", "America/New_York", "Asia/Tokyo"]
_CAMPAIGNS = ["spring-sale", "store-launch", "summer-festival", "loyalty", None, None]


def hot_codes() -> list[dict[str, Any]]:
    """The hot scenario: one code, no rules (UTM parameters as most codes have)."""
    return [
        {
            "slug": "hot",
            "destination": "https://shop.example.com/landing",
            "utm": {"source": "qr", "medium": "poster", "campaign": "spring"},
        }
    ]


def mix_codes(count: int = MIX_CODES, seed: int = 20240601) -> list[dict[str, Any]]:
    """The mix: ``count`` codes, ``RULES_SHARE`` of them with rules (every kind, in turn)."""
    rnd = random.Random(seed)
    with_rules = set(rnd.sample(range(count), round(count * RULES_SHARE)))
    kinds = itertools.cycle(RULE_KINDS)
    out: list[dict[str, Any]] = []
    for i in range(count):
        code: dict[str, Any] = {
            "slug": f"m{i:04d}",
            "destination": _url(i, "landing"),
            "utm": {"source": "qr", "medium": rnd.choice(["poster", "flyer", "pack", "table"])},
        }
        campaign = rnd.choice(_CAMPAIGNS)
        if campaign:
            code["campaign"] = campaign
        if i in with_rules:
            code["rules"] = next(kinds)(i)
            tz = rnd.choice(_TIMEZONES)
            if tz:
                code["timezone"] = tz
        if i % 50 == 7:
            code["scan_limit"] = 10**9  # the limit check runs, never trips
        out.append(code)
    return out


def rule_kind_counts(codes: list[dict[str, Any]]) -> dict[str, int]:
    """How many codes use each ``when`` key (and variants, caps) for the report."""
    counts: dict[str, int] = {}
    for code in codes:
        keys: set[str] = set()
        for rule in code.get("rules", []):
            keys.update(rule.get("when", {}))
            if "variants" in rule:
                keys.add("variants")
            if "cap" in rule or any("cap" in v for v in rule.get("variants", [])):
                keys.add("cap")
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def write_workload(path: Path, slugs: list[str], *, mix: bool) -> None:
    """The file ``scan.lua`` reads: slugs, agents, languages, queries, networks (tab-separated)."""
    lines = [f"S\t{slug}" for slug in slugs]
    if mix:
        lines += [f"A\t{a.weight:.6f}\t{int(a.bot)}\t{a.ua}" for a in agents()]
        lines += [f"L\t{w}\t{value}" for value, w in LANGUAGES]
        lines += [f"Q\t{w}\t{value}" for value, w in QUERIES]
        lines += [f"N\t{w}\t{prefix}" for prefix, w in NETWORKS]
        lines.append(f"R\t{RETURNING_SHARE}")
    else:
        lines += [f"A\t1\t0\t{HOT_AGENT}", "L\t1\ten-US,en;q=0.9", "Q\t1\t"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
