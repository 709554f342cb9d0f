"""Demo activity: a modest, realistic month of scans and conversions for the demo workspace.

``add_demo_activity`` writes a few hundred scans of the workspace's codes through ``ScanWriter``
(timestamps spread over the last 30 days, bots included, landing beacons for most human scans),
then conversions through the real intake paths: online purchases and app sign-ups naming their
scan ids, in-store sales matched by the one-time coupons of table-tent, receipt and window codes
(a POS CSV import), and repeat customers whose identified scans across two or more campaigns end
in one purchase (multi-touch journeys). Seeded: the same seed gives the same story. The large
``scanroute demo --scans N`` workload is a separate generator (``scanroute.workload``).
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from scanroute.attribution.coupons import COUPON_ALPHABET, COUPON_LENGTH
from scanroute.bootstrap import Container
from scanroute.capture.event import ScanEvent
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import CodePatch
from scanroute.services.conversion_import import ImportOptions
from scanroute.services.fx import RateIn
from scanroute.services.intake_rules import ConversionIn, IdentifyIn
from scanroute.storage.beacons import Hit, write_hits
from scanroute.storage.scans import ScanWriter
from scanroute.storage.schema import codes, placements

COUPON_MEDIA = frozenset({"table_tent", "receipt", "window"})
CURRENCY = {"DE": "EUR", "FR": "EUR", "GB": "GBP"}
RATES = {"EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
AGENTS = [
    ("mobile", "iOS", "Mobile Safari"),
    ("mobile", "Android", "Chrome Mobile"),
    ("mobile", "iOS", "Instagram"),
    ("tablet", "iOS", "Mobile Safari"),
    ("desktop", "Windows", "Chrome"),
]


@dataclass(frozen=True, slots=True)
class _Code:
    id: int
    slug: str
    destination: str
    campaign_id: int | None
    placement_id: int | None
    creative: str | None
    medium: str
    country: str
    city: str


def demo_scan_id(rnd: random.Random, at: datetime) -> str:
    """A scan id in the shape of ``capture.event.new_scan_id`` for a past moment (seeded)."""
    raw = (int(at.timestamp() * 1000)).to_bytes(6, "big") + rnd.getrandbits(72).to_bytes(9, "big")
    return base64.b32hexencode(raw).decode().lower()


def add_demo_activity(ctr: Container, workspace_id: int, seed: int = 7, *, scans: int = 480) -> None:
    """Scans of the last 30 days and conversions of every kind for the workspace's codes."""
    rnd = random.Random(seed)
    owner = Principal(workspace_id=workspace_id, role=Role.OWNER)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    for currency, rate in RATES.items():
        if currency != ctr.workspaces.current(owner).currency:
            ctr.fx.set(owner, currency, RateIn(rate=rate))
    catalog = _codes(ctr, workspace_id)
    if not catalog:
        return
    for code in catalog:
        if code.medium in COUPON_MEDIA:
            ctr.codes.update(owner, code.slug, CodePatch(issue_coupon=True))
    weights = [1 / (i + 1) ** 0.6 for i in range(len(catalog))]
    picked = rnd.choices(catalog, weights=weights, k=scans)
    events = [
        _event(rnd, c, now - timedelta(seconds=rnd.uniform(600, 30 * 86_400)), workspace_id) for c in picked
    ]
    events.sort(key=lambda e: e.ts)
    ScanWriter(ctr.db).write(events)
    humans = [e for e in events if not e.bot]
    hits = [Hit(e.id, "arrived", None, _at(e) + timedelta(seconds=2)) for e in humans if rnd.random() < 0.78]
    hits += [Hit(h.scan_id, "engaged", float(rnd.randint(10, 180)), h.at + timedelta(seconds=12))
             for h in hits if rnd.random() < 0.4]  # fmt: skip
    write_hits(ctr.db, hits)
    by_id = {c.id: c for c in catalog}
    _online(ctr, owner, rnd, [e for e in humans if not e.coupon], by_id, now)
    _in_store(ctr, owner, rnd, [e for e in humans if e.coupon], by_id, now)
    _repeat_customers(ctr, owner, rnd, catalog, workspace_id, now)


def _codes(ctr: Container, workspace_id: int) -> list[_Code]:
    stmt = (
        select(codes, placements.c.medium, placements.c.country, placements.c.city)
        .select_from(codes.outerjoin(placements, placements.c.id == codes.c.placement_id))
        .where(codes.c.workspace_id == workspace_id, codes.c.kind == "dynamic")
        .order_by(codes.c.id)
    )
    with ctr.db.read() as conn:
        return [
            _Code(
                r.id,
                r.slug,
                r.destination or "",
                r.campaign_id,
                r.placement_id,
                r.creative,
                r.medium or "other",
                r.country or "US",
                r.city or "",
            )
            for r in conn.execute(stmt)
        ]


def _at(event: ScanEvent) -> datetime:
    return datetime.fromtimestamp(event.ts / 1_000_000, UTC)


def _event(rnd: random.Random, code: _Code, at: datetime, workspace_id: int) -> ScanEvent:
    bot = rnd.random() < 0.05
    device, os_name, browser = rnd.choice(AGENTS)
    human_coupon = not bot and code.medium in COUPON_MEDIA
    return ScanEvent(
        id=demo_scan_id(rnd, at),
        ws=workspace_id,
        slug=code.slug,
        ts=int(at.timestamp() * 1_000_000),
        outcome="redirect",
        code=code.id,
        campaign=code.campaign_id,
        placement=code.placement_id,
        creative=code.creative,
        device="desktop" if bot else device,
        os=None if bot else os_name,
        browser="Slackbot" if bot else browser,
        lang="en",
        country=code.country,
        city=code.city or None,
        visitor=f"{rnd.getrandbits(128):032x}",
        bot=bot,
        bot_kind="preview" if bot else None,
        coupon="".join(rnd.choice(COUPON_ALPHABET) for _ in range(COUPON_LENGTH)) if human_coupon else None,
    )


def _online(
    ctr: Container,
    owner: Principal,
    rnd: random.Random,
    scans: list[ScanEvent],
    by_id: dict[int, _Code],
    now: datetime,
) -> None:
    """Purchases (shop codes) and app sign-ups naming their scan ids."""
    for n, e in enumerate(scans):
        if rnd.random() >= 0.12:
            continue
        code = by_id[e.code or 0]
        at = min(now, _at(e) + timedelta(minutes=rnd.uniform(2, 120)))
        if code.destination.split("?")[0].endswith("/app") or n % 7 == 0:
            data = ConversionIn(scan_id=e.id, type="signup", occurred_at=at)
        else:
            currency = CURRENCY.get(code.country, "USD")
            value = Decimal(rnd.randint(900, 4_800)) / 100
            order = f"WEB-{e.id[-8:].upper()}"
            data = ConversionIn(
                scan_id=e.id, type="purchase", value=value, currency=currency, order_id=order, occurred_at=at
            )
        ctr.conversions.record(owner, data)


def _in_store(
    ctr: Container,
    owner: Principal,
    rnd: random.Random,
    scans: list[ScanEvent],
    by_id: dict[int, _Code],
    now: datetime,
) -> None:
    """Sales at the till that redeemed a scan's coupon (plus two without a known coupon), as a POS import."""
    lines = ["Order;Time;Amount;Currency;Coupon;Store"]
    sold = [e for e in scans if rnd.random() < 0.35]
    for i, e in enumerate(sold):
        code = by_id[e.code or 0]
        at = min(now, _at(e) + timedelta(minutes=rnd.uniform(5, 50)))
        amount = f"{rnd.randint(350, 1_400) / 100:.2f}"
        store = f"Demo Coffee {code.city}".strip()
        currency = CURRENCY.get(code.country, "USD")
        lines.append(f"POS-{i + 1:04d};{at.isoformat()};{amount};{currency};{e.coupon};{store}")
    for j in range(2):  # a coupon typed wrongly and a sale without one: stored, unmatched
        when = (now - timedelta(days=j + 1)).isoformat()
        lines.append(f"POS-X{j + 1};{when};4.50;USD;{'ZZZZ2222' if j else ''};Till 1")
    options = ImportOptions(
        mapping={"order_id": "Order", "occurred_at": "Time", "value": "Amount", "currency": "Currency",
                 "coupon_code": "Coupon", "store": "Store"},
        type="redemption",
    )  # fmt: skip
    ctr.conversion_import.run(owner, ("\n".join(lines) + "\n").encode(), options)


def _repeat_customers(
    ctr: Container,
    owner: Principal,
    rnd: random.Random,
    catalog: list[_Code],
    workspace_id: int,
    now: datetime,
) -> None:
    """Identified customers scanning codes of two or more campaigns over days, then buying once."""
    campaigns = sorted({c.campaign_id for c in catalog if c.campaign_id is not None})
    writer = ScanWriter(ctr.db)
    for k in range(8):
        customer = f"demo-customer-{k + 1}"
        start = now - timedelta(days=rnd.uniform(12, 25))
        touches = []
        for step in range(3 + k % 2):
            campaign = campaigns[(k + step) % len(campaigns)] if campaigns else None
            pool = [
                c for c in catalog if c.campaign_id == campaign and c.medium not in COUPON_MEDIA
            ] or catalog
            at = start + timedelta(days=step * rnd.uniform(0.5, 2.5), minutes=rnd.uniform(0, 600))
            event = _event(rnd, rnd.choice(pool), min(at, now - timedelta(hours=1)), workspace_id)
            event.bot, event.coupon, event.device, event.browser = False, None, "mobile", "Mobile Safari"
            touches.append(event)
        writer.write(touches)
        for event in touches:
            ctr.conversions.identify(owner, IdentifyIn(scan_id=event.id, external_id=customer))
        last = touches[-1]
        at = min(now, _at(last) + timedelta(hours=rnd.uniform(1, 30)))
        value = Decimal(rnd.randint(2_500, 9_000)) / 100
        data = ConversionIn(
            scan_id=last.id,
            type="purchase",
            value=value,
            external_id=customer,
            order_id=f"WEB-C{k + 1}",
            occurred_at=at,
        )
        ctr.conversions.record(owner, data)
