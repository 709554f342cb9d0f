# Tables of real user-agent strings, one per line:
# ruff: noqa: E501
"""User-agent parsing and bot detection against tables of real user-agent strings.

One file for both so the bot detector is checked for false positives on the very browser table
the parser is checked against.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanroute.capture.bots import BotDetector, BotVerdict, CrawlerMatcher
from scanroute.capture.useragent import (
    MAX_UA_LENGTH,
    Agent,
    AgentParser,
    ClientHints,
    canonical_os,
    parse_client_hints,
)
from scanroute.domain.visit import DeviceType

M, T, D = DeviceType.MOBILE, DeviceType.TABLET, DeviceType.DESKTOP

# (name, user agent, device, os, browser, in-app)
BROWSERS: list[tuple[str, str, DeviceType, str | None, str, bool]] = [
    ("iphone-safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", M, "iOS", "Mobile Safari", False),
    ("iphone-chrome", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1", M, "iOS", "Chrome Mobile iOS", False),
    ("iphone-firefox", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/124.1 Mobile/15E148 Safari/605.1.15", M, "iOS", "Firefox iOS", False),
    ("iphone-edge", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/123.2420.65 Mobile/15E148 Safari/605.1.15", M, "iOS", "Edge Mobile", False),
    ("ipad-safari", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", T, "iOS", "Mobile Safari", False),
    ("ipad-chrome", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1", T, "iOS", "Chrome Mobile iOS", False),
    ("android-chrome-reduced", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", M, "Android", "Chrome Mobile", False),
    ("android-chrome-galaxy", "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Mobile Safari/537.36", M, "Android", "Chrome Mobile", False),
    ("android-chrome-pixel", "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.119 Mobile Safari/537.36", M, "Android", "Chrome Mobile", False),
    ("android-tablet-chrome", "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", T, "Android", "Chrome", False),
    ("android-tablet-reduced", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", T, "Android", "Chrome", False),
    ("nexus-7", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 7 Build/MOB30X) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/83.0.4103.106 Safari/537.36", T, "Android", "Chrome", False),
    ("kindle-silk", "Mozilla/5.0 (Linux; Android 9; KFMAWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/123.3.1 like Chrome/123.0.6312.118 Safari/537.36", T, "Android", "Amazon Silk", False),
    ("firefox-android", "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", M, "Android", "Firefox Mobile", False),
    ("firefox-android-tablet", "Mozilla/5.0 (Android 13; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0", T, "Android", "Firefox Mobile", False),
    ("samsung-internet", "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", M, "Android", "Samsung Internet", False),
    ("samsung-internet-tab", "Mozilla/5.0 (Linux; Android 12; SAMSUNG SM-T970) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/19.0 Chrome/102.0.5005.125 Safari/537.36", T, "Android", "Samsung Internet", False),
    ("edge-android", "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.50", M, "Android", "Edge Mobile", False),
    ("uc-browser", "Mozilla/5.0 (Linux; U; Android 10; en-US; RMX1911 Build/QKQ1.200209.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36", M, "Android", "UC Browser", False),
    ("miui-browser", "Mozilla/5.0 (Linux; U; Android 13; en-gb; 2201117TG Build/TKQ1.221114.001) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/112.0.5615.136 Mobile Safari/537.36 XiaoMi/MiuiBrowser/14.4.0-g", M, "Android", "MiuiBrowser", False),
    ("opera-mini-presto", "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16", M, "Android", "Opera Mini", False),
    ("opera-mini-ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) OPiOS/16.0.15.124050 Mobile/15E148 Safari/9537.53", M, "iOS", "Opera Mini", False),
    ("instagram-ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 317.0.3.27.111 (iPhone15,3; iOS 17_3_1; en_US; en; scale=3.00; 1290x2796; 568142698)", M, "iOS", "Instagram", True),
    ("instagram-android", "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 Instagram 312.1.0.34.111 Android (33/13; 420dpi; 1080x2177; samsung; SM-G991B; o1s; exynos2100; en_US; 548323757)", M, "Android", "Instagram", True),
    ("facebook-ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/444.0.0.36.112;FBBV/541339434;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/543006920]", M, "iOS", "Facebook", True),
    ("facebook-android", "Mozilla/5.0 (Linux; Android 12; SM-A125F Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/441.0.0.33.113;]", M, "Android", "Facebook", True),
    ("wechat-ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2f) NetType/WIFI Language/zh_CN", M, "iOS", "WeChat", True),
    ("wechat-android", "Mozilla/5.0 (Linux; Android 12; PGT-AN10 Build/HONORPGT-AN10; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5075 MMWEBSDK/20230405 MMWEBID/2585 MicroMessenger/8.0.35.2360(0x2800235D) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64", M, "Android", "WeChat", True),
    ("line-ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.21.0", M, "iOS", "LINE", True),
    ("line-android", "Mozilla/5.0 (Linux; Android 13; SM-A536E Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.193 Mobile Safari/537.36 Line/13.20.2/IAB", M, "Android", "LINE", True),
    ("tiktok-ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_32.5.0 JsSdk/2.0 NetType/WIFI Channel/App Store ByteLocale/en Region/US RevealType/Dialog isDarkMode/0 WKWebView/1 BytedanceWebview/d8a21c6 FalconTag/", M, "iOS", "TikTok", True),
    ("tiktok-android", "Mozilla/5.0 (Linux; Android 12; SM-A525F Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 trill_2023203030 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/trill app_version/32.3.3 ByteLocale/en ByteFullLocale/en Region/IN AppId/1180 Spark/1.4.6.3-bugfix AppVersion/32.3.3 BytedanceWebview/d8a21c6", M, "Android", "TikTok", True),
    ("snapchat-ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/12.67.0.34 (like Safari/8617.1.17.10.9, panda)", M, "iOS", "Snapchat", True),
    ("snapchat-android", "Mozilla/5.0 (Linux; Android 13; Pixel 6 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/117.0.5938.60 Mobile Safari/537.36 Snapchat/12.52.0.40 (like Chrome/117.0.5938.60)", M, "Android", "Snapchat", True),
    ("google-app-ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/300.0.598994205 Mobile/15E148 Safari/604.1", M, "iOS", "Google", True),
    ("google-app-android", "Mozilla/5.0 (Linux; Android 14; Pixel 7 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.178 Mobile Safari/537.36 GSA/15.5.39.29.arm64", M, "Android", "Google", True),
    ("linkedin-ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.6958", M, "iOS", "LinkedIn", True),
    ("pinterest-ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [Pinterest/iOS]", M, "iOS", "Pinterest", True),
    ("android-webview", "Mozilla/5.0 (Linux; Android 13; SM-A536E Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.193 Mobile Safari/537.36", M, "Android", "Chrome Mobile WebView", True),
    ("windows-edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0", D, "Windows", "Edge", False),
    ("windows-chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", D, "Windows", "Chrome", False),
    ("windows-firefox", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", D, "Windows", "Firefox", False),
    ("windows-opera", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0", D, "Windows", "Opera", False),
    ("macos-safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", D, "macOS", "Safari", False),
    ("macos-chrome", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", D, "macOS", "Chrome", False),
    ("macos-firefox", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0", D, "macOS", "Firefox", False),
    ("chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", D, "ChromeOS", "Chrome", False),
    ("linux-firefox", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", D, "Linux", "Firefox", False),
    ("ubuntu-firefox", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", D, "Linux", "Firefox", False),
    ("fedora-firefox", "Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0", D, "Linux", "Firefox", False),
    ("kaios-feature-phone", "Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i; Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5", M, "KaiOS", "Firefox Mobile", False),
]  # fmt: skip

# (name, user agent, kind)
BOTS: list[tuple[str, str, str]] = [
    ("googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
    ("googlebot-smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.118 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
    ("bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bot"),
    ("yandexbot", "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "bot"),
    ("baiduspider", "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", "bot"),
    ("ahrefs", "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "bot"),
    ("gptbot", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", "bot"),
    ("applebot", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)", "bot"),
    ("curl", "curl/8.4.0", "bot"),
    ("wget", "Wget/1.21.4", "bot"),
    ("python-requests", "python-requests/2.31.0", "bot"),
    ("go-http-client", "Go-http-client/1.1", "bot"),
    ("okhttp", "okhttp/4.12.0", "bot"),
    ("headless-chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36", "bot"),
    ("phantomjs", "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", "bot"),
    ("slack-unfurl", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "preview"),
    ("slack-imgproxy", "Slack-ImgProxy (+https://api.slack.com/robots)", "preview"),
    ("facebookexternalhit", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "preview"),
    ("imessage", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0", "preview"),
    ("whatsapp-android", "WhatsApp/2.23.20.0 A", "preview"),
    ("whatsapp-ios", "WhatsApp/2.2349.52 i", "preview"),
    ("twitterbot", "Twitterbot/1.0", "preview"),
    ("linkedinbot", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", "preview"),
    ("discordbot", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "preview"),
    ("telegrambot", "TelegramBot (like TwitterBot)", "preview"),
    ("skype-teams", "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com", "preview"),
    ("microsoft-preview", "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/51.0.2704.79 Safari/537.36 MicrosoftPreview/2.0 +https://aka.ms/MicrosoftPreview", "preview"),
    ("bingpreview", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.74 Safari/537.36 Edg/79.0.309.43 BingPreview/1.0b", "preview"),
    ("ms-office", "Mozilla/4.0 (compatible; ms-office; MSOffice 16)", "preview"),
    ("outlook-desktop", "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)", "preview"),
    ("outlook-ios", "Outlook-iOS/709.2226530.prod.iphone (3.24.1)", "preview"),
    ("iframely", "Iframely/1.3.1 (+https://iframely.com/docs/about) Atlassian", "preview"),
    ("embedly", "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)", "preview"),
    ("pinterestbot", "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)", "preview"),
    ("redditbot", "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)", "preview"),
    ("snap-preview", "Mozilla/5.0 (compatible; Snap URL Preview Service; bot; snapchat; https://developers.snap.com/robots)", "preview"),
    ("google-safety", "Google-Safety", "scanner"),
    ("google-safety-full", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; Google-Safety; +http://www.google.com/bot.html)", "scanner"),
    ("mimecast", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36 Mimecast", "scanner"),
    ("barracuda", "Barracuda Sentinel (EE)", "scanner"),
    ("proofpoint", "Mozilla/5.0 (compatible; Proofpoint URL Defense)", "scanner"),
]  # fmt: skip

BY_NAME = {b[0]: b[1] for b in BROWSERS}
# Any text, including lone surrogates (which cannot be encoded to cross into Rust).
_ANY_TEXT = st.text(max_size=300) | st.text(
    st.characters(categories=["Cs", "Lu", "Ll", "Nd", "Po", "Zs"]), max_size=50
)
BROWSER_IDS = [b[0] for b in BROWSERS]
BOT_IDS = [b[0] for b in BOTS]
HUMAN_LANG = "en-US,en;q=0.9"


def test_tables_are_large_enough() -> None:
    assert len(BROWSERS) >= 30
    assert len(BOTS) >= 20
    assert len({b[1] for b in BROWSERS}) == len(BROWSERS)


# --- user agents -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "ua", "device", "os", "browser", "in_app"), BROWSERS, ids=BROWSER_IDS)
def test_browser_table(
    agent_parser: AgentParser,
    name: str,
    ua: str,
    device: DeviceType,
    os: str | None,
    browser: str,
    in_app: bool,
) -> None:
    agent = agent_parser.parse(ua)
    assert (agent.device, agent.os, agent.browser, agent.in_app) == (device, os, browser, in_app)


def test_versions_and_device_family(agent_parser: AgentParser) -> None:
    agent = agent_parser.parse(BROWSERS[0][1])
    assert agent == Agent(
        device=M,
        os="iOS",
        os_version="17.4",
        browser="Mobile Safari",
        browser_version="17.4",
        device_family="iPhone",
        in_app=False,
    )
    mac = agent_parser.parse(BY_NAME["macos-safari"])
    assert (mac.os_version, mac.device_family) == ("10.15.7", "Mac")
    linux = agent_parser.parse(BY_NAME["linux-firefox"])
    assert (linux.os_version, linux.device_family, linux.browser_version) == (None, None, "125.0")


@pytest.mark.parametrize(
    ("family", "canonical"),
    [
        ("Mac OS X", "macOS"),
        ("Chrome OS", "ChromeOS"),
        ("Ubuntu", "Linux"),
        ("Fedora", "Linux"),
        ("Debian", "Linux"),
        ("Linux", "Linux"),
        ("Windows", "Windows"),
        ("Windows 7", "Windows"),
        ("Windows Phone", "Windows Phone"),
        ("iOS", "iOS"),
        ("Android", "Android"),
        ("KaiOS", "KaiOS"),
        ("FreeBSD", "FreeBSD"),
        ("Other", None),
        (None, None),
        ("", None),
    ],
)
def test_canonical_os(family: str | None, canonical: str | None) -> None:
    assert canonical_os(family) == canonical


@pytest.mark.parametrize(
    ("mobile", "platform", "expected"),
    [
        ("?1", '"Android"', ClientHints(True, "Android")),
        ("?0", '"Windows"', ClientHints(False, "Windows")),
        (" ?0 ", None, ClientHints(False, None)),
        (None, '"macOS"', ClientHints(None, "macOS")),
        ("?2", '""', None),
        (None, None, None),
        ("junk", "  ", None),
    ],
)
def test_parse_client_hints(mobile: str | None, platform: str | None, expected: ClientHints | None) -> None:
    assert parse_client_hints(mobile, platform) == expected


def test_client_hints_refine_device_and_os(agent_parser: AgentParser) -> None:
    reduced_desktop = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
    # "Request desktop site" on an Android phone: the UA says Linux, the hints tell the truth.
    assert agent_parser.parse(reduced_desktop).device is D
    phone = agent_parser.parse(reduced_desktop, ClientHints(mobile=True, platform="Android"))
    assert (phone.device, phone.os) == (M, "Android")
    tablet = agent_parser.parse(reduced_desktop, ClientHints(mobile=False, platform="Android"))
    assert (tablet.device, tablet.os) == (T, "Android")
    # Sec-CH-UA-Mobile: ?1 makes a phone even when the UA lacks "Mobile".
    android_no_mobile = BY_NAME["android-tablet-reduced"]
    assert agent_parser.parse(android_no_mobile, ClientHints(mobile=True)).device is M
    # Windows 11 reports Windows NT 10.0; the hint agrees on the family, the version stays.
    win = BY_NAME["windows-chrome"]
    assert agent_parser.parse(win, ClientHints(False, "Windows")).os_version == "10"
    # An unknown platform hint is ignored.
    assert agent_parser.parse(win, ClientHints(False, "Unknown")).os == "Windows"


@pytest.mark.parametrize("ua", ["", "   ", "garbage", "Mozilla/5.0", "\x00\xff\u2603", "\ud800"])
def test_unknown_agents_default_to_desktop(agent_parser: AgentParser, ua: str) -> None:
    agent = agent_parser.parse(ua)
    assert agent.device is D
    assert agent.os is None
    assert agent.in_app is False


def test_parser_cache_hits_and_is_bounded() -> None:
    parser = AgentParser(cache_size=2)
    ua = BROWSERS[0][1]
    first = parser.parse(ua)
    assert parser.parse(ua) is first
    assert parser.cache_info().hits == 1
    # The hints are part of the key.
    assert parser.parse(ua, ClientHints(mobile=False, platform="Windows")).os == "Windows"
    parser.parse(BROWSERS[1][1])
    parser.parse(BROWSERS[2][1])
    assert parser.cache_info().currsize == 2
    assert parser.parse(ua) is not first  # evicted, parsed again
    assert parser.parse(ua) == first


def test_parser_cuts_very_long_agents(agent_parser: AgentParser) -> None:
    ua = BROWSERS[0][1] + " x" * 10_000
    assert agent_parser.parse(ua).os == "iOS"
    assert MAX_UA_LENGTH >= 512


def test_negative_cache_size_rejected() -> None:
    with pytest.raises(ValueError):
        AgentParser(cache_size=-1)
    with pytest.raises(ValueError):
        BotDetector((), cache_size=-1)


@settings(max_examples=200, deadline=None)
@given(
    _ANY_TEXT,
    st.none() | st.builds(ClientHints, st.none() | st.booleans(), st.none() | st.text(max_size=20)),
)
def test_parse_never_raises(ua: str, hints: ClientHints | None) -> None:
    agent = AgentParser(cache_size=0).parse(ua, hints)
    assert isinstance(agent.device, DeviceType)


# --- bots ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "ua", "kind"), BOTS, ids=BOT_IDS)
def test_bot_table(bot_detector: BotDetector, name: str, ua: str, kind: str) -> None:
    verdict = bot_detector.classify(ua, method="GET", accept_language=HUMAN_LANG, purpose=None)
    assert verdict.is_bot is True
    assert verdict.kind == kind, verdict.reason
    assert verdict.reason


@pytest.mark.parametrize("ua", [b[1] for b in BROWSERS], ids=BROWSER_IDS)
def test_no_false_positives_on_browsers(bot_detector: BotDetector, ua: str) -> None:
    verdict = bot_detector.classify(ua, method="GET", accept_language=HUMAN_LANG, purpose=None)
    assert verdict == BotVerdict(False, None, None)


def test_header_signals(bot_detector: BotDetector) -> None:
    ua = BROWSERS[0][1]
    classify = bot_detector.classify
    assert classify(ua, method="GET", accept_language=HUMAN_LANG, purpose="prefetch").kind == "preview"
    assert (
        classify(ua, method="GET", accept_language=HUMAN_LANG, purpose="prefetch;prerender").kind == "preview"
    )
    assert classify(ua, method="GET", accept_language=HUMAN_LANG, purpose="Prefetch").is_bot
    assert not classify(ua, method="GET", accept_language=HUMAN_LANG, purpose="other").is_bot
    head = classify(ua, method="HEAD", accept_language=HUMAN_LANG, purpose=None)
    assert (head.kind, head.reason) == ("scanner", "method:HEAD")
    assert classify(ua, method="head", accept_language=HUMAN_LANG, purpose=None).kind == "scanner"
    no_lang = classify(ua, method="GET", accept_language=None, purpose=None)
    assert (no_lang.is_bot, no_lang.kind) == (True, "scanner")
    assert classify(ua, method="GET", accept_language="  ", purpose=None).kind == "scanner"
    assert not classify(ua, method="POST", accept_language="de", purpose=None).is_bot


def test_user_agent_match_wins_over_header_signals(bot_detector: BotDetector) -> None:
    verdict = bot_detector.classify("Twitterbot/1.0", method="HEAD", accept_language=None, purpose=None)
    assert verdict.kind == "preview"


def test_lone_surrogates_do_not_break_the_rust_engines(
    agent_parser: AgentParser, bot_detector: BotDetector
) -> None:
    iphone = BY_NAME["iphone-safari"]
    assert agent_parser.parse("\ud800" + iphone).os == "iOS"
    assert bot_detector.classify("\udfff curl/8.0", accept_language=HUMAN_LANG).kind == "bot"
    assert not bot_detector.classify(iphone + "\ud800", accept_language=HUMAN_LANG).is_bot


def test_empty_user_agent_is_a_bot(bot_detector: BotDetector) -> None:
    verdict = bot_detector.classify("", method="GET", accept_language=HUMAN_LANG, purpose=None)
    assert (verdict.is_bot, verdict.kind) == (True, "bot")


def test_extra_patterns_with_and_without_kind() -> None:
    detector = BotDetector(
        ["Frobnicator", "bot:Blorp", "preview:Acme Unfurl", "scanner:Gate.Keeper (v2)", "  ", "Outlook"],
        cache_size=16,
    )
    lang = HUMAN_LANG
    # Unprefixed extra patterns are link scanners (SCANROUTE_EXTRA_BOT_PATTERNS).
    assert detector.classify("Frobnicator/1.0", accept_language=lang) == BotVerdict(
        True, "scanner", "ua:Frobnicator"
    )
    assert detector.classify("Blorp/2", accept_language=lang).kind == "bot"
    assert detector.classify("x acme unfurl/3", accept_language=lang).kind == "preview"
    # Regex metacharacters are literal.
    assert detector.classify("Gate.Keeper (v2)", accept_language=lang).kind == "scanner"
    assert not detector.classify("GateXKeeper (v2)", accept_language=lang).is_bot
    # An extra pattern takes precedence over a built-in one with the same text.
    assert detector.classify("Outlook-iOS/709", accept_language=lang).kind == "scanner"
    # The default detector is unaffected.
    assert not BotDetector().classify("Frobnicator/1.0", accept_language=lang).is_bot
    assert BotDetector().classify("Outlook-iOS/709", accept_language=lang).kind == "preview"


def test_settings_default_extra_pattern_keeps_google_safety_a_scanner() -> None:
    detector = BotDetector(["Google-Safety"], cache_size=16)
    assert detector.classify("Google-Safety", accept_language=HUMAN_LANG).kind == "scanner"


def test_bot_cache_is_per_user_agent() -> None:
    detector = BotDetector((), cache_size=8)
    ua = BOTS[0][1]
    detector.classify(ua, accept_language=HUMAN_LANG)
    detector.classify(ua, method="HEAD", accept_language=None, purpose="prefetch")
    info = detector.cache_info()
    assert (info.hits, info.misses) == (1, 1)
    assert detector.classify_user_agent(ua).kind == "bot"


@settings(max_examples=200, deadline=None)
@given(
    _ANY_TEXT,
    st.text(max_size=8),
    st.none() | st.text(max_size=40),
    st.none() | st.text(max_size=20),
)
def test_classify_never_raises(ua: str, method: str, lang: str | None, purpose: str | None) -> None:
    verdict = BotDetector((), cache_size=0).classify(ua, method=method, accept_language=lang, purpose=purpose)
    assert verdict.is_bot == (verdict.kind is not None)


# --- crawlerdetect on the Rust engine --------------------------------------------------------


@pytest.fixture(scope="module")
def crawlerdetect_reference() -> Callable[[str], bool]:
    from crawlerdetect import CrawlerDetect

    detector = CrawlerDetect()
    return lambda ua: bool(detector.is_crawler(ua))


@pytest.fixture(scope="module")
def rust_matcher() -> CrawlerMatcher:
    return CrawlerMatcher()


@pytest.fixture(scope="module")
def python_matcher() -> CrawlerMatcher:
    return CrawlerMatcher(use_rust=False)


def test_crawler_matcher_is_accelerated(rust_matcher: CrawlerMatcher, python_matcher: CrawlerMatcher) -> None:
    assert rust_matcher.accelerated
    assert not python_matcher.accelerated


@pytest.mark.parametrize(
    "ua",
    [b[1] for b in BROWSERS]
    + [b[1] for b in BOTS]
    + [
        "CURL/8.0",  # case-insensitive like crawlerdetect
        "Mozilla/5.0 (compatible; YandexBot/3.0)",
        "Mozilla/5.0 YandexSearch/7.0",  # crawlerdetect's look-ahead pattern: not a crawler
        "Mozilla/5.0 Yandex",
        "Mozilla/5.0 (compatible; SemrushBot/7~bl)",
        "Mozilla/5.0 (Windows NT 10.0) Safari/537.36 Chrome/1.0",  # only excluded tokens
    ],
)
def test_crawler_matcher_agrees_with_crawlerdetect(
    crawlerdetect_reference: Callable[[str], bool],
    rust_matcher: CrawlerMatcher,
    python_matcher: CrawlerMatcher,
    ua: str,
) -> None:
    expected = crawlerdetect_reference(ua)
    assert (rust_matcher.match(ua) is not None) is expected
    assert (python_matcher.match(ua) is not None) is expected


_BOTISH = st.sampled_from(
    [
        "bot",
        "Bot",
        "crawl",
        "spider",
        "Mozilla/5.0 ",
        "Safari/537.36",
        "Chrome/1",
        "Yandex",
        "Search",
        "curl",
        "http",
        "(compatible; ",
        "+http://x.y/",
        " ",
        "/",
        "1.0",
        "Mobile",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_BOTISH | st.text(max_size=6), max_size=8).map("".join))
def test_crawler_matcher_agrees_with_crawlerdetect_fuzzed(
    crawlerdetect_reference: Callable[[str], bool], rust_matcher: CrawlerMatcher, ua: str
) -> None:
    assert (rust_matcher.match(ua) is not None) is crawlerdetect_reference(ua)
