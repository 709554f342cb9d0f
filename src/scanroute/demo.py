"""The demo workspace "Demo Coffee Co.": campaigns, placements in several cities, codes with rules.

``ensure_demo`` creates it once (when the database has no demo workspace) and keeps its login
and API key in ``data_dir/demo-credentials.json`` so that ``make run`` can print them again.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from scanroute.bootstrap import Container
from scanroute.domain.workspace import Principal, Role
from scanroute.services.catalog import CampaignCreate, PlacementCreate
from scanroute.services.codes import CodeCreate
from scanroute.services.common import utcnow
from scanroute.services.tenants import WorkspaceCreate, hash_password
from scanroute.storage.tenants import UserStore

DEMO_SLUG = "demo"
DEMO_EMAIL = "demo@scanroute.local"
DEMO_PASSWORD = "demo-coffee"  # noqa: S105 - a published demo credential, local only

CITIES = [
    ("Berlin", "DE", 52.52, 13.405, "Europe/Berlin"),
    ("Paris", "FR", 48.8566, 2.3522, "Europe/Paris"),
    ("London", "GB", 51.5072, -0.1276, "Europe/London"),
    ("New York", "US", 40.7128, -74.006, "America/New_York"),
    ("Austin", "US", 30.2672, -97.7431, "America/Chicago"),
]
MEDIA = ["table_tent", "poster", "product_tag", "packaging", "flyer", "receipt", "window"]
CAMPAIGNS = [
    (
        "Autumn Latte Launch",
        "Drive trials of the new pumpkin-spice oat latte",
        "4500",
        "3120.50",
        "autumn-latte",
    ),
    ("Loyalty App Install", "Get regulars onto the loyalty app", "8000", "5410.00", "loyalty-app"),
    ("Beans To Go", "Sell retail bags of house-roast beans", "3000", "1775.25", "beans-to-go"),
]
WEB = "https://democoffee.example"


@dataclass(frozen=True, slots=True)
class DemoInfo:
    """How to get into the demo workspace."""

    workspace: str
    email: str
    password: str
    api_key: str


def _credentials_path(ctr: Container) -> Path:
    return ctr.settings.data_dir / "demo-credentials.json"


def ensure_demo(ctr: Container, *, seed: int = 7, activity: bool = True) -> DemoInfo:
    """Create the demo workspace unless it exists; return its credentials.

    With ``activity`` (the default) a new demo workspace also gets a month of scans and
    conversions (``demo_activity``); ``scanroute demo --scans N`` passes ``False`` and loads its
    own, larger history instead.
    """
    path = _credentials_path(ctr)
    with ctr.db.read() as conn:
        from scanroute.storage.tenants import WorkspaceStore

        existing = WorkspaceStore().by_slug(conn, DEMO_SLUG)
    if existing is not None:
        if path.exists():
            return DemoInfo(**json.loads(path.read_text(encoding="utf-8")))
        key, _ = ctr.keys.issue(existing.id, "demo key (reissued)", Role.OWNER, None)
        return _save(path, DemoInfo(DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD, key))
    ws = ctr.workspaces.create(
        WorkspaceCreate(slug=DEMO_SLUG, name="Demo Coffee Co.", currency="USD", timezone="Europe/Berlin")
    )
    owner = Principal(workspace_id=ws.id, role=Role.OWNER)
    users = UserStore()
    with ctr.db.write() as conn:
        row = users.by_email(conn, DEMO_EMAIL)
        user_id = (
            row.id
            if row is not None
            else users.create(
                conn,
                email=DEMO_EMAIL,
                name="Demo Owner",
                password_hash=hash_password(DEMO_PASSWORD),
                now=utcnow(),
            )
        )
        users.add_member(conn, ws.id, user_id, Role.OWNER, utcnow())
    populate(ctr, owner, seed=seed)
    if activity:
        from scanroute.demo_activity import add_demo_activity

        add_demo_activity(ctr, ws.id, seed)
    key, _ = ctr.keys.issue(ws.id, "demo key", Role.OWNER, None)
    return _save(path, DemoInfo(DEMO_SLUG, DEMO_EMAIL, DEMO_PASSWORD, key))


def _save(path: Path, info: DemoInfo) -> DemoInfo:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")
    os.chmod(path, 0o600)
    return info


def demo_rules(city_tz: str) -> list[list[dict[str, Any]]]:
    """Realistic rule sets the demo codes cycle through (exercising every condition kind)."""
    del city_tz
    return [
        [
            {
                "name": "iPhone app",
                "when": {"os": ["iOS"]},
                "to": "https://apps.apple.com/app/id1234567890",
            },
            {
                "name": "Android app",
                "when": {"os": ["Android"]},
                "to": "https://play.google.com/store/apps/details?id=example.democoffee",
            },
        ],
        [
            {"name": "German menu", "when": {"language": ["de"]}, "to": f"{WEB}/de/menu"},
            {"name": "French menu", "when": {"language": ["fr"]}, "to": f"{WEB}/fr/menu"},
        ],
        [
            {
                "name": "Happy hour",
                "when": {"days": ["sat", "sun"], "time": {"from": "18:00", "to": "23:00"}},
                "to": f"{WEB}/happy-hour",
            },
            {
                "name": "Breakfast",
                "when": {"time": {"from": "06:00", "to": "10:30"}},
                "to": f"{WEB}/breakfast",
            },
        ],
        [
            {
                "name": "Welcome offer",
                "when": {"visitor": "first"},
                "variants": [
                    {"to": f"{WEB}/offer/free-cookie", "weight": 70, "label": "cookie"},
                    {"to": f"{WEB}/offer/10-off", "weight": 30, "label": "ten-off"},
                ],
                "cap": 500,
            },
            {"name": "Regulars", "when": {"nth_scan": {"min": 3}}, "to": f"{WEB}/loyalty"},
        ],
        [
            {"name": "Staff preview", "when": {"query": {"preview": True}}, "to": f"{WEB}/preview"},
            {
                "name": "Holiday",
                "when": {"dates": {"from": "2026-12-20", "to": "2026-12-31"}},
                "to": f"{WEB}/holiday",
            },
        ],
    ]


def populate(ctr: Container, owner: Principal, *, seed: int = 7) -> None:
    """Campaigns, ~20 placements and ~40 codes for the demo workspace."""
    rnd = random.Random(seed)
    today = date.today()
    campaigns = []
    for name, goal, budget, spend, utm_campaign in CAMPAIGNS:
        campaigns.append(
            ctr.campaigns.create(
                owner,
                CampaignCreate(
                    name=name,
                    goal=goal,
                    budget=Decimal(budget),
                    spend=Decimal(spend),
                    starts_on=today - timedelta(days=90),
                    ends_on=today + timedelta(days=60),
                    utm={"source": "qr", "campaign": utm_campaign},
                ),
            )
        )
    placements = []
    for i in range(20):
        city, country, lat, lon, _tz = CITIES[i % len(CITIES)]
        medium = MEDIA[i % len(MEDIA)]
        placements.append(
            ctr.placements.create(
                owner,
                PlacementCreate(
                    name=f"{city} {medium.replace('_', ' ')} #{i // len(CITIES) + 1}",
                    medium=medium,
                    location_name=f"Demo Coffee {city}",
                    address=f"{rnd.randint(1, 200)} Main Street",
                    city=city,
                    country=country,
                    latitude=round(lat + rnd.uniform(-0.03, 0.03), 5),
                    longitude=round(lon + rnd.uniform(-0.03, 0.03), 5),
                    print_run=rnd.choice([50, 100, 250, 500]),
                    print_cost=Decimal(rnd.choice(["45.00", "120.00", "260.00", "35.50"])),
                    installed_on=today - timedelta(days=rnd.randint(30, 90)),
                ),
            )
        )
    items = []
    for i in range(40):
        placement = placements[i % len(placements)]
        campaign = campaigns[i % len(campaigns)]
        tz = CITIES[(i % len(placements)) % len(CITIES)][4]
        rules = demo_rules(tz)[i % 5] if i % 3 == 0 else []
        items.append(
            CodeCreate.model_validate(
                {
                    "destination": f"{WEB}/{['latte', 'app', 'beans'][i % 3]}?ref=qr",
                    "campaign": campaign.id,
                    "placement": placement.id,
                    "creative": ["A", "B"][i % 2],
                    "title": f"{placement.name} — {campaign.name}",
                    "tags": [placement.medium, placement.city.lower().replace(" ", "-")],
                    "utm": {"medium": placement.medium, "content": ["A", "B"][i % 2]},
                    "timezone": tz,
                    "rules": rules,
                    "fallback": f"{WEB}/",
                }
            )
        )
    ctr.codes.create_many(owner, items)
