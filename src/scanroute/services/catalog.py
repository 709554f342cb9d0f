"""Campaign and placement use cases. Money comes in as decimal amounts, is stored in minor units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from scanroute.attribution.money import from_minor, to_minor
from scanroute.domain.campaign import MEDIA, Campaign, Placement
from scanroute.domain.errors import Conflict, Invalid
from scanroute.domain.workspace import Principal, Role
from scanroute.services.codes import Utm
from scanroute.services.common import Currency, Input, Name, ShortText, require, utcnow
from scanroute.storage.catalog import campaign_table, placement_table
from scanroute.storage.db import Database
from scanroute.storage.paging import ListQuery, Page, ScopedTable
from scanroute.storage.tenants import WorkspaceStore

Money = Annotated[Decimal, Field(ge=0, le=Decimal("1e12"), allow_inf_nan=False)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$", to_upper=True)]


def minor(amount: Decimal | None, currency: str, field: str) -> int | None:
    """Decimal amount → minor units, naming ``field`` when the currency or precision is wrong."""
    if amount is None:
        return None
    try:
        return to_minor(amount, currency)
    except ValueError as exc:
        raise Invalid(str(exc), field=field) from exc


def major(units: int | None, currency: str) -> Decimal | None:
    """Minor units → decimal amount for display."""
    return None if units is None else from_minor(units, currency)


class CampaignFields(Input):
    """Campaign fields shared by create and update."""

    goal: ShortText | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    budget: Money | None = Field(None, description="Planned budget in `currency`.")
    spend: Money | None = Field(None, description="Money spent so far in `currency` (used for ROI, CPA).")
    currency: Currency | None = Field(None, description="ISO 4217; default the workspace's.")
    utm: Utm | None = Field(None, description="UTM defaults for the campaign's codes.")

    @model_validator(mode="after")
    def _dates(self) -> CampaignFields:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class CampaignCreate(CampaignFields):
    """Body of ``POST /api/v1/campaigns``."""

    name: Name


class CampaignPatch(CampaignFields):
    """Body of ``PATCH /api/v1/campaigns/{id}``."""

    name: Name | None = None


class PlacementFields(Input):
    """Placement fields shared by create and update."""

    medium: str | None = Field(None, description=f"One of: {', '.join(MEDIA)}.")
    location_name: ShortText | None = None
    address: ShortText | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = None
    country: Country | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    print_run: int | None = Field(None, ge=0, le=10**9)
    print_cost: Money | None = None
    currency: Currency | None = None
    installed_on: date | None = None
    removed_on: date | None = None

    @model_validator(mode="after")
    def _check(self) -> PlacementFields:
        if self.medium is not None and self.medium not in MEDIA:
            raise ValueError(f"medium must be one of: {', '.join(MEDIA)}")
        if self.installed_on and self.removed_on and self.removed_on < self.installed_on:
            raise ValueError("removed_on must not be before installed_on")
        return self


class PlacementCreate(PlacementFields):
    """Body of ``POST /api/v1/placements``."""

    name: Name
    medium: str = Field("other", description=f"One of: {', '.join(MEDIA)}.")


class PlacementPatch(PlacementFields):
    """Body of ``PATCH /api/v1/placements/{id}``."""

    name: Name | None = None


class _Scoped:
    """Shared create/get/update/delete/list over one workspace-scoped table."""

    noun: str
    table: ScopedTable[Any]

    def __init__(self, db: Database) -> None:
        self.db = db

    def _currency(self, principal: Principal, given: str | None) -> str:
        if given:
            return given
        with self.db.read() as conn:
            return WorkspaceStore().get(conn, principal.workspace_id).currency

    def _store(self, principal: Principal, ident: int | None, values: dict[str, Any]) -> Any:
        require(principal, Role.EDITOR, f"changing {self.noun}s")
        now = utcnow()
        values["updated_at"] = now
        with self.db.write() as conn:
            name = values.get("name")
            if name is not None:
                other = self.table.find(conn, principal.workspace_id, name=name)
                if other is not None and other.id != ident:
                    raise Conflict(f"a {self.noun} named '{name}' already exists", field="name")
            if ident is None:
                values.update(workspace_id=principal.workspace_id, created_at=now)
                ident = self.table.insert(conn, values)
                return self.table.get(conn, principal.workspace_id, ident)
            return self.table.update(conn, principal.workspace_id, ident, values)

    def get(self, principal: Principal, ident: int) -> Any:
        """One object of the caller's workspace."""
        with self.db.read() as conn:
            return self.table.get(conn, principal.workspace_id, ident)

    def list(self, principal: Principal, query: ListQuery) -> Page[Any]:
        """A page of the workspace's objects."""
        with self.db.read() as conn:
            return self.table.list(conn, principal.workspace_id, query)

    def delete(self, principal: Principal, ident: int) -> None:
        """Delete one object (codes that referred to it keep working, unlinked)."""
        require(principal, Role.EDITOR, f"deleting {self.noun}s")
        with self.db.write() as conn:
            self.table.delete(conn, principal.workspace_id, ident)


class CampaignService(_Scoped):
    """Campaigns of a workspace."""

    noun = "campaign"
    table = campaign_table

    def create(self, principal: Principal, data: CampaignCreate) -> Campaign:
        """Store a new campaign."""
        values = self._values(principal, data, None)
        values.setdefault("utm", {})
        values.setdefault("spend_minor", 0)
        values.setdefault("goal", "")
        return self._store(principal, None, values)  # type: ignore[no-any-return]

    def update(self, principal: Principal, ident: int, data: CampaignPatch) -> Campaign:
        """Change the fields given."""
        require(principal, Role.EDITOR, f"changing {self.noun}s")
        current = self.get(principal, ident)
        return self._store(principal, ident, self._values(principal, data, current))  # type: ignore[no-any-return]

    def _values(self, principal: Principal, data: CampaignFields, current: Campaign | None) -> dict[str, Any]:
        given = data.model_fields_set if current else set(type(data).model_fields)
        currency = data.currency or (current.currency if current else self._currency(principal, None))
        values: dict[str, Any] = {
            k: getattr(data, k) for k in ("name", "goal", "starts_on", "ends_on") if k in given
        }
        if values.get("goal", "") is None:
            values["goal"] = ""
        if "name" in values and values["name"] is None:
            raise Invalid("must not be null", field="name")
        values["currency"] = currency
        if "budget" in given:
            values["budget_minor"] = minor(data.budget, currency, "budget")
        if "spend" in given:
            values["spend_minor"] = minor(data.spend, currency, "spend") or 0
        if "utm" in given:
            values["utm"] = data.utm.as_dict() if data.utm else {}
        return values


class PlacementService(_Scoped):
    """Placements of a workspace."""

    noun = "placement"
    table = placement_table

    def create(self, principal: Principal, data: PlacementCreate) -> Placement:
        """Store a new placement."""
        values = self._values(principal, data, None)
        for text in ("location_name", "address", "city"):
            values.setdefault(text, "")
        values.setdefault("print_cost_minor", 0)
        return self._store(principal, None, values)  # type: ignore[no-any-return]

    def update(self, principal: Principal, ident: int, data: PlacementPatch) -> Placement:
        """Change the fields given."""
        require(principal, Role.EDITOR, f"changing {self.noun}s")
        current = self.get(principal, ident)
        return self._store(principal, ident, self._values(principal, data, current))  # type: ignore[no-any-return]

    def _values(
        self, principal: Principal, data: PlacementFields, current: Placement | None
    ) -> dict[str, Any]:
        given = data.model_fields_set if current else set(type(data).model_fields)
        currency = data.currency or (current.currency if current else self._currency(principal, None))
        plain = (
            "name",
            "medium",
            "location_name",
            "address",
            "city",
            "country",
            "latitude",
            "longitude",
            "print_run",
            "installed_on",
            "removed_on",
        )
        values: dict[str, Any] = {k: getattr(data, k) for k in plain if k in given}
        for text in ("location_name", "address", "city"):
            if text in values and values[text] is None:
                values[text] = ""
        for required in ("name", "medium"):
            if required in values and values[required] is None:
                raise Invalid("must not be null", field=required)
        values["currency"] = currency
        if "print_cost" in given:
            values["print_cost_minor"] = minor(data.print_cost, currency, "print_cost") or 0
        return values
