"""Writing scan batches: raw rows plus hourly rollups, daily visitors, visitor history, cap
usage and in-store coupons, all in ONE transaction, idempotent by scan id (a replayed batch
changes nothing). Conversions that named a scan before it was stored are attributed in the same
transaction (``attribution.engine.on_scans_stored``).

The drainer spends its time here, so the hot statements skip SQLAlchemy's per-row parameter
processing: each statement is compiled once per dialect (``_Compiled``) and run with the
driver's own ``executemany`` over pre-converted tuples. PostgreSQL takes the raw rows through
binary ``COPY``; SQLite through one ``executemany``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from scanroute.capture.event import ScanEvent
from scanroute.storage.db import Database
from scanroute.storage.links import insert_coupons
from scanroute.storage.schema import cap_usage, daily_visitors, rollup_hourly, scans, visitor_history

SCAN_COLUMNS = [c.name for c in scans.columns]
# binary COPY needs the PostgreSQL type of every column, in SCAN_COLUMNS order
_PG_SCAN_TYPES = {
    "Integer": "int4",
    "SmallInteger": "int2",
    "Boolean": "bool",
    "UtcDateTime": "timestamptz",
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR_US = 3_600_000_000
_MISSING = object()
DAY_US = 24 * HOUR_US
ID_CHUNK = 900  # SQLite's default limit on host parameters is 999


def event_time(event: ScanEvent) -> datetime:
    """The event's timestamp as an aware datetime (exact: integer microseconds)."""
    return EPOCH + timedelta(microseconds=event.ts)


def _row(e: ScanEvent, ts: Any) -> tuple[Any, ...]:
    """A ``scans`` row in ``SCAN_COLUMNS`` order; ``ts`` already converted for the driver."""
    return (
        e.id, e.ws, e.code, e.slug, ts, e.outcome, e.dest, e.rule, e.variant, e.campaign,
        e.placement, e.creative, e.device, e.os, e.browser, e.lang, e.country, e.region, e.city,
        e.asn, e.ip_net, e.visitor, e.returning, e.bot, e.bot_kind, e.ref_host, e.refused,
    )  # fmt: skip


class _Compiled:
    """One INSERT (… ON CONFLICT) compiled once for a dialect, run on the DBAPI cursor."""

    def __init__(self, stmt: Any, dialect: Dialect, table: Table, names: Sequence[str]) -> None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(names))
        self.sql: str = compiled.string
        self.order: list[str] = list(compiled.positiontup or names)
        self.positional: bool = bool(compiled.positional)
        procs = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in self.order]
        self.procs: list[tuple[int, Callable[[Any], Any]]] = [
            (i, p) for i, p in enumerate(procs) if p is not None
        ]
        index = {n: i for i, n in enumerate(names)}
        self.pick = [index[n] for n in self.order]
        # rows already in statement order with nothing to convert go to the driver as they are
        self.as_is = self.positional and not self.procs and self.pick == list(range(len(names)))

    def run(self, conn: Connection, rows: Iterable[Sequence[Any]]) -> None:
        """``executemany`` of rows given in ``names`` order (bind processors applied here)."""
        params: list[Any] = []
        pick, procs, order = self.pick, self.procs, self.order
        if self.as_is:
            params = rows if isinstance(rows, list) else list(rows)
            rows = ()
        memo: list[dict[Any, Any]] = [{} for _ in procs]  # hours and days repeat within a batch
        for row in rows:
            values = [row[i] for i in pick]
            for (i, proc), seen in zip(procs, memo, strict=True):
                value = values[i]
                try:
                    done = seen.get(value, _MISSING)
                except TypeError:  # unhashable (a JSON value): not memoised
                    done = proc(value)
                else:
                    if done is _MISSING:
                        done = seen[value] = proc(value)
                values[i] = done
            params.append(values if self.positional else dict(zip(order, values, strict=True)))
        if not params:
            return
        raw = conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        try:
            cur.executemany(self.sql, params)
        finally:
            cur.close()


@lru_cache(maxsize=64)
def _compiled_upsert(
    dialect: Dialect,
    table: Table,
    names: tuple[str, ...],
    keys: tuple[str, ...],
    add: tuple[str, ...],
    keep_max: tuple[str, ...],
) -> _Compiled:
    module = postgresql if dialect.name == "postgresql" else sqlite
    stmt = module.insert(table)
    updates: dict[str, Any] = {c: table.c[c] + stmt.excluded[c] for c in add}
    updates.update({c: stmt.excluded[c] for c in keep_max})
    upsert = stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)
    return _Compiled(upsert, dialect, table, names)


def _upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    add: Sequence[str],
    keep_max: Sequence[str] = (),
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE adding ``add`` columns (same SQL on both dialects).

    Rows are dicts with the same keys; the statement is compiled once per shape and dialect.
    """
    if not rows:
        return
    names = tuple(rows[0])
    compiled = _compiled_upsert(conn.dialect, table, names, tuple(keys), tuple(add), tuple(keep_max))
    compiled.run(conn, ([r[n] for n in names] for r in rows))


def _upsert_rows(
    conn: Connection,
    table: Table,
    names: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    keys: tuple[str, ...],
    add: tuple[str, ...],
    keep_max: tuple[str, ...] = (),
) -> None:
    """Like ``_upsert`` for rows already given as tuples in ``names`` order."""
    if rows:
        _compiled_upsert(conn.dialect, table, names, keys, add, keep_max).run(conn, rows)


@lru_cache(maxsize=8)
def _scan_insert(dialect: Dialect) -> _Compiled:
    return _Compiled(sqlite.insert(scans), dialect, scans, SCAN_COLUMNS)


def _sqlite_ts(ts_us: int) -> str:
    """The text SQLAlchemy's SQLite ``DateTime`` stores for a UTC moment (naive, microseconds)."""
    return (EPOCH + timedelta(microseconds=ts_us)).replace(tzinfo=None).isoformat(" ", "microseconds")


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
            if conn.dialect.name == "postgresql":
                self._copy(conn, fresh)
            else:
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.executemany(_scan_insert(conn.dialect).sql, [_row(e, _sqlite_ts(e.ts)) for e in fresh])
            self._rollups(conn, fresh)
            insert_coupons(conn, fresh)
            # conversions and identify links that named these scans before they were stored
            from scanroute.attribution.engine import on_scans_stored  # attribution builds on storage

            on_scans_stored(conn, [e.id for e in fresh])
        return len(fresh)

    @staticmethod
    def _existing(conn: Connection, ids: list[str]) -> set[str]:
        raw = conn.connection.driver_connection
        assert raw is not None
        found: set[str] = set()
        if conn.dialect.name == "postgresql":
            with raw.cursor() as cur:
                cur.execute("SELECT id FROM scans WHERE id = ANY(%s)", (ids,))
                found.update(r[0] for r in cur.fetchall())
            return found
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            marks = ",".join("?" * len(chunk))  # placeholders only: the ids are bound
            sql = f"SELECT id FROM scans WHERE id IN ({marks})"  # noqa: S608
            found.update(r[0] for r in raw.execute(sql, chunk).fetchall())
        return found

    @staticmethod
    def _copy(conn: Connection, events: list[ScanEvent]) -> None:
        raw = conn.connection.driver_connection
        assert raw is not None
        cols = ", ".join(f'"{c}"' for c in SCAN_COLUMNS)
        types = [_PG_SCAN_TYPES.get(type(c.type).__name__, "text") for c in scans.columns]
        with raw.cursor() as cur, cur.copy(f"COPY scans ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for e in events:
                copy.write_row(_row(e, event_time(e)))

    @staticmethod
    def _rollups(conn: Connection, events: list[ScanEvent]) -> None:
        hourly: Counter[tuple[Any, ...]] = Counter()
        returning: Counter[tuple[Any, ...]] = Counter()
        visitors: Counter[tuple[int, date, int, str]] = Counter()
        history: dict[tuple[int, str], list[Any]] = {}
        caps: Counter[tuple[int, str]] = Counter()
        hours: dict[int, datetime] = {}
        days: dict[int, date] = {}
        for e in events:
            hour_us = e.ts - e.ts % HOUR_US
            hour = hours.get(hour_us)
            if hour is None:
                hour = hours[hour_us] = EPOCH + timedelta(microseconds=hour_us)
            key = (
                e.ws, hour, e.code or 0, e.campaign or 0, e.placement or 0, e.creative or "",
                e.device or "", e.os or "", e.browser or "", e.country or "", e.bot,
            )  # fmt: skip
            hourly[key] += 1
            if e.returning:
                returning[key] += 1
            if e.bot or e.code is None:
                continue
            if e.visitor:
                day_us = e.ts - e.ts % DAY_US
                day = days.get(day_us)
                if day is None:
                    day = days[day_us] = hour.date()
                visitors[(e.ws, day, e.code, e.visitor)] += 1
                seen = history.get((e.code, e.visitor))
                if seen is None:
                    history[(e.code, e.visitor)] = [1, e.ts]
                else:
                    seen[0] += 1
                    seen[1] = max(seen[1], e.ts)
            for cap in e.caps:
                caps[(e.code, cap)] += 1
        names = (
            "workspace_id", "hour", "code_id", "campaign_id", "placement_id", "creative", "device",
            "os", "browser", "country", "is_bot",
        )  # fmt: skip
        _upsert_rows(
            conn,
            rollup_hourly,
            (*names, "scans", "returning_scans"),
            [(*k, n, returning[k]) for k, n in hourly.items()],
            names,
            ("scans", "returning_scans"),
        )
        _upsert_rows(
            conn,
            daily_visitors,
            ("workspace_id", "day", "code_id", "visitor", "scans"),
            [(w, d, c, v, n) for (w, d, c, v), n in visitors.items()],
            ("workspace_id", "day", "code_id", "visitor"),
            ("scans",),
        )
        _upsert_rows(
            conn,
            visitor_history,
            ("code_id", "visitor", "scans", "last_seen"),
            [(c, v, n, EPOCH + timedelta(microseconds=t)) for (c, v), (n, t) in history.items()],
            ("code_id", "visitor"),
            ("scans",),
            keep_max=("last_seen",),
        )
        _upsert_rows(
            conn,
            cap_usage,
            ("code_id", "cap_key", "used"),
            [(c, k, n) for (c, k), n in caps.items()],
            ("code_id", "cap_key"),
            ("used",),
        )
        from scanroute.storage.rollups import add_scans  # rollups build on this module's upsert

        add_scans(conn, events)  # analytics rollups in local time; reads daily_visitors above
