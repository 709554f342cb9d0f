"""Bulk loading of raw rows: binary ``COPY`` on PostgreSQL, ``executemany`` on SQLite.

For generated history (the demo workload, benchmarks): rows are plain tuples in the order of
``columns`` (default: the table's columns); timestamps are aware datetimes, JSON columns Python
objects. Nothing here maintains rollups: the caller rebuilds them afterwards, in SQL
(``analytics.rebuild``).
"""

# ruff: noqa: S608 - statements are assembled from schema names only, never from input

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, Boolean, Connection, Date, Float, Integer, SmallInteger, Table, text
from sqlalchemy.types import TypeEngine

from scanroute.storage.types import UtcDateTime

_PG_TYPES: list[tuple[type[TypeEngine[Any]], str]] = [
    (UtcDateTime, "timestamptz"),
    (SmallInteger, "int2"),
    (BigInteger, "int8"),
    (Integer, "int4"),
    (Boolean, "bool"),
    (Float, "float8"),
    (Date, "date"),
    (JSON, "json"),
]


def _pg_type(kind: TypeEngine[Any]) -> str:
    for cls, name in _PG_TYPES:
        if isinstance(kind, cls):
            return name
    return "text"


def _sqlite_ts(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite storage format of a UTC timestamp (``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def driver_rows(
    dialect: str, table: Table, rows: Sequence[Sequence[Any]], columns: Sequence[str] | None = None
) -> list[Sequence[Any]]:
    """Rows as the driver takes them: on SQLite, timestamps and JSON turned into text.

    ``load`` does it itself; a producer in another process may do it first (``ready=True``).
    """
    if dialect == "postgresql":
        return list(rows)  # binary COPY takes datetimes and (JSON) Python objects as they are
    kinds = [table.c[n].type for n in columns or [c.name for c in table.columns]]
    converters: list[tuple[int, Callable[[Any], Any]]] = [
        (i, _sqlite_ts) for i, k in enumerate(kinds) if isinstance(k, UtcDateTime)
    ] + [(i, _json) for i, k in enumerate(kinds) if isinstance(k, JSON)]
    if not converters:
        return list(rows)
    out: list[Sequence[Any]] = []
    for row in rows:
        values = list(row)
        for i, fn in converters:
            values[i] = fn(values[i])
        out.append(values)
    return out


def load(
    conn: Connection,
    table: Table,
    rows: Sequence[Sequence[Any]],
    columns: Sequence[str] | None = None,
    *,
    ready: bool = False,
) -> int:
    """Append rows to ``table`` in the caller's transaction; returns how many.

    ``ready``: the rows already went through ``driver_rows`` for this dialect.
    """
    if not rows:
        return 0
    names = list(columns or [c.name for c in table.columns])
    cols = ", ".join(f'"{c}"' for c in names)
    if not ready:
        rows = driver_rows(conn.dialect.name, table, rows, names)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([_pg_type(table.c[n].type) for n in names])
            for row in rows:
                copy.write_row(row)
        return len(rows)
    raw_sqlite = conn.connection.driver_connection
    assert raw_sqlite is not None
    marks = ", ".join("?" for _ in names)
    raw_sqlite.executemany(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", rows)
    return len(rows)


def reset_sequence(conn: Connection, table: Table, column: str = "id") -> None:
    """After loading explicit ids on PostgreSQL, move the serial sequence past the largest."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'),"
                f" COALESCE((SELECT MAX({column}) FROM {table.name}), 0) + 1, false)"
            )
        )


def analyze(conn: Connection, tables: Sequence[Table]) -> None:
    """Refresh planner statistics after a bulk load."""
    for table in tables:
        conn.execute(text(f"ANALYZE {table.name}"))
