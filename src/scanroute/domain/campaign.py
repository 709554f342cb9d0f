"""Campaigns (what is being promoted) and placements (the physical spot a code is printed for)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

MEDIA = (
    "table_tent",
    "poster",
    "product_tag",
    "packaging",
    "flyer",
    "receipt",
    "menu",
    "window",
    "billboard",
    "sticker",
    "business_card",
    "direct_mail",
    "magazine",
    "tv",
    "screen",
    "other",
)
UTM_KEYS = ("source", "medium", "campaign", "term", "content", "id")


@dataclass(frozen=True, slots=True)
class Campaign:
    """A marketing campaign with its budget and UTM defaults (money in minor units)."""

    id: int
    workspace_id: int
    name: str
    goal: str
    starts_on: date | None
    ends_on: date | None
    budget_minor: int | None
    spend_minor: int
    currency: str
    utm: dict[str, str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Placement:
    """A physical spot where a code is printed: medium, location, print run and its cost."""

    id: int
    workspace_id: int
    name: str
    medium: str
    location_name: str
    address: str
    city: str
    country: str | None
    latitude: float | None
    longitude: float | None
    print_run: int | None
    print_cost_minor: int
    currency: str
    installed_on: date | None
    removed_on: date | None
    created_at: datetime
    updated_at: datetime
