"""REST endpoints for campaigns and placements."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Response

from scanroute.services.catalog import (
    CampaignCreate,
    CampaignPatch,
    PlacementCreate,
    PlacementPatch,
)
from scanroute.web.api.deps import Auth, Ctr, Ident, Paging
from scanroute.web.api.views import CampaignOut, ListOut, PlacementOut

router = APIRouter()


@router.post("/campaigns", status_code=201, response_model=CampaignOut, tags=["campaigns"])
def create_campaign(body: CampaignCreate, who: Auth, ctr: Ctr) -> CampaignOut:
    """Create a campaign."""
    return CampaignOut.of(ctr.campaigns.create(who, body))


@router.get("/campaigns", response_model=ListOut[CampaignOut], tags=["campaigns"])
def list_campaigns(who: Auth, ctr: Ctr, page: Paging) -> ListOut[CampaignOut]:
    """List campaigns (search `q` over name and goal)."""
    result = ctr.campaigns.list(who, page)
    return ListOut[CampaignOut](items=[CampaignOut.of(c) for c in result.items], next=result.next)


@router.get("/campaigns/{ident}", response_model=CampaignOut, tags=["campaigns"])
def get_campaign(ident: Ident, who: Auth, ctr: Ctr) -> CampaignOut:
    """One campaign."""
    return CampaignOut.of(ctr.campaigns.get(who, ident))


@router.patch("/campaigns/{ident}", response_model=CampaignOut, tags=["campaigns"])
def update_campaign(ident: Ident, body: CampaignPatch, who: Auth, ctr: Ctr) -> CampaignOut:
    """Change the fields given."""
    return CampaignOut.of(ctr.campaigns.update(who, ident, body))


@router.delete("/campaigns/{ident}", status_code=204, tags=["campaigns"])
def delete_campaign(ident: Ident, who: Auth, ctr: Ctr) -> Response:
    """Delete a campaign; its codes stay, unlinked."""
    ctr.campaigns.delete(who, ident)
    return Response(status_code=204)


@router.post("/placements", status_code=201, response_model=PlacementOut, tags=["placements"])
def create_placement(body: PlacementCreate, who: Auth, ctr: Ctr) -> PlacementOut:
    """Create a placement."""
    return PlacementOut.of(ctr.placements.create(who, body))


@router.get("/placements", response_model=ListOut[PlacementOut], tags=["placements"])
def list_placements(
    who: Auth,
    ctr: Ctr,
    page: Paging,
    medium: Annotated[str | None, Query(max_length=40)] = None,
    city: Annotated[str | None, Query(max_length=120)] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
) -> ListOut[PlacementOut]:
    """List placements with filters and search."""
    filters = {"medium": medium, "city": city, "country": country.upper() if country else None}
    result = ctr.placements.list(who, replace(page, filters=filters))
    return ListOut[PlacementOut](items=[PlacementOut.of(p) for p in result.items], next=result.next)


@router.get("/placements/{ident}", response_model=PlacementOut, tags=["placements"])
def get_placement(ident: Ident, who: Auth, ctr: Ctr) -> PlacementOut:
    """One placement."""
    return PlacementOut.of(ctr.placements.get(who, ident))


@router.patch("/placements/{ident}", response_model=PlacementOut, tags=["placements"])
def update_placement(ident: Ident, body: PlacementPatch, who: Auth, ctr: Ctr) -> PlacementOut:
    """Change the fields given."""
    return PlacementOut.of(ctr.placements.update(who, ident, body))


@router.delete("/placements/{ident}", status_code=204, tags=["placements"])
def delete_placement(ident: Ident, who: Auth, ctr: Ctr) -> Response:
    """Delete a placement; its codes stay, unlinked."""
    ctr.placements.delete(who, ident)
    return Response(status_code=204)
