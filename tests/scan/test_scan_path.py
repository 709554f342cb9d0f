"""The scan path in process: routing, destination building, capture into the store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text

from scanroute.storage.schema import cap_usage, rollup_hourly, visitor_history
from tests.conftest import Tenant
from tests.scan.conftest import ANDROID, DESKTOP, IPHONE, SLACKBOT, Scanner

pytestmark = pytest.mark.anyio

RULES = [
    {"name": "iPhone", "when": {"os": ["iOS"]}, "to": "https://apps.apple.com/app/id123"},
    {"name": "German", "when": {"language": ["de"]}, "to": "https://example.com/de"},
    {
        "name": "Happy hour",
        "when": {"days": ["sat", "sun"], "time": {"from": "18:00", "to": "23:00"}},
        "to": "https://example.com/happy-hour?table=4",  # checked below whichever applies now
    },
]


def query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


async def test_rules_utm_and_scan_id(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(
        tenant.workspace_id,
        destination="https://example.com/menu?table=4",
        slug="cafe",
        rules=RULES,
        timezone="Europe/Berlin",
        utm={"source": "qr", "medium": "table_tent", "campaign": "autumn"},
    )
    r = await scanner.scan("cafe", ua=IPHONE, lang="de-DE,de;q=0.9")
    assert r.status_code == 302
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["location"].startswith("https://apps.apple.com/app/id123?")
    q = query(r.headers["location"])
    assert q["utm_source"] == ["qr"]
    assert q["utm_medium"] == ["table_tent"]
    assert len(q["sr_sid"][0]) == 24

    r = await scanner.scan("cafe", ua=ANDROID, lang="de-AT,de;q=0.8,en;q=0.5")
    assert urlsplit(r.headers["location"]).path == "/de"

    r = await scanner.scan("cafe", ua=DESKTOP, lang="en-GB")
    local = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    happy = local.weekday() >= 5 and 18 <= local.hour < 23
    expected_path = "/happy-hour" if happy else "/menu"
    assert urlsplit(r.headers["location"]).path == expected_path
    q = query(r.headers["location"])
    assert q["table"] == ["4"]  # the destination's own parameter survives
    assert q["utm_campaign"] == ["autumn"]

    rows = scanner.stored()
    assert [row["outcome"] for row in rows] == ["redirect"] * 3
    assert [row["rule_index"] for row in rows][:2] == [0, 1]
    first = rows[0]
    assert first["os"] == "iOS"
    assert first["device"] == "mobile"
    assert first["language"] == "de-de"
    assert first["ip_net"] == "203.0.113.0"
    assert first["visitor"]
    assert len(first["visitor"]) == 32
    assert first["is_bot"] is False
    assert first["code_id"] is not None
    assert rows[1]["device"] == "mobile"
    assert rows[2]["device"] == "desktop"


async def test_scan_id_in_location_is_the_stored_id(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(tenant.workspace_id, destination="https://example.com/", slug="sid")
    r = await scanner.scan("sid")
    sid = query(r.headers["location"])["sr_sid"][0]
    assert [row["id"] for row in scanner.stored()] == [sid]


async def test_head_is_answered_but_not_recorded(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(tenant.workspace_id, destination="https://example.com/", slug="headless")
    r = await scanner.scan("headless", method="HEAD")
    assert r.status_code == 302
    assert r.headers["location"].startswith("https://example.com/")
    assert scanner.stored() == []


async def test_bots_flagged_kept_and_not_counted(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(tenant.workspace_id, destination="https://example.com/", slug="botty", scan_limit=1)
    r = await scanner.scan("botty", ua=SLACKBOT)
    assert r.status_code == 302
    r = await scanner.scan("botty", ua=IPHONE)
    assert r.status_code == 302  # the bot did not use up the limit of 1
    rows = scanner.stored()
    assert [(row["is_bot"], row["bot_kind"]) for row in rows] == [(True, "preview"), (False, None)]
    with scanner.ctr.db.read() as conn:
        hourly = {(r.is_bot, r.scans) for r in conn.execute(select(rollup_hourly))}
        limit = conn.execute(select(cap_usage.c.used)).scalar_one()
    assert hourly == {(True, 1), (False, 1)}
    assert limit == 1
    r = await scanner.scan("botty", ua=ANDROID)
    assert r.status_code == 410  # the limit is reached for humans


async def test_unknown_slug_404_and_orphan_record(scanner: Scanner) -> None:
    r = await scanner.scan("nope-nope")
    assert r.status_code == 404
    assert "Code not found" in r.text
    rows = scanner.stored()
    assert [(row["slug"], row["code_id"], row["outcome"]) for row in rows] == [
        ("nope-nope", None, "not_found")
    ]


async def test_paused_expired_fallback_and_pages(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(
        tenant.workspace_id,
        destination="https://example.com/",
        slug="paused-fb",
        status="paused",
        fallback="https://example.com/closed",
    )
    scanner.create(
        tenant.workspace_id, destination="https://example.com/", slug="paused-page", status="paused"
    )
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    scanner.create(tenant.workspace_id, destination="https://example.com/", slug="expired", expires_at=past)
    r = await scanner.scan("paused-fb")
    assert r.status_code == 302
    assert r.headers["location"].startswith("https://example.com/closed?sr_sid=")
    r = await scanner.scan("paused-page")
    assert r.status_code == 503
    assert "paused" in r.text
    r = await scanner.scan("expired")
    assert r.status_code == 410
    assert [row["outcome"] for row in scanner.stored()] == ["paused", "paused", "expired"]


async def test_update_is_seen_at_once_and_302_never_301(scanner: Scanner, tenant: Tenant) -> None:
    from scanroute.domain.workspace import Principal, Role
    from scanroute.services.codes import CodePatch

    scanner.create(tenant.workspace_id, destination="https://example.com/old", slug="moving")
    assert (await scanner.scan("moving")).headers["location"].startswith("https://example.com/old")
    scanner.ctr.codes.update(
        Principal(workspace_id=tenant.workspace_id, role=Role.EDITOR),
        "moving",
        CodePatch(destination="https://example.com/new"),
    )
    r = await scanner.scan("moving")
    assert r.status_code == 302
    assert r.headers["location"].startswith("https://example.com/new")


async def test_visitor_history_nth_scan_and_caps(scanner: Scanner, tenant: Tenant) -> None:
    rules = [
        {"when": {"visitor": "first"}, "to": "https://example.com/welcome"},
        {"when": {"nth_scan": {"min": 3}}, "to": "https://example.com/regular"},
        {"when": {}, "to": "https://example.com/offer", "cap": 2},
    ]
    scanner.create(tenant.workspace_id, destination="https://example.com/default", slug="loyal", rules=rules)
    paths = [
        urlsplit((await scanner.scan("loyal", ip="198.51.100.9")).headers["location"]).path for _ in range(4)
    ]
    assert paths == ["/welcome", "/offer", "/regular", "/regular"]
    others = [
        urlsplit((await scanner.scan("loyal", ip=f"192.0.{i}.5", ua=ANDROID)).headers["location"]).path
        for i in range(1, 4)
    ]
    assert others == ["/welcome"] * 3  # three different networks: three first scans
    same_net = urlsplit((await scanner.scan("loyal", ip="192.0.1.77", ua=ANDROID)).headers["location"]).path
    assert same_net == "/offer"  # same /24 and user agent: the same (returning) visitor
    rows = scanner.stored()
    assert [r["is_returning"] for r in rows[:4]] == [False, True, True, True]
    with scanner.ctr.db.read() as conn:
        history = sorted(r.scans for r in conn.execute(select(visitor_history)))
        visitors = conn.execute(text("SELECT count(*) FROM daily_visitors")).scalar_one()
        caps = {r.cap_key: r.used for r in conn.execute(select(cap_usage))}
    assert history == [1, 1, 2, 4]
    assert visitors == 4
    assert caps == {"r2": 2}


async def test_concurrent_scans_never_overshoot_a_cap(scanner: Scanner, tenant: Tenant) -> None:
    """Scans answered in the same event-loop iteration (their spool lines share one write) still
    check and count an offer's cap one at a time."""
    rules = [{"when": {}, "to": "https://example.com/offer", "cap": 3}]
    scanner.create(tenant.workspace_id, destination="https://example.com/default", slug="rush", rules=rules)
    replies = await asyncio.gather(*(scanner.scan("rush", ip=f"192.0.2.{i}") for i in range(1, 13)))
    paths = sorted(urlsplit(r.headers["location"]).path for r in replies)
    assert paths == ["/default"] * 9 + ["/offer"] * 3
    rows = scanner.stored()
    assert len(rows) == 12
    with scanner.ctr.db.read() as conn:
        assert {r.cap_key: r.used for r in conn.execute(select(cap_usage))} == {"r0": 3}


async def test_no_raw_ip_at_rest(
    scanner: Scanner, tenant: Tenant, tmp_path_factory: pytest.TempPathFactory
) -> None:
    scanner.create(tenant.workspace_id, destination="https://example.com/", slug="private")
    await scanner.scan("private", ip="203.0.113.77")
    await scanner.scan("private", ip="2001:db8:1234:5678::99")
    spool_text = b"".join(p.read_bytes() for p in scanner.ctr.settings.data_dir.glob("spool/*/*.jsonl"))
    assert b"203.0.113.77" not in spool_text
    assert b"2001:db8:1234:5678" not in spool_text
    rows = scanner.stored()
    assert {r["ip_net"] for r in rows} == {"203.0.113.0", "2001:db8:1234::"}
    with scanner.ctr.db.read() as conn:
        dump = str([tuple(r) for r in conn.execute(text("SELECT * FROM scans"))])
    assert "203.0.113.77" not in dump
    assert "5678" not in dump


async def test_opt_out_and_dnt(scanner: Scanner, tenant: Tenant) -> None:
    scanner.create(tenant.workspace_id, destination="https://example.com/", slug="privacy")
    r = await scanner.scan("privacy", query="?sr_optout=1")
    assert r.status_code == 302
    r = await scanner.scan("privacy", headers={"sec-gpc": "1"})
    rows = scanner.stored()
    assert len(rows) == 1
    assert rows[0]["tracking_refused"] is True
    assert rows[0]["city"] is None
