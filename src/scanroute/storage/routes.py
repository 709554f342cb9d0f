"""What the redirect path reads: one code with its campaign's UTM defaults and its workspace's
time zone, the code-change log, salts and routing counters. Plain records (JSON-able) so that
the last-known-good snapshot can hold them."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from scanroute.storage.schema import (
    campaigns,
    cap_usage,
    code_changes,
    codes,
    salts,
    visitor_history,
    workspaces,
)

_COLUMNS = [
    codes.c.id,
    codes.c.workspace_id,
    codes.c.slug,
    codes.c.kind,
    codes.c.destination,
    codes.c.payload,
    codes.c.status,
    codes.c.campaign_id,
    codes.c.placement_id,
    codes.c.creative,
    codes.c.utm,
    codes.c.expires_at,
    codes.c.scan_limit,
    codes.c.fallback_url,
    codes.c.timezone,
    codes.c.rules,
    codes.c.options,
    codes.c.version,
    campaigns.c.utm.label("campaign_utm"),
    workspaces.c.timezone.label("workspace_timezone"),
]


def _query() -> Any:
    return (
        select(*_COLUMNS)
        .join(workspaces, workspaces.c.id == codes.c.workspace_id)
        .outerjoin(campaigns, campaigns.c.id == codes.c.campaign_id)
    )


def _record(row: Any) -> dict[str, Any]:
    rec = {str(key): value for key, value in row._mapping.items()}
    expires: datetime | None = rec["expires_at"]
    rec["expires_at"] = expires.isoformat() if expires else None
    return rec


def route_record(conn: Connection, slug: str, domain: str = "") -> dict[str, Any] | None:
    """The record of one code by slug, or ``None``."""
    row = conn.execute(_query().where(codes.c.domain == domain, codes.c.slug == slug)).first()
    return None if row is None else _record(row)


def all_route_records(conn: Connection) -> list[dict[str, Any]]:
    """Every code's record (for the last-known-good snapshot)."""
    return [_record(r) for r in conn.execute(_query().order_by(codes.c.id))]


def last_change(conn: Connection) -> int:
    """Id of the newest code change (0 when none)."""
    return int(conn.execute(select(func.coalesce(func.max(code_changes.c.id), 0))).scalar_one())


def changes_since(conn: Connection, after: int) -> tuple[int, set[str]]:
    """Slugs changed after change id ``after`` and the newest id."""
    rows = conn.execute(select(code_changes.c.id, code_changes.c.slug).where(code_changes.c.id > after)).all()
    if not rows:
        return after, set()
    return max(r.id for r in rows), {r.slug for r in rows}


def cap_counts(conn: Connection, code_id: int) -> dict[str, int]:
    """Uses so far of each cap (and of the scan limit, key ``limit``) of a code."""
    rows = conn.execute(select(cap_usage.c.cap_key, cap_usage.c.used).where(cap_usage.c.code_id == code_id))
    return {r.cap_key: int(r.used) for r in rows}


def recent_visitors(conn: Connection, code_id: int, since: datetime) -> list[tuple[str, int]]:
    """(visitor hash, scans) of a code's visitors seen since ``since`` (hashes live 48 h)."""
    stmt = select(visitor_history.c.visitor, visitor_history.c.scans).where(
        visitor_history.c.code_id == code_id, visitor_history.c.last_seen >= since
    )
    return [(r.visitor, int(r.scans)) for r in conn.execute(stmt)]


def ensure_salts(conn: Connection, days: list[date]) -> dict[date, bytes]:
    """Create missing salts for ``days`` (first writer wins) and return every salt kept."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for day in days:
        conn.execute(
            dialect.insert(salts).values(day=day, salt=secrets.token_bytes(32)).on_conflict_do_nothing()
        )
    return {r.day: bytes(r.salt) for r in conn.execute(select(salts.c.day, salts.c.salt))}


def delete_salts_before(conn: Connection, day: date) -> int:
    """Destroy salts older than ``day``; returns how many."""
    return int(conn.execute(salts.delete().where(salts.c.day < day)).rowcount)
