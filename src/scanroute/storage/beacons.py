"""Writing landing-beacon hits into ``beacon_events`` (first time kept, largest value kept).

Owns the batch write behind ``POST /t``: hits are grouped per (scan, kind), matched to their
stored scans (which give the workspace), inserted with ``ON CONFLICT DO NOTHING … RETURNING`` so
that exactly the new rows are counted by the analytics rollups (``storage.rollups.add_beacons``),
and existing rows keep the larger value. A scan may have at most ``MAX_KINDS`` kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from scanroute.attribution.intake import scan_id_time
from scanroute.storage.db import Database
from scanroute.storage.schema import beacon_events, scans

MAX_KINDS = 20
RETRY_WINDOW = timedelta(minutes=5)
"""An unknown scan id is retried while it was minted less than this long ago."""
CHUNK = 900


@dataclass(frozen=True, slots=True)
class Hit:
    """One beacon request: a scan reached a stage (``arrived``, ``engaged``, a named step)."""

    scan_id: str
    kind: str
    value: float | None
    at: datetime


def write_hits(db: Database, hits: Sequence[Hit], now: datetime | None = None) -> list[Hit]:
    """Store the hits of known scans; return those of unknown, recent scans (to retry later).

    Hits of unknown scans older than ``RETRY_WINDOW`` are dropped without a trace.
    """
    now = now or datetime.now(UTC)
    merged: dict[tuple[str, str], Hit] = {}
    for hit in hits:
        key = (hit.scan_id, hit.kind)
        seen = merged.get(key)
        if seen is None:
            merged[key] = hit
        else:
            values = [v for v in (seen.value, hit.value) if v is not None]
            merged[key] = Hit(hit.scan_id, hit.kind, max(values) if values else None, min(seen.at, hit.at))
    ids = sorted({sid for sid, _ in merged})
    with db.write() as conn:
        owners = _owners(conn, ids)
        kinds = _kinds(conn, [sid for sid in ids if sid in owners])
        rows = []
        for (sid, kind), hit in merged.items():
            if sid not in owners:
                continue
            known = kinds.setdefault(sid, set())
            if kind not in known and len(known) >= MAX_KINDS:
                continue
            known.add(kind)
            rows.append(
                {"scan_id": sid, "kind": kind, "workspace_id": owners[sid], "value": hit.value, "at": hit.at}
            )
        fresh = _insert(conn, rows)
        for row in rows:
            if (row["scan_id"], row["kind"]) not in fresh and row["value"] is not None:
                be = beacon_events.c
                conn.execute(
                    update(beacon_events)
                    .where(
                        be.scan_id == row["scan_id"],
                        be.kind == row["kind"],
                        func.coalesce(be.value, -1.0) < row["value"],
                    )
                    .values(value=row["value"])
                )
        if fresh:
            from scanroute.storage.rollups import add_beacons  # analytics counts arrivals and engagement

            add_beacons(conn, sorted(fresh))
    retry = []
    for (sid, _), hit in merged.items():
        minted = scan_id_time(sid)
        if (
            sid not in owners
            and minted is not None
            and now - RETRY_WINDOW <= minted <= now + timedelta(seconds=5)
        ):
            retry.append(hit)
    return retry


def _owners(conn: Connection, ids: list[str]) -> dict[str, int]:
    stmt = select(scans.c.id, scans.c.workspace_id).where(scans.c.id.in_(bindparam("ids", expanding=True)))
    out: dict[str, int] = {}
    for start in range(0, len(ids), CHUNK):
        out.update(
            {r.id: int(r.workspace_id) for r in conn.execute(stmt, {"ids": ids[start : start + CHUNK]})}
        )
    return out


def _kinds(conn: Connection, ids: list[str]) -> dict[str, set[str]]:
    stmt = select(beacon_events.c.scan_id, beacon_events.c.kind).where(
        beacon_events.c.scan_id.in_(bindparam("ids", expanding=True))
    )
    out: dict[str, set[str]] = {}
    for start in range(0, len(ids), CHUNK):
        for r in conn.execute(stmt, {"ids": ids[start : start + CHUNK]}):
            out.setdefault(r.scan_id, set()).add(r.kind)
    return out


def _insert(conn: Connection, rows: list[dict[str, object]]) -> set[tuple[str, str]]:
    """Insert rows that are new; return their keys (exactly the rows this call created)."""
    if not rows:
        return set()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    fresh: set[tuple[str, str]] = set()
    for start in range(0, len(rows), 500):
        stmt = (
            dialect.insert(beacon_events)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(index_elements=["scan_id", "kind"])
            .returning(beacon_events.c.scan_id, beacon_events.c.kind)
        )
        fresh.update((r.scan_id, r.kind) for r in conn.execute(stmt))
    return fresh
