"""``scanroute campaigns …`` and ``scanroute placements …``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scanroute.cli.common import as_owner, container, emit, handle_errors
from scanroute.services.catalog import (
    CampaignCreate,
    CampaignPatch,
    PlacementCreate,
    PlacementPatch,
)
from scanroute.storage.paging import ListQuery

campaigns_app = typer.Typer(no_args_is_help=True, help="Campaigns.")
placements_app = typer.Typer(no_args_is_help=True, help="Placements (where codes are printed).")

Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Ws = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace slug (default: default).")]


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _campaign_line(c: Any) -> str:
    return f"{c.id}\t{c.name}\t{c.currency}\tspend={c.spend_minor}\t{c.goal}"


def _placement_line(p: Any) -> str:
    return f"{p.id}\t{p.name}\t{p.medium}\t{p.city}\t{p.country or ''}"


@campaigns_app.command("create")
@handle_errors
def campaign_create(
    name: str,
    goal: Annotated[str | None, typer.Option()] = None,
    starts_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    ends_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    budget: Annotated[str | None, typer.Option(help="Amount in the currency, e.g. 1500.00")] = None,
    spend: Annotated[str | None, typer.Option(help="Spent so far")] = None,
    currency: Annotated[str | None, typer.Option()] = None,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Create a campaign."""
    body = CampaignCreate.model_validate(
        _given(
            name=name,
            goal=goal,
            starts_on=starts_on,
            ends_on=ends_on,
            budget=budget,
            spend=spend,
            currency=currency,
        )
    )
    with container() as ctr:
        item = ctr.campaigns.create(as_owner(ctr, workspace), body)
    emit(item, as_json=json, lines=_campaign_line)


@campaigns_app.command("list")
@handle_errors
def campaign_list(
    workspace: Ws = None,
    search: Annotated[str | None, typer.Option("--search")] = None,
    json: Json = False,
) -> None:
    """List campaigns."""
    with container() as ctr:
        page = ctr.campaigns.list(as_owner(ctr, workspace), ListQuery(filters={}, search=search, limit=200))
    emit(page.items, as_json=json, lines=lambda items: "\n".join(map(_campaign_line, items)))


@campaigns_app.command("show")
@handle_errors
def campaign_show(ident: int, workspace: Ws = None, json: Json = False) -> None:
    """Show one campaign."""
    with container() as ctr:
        item = ctr.campaigns.get(as_owner(ctr, workspace), ident)
    emit(item, as_json=json, lines=_campaign_line)


@campaigns_app.command("update")
@handle_errors
def campaign_update(
    ident: int,
    name: Annotated[str | None, typer.Option()] = None,
    goal: Annotated[str | None, typer.Option()] = None,
    budget: Annotated[str | None, typer.Option()] = None,
    spend: Annotated[str | None, typer.Option()] = None,
    ends_on: Annotated[str | None, typer.Option()] = None,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Change a campaign's fields."""
    body = CampaignPatch.model_validate(
        _given(name=name, goal=goal, budget=budget, spend=spend, ends_on=ends_on)
    )
    with container() as ctr:
        item = ctr.campaigns.update(as_owner(ctr, workspace), ident, body)
    emit(item, as_json=json, lines=_campaign_line)


@campaigns_app.command("delete")
@handle_errors
def campaign_delete(ident: int, workspace: Ws = None) -> None:
    """Delete a campaign (its codes stay, unlinked)."""
    with container() as ctr:
        ctr.campaigns.delete(as_owner(ctr, workspace), ident)
    typer.echo(f"deleted campaign {ident}")


@placements_app.command("create")
@handle_errors
def placement_create(
    name: str,
    medium: Annotated[
        str, typer.Option(help="table_tent, poster, product_tag, packaging, flyer, …")
    ] = "other",
    location_name: Annotated[str | None, typer.Option()] = None,
    address: Annotated[str | None, typer.Option()] = None,
    city: Annotated[str | None, typer.Option()] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166 alpha-2")] = None,
    latitude: Annotated[float | None, typer.Option()] = None,
    longitude: Annotated[float | None, typer.Option()] = None,
    print_run: Annotated[int | None, typer.Option()] = None,
    print_cost: Annotated[str | None, typer.Option()] = None,
    installed_on: Annotated[str | None, typer.Option()] = None,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Create a placement."""
    body = PlacementCreate.model_validate(
        _given(
            name=name,
            medium=medium,
            location_name=location_name,
            address=address,
            city=city,
            country=country,
            latitude=latitude,
            longitude=longitude,
            print_run=print_run,
            print_cost=print_cost,
            installed_on=installed_on,
        )
    )
    with container() as ctr:
        item = ctr.placements.create(as_owner(ctr, workspace), body)
    emit(item, as_json=json, lines=_placement_line)


@placements_app.command("list")
@handle_errors
def placement_list(
    workspace: Ws = None,
    search: Annotated[str | None, typer.Option("--search")] = None,
    json: Json = False,
) -> None:
    """List placements."""
    with container() as ctr:
        page = ctr.placements.list(as_owner(ctr, workspace), ListQuery(filters={}, search=search, limit=200))
    emit(page.items, as_json=json, lines=lambda items: "\n".join(map(_placement_line, items)))


@placements_app.command("show")
@handle_errors
def placement_show(ident: int, workspace: Ws = None, json: Json = False) -> None:
    """Show one placement."""
    with container() as ctr:
        item = ctr.placements.get(as_owner(ctr, workspace), ident)
    emit(item, as_json=json, lines=_placement_line)


@placements_app.command("update")
@handle_errors
def placement_update(
    ident: int,
    name: Annotated[str | None, typer.Option()] = None,
    medium: Annotated[str | None, typer.Option()] = None,
    city: Annotated[str | None, typer.Option()] = None,
    removed_on: Annotated[str | None, typer.Option()] = None,
    print_cost: Annotated[str | None, typer.Option()] = None,
    workspace: Ws = None,
    json: Json = False,
) -> None:
    """Change a placement's fields."""
    body = PlacementPatch.model_validate(
        _given(name=name, medium=medium, city=city, removed_on=removed_on, print_cost=print_cost)
    )
    with container() as ctr:
        item = ctr.placements.update(as_owner(ctr, workspace), ident, body)
    emit(item, as_json=json, lines=_placement_line)


@placements_app.command("delete")
@handle_errors
def placement_delete(ident: int, workspace: Ws = None) -> None:
    """Delete a placement (its codes stay, unlinked)."""
    with container() as ctr:
        ctr.placements.delete(as_owner(ctr, workspace), ident)
    typer.echo(f"deleted placement {ident}")
