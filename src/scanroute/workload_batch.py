"""A day of generated history as columns (``Day``, ``Beacons``) and as a ``Batch``.

The generator (``workload_gen``) fills the columns; the bulk loader reads them as they are and
everything else asks ``Batch.scans`` / ``Batch.beacons`` for row tuples in table order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from scanroute.workload import BEACON_KINDS, Arr, CodeInfo, Conversion, Vocab


@dataclass(slots=True)
class Day:
    """One UTC day of scans as columns, in (time, id) order; dimension columns are ``Vocab``
    indexes. ``person`` numbers the day's human visitors (-1 for bots) and ``rank`` orders each
    person's scans (0 = first)."""

    ts: Arr  # UTC epoch microseconds
    ids: Arr
    code: Arr  # index into ``Workload.codes``
    bot: Arr
    bot_kind: Arr
    prof: Arr
    loc: Arr
    lang: Arr
    ip: Arr
    visitor: Arr
    returning: Arr
    refused: Arr
    person: Arr
    rank: Arr
    customer: Arr
    arrived: Arr
    engaged: Arr

    @classmethod
    def empty(cls, n: int) -> Day:
        """``n`` scans with every column at its default."""

        def ints(fill: int) -> Arr:
            return np.full(n, fill, dtype=np.int64)

        def flags() -> Arr:
            return np.zeros(n, dtype=bool)

        return cls(
            ints(0), np.empty(n, dtype="U24"), ints(0), flags(), ints(0), ints(0), ints(0), ints(0),
            np.full(n, None, dtype=object), np.full(n, None, dtype=object), flags(), flags(),
            ints(-1), ints(-1), ints(-1), flags(), flags(),
        )  # fmt: skip


@dataclass(slots=True)
class Beacons:
    """A day's landing beacons as columns, in time order (``kind`` 0 arrived, 1 engaged)."""

    scan_ids: Arr
    kind: Arr
    value: Arr  # NaN = none
    at: Arr  # UTC epoch microseconds


@dataclass(slots=True)
class Batch:
    """One UTC day of history, in time order: scans and beacons as columns (``day``,
    ``beacon_columns``); ``scans`` and ``beacons`` give them as row tuples."""

    workspace_id: int
    vocab: Vocab
    codes: list[CodeInfo]
    day: Day
    beacon_columns: Beacons
    identities: list[tuple[int, str, str, str | None, datetime]] = field(default_factory=list)
    conversions: list[Conversion] = field(default_factory=list)

    @property
    def scans(self) -> list[tuple[Any, ...]]:
        """The scans as ``scans`` table rows (timestamps as aware datetimes)."""
        return self.rows_at(None)

    @property
    def beacons(self) -> list[tuple[str, str, int, float | None, datetime]]:
        """The beacons as ``beacon_events`` rows."""
        from scanroute.workload_gen import moment

        return self.beacon_rows_at([moment(t) for t in self.beacon_columns.at.tolist()])

    def beacon_rows_at(self, at: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Beacon rows with ``at`` as their timestamps (datetimes, or text for a bulk load)."""
        b = self.beacon_columns
        values = [None if math.isnan(v) else v for v in b.value.tolist()]
        return list(
            zip(
                b.scan_ids.tolist(),
                [BEACON_KINDS[k] for k in b.kind.tolist()],
                itertools.repeat(self.workspace_id),
                values,
                at,
                strict=False,
            )
        )

    def rows_at(self, idx: Arr | None, ts: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Scan rows (all, or at positions ``idx``); ``ts`` replaces the timestamps (e.g. as text)."""
        from scanroute.workload_gen import moment

        d = self.day
        times = d.ts if idx is None else d.ts[idx]
        values = [moment(t) for t in times.tolist()] if ts is None else ts
        return list(zip(*self.columns(idx, values), strict=False))

    def columns(self, idx: Arr | None, ts: Sequence[Any]) -> list[Iterable[Any]]:
        """The ``scans`` columns, in table order (all scans, or those at ``idx``)."""
        d, v = self.day, self.vocab.columns

        def pick(a: Arr) -> Arr:
            return a if idx is None else a[idx]

        code, prof, loc = pick(d.code), pick(d.prof), pick(d.loc)
        k = len(code)
        per_code = _code_columns(self.codes)

        def of_code(name: str) -> list[Any]:
            result: list[Any] = per_code[name][code].tolist()
            return result

        none = [None] * k
        return [
            pick(d.ids).tolist(), itertools.repeat(self.workspace_id, k), of_code("id"), of_code("slug"),
            ts, itertools.repeat("redirect", k), of_code("destination"), none, none,
            of_code("campaign_id"), of_code("placement_id"), of_code("creative"),
            v["device"][prof].tolist(), v["os"][prof].tolist(), v["browser"][prof].tolist(),
            v["language"][pick(d.lang)].tolist(), v["country"][loc].tolist(), v["region"][loc].tolist(),
            v["city"][loc].tolist(), none, pick(d.ip).tolist(), pick(d.visitor).tolist(),
            pick(d.returning).tolist(), pick(d.bot).tolist(), v["bot_kind"][pick(d.bot_kind)].tolist(),
            none, pick(d.refused).tolist(),
        ]  # fmt: skip


def _code_columns(codes: Sequence[CodeInfo]) -> dict[str, Arr]:
    out = {}
    for name in ("id", "slug", "destination", "campaign_id", "placement_id", "creative"):
        col = np.empty(len(codes), dtype=object)
        col[:] = [getattr(c, name) for c in codes]
        out[name] = col
    return out
