"""Writing scan batches: raw rows plus hourly rollups, daily visitors, visitor history, cap
usage and in-store coupons, all in ONE transaction, idempotent by scan id (a replayed batch
changes nothing). Conversions that named a scan before it was stored are attributed in the same
transaction (``attribution.engine.on_scans_stored``).

PostgreSQL takes the raw rows through ``COPY``; SQLite through a batched ``executemany``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from scanroute.capture.event import ScanEvent
from scanroute.storage.db import Database
from scanroute.storage.links import insert_coupons
from scanroute.storage.schema import cap_usage, daily_visitors, rollup_hourly, scans, visitor_history

SCAN_COLUMNS = [c.name for c in scans.columns]


def event_time(event: ScanEvent) -> datetime:
    """The event's timestamp as an aware datetime."""
    return datetime.fromtimestamp(event.ts / 1_000_000, UTC)


def _row(e: ScanEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "workspace_id": e.ws,
        "code_id": e.code,
        "slug": e.slug,
        "ts": event_time(e),
        "outcome": e.outcome,
        "destination": e.dest,
        "rule_index": e.rule,
        "variant": e.variant,
        "campaign_id": e.campaign,
        "placement_id": e.placement,
        "creative": e.creative,
        "device": e.device,
        "os": e.os,
        "browser": e.browser,
        "language": e.lang,
        "country": e.country,
        "region": e.region,
        "city": e.city,
        "asn": e.asn,
        "ip_net": e.ip_net,
        "visitor": e.visitor,
        "is_returning": e.returning,
        "is_bot": e.bot,
        "bot_kind": e.bot_kind,
        "referer_host": e.ref_host,
        "tracking_refused": e.refused,
    }


def _upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    add: Sequence[str],
    keep_max: Sequence[str] = (),
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE adding ``add`` columns (same SQL on both dialects)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    updates: dict[str, Any] = {c: table.c[c] + stmt.excluded[c] for c in add}
    updates.update({c: stmt.excluded[c] for c in keep_max})
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates), list(rows))


class ScanWriter:
    """Writes drained batches into the store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, events: Iterable[ScanEvent]) -> int:
        """Store a batch; returns how many events were new (replays are skipped)."""
        batch = {e.id: e for e in events}  # duplicates inside a batch count once
        if not batch:
            return 0
        with self.db.write() as conn:
            existing = self._existing(conn, list(batch))
            fresh = [e for i, e in batch.items() if i not in existing]
            if not fresh:
                return 0
            rows = [_row(e) for e in fresh]
            if conn.dialect.name == "postgresql":
                self._copy(conn, rows)
            else:
                conn.execute(scans.insert(), rows)
            self._rollups(conn, fresh)
            insert_coupons(conn, fresh)
            # conversions and identify links that named these scans before they were stored
            from scanroute.attribution.engine import on_scans_stored  # attribution builds on storage

            on_scans_stored(conn, [e.id for e in fresh])
        return len(fresh)

    @staticmethod
    def _existing(conn: Connection, ids: list[str]) -> set[str]:
        found: set[str] = set()
        stmt = select(scans.c.id).where(scans.c.id.in_(bindparam("ids", expanding=True)))
        for start in range(0, len(ids), 900):
            found.update(conn.execute(stmt, {"ids": ids[start : start + 900]}).scalars())
        return found

    @staticmethod
    def _copy(conn: Connection, rows: list[dict[str, Any]]) -> None:
        raw = conn.connection.driver_connection
        assert raw is not None
        cols = ", ".join(f'"{c}"' for c in SCAN_COLUMNS)
        with raw.cursor() as cur, cur.copy(f"COPY scans ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in SCAN_COLUMNS])

    @staticmethod
    def _rollups(conn: Connection, events: list[ScanEvent]) -> None:
        hourly: Counter[tuple[Any, ...]] = Counter()
        returning: Counter[tuple[Any, ...]] = Counter()
        visitors: Counter[tuple[int, date, int, str]] = Counter()
        history: dict[tuple[int, str], list[Any]] = {}
        caps: Counter[tuple[int, str]] = Counter()
        for e in events:
            at = event_time(e)
            key = (
                e.ws,
                at.replace(minute=0, second=0, microsecond=0),
                e.code or 0,
                e.campaign or 0,
                e.placement or 0,
                e.creative or "",
                e.device or "",
                e.os or "",
                e.browser or "",
                e.country or "",
                e.bot,
            )
            hourly[key] += 1
            returning[key] += int(e.returning)
            if e.bot or e.code is None:
                continue
            if e.visitor:
                visitors[(e.ws, at.date(), e.code, e.visitor)] += 1
                seen = history.setdefault((e.code, e.visitor), [0, at])
                seen[0] += 1
                seen[1] = max(seen[1], at)
            for cap in e.caps:
                caps[(e.code, cap)] += 1
        names = (
            "workspace_id",
            "hour",
            "code_id",
            "campaign_id",
            "placement_id",
            "creative",
            "device",
            "os",
            "browser",
            "country",
            "is_bot",
        )
        _upsert(
            conn,
            rollup_hourly,
            [
                dict(zip(names, k, strict=True), scans=n, returning_scans=returning[k])
                for k, n in hourly.items()
            ],
            names,
            ("scans", "returning_scans"),
        )
        _upsert(
            conn,
            daily_visitors,
            [
                {"workspace_id": w, "day": d, "code_id": c, "visitor": v, "scans": n}
                for (w, d, c, v), n in visitors.items()
            ],
            ("workspace_id", "day", "code_id", "visitor"),
            ("scans",),
        )
        _upsert(
            conn,
            visitor_history,
            [{"code_id": c, "visitor": v, "scans": n, "last_seen": t} for (c, v), (n, t) in history.items()],
            ("code_id", "visitor"),
            ("scans",),
            keep_max=("last_seen",),
        )
        _upsert(
            conn,
            cap_usage,
            [{"code_id": c, "cap_key": k, "used": n} for (c, k), n in caps.items()],
            ("code_id", "cap_key"),
            ("used",),
        )
        from scanroute.storage.rollups import add_scans  # rollups build on this module's upsert

        add_scans(conn, events)  # analytics rollups in local time; reads daily_visitors above
