"""Store of what ties conversions to scans: in-store coupons, identify links (scan → customer) and
pending attributions (scan ids named before the drainer stored their scans).

Every function takes the caller's connection; the service or engine decides the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from scanroute.capture.event import ScanEvent
from scanroute.storage.conversions import ScanRef, chunks
from scanroute.storage.schema import attribution_pending, coupons, identities

log = logging.getLogger("scanroute.coupons")
PENDING_TTL = timedelta(days=7)
"""How long a conversion waits for a scan it named before the scan was stored (a long outage)."""


# -- coupons ----------------------------------------------------------------------------------------


def insert_coupons(conn: Connection, events: Iterable[ScanEvent]) -> None:
    """Store the coupons that newly stored scan events carry.

    A code drawn twice (29**8 codes: rare) keeps its first scan; the collision is logged, and the
    second visitor's coupon then redeems as the first one's.
    """
    rows = [
        {
            "code": e.coupon,
            "workspace_id": e.ws,
            "scan_id": e.id,
            "code_id": e.code,
            "created_at": datetime.fromtimestamp(e.ts / 1_000_000, UTC),
        }
        for e in events
        if e.coupon and e.ws
    ]
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(coupons).on_conflict_do_nothing(index_elements=["code"]).returning(coupons.c.code)
    stored = set(conn.execute(stmt, rows).scalars())
    lost = [str(r["code"]) for r in rows if r["code"] not in stored]
    if lost:
        log.warning("coupon code(s) drawn twice, kept for their first scan: %s", ", ".join(lost))


def coupons_by_code(conn: Connection, workspace_id: int, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The workspace's coupons with these (normalised) codes, by code."""
    stmt = select(coupons).where(
        coupons.c.workspace_id == workspace_id, coupons.c.code.in_(bindparam("codes", expanding=True))
    )
    out: dict[str, dict[str, Any]] = {}
    for chunk in chunks(sorted(set(codes))):
        out.update({r.code: dict(r._mapping) for r in conn.execute(stmt, {"codes": chunk})})
    return out


def redeem_coupon(conn: Connection, code: str, conversion_id: int, at: datetime) -> bool:
    """Mark a coupon redeemed by a conversion; ``False`` when it already was (one-time use)."""
    result = conn.execute(
        update(coupons)
        .where(coupons.c.code == code, coupons.c.redeemed_at.is_(None))
        .values(redeemed_at=at, conversion_id=conversion_id)
    )
    return bool(result.rowcount)


# -- identities -------------------------------------------------------------------------------------


def identity(conn: Connection, workspace_id: int, scan_id: str) -> str | None:
    """The customer a scan is linked to, or ``None``."""
    return conn.execute(
        select(identities.c.external_id).where(
            identities.c.workspace_id == workspace_id, identities.c.scan_id == scan_id
        )
    ).scalar()


def link_identity(
    conn: Connection, workspace_id: int, scan_id: str, external_id: str, visitor: str | None, now: datetime
) -> None:
    """Insert the link of a scan to a customer (the caller checked that none exists)."""
    conn.execute(
        insert(identities).values(
            workspace_id=workspace_id,
            scan_id=scan_id,
            external_id=external_id,
            visitor=visitor,
            created_at=now,
        )
    )


def fill_identity_visitors(conn: Connection, workspace_id: int, found: Mapping[str, ScanRef]) -> None:
    """Record the visitor hash of newly stored scans on their identity links."""
    for scan_id, scan in found.items():
        if scan.visitor:
            conn.execute(
                update(identities)
                .where(
                    identities.c.workspace_id == workspace_id,
                    identities.c.scan_id == scan_id,
                    identities.c.visitor.is_(None),
                )
                .values(visitor=scan.visitor)
            )


def scans_of_customers(
    conn: Connection, workspace_id: int, external_ids: Iterable[str]
) -> list[tuple[str, str]]:
    """``(external_id, scan_id)`` of every identify link of these customers."""
    stmt = select(identities.c.external_id, identities.c.scan_id).where(
        identities.c.workspace_id == workspace_id,
        identities.c.external_id.in_(bindparam("ids", expanding=True)),
    )
    out: list[tuple[str, str]] = []
    for chunk in chunks(sorted(set(external_ids))):
        out.extend((r.external_id, r.scan_id) for r in conn.execute(stmt, {"ids": chunk}))
    return out


def customers_of_scans(conn: Connection, workspace_id: int, scan_ids: Iterable[str]) -> set[str]:
    """The customers whose identify links name one of these scans."""
    stmt = select(identities.c.external_id).where(
        identities.c.workspace_id == workspace_id, identities.c.scan_id.in_(bindparam("ids", expanding=True))
    )
    out: set[str] = set()
    for chunk in chunks(sorted(set(scan_ids))):
        out.update(conn.execute(stmt, {"ids": chunk}).scalars())
    return out


# -- pending attributions ---------------------------------------------------------------------------


def add_pending(conn: Connection, workspace_id: int, scan_id: str, now: datetime) -> None:
    """Remember that the workspace waits for this scan (idempotent)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(attribution_pending)
        .values(scan_id=scan_id, workspace_id=workspace_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["scan_id", "workspace_id"])
    )


def take_pending(conn: Connection, scan_ids: Sequence[str]) -> list[tuple[int, str]]:
    """``(workspace_id, scan_id)`` waiting for these scans; the rows are deleted (taken)."""
    if conn.execute(select(attribution_pending.c.scan_id).limit(1)).first() is None:
        return []  # the usual case: nothing waits, one trivial query per batch
    t = attribution_pending.c
    conn.execute(delete(attribution_pending).where(t.created_at < datetime.now(UTC) - PENDING_TTL))
    stmt = select(t.workspace_id, t.scan_id).where(t.scan_id.in_(bindparam("ids", expanding=True)))
    taken: list[tuple[int, str]] = []
    for chunk in chunks(list(scan_ids)):
        taken.extend((int(r.workspace_id), r.scan_id) for r in conn.execute(stmt, {"ids": chunk}))
    for chunk in chunks([sid for _, sid in taken]):
        conn.execute(delete(attribution_pending).where(t.scan_id.in_(chunk)))
    return taken
