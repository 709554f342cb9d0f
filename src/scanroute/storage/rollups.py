"""Incremental upkeep of the analytics rollups (local time of each workspace).

Three entry points, each to be called inside the transaction that wrote the raw rows:

- ``add_scans`` — newly stored scans (``ScanWriter`` calls it after its own rollups, so that
  ``daily_visitors`` already holds the batch): scans, bot scans, first and second scans of each
  visitor-code-day (unique and returning visitors) and any landing beacons that came first;
- ``add_beacons`` — newly inserted ``beacon_events`` rows: "arrived" and the first engagement of
  a scan that is already stored (beacons that come before their scan are counted by
  ``add_scans``);
- ``sync_credits`` (``storage.credit_rollups``) — after ``attribution_credits`` of some
  conversions were (re)computed: replaces their ``rollup_credits`` rows (credit, value, the
  touch's scan dimensions, local day and hour) and regroups the credit aggregates.

``analytics.rebuild`` recomputes the same tables from raw rows with the same rules.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, bindparam, select, tuple_, union_all

from scanroute.analytics.clock import DAY, HOUR, epoch_us, local_seconds, zone
from scanroute.capture.event import ScanEvent
from scanroute.storage.schema import (
    ROLLUP_METRICS,
    SCAN_ROLLUPS,
    beacon_events,
    daily_visitors,
    scans,
    workspaces,
)

ARRIVED = "arrived"
"""The beacon kind that says the visitor's browser reached the landing page; any other kind is
an engagement step (a scan counts as engaged once, whatever and however many steps it made)."""

CODE_KEYS = ("code_id", "campaign_id", "placement_id", "creative")
CHUNK = 900  # bound parameters per IN list (SQLite allows 32 766; keeps statements small)
_GROUPS_PER_QUERY = 100  # limited subqueries per UNION ALL (SQLite's compound limit is 500)
_PARAMS_PER_QUERY = 10_000  # bound parameters per UNION (SQLite allows 32 766, PostgreSQL 65 535)
_FRESH_IN_LIST = 1_000  # a group's own batch rows excluded by NOT IN up to this many

Fact = tuple[Any, ...]  # key values in FACT_KEYS order
Metrics = list[int]


def time_key(table: Table) -> str:
    """``day`` or ``hour``: the time column a rollup table is keyed by."""
    return "day" if "day" in table.c else "hour"


@cache
def key_columns(table: Table) -> tuple[str, ...]:
    """The primary-key columns of a rollup table, in order."""
    return tuple(c.name for c in table.primary_key.columns)


def zones(conn: Connection, workspace_ids: Iterable[int]) -> dict[int, ZoneInfo]:
    """The time zone of each workspace (UTC for one that no longer exists)."""
    ids = sorted(set(workspace_ids))
    found = {
        int(r.id): zone(r.timezone)
        for r in conn.execute(select(workspaces.c.id, workspaces.c.timezone).where(workspaces.c.id.in_(ids)))
    }
    return {i: found.get(i, zone("UTC")) for i in ids}


def _fact(ws: int, local_s: int, m: Any) -> Fact:
    """Rollup key values of one scan (``FACT_KEYS`` order): local hour and day plus dimensions
    (None → 0 or '')."""
    return (
        ws, local_s // HOUR, local_s // DAY, m["code_id"], m["campaign_id"] or 0,
        m["placement_id"] or 0, m["creative"] or "", m["device"] or "", m["os"] or "",
        m["browser"] or "", m["country"] or "", m["region"] or "", m["city"] or "",
    )  # fmt: skip


FACT_KEYS = (
    "workspace_id", "hour", "day", "code_id", "campaign_id", "placement_id", "creative",
    "device", "os", "browser", "country", "region", "city",
)  # fmt: skip
"""The keys of a fact (``_fact``), in order: every rollup table is keyed by some of them."""
_METRIC_AT = {m: i for i, m in enumerate(ROLLUP_METRICS)}


@cache
def _key_of(table: Table) -> Any:
    """A function from a fact tuple (``FACT_KEYS`` order) to the table's primary key."""
    return itemgetter(*(FACT_KEYS.index(k) for k in key_columns(table)))


class Accumulator:
    """Adds metric vectors per fact, then writes them with one upsert per rollup table.

    A fact is added once whatever the number of tables (one dictionary update per call); the
    facts are grouped into each table's rows only when written.
    """

    def __init__(self) -> None:
        self.facts: dict[Fact, Metrics] = {}

    def add(self, fact: Fact, **metrics: int) -> None:
        """Add metrics (names from ``ROLLUP_METRICS``) to every table's row for ``fact``."""
        acc = self.facts.get(fact)
        if acc is None:
            acc = self.facts[fact] = [0] * len(ROLLUP_METRICS)
        for name, value in metrics.items():
            acc[_METRIC_AT[name]] += value

    def write(self, conn: Connection) -> None:
        """Upsert the accumulated rows (adding to existing counters)."""
        from scanroute.storage.scans import _upsert_rows

        for table in SCAN_ROLLUPS:
            key_of = _key_of(table)
            rows: dict[tuple[Any, ...], Metrics] = {}
            for fact, values in self.facts.items():
                key = key_of(fact)
                acc = rows.get(key)
                if acc is None:
                    rows[key] = values.copy()
                else:
                    for i, v in enumerate(values):
                        acc[i] += v
            names = key_columns(table)
            payload = [(*key, *values) for key, values in rows.items()]
            _upsert_rows(conn, table, (*names, *ROLLUP_METRICS), payload, names, ROLLUP_METRICS)


def _event_fields(e: ScanEvent) -> dict[str, Any]:
    return {
        "code_id": e.code,
        "campaign_id": e.campaign,
        "placement_id": e.placement,
        "creative": e.creative,
        "device": e.device,
        "os": e.os,
        "browser": e.browser,
        "country": e.country,
        "region": e.region,
        "city": e.city,
    }


def _utc_day(e: ScanEvent) -> date:
    return datetime.fromtimestamp(e.ts / 1_000_000, UTC).date()


_SCAN_DIMS = (
    scans.c.id,
    scans.c.workspace_id,
    scans.c.ts,
    scans.c.code_id,
    scans.c.campaign_id,
    scans.c.placement_id,
    scans.c.creative,
    scans.c.device,
    scans.c.os,
    scans.c.browser,
    scans.c.country,
    scans.c.region,
    scans.c.city,
)


def add_scans(conn: Connection, events: Sequence[ScanEvent]) -> None:
    """Fold newly stored scans into the rollups (after ``daily_visitors`` took the batch)."""
    batch = sorted((e for e in events if e.code is not None and e.ws), key=lambda e: (e.ts, e.id))
    if not batch:
        return
    tz = zones(conn, {e.ws for e in batch})
    beacons = _beacon_flags(conn, [e.id for e in batch if not e.bot])
    acc = Accumulator()
    for e in batch:
        fact = _fact(e.ws, local_seconds(tz[e.ws], e.ts), _event_fields(e))
        if e.bot:
            acc.add(fact, bot_scans=1)
            continue
        arrived, engaged = beacons.get(e.id, (0, 0))
        acc.add(fact, scans=1, arrived=arrived, engaged=engaged)
    _visitor_days(conn, [e for e in batch if not e.bot and e.visitor], tz, acc)
    acc.write(conn)


# A scan of a visitor-code-day as the first/second-scan rule sees it: (ts µs, id, new?, dimensions).
_Member = tuple[int, str, bool, Any]


def _visitor_days(
    conn: Connection, humans: Sequence[ScanEvent], tz: dict[int, ZoneInfo], acc: Accumulator
) -> None:
    """Count the first (unique) and second (returning) scan of each visitor-code-day.

    The first and second are by time, not by arrival: when a batch brings a scan earlier than
    one stored before (two workers drained out of order), the credit moves to it.
    """
    groups: dict[tuple[Any, ...], list[_Member]] = defaultdict(list)
    for e in humans:
        groups[(e.ws, _utc_day(e), e.code, e.visitor)].append((e.ts, e.id, True, _event_fields(e)))
    stored = _stored_scans_of_visitors(conn, groups)
    _add_stored(conn, {k: m for k, m in groups.items() if stored.get(k, len(m)) > len(m)})
    for (ws, *_), members in groups.items():
        members.sort(key=lambda m: (m[0], m[1]))
        old = [m for m in members if not m[2]]
        for rank, field in enumerate(("visitors", "returning_visitors")):
            now, before = members[rank : rank + 1], old[rank : rank + 1]
            if now == before:
                continue
            moves = [(m, 1) for m in now] + [(m, -1) for m in before]
            for member, sign in moves:
                acc.add(_fact(ws, local_seconds(tz[ws], member[0]), member[3]), **{field: sign})


def _add_stored(conn: Connection, groups: dict[tuple[Any, ...], list[_Member]]) -> None:
    """Add the two earliest scans stored before this batch to each of the groups that had some.

    Only the first two of a visitor-code-day matter to the rule, so each group reads at most two
    rows through the (workspace, visitor, code, ts) index, however long the visitor's history:
    storing a batch costs the same for a visitor's 3rd and 30 000th scan of the day.
    """
    for chunk in _param_chunks(groups):
        parts = []
        for ws, day, code, visitor in chunk:
            lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
            fresh = [m[1] for m in groups[(ws, day, code, visitor)]]
            stmt = select(*_SCAN_DIMS, scans.c.visitor).where(
                scans.c.workspace_id == ws,
                scans.c.visitor == visitor,
                scans.c.code_id == code,
                scans.c.ts >= lo,
                scans.c.ts < lo + timedelta(days=1),
                scans.c.is_bot.is_(False),
            )
            if len(fresh) <= _FRESH_IN_LIST:  # skip this batch's rows in the index walk
                stmt, limit = stmt.where(scans.c.id.not_in(fresh)), 2
            else:  # a huge batch of one visitor: read past its rows instead of binding them all
                limit = 2 + len(fresh)
            # SQLite wants each limited part of a UNION in its own subquery.
            parts.append(stmt.order_by(scans.c.ts, scans.c.id).limit(limit).subquery().select())
        fresh_ids = {m[1] for key in chunk for m in groups[key]}
        for r in conn.execute(union_all(*parts)):
            if r.id not in fresh_ids:
                key = (r.workspace_id, r.ts.astimezone(UTC).date(), r.code_id, r.visitor)
                groups[key].append((epoch_us(r.ts), r.id, False, r._mapping))
    for members in groups.values():  # of the stored rows read, only the earliest two count
        old = sorted((m for m in members if not m[2]), key=lambda m: (m[0], m[1]))
        members[:] = [m for m in members if m[2]] + old[:2]


def _param_chunks(groups: dict[tuple[Any, ...], list[_Member]]) -> Iterable[list[tuple[Any, ...]]]:
    """The group keys in runs whose statements stay well under the drivers' parameter limits."""
    chunk: list[tuple[Any, ...]] = []
    params = 0
    for key, members in groups.items():
        cost = 8 + (len(members) if len(members) <= _FRESH_IN_LIST else 0)
        if chunk and (len(chunk) >= _GROUPS_PER_QUERY or params + cost > _PARAMS_PER_QUERY):
            yield chunk
            chunk, params = [], 0
        chunk.append(key)
        params += cost
    if chunk:
        yield chunk


def _stored_scans_of_visitors(
    conn: Connection, keys: Iterable[tuple[int, date, int | None, str | None]]
) -> dict[tuple[Any, ...], int]:
    """``daily_visitors.scans`` of each (workspace, day, code, visitor) key.

    PostgreSQL answers a row-value ``IN`` list with one primary-key probe per tuple; SQLite would
    scan all of the workspace's rows for it, so there each key is its own primary-key lookup.
    """
    if conn.dialect.name == "sqlite":
        return _stored_scans_sqlite(conn, keys)
    by_ws: dict[int, list[tuple[date, int | None, str | None]]] = defaultdict(list)
    for ws, day, code, visitor in keys:
        by_ws[ws].append((day, code, visitor))
    dv = daily_visitors.c
    found: dict[tuple[Any, ...], int] = {}
    for ws, items in by_ws.items():
        for start in range(0, len(items), CHUNK // 3):
            chunk = items[start : start + CHUNK // 3]
            stmt = select(dv.day, dv.code_id, dv.visitor, dv.scans).where(
                dv.workspace_id == ws, tuple_(dv.day, dv.code_id, dv.visitor).in_(chunk)
            )
            for r in conn.execute(stmt):
                found[(ws, r.day, r.code_id, r.visitor)] = int(r.scans)
    return found


_DV_LOOKUP = (
    "SELECT scans FROM daily_visitors WHERE workspace_id = ? AND day = ? AND code_id = ? AND visitor = ?"
)


def _stored_scans_sqlite(
    conn: Connection, keys: Iterable[tuple[int, date, int | None, str | None]]
) -> dict[tuple[Any, ...], int]:
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.cursor()
    found: dict[tuple[Any, ...], int] = {}
    try:
        for key in keys:
            ws, day, code, visitor = key
            row = cur.execute(_DV_LOOKUP, (ws, day.isoformat(), code, visitor)).fetchone()
            if row is not None:
                found[key] = int(row[0])
    finally:
        cur.close()
    return found


def _beacon_flags(conn: Connection, scan_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(arrived, engaged) of scans whose beacons are already stored."""
    kinds: dict[str, set[str]] = defaultdict(set)
    stmt = select(beacon_events.c.scan_id, beacon_events.c.kind).where(
        beacon_events.c.scan_id.in_(bindparam("ids", expanding=True))
    )
    for start in range(0, len(scan_ids), CHUNK):
        for r in conn.execute(stmt, {"ids": list(scan_ids[start : start + CHUNK])}):
            kinds[r.scan_id].add(r.kind)
    return {sid: (int(ARRIVED in ks), int(bool(ks - {ARRIVED}))) for sid, ks in kinds.items()}


def add_beacons(conn: Connection, rows: Sequence[tuple[str, str]]) -> None:
    """Count newly inserted beacon rows ``(scan_id, kind)`` against their (stored, human) scans.

    Call it after inserting them, with exactly the rows that were new (an upsert that only kept
    the first time of a known row must not pass it again).
    """
    new_kinds: dict[str, set[str]] = defaultdict(set)
    for scan_id, kind in rows:
        new_kinds[scan_id].add(kind)
    ids = list(new_kinds)
    if not ids:
        return
    stored: dict[str, Any] = {}
    engaged_kinds: Counter[str] = Counter()
    scan_stmt = select(*_SCAN_DIMS).where(
        scans.c.id.in_(bindparam("ids", expanding=True)),
        scans.c.is_bot.is_(False),
        scans.c.code_id.is_not(None),
    )
    kind_stmt = select(beacon_events.c.scan_id).where(
        beacon_events.c.scan_id.in_(bindparam("ids", expanding=True)), beacon_events.c.kind != ARRIVED
    )
    for start in range(0, len(ids), CHUNK):
        chunk = {"ids": ids[start : start + CHUNK]}
        stored.update({r.id: r._mapping for r in conn.execute(scan_stmt, chunk)})
        engaged_kinds.update(r.scan_id for r in conn.execute(kind_stmt, chunk))
    if not stored:
        return
    tz = zones(conn, {int(m["workspace_id"]) for m in stored.values()})
    acc = Accumulator()
    for scan_id, m in stored.items():
        kinds = new_kinds[scan_id]
        fresh_engaged = len(kinds - {ARRIVED})
        first_engagement = fresh_engaged > 0 and engaged_kinds[scan_id] == fresh_engaged
        if ARRIVED not in kinds and not first_engagement:
            continue
        ws = int(m["workspace_id"])
        acc.add(
            _fact(ws, local_seconds(tz[ws], epoch_us(m["ts"])), m),
            arrived=int(ARRIVED in kinds),
            engaged=int(first_engagement),
        )
    acc.write(conn)


def ts_param(conn: Connection, moment: datetime) -> Any:
    """A UTC timestamp as a raw SQL parameter comparable with stored ``UtcDateTime`` values."""
    moment = moment.astimezone(UTC)
    if conn.dialect.name == "sqlite":
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite storage format
    return moment


def epoch_sql(conn: Connection, column: str) -> str:
    """SQL for the whole UTC epoch seconds of a timestamp column."""
    if conn.dialect.name == "postgresql":  # date_part (double) sorts and groups faster than numeric
        return f"CAST(floor(date_part('epoch', {column})) AS BIGINT)"
    return f"unixepoch({column})"


def sync_credits(conn: Connection, workspace_id: int, conversion_ids: Sequence[int]) -> None:
    """``storage.credit_rollups.sync_credits`` (where the credit rollups live), for its callers here."""
    from scanroute.storage.credit_rollups import sync_credits as sync

    sync(conn, workspace_id, conversion_ids)
