"""Stores for campaigns, placements and codes (workspace-scoped tables)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select

from scanroute.domain.campaign import Campaign, Placement
from scanroute.domain.code import Code, CodeKind, CodeStatus
from scanroute.storage.paging import ScopedTable
from scanroute.storage.schema import campaigns, codes, placements


def _campaign(row: Row[Any]) -> Campaign:
    m = row._mapping
    return Campaign(**{k: m[k] for k in Campaign.__dataclass_fields__})


def _placement(row: Row[Any]) -> Placement:
    m = row._mapping
    return Placement(**{k: m[k] for k in Placement.__dataclass_fields__})


def load_code(row: Row[Any]) -> Code:
    """Hydrate a ``codes`` row."""
    m = dict(row._mapping)
    m["kind"] = CodeKind(m["kind"])
    m["status"] = CodeStatus(m["status"])
    m["tags"] = tuple(m["tags"] or ())
    m["utm"] = dict(m["utm"] or {})
    m["rules"] = list(m["rules"] or [])
    m["options"] = dict(m["options"] or {})
    return Code(**{k: m[k] for k in Code.__dataclass_fields__})


campaign_table = ScopedTable(
    campaigns,
    _campaign,
    sortable=("id", "name", "created_at", "updated_at", "spend_minor"),
    searchable=("name", "goal"),
    noun="campaign",
)
placement_table = ScopedTable(
    placements,
    _placement,
    sortable=("id", "name", "medium", "city", "created_at", "updated_at"),
    searchable=("name", "location_name", "city", "address"),
    noun="placement",
)
code_table = ScopedTable(
    codes,
    load_code,
    sortable=("id", "slug", "created_at", "updated_at", "title"),
    searchable=("slug", "title", "destination"),
    noun="code",
)


def code_by_slug(conn: Connection, slug: str, *, domain: str = "") -> Code | None:
    """Any workspace's code by its public slug (the redirect path's lookup)."""
    row = conn.execute(select(codes).where(codes.c.domain == domain, codes.c.slug == slug)).first()
    return None if row is None else load_code(row)


def codes_changed_since(conn: Connection, since: Any) -> list[Code]:
    """Codes updated at or after ``since`` (for route-cache refreshes)."""
    rows = conn.execute(select(codes).where(codes.c.updated_at >= since))
    return [load_code(r) for r in rows]
