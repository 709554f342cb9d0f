"""Streamed exports of scans, conversions, attribution credits and hourly rollups (CSV, Parquet).

Rows are read with a server-side cursor on PostgreSQL (``stream_results``) and lazily from SQLite,
``BATCH`` at a time, and each batch is encoded and handed on before the next is read: memory stays
constant whatever the range. Parquet is written one row group per batch into a buffer that is
emptied after every group (the footer comes last). Columns are an explicit list per kind: no
network address (``ip_net``) and no free-form metadata ever leave through an export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Column, Table

from scanroute.storage.db import Database
from scanroute.storage.schema import attribution_credits, conversions, rollup_hourly, scans

Kind = Literal["scans", "conversions", "attribution", "rollups"]
Format = Literal["csv", "parquet"]
BATCH = 5000
TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class Spec:
    """What one kind exports: its table, time column and (column, Arrow type) list."""

    table: Table
    time: str
    columns: tuple[tuple[str, pa.DataType], ...]
    order: tuple[str, ...]


S, N, B = pa.string(), pa.int64(), pa.bool_()
SPECS: dict[str, Spec] = {
    "scans": Spec(
        scans,
        "ts",
        (
            ("id", S), ("ts", TS), ("code_id", N), ("slug", S), ("outcome", S), ("destination", S),
            ("rule_index", N), ("variant", S), ("campaign_id", N), ("placement_id", N), ("creative", S),
            ("device", S), ("os", S), ("browser", S), ("language", S), ("country", S), ("region", S),
            ("city", S), ("asn", N), ("visitor", S), ("is_returning", B), ("is_bot", B), ("bot_kind", S),
            ("referer_host", S), ("tracking_refused", B),
        ),
        ("ts", "id"),
    ),
    "conversions": Spec(
        conversions,
        "occurred_at",
        (
            ("id", N), ("scan_id", S), ("type", S), ("occurred_at", TS), ("value_minor", N), ("currency", S),
            ("value_reporting_minor", N), ("order_id", S), ("coupon_code", S), ("source", S), ("code_id", N),
            ("campaign_id", N), ("placement_id", N), ("creative", S), ("created_at", TS),
        ),
        ("occurred_at", "id"),
    ),
    "attribution": Spec(
        attribution_credits,
        "converted_at",
        (
            ("conversion_id", N), ("model", S), ("scan_id", S), ("credit_ppm", N), ("value_minor", N),
            ("code_id", N), ("campaign_id", N), ("placement_id", N), ("creative", S), ("touch_at", TS),
            ("converted_at", TS),
        ),
        ("converted_at", "conversion_id", "model", "scan_id"),
    ),
    "rollups": Spec(
        rollup_hourly,
        "hour",
        (
            ("hour", TS), ("code_id", N), ("campaign_id", N), ("placement_id", N), ("creative", S),
            ("device", S), ("os", S), ("browser", S), ("country", S), ("is_bot", B), ("scans", N),
            ("returning_scans", N),
        ),
        (
            "hour", "code_id", "campaign_id", "placement_id", "creative", "device", "os", "browser",
            "country", "is_bot",
        ),
    ),
}  # fmt: skip
KINDS: tuple[str, ...] = tuple(SPECS)
MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


def column_names(kind: str) -> list[str]:
    """The exported columns of a kind, in order."""
    return [name for name, _ in SPECS[kind].columns]


def rows(
    db: Database, kind: str, workspace_id: int, start: datetime, end: datetime
) -> Iterator[Sequence[Any]]:
    """Batches of rows of ``kind`` with ``start ≤ time < end``, in time order."""
    spec = SPECS[kind]
    table = spec.table
    cols: list[Column[Any]] = [table.c[name] for name, _ in spec.columns]
    time = table.c[spec.time]
    stmt = (
        table.select()
        .with_only_columns(*cols)
        .where(table.c.workspace_id == workspace_id, time >= start, time < end)
        .order_by(*(table.c[c] for c in spec.order))
    )
    with db.read() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=BATCH).execute(stmt)
        yield from result.partitions(BATCH)


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def csv_chunks(db: Database, kind: str, workspace_id: int, start: datetime, end: datetime) -> Iterator[bytes]:
    """The export as CSV (header line, then one chunk per batch)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(column_names(kind))
    yield buffer.getvalue().encode()
    for batch in rows(db, kind, workspace_id, start, end):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_cell(v) for v in row] for row in batch)
        yield buffer.getvalue().encode()


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out after every row group."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.buffer += view
        self.position += len(view)
        return len(view)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        out = bytes(self.buffer)
        self.buffer.clear()
        return out


def arrow_schema(kind: str) -> pa.Schema:
    """The Parquet schema of a kind."""
    return pa.schema([pa.field(name, kind_type) for name, kind_type in SPECS[kind].columns])


def parquet_chunks(
    db: Database, kind: str, workspace_id: int, start: datetime, end: datetime
) -> Iterator[bytes]:
    """The export as Parquet: one row group per batch, bytes yielded as they are written."""
    schema = arrow_schema(kind)
    sink = _Drain()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for batch in rows(db, kind, workspace_id, start, end):
            if not batch:
                continue
            columns = list(zip(*batch, strict=True))
            table = pa.Table.from_arrays(
                [pa.array(col, type=schema.field(i).type) for i, col in enumerate(columns)], schema=schema
            )
            writer.write_table(table, row_group_size=len(batch))
            chunk = sink.take()
            if chunk:
                yield chunk
    yield sink.take()


def chunks(
    db: Database, kind: str, fmt: Format, workspace_id: int, start: datetime, end: datetime
) -> Iterator[bytes]:
    """The export in the requested format."""
    if fmt == "parquet":
        return parquet_chunks(db, kind, workspace_id, start, end)
    return csv_chunks(db, kind, workspace_id, start, end)
