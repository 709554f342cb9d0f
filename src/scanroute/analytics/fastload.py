"""Raw scans and beacons of a generated day, straight from its columns into the store.

Rows are built from the numpy columns (``workload_batch``) without datetime objects: timestamps
become text the way SQLAlchemy stores them on SQLite (``YYYY-MM-DD HH:MM:SS.ffffff``), or with
``+00`` for PostgreSQL's text ``COPY``. SQLite takes them by ``executemany`` and PostgreSQL by
``COPY … FROM STDIN`` (text format: psycopg formats each value in C, the server parses the
timestamps), both in the caller's transaction.
"""

# ruff: noqa: S608 - statements are assembled from schema names only, never from input

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Table

from scanroute.storage.schema import beacon_events, scans
from scanroute.workload_batch import Batch

Arr = NDArray[Any]


def ts_text(us: Arr, dialect: str) -> list[str]:
    """Epoch microseconds as the text a timestamp column of ``dialect`` takes."""
    text = np.datetime_as_string(us.astype("datetime64[us]"), unit="us").astype("S26")
    raw = text.view(np.uint8).reshape(-1, 26)
    raw[:, 10] = ord(" ")
    if dialect == "postgresql":
        text = np.char.add(text, b"+00")
    out: list[str] = text.astype("U29").tolist()
    return out


def scan_rows(batch: Batch, dialect: str) -> list[tuple[Any, ...]]:
    """The batch's scans as driver rows."""
    return batch.rows_at(None, ts_text(batch.day.ts, dialect))


def beacon_rows(batch: Batch, dialect: str) -> list[tuple[Any, ...]]:
    """The batch's beacons as driver rows."""
    return batch.beacon_rows_at(ts_text(batch.beacon_columns.at, dialect))


def insert(conn: Connection, table: Table, rows: Sequence[Sequence[Any]]) -> int:
    """Append driver rows (all columns, table order) in the caller's transaction."""
    if not rows:
        return 0
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return len(rows)
    marks = ", ".join("?" for _ in table.columns)
    raw.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)
    return len(rows)


def load_day(conn: Connection, batch: Batch) -> tuple[int, int]:
    """Insert a day's scans and beacons; returns how many of each."""
    dialect = conn.dialect.name
    return insert(conn, scans, scan_rows(batch, dialect)), insert(
        conn, beacon_events, beacon_rows(batch, dialect)
    )
