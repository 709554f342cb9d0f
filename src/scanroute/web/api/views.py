"""Response shapes of the REST API (what the OpenAPI document publishes)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from scanroute.bootstrap import Container
from scanroute.domain.campaign import Campaign, Placement
from scanroute.domain.code import Code
from scanroute.domain.workspace import Workspace
from scanroute.services.catalog import major
from scanroute.storage.tenants import ApiKeyRecord, Member

T = TypeVar("T")


class ListOut(BaseModel, Generic[T]):
    """A page of items and the cursor for the next page (``null`` at the end)."""

    items: list[T]
    next: str | None


class WorkspaceOut(BaseModel):
    """A workspace."""

    slug: str
    name: str
    currency: str
    timezone: str
    created_at: datetime
    attribution_model: str
    lookback_days: int
    half_life_hours: int

    @classmethod
    def of(cls, ws: Workspace) -> WorkspaceOut:
        """From the domain object."""
        return cls(
            slug=ws.slug,
            name=ws.name,
            currency=ws.currency,
            timezone=ws.timezone,
            created_at=ws.created_at,
            attribution_model=ws.attribution_model,
            lookback_days=ws.lookback_days,
            half_life_hours=ws.half_life_hours,
        )


class WorkspaceCreated(WorkspaceOut):
    """A new workspace and an owner key for it (shown once)."""

    owner_key: str


class KeyOut(BaseModel):
    """An API key's metadata (never the secret)."""

    id: int
    name: str
    prefix: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, k: ApiKeyRecord) -> KeyOut:
        """From the stored record."""
        return cls(
            id=k.id,
            name=k.name,
            prefix=k.prefix,
            role=k.role.value,
            created_at=k.created_at,
            expires_at=k.expires_at,
            last_used_at=k.last_used_at,
        )


class KeyCreated(KeyOut):
    """A new key: ``key`` is shown this once and never again."""

    key: str


class MemberOut(BaseModel):
    """A workspace member."""

    user_id: int
    email: str
    name: str
    role: str
    created_at: datetime

    @classmethod
    def of(cls, m: Member) -> MemberOut:
        """From the stored membership."""
        return cls(
            user_id=m.user_id,
            email=m.email,
            name=m.name,
            role=m.role.value,
            created_at=m.created_at,
        )


class CampaignOut(BaseModel):
    """A campaign; money in decimal units of ``currency``."""

    id: int
    name: str
    goal: str
    starts_on: date | None
    ends_on: date | None
    budget: Decimal | None
    spend: Decimal
    currency: str
    utm: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Campaign) -> CampaignOut:
        """From the domain object."""
        return cls(
            id=c.id,
            name=c.name,
            goal=c.goal,
            starts_on=c.starts_on,
            ends_on=c.ends_on,
            budget=major(c.budget_minor, c.currency),
            spend=major(c.spend_minor, c.currency) or Decimal(0),
            currency=c.currency,
            utm=c.utm,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class PlacementOut(BaseModel):
    """A placement; ``print_cost`` in decimal units of ``currency``."""

    id: int
    name: str
    medium: str
    location_name: str
    address: str
    city: str
    country: str | None
    latitude: float | None
    longitude: float | None
    print_run: int | None
    print_cost: Decimal
    currency: str
    installed_on: date | None
    removed_on: date | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Placement) -> PlacementOut:
        """From the domain object."""
        data = {k: getattr(p, k) for k in cls.model_fields if k != "print_cost"}
        return cls(**data, print_cost=major(p.print_cost_minor, p.currency) or Decimal(0))


class CodeOut(BaseModel):
    """A code with its public short URL."""

    slug: str
    short_url: str
    qr_url: str
    kind: str
    destination: str | None
    payload: str | None
    status: str
    campaign_id: int | None
    placement_id: int | None
    creative: str | None
    title: str
    tags: list[str]
    utm: dict[str, str]
    timezone: str | None
    fallback: str | None
    expires_at: datetime | None
    scan_limit: int | None
    rules: list[Any]
    append_scan_id: bool
    forward_query: bool
    issue_coupon: bool
    payload_type: str | None = None
    design: dict[str, Any] | None = None
    template_id: int | None = None
    qa: dict[str, Any] | None = None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Code, ctr: Container) -> CodeOut:
        """From the domain object."""
        return cls(
            slug=c.slug,
            short_url=ctr.short_url(c.slug),
            qr_url=f"/api/v1/codes/{c.slug}/qr",
            kind=c.kind.value,
            destination=c.destination,
            payload=c.payload,
            status=c.status.value,
            campaign_id=c.campaign_id,
            placement_id=c.placement_id,
            creative=c.creative,
            title=c.title,
            tags=list(c.tags),
            utm=c.utm,
            timezone=c.timezone,
            fallback=c.fallback_url,
            expires_at=c.expires_at,
            scan_limit=c.scan_limit,
            rules=c.rules,
            append_scan_id=bool(c.options.get("append_scan_id", True)),
            forward_query=bool(c.options.get("forward_query", False)),
            issue_coupon=bool(c.options.get("issue_coupon", False)),
            payload_type=c.payload_type,
            design=c.design,
            template_id=c.template_id,
            qa=c.qa,
            version=c.version,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
