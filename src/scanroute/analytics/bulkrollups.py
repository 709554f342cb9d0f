"""Rollups of a bulk-loaded workload, computed from the generator's columns with numpy.

The same rules as ``analytics.rebuild`` (and the incremental path): scans and bot scans; the
first scan of a visitor-code-UTC-day counts a unique visitor and its second a returning one, on
that scan's row; arrived/engaged only for human scans; local hours and days in the workspace's
time zone (offsets from ``clock.segments``, as the SQL ``offset_case`` uses); ``None`` stored as
0 or ''. Each day (``partial``, in the generating process) is grouped per table with mixed-radix
integer keys; the loader adds the days up (``Totals``) and writes every row once at the end, in
key order. ``tests/analytics`` checks the result equals a SQL rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Table

from scanroute.analytics.clock import segments
from scanroute.storage import bulk
from scanroute.storage.schema import (
    SCAN_ROLLUPS,
    daily_visitors,
    rollup_day_codes,
    rollup_day_countries,
    rollup_day_devices,
    rollup_day_dims,
    rollup_day_geo,
    rollup_hour_codes,
    rollup_hour_dims,
    rollup_hourly,
    rollup_hours,
)
from scanroute.workload import Vocab, Workload
from scanroute.workload_batch import Batch

Arr = NDArray[Any]
Grouped = tuple[Arr, Arr]  # (sorted unique keys, sums: one row per key, one column per metric)
# Each table's key fields after the time field (the most significant); radices come from ``Shape``.
FIELDS: dict[str, tuple[str, ...]] = {
    rollup_day_codes.name: ("day", "code"),
    rollup_hour_codes.name: ("hour", "code"),
    rollup_day_dims.name: ("day", "code", "prof", "country"),
    rollup_hour_dims.name: ("hour", "code", "device", "country"),
    rollup_day_geo.name: ("day", "code", "loc"),
    rollup_day_devices.name: ("day", "prof", "country"),
    rollup_day_countries.name: ("day", "code", "country"),
    rollup_hours.name: ("hour",),
    rollup_hourly.name: ("utc_hour", "code", "prof", "country", "bot"),
}
TABLES: dict[str, Table] = {t.name: t for t in (*SCAN_ROLLUPS, rollup_hourly)}


@dataclass(frozen=True, slots=True)
class Shape:
    """Radices and lookups of a workload's key fields, and the workspace's UTC offsets."""

    radix: dict[str, int]
    device_of_prof: Arr
    country_of_loc: Arr
    starts: Arr  # UTC epoch seconds where each offset begins
    offsets: Arr

    @classmethod
    def of(cls, work: Workload, tz: Any) -> Shape:
        """The shape of ``work`` in time zone ``tz`` (a ZoneInfo)."""
        v = work.vocab
        devices = sorted({p[0] for p in v.profiles})
        countries = {c: i for i, c in enumerate(v.countries)}
        lo, hi = int(work.start.timestamp()) - 86_400, int(work.end.timestamp()) + 86_400
        parts = segments(tz, lo, hi)
        radix = {
            "code": len(work.codes),
            "prof": len(v.profiles),
            "country": len(v.countries),
            "device": len(devices),
            "loc": len(v.locations),
            "bot": 2,
        }
        return cls(
            radix,
            np.array([devices.index(p[0]) for p in v.profiles]),
            np.array([countries[loc[0]] for loc in v.locations]),
            np.array([p.start for p in parts], dtype=np.int64),
            np.array([p.offset for p in parts], dtype=np.int64),
        )

    def encode(self, table: str, values: dict[str, Arr]) -> Arr:
        """Mixed-radix int64 keys of ``table`` from per-scan field values."""
        names = FIELDS[table]
        key = values[names[0]].astype(np.int64)
        for name in names[1:]:
            key = key * self.radix[name] + values[name]
        return key

    def decode(self, table: str, keys: Arr) -> dict[str, list[int]]:
        """The field values of keys (inverse of ``encode``)."""
        names = FIELDS[table]
        out: dict[str, list[int]] = {}
        rest = keys
        for name in reversed(names[1:]):
            rest, part = np.divmod(rest, self.radix[name])
            out[name] = part.tolist()
        out[names[0]] = rest.tolist()
        return out


@dataclass(slots=True)
class Partial:
    """One day's rollups: grouped keys and sums per table, and its ``daily_visitors`` rows."""

    tables: dict[str, Grouped]
    visitors: list[tuple[Any, ...]]


def group(keys: Arr, values: Arr) -> Grouped:
    """Sum ``values`` (one row per key occurrence) per distinct key."""
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.stack(
        [np.bincount(inverse, weights=values[:, j], minlength=len(uniq)) for j in range(values.shape[1])],
        axis=1,
    )
    return uniq, np.rint(sums).astype(np.int64)


def partial(batch: Batch, shape: Shape) -> Partial:
    """Group one day of generated scans for every rollup table."""
    d = batch.day
    epoch = d.ts // 1_000_000
    at = np.clip(np.searchsorted(shape.starts, epoch, side="right") - 1, 0, None)
    local = epoch + shape.offsets[at]
    human = ~d.bot
    has_visitor = human & d.visitor.astype(bool)
    values = {
        "hour": local // 3600,
        "day": local // 86_400,
        "utc_hour": epoch // 3600,
        "code": d.code,
        "prof": d.prof,
        "loc": d.loc,
        "country": shape.country_of_loc[d.loc],
        "device": shape.device_of_prof[d.prof],
        "bot": d.bot.astype(np.int64),
    }
    metrics = np.stack(
        [human, d.bot, has_visitor & (d.rank == 0), has_visitor & (d.rank == 1), d.arrived, d.engaged],
        axis=1,
    ).astype(np.int64)
    tables = {
        name: group(shape.encode(name, values), metrics) for name in FIELDS if name != rollup_hourly.name
    }
    hourly = np.stack([np.ones(len(epoch), dtype=np.int64), d.returning.astype(np.int64)], axis=1)
    tables[rollup_hourly.name] = group(shape.encode(rollup_hourly.name, values), hourly)
    return Partial(tables, _visitors(batch))


def _visitors(batch: Batch) -> list[tuple[Any, ...]]:
    """``daily_visitors`` rows of the day (its scans share one UTC date), in key order."""
    d = batch.day
    if not len(d.ts):
        return []
    firsts = np.flatnonzero((d.rank == 0) & ~d.bot & d.visitor.astype(bool))
    counts = np.bincount(d.person[~d.bot], minlength=int(d.person.max()) + 1)[d.person[firsts]]
    code_ids = np.array([c.id for c in batch.codes])[d.code[firsts]]
    visitors = d.visitor[firsts]
    order = np.lexsort((visitors.astype(str), code_ids))
    day = datetime.fromtimestamp(int(d.ts[0]) // 1_000_000, UTC).date()
    return [
        (batch.workspace_id, day, code, visitor, n)
        for code, visitor, n in zip(
            code_ids[order].tolist(), visitors[order].tolist(), counts[order].tolist(), strict=True
        )
    ]


@dataclass(slots=True)
class Totals:
    """The days' partial rollups added up, merged every few days to bound memory."""

    shape: Shape
    parts: dict[str, list[Grouped]] = field(default_factory=dict)

    def add(self, p: Partial) -> None:
        """Add one day."""
        for name, grouped in p.tables.items():
            parts = self.parts.setdefault(name, [])
            parts.append(grouped)
            if len(parts) >= 8:
                self.parts[name] = [self._merge(parts)]

    @staticmethod
    def _merge(parts: Sequence[Grouped]) -> Grouped:
        if len(parts) == 1:
            return parts[0]
        return group(np.concatenate([k for k, _ in parts]), np.concatenate([s for _, s in parts]))

    def write(self, conn: Connection, work: Workload) -> int:
        """Insert every rollup row (into tables holding none of these keys); returns the rows."""
        v, codes = work.vocab, work.codes
        code_keys = [(c.id, c.campaign_id or 0, c.placement_id or 0, c.creative or "") for c in codes]
        text = _text_columns(v)
        hours: dict[int, Any] = {}
        sqlite = conn.dialect.name == "sqlite"
        written = 0
        for name, parts in self.parts.items():
            keys, sums = self._merge(parts)
            f = self.shape.decode(name, keys)
            dims: list[list[Any]] = []
            if "code" in f:
                dims += [[code_keys[c][i] for c in f["code"]] for i in range(4)]
            if "prof" in f:
                dims += [[text[col][p] for p in f["prof"]] for col in ("device", "os", "browser")]
            if "device" in f:
                devices = sorted({p[0] for p in v.profiles})
                dims.append([devices[i] for i in f["device"]])
            if "country" in f:
                dims.append([v.countries[i] for i in f["country"]])
            if "loc" in f:
                dims += [[text[col][loc] for loc in f["loc"]] for col in ("country", "region", "city")]
            if name == rollup_hourly.name:
                dims.append([bool(b) for b in f["bot"]])
                when = [hours.get(h) or hours.setdefault(h, _hour(h, sqlite)) for h in f["utc_hour"]]
            else:
                when = f[FIELDS[name][0]]
            ws = [work.workspace_id] * len(keys)
            rows = list(zip(ws, when, *dims, *sums.T.tolist(), strict=True))
            bulk.load(conn, TABLES[name], rows, ready=True)
            written += len(rows)
        return written


def _text_columns(v: Vocab) -> dict[str, list[str]]:
    cols = v.columns
    return {
        name: ["" if x is None else x for x in cols[name].tolist()]
        for name in ("device", "os", "browser", "country", "region", "city")
    }


def _hour(h: int, sqlite: bool) -> Any:
    moment = datetime.fromtimestamp(h * 3600, UTC)
    return moment.strftime("%Y-%m-%d %H:00:00.000000") if sqlite else moment


def visitor_rows(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert a day's ``daily_visitors`` rows (dates as the driver takes them)."""
    if conn.dialect.name == "sqlite":
        rows = [(ws, day.isoformat(), *rest) for ws, day, *rest in rows]
    bulk.load(conn, daily_visitors, rows, ready=True)
