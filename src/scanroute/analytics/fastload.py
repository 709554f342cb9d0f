"""Raw scans and beacons of a generated day, straight from its columns into the store.

Rows are built from the numpy columns (``workload_batch``) without datetime objects: timestamps
become text the way SQLAlchemy stores them on SQLite (``YYYY-MM-DD HH:MM:SS.ffffff``), or with
``+00`` for PostgreSQL's text ``COPY``. SQLite takes rows by ``executemany``; PostgreSQL takes
``COPY … FROM STDIN`` in text format, which ``copy_text`` builds column by column (each distinct
value of a column escaped once); both in the caller's transaction. ``ready`` builds either in
the generating process, so that the loading process only hands them to the database.
"""

# ruff: noqa: S608 - statements are assembled from schema names only, never from input

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
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


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_NULL = "\\N"


def _field(value: Any) -> str:
    """One value in COPY's text format (``\\N`` for NULL)."""
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _column_text(values: list[Any]) -> list[str]:
    """A column's values as COPY text, each distinct value formatted once."""
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        present = [v for v in values if v is not None] if type(None) in kinds else values
        if not any(c in "".join(present) for c in "\\\t\n\r"):  # plain text: nothing to escape
            return values if len(present) == len(values) else [_NULL if v is None else v for v in values]
    if bool in kinds and int in kinds:  # True == 1 as dict keys: format one by one
        return [_field(v) for v in values]
    cache = {v: _field(v) for v in set(values)}
    return list(map(cache.__getitem__, values))


def copy_text(columns: Sequence[Iterable[Any]], rows: int) -> bytes:
    """Columns of ``rows`` values each (table order; an iterator may be longer) as the payload of
    a text-format ``COPY … FROM STDIN``."""
    if not rows:
        return b""
    text = [_column_text(list(itertools.islice(c, rows))) for c in columns]
    return ("\n".join(map("\t".join, zip(*text, strict=True))) + "\n").encode()


def pg_payload(batch: Batch) -> tuple[bytes, bytes]:
    """A day's scans and beacons as PostgreSQL COPY payloads."""
    n = len(batch.day.ts)
    scan_columns = batch.columns(None, ts_text(batch.day.ts, "postgresql"))
    beacons = beacon_rows(batch, "postgresql")
    return copy_text(scan_columns, n), copy_text(list(zip(*beacons, strict=True)), len(beacons))


def _copy(conn: Connection, table: Table, payload: bytes) -> None:
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        copy.write(payload)


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


Ready = tuple[Any, Any]
"""A day's scans and beacons made ready beforehand: COPY payloads (PostgreSQL) or driver rows."""


def ready(batch: Batch, dialect: str) -> Ready:
    """A day's scans and beacons as ``load_day`` takes them (built in the generating process)."""
    if dialect == "postgresql":
        return pg_payload(batch)
    return scan_rows(batch, dialect), beacon_rows(batch, dialect)


def load_day(conn: Connection, batch: Batch, prepared: Ready | None = None) -> tuple[int, int]:
    """Insert a day's scans and beacons; returns how many of each.

    ``prepared``: the day's ``ready(batch, dialect)``, built beforehand (else built here).
    """
    dialect = conn.dialect.name
    if prepared is None:
        prepared = ready(batch, dialect)
    if dialect == "postgresql":
        _copy(conn, scans, prepared[0])
        _copy(conn, beacon_events, prepared[1])
        return len(batch.day.ts), len(batch.beacon_columns.scan_ids)
    return insert(conn, scans, prepared[0]), insert(conn, beacon_events, prepared[1])
