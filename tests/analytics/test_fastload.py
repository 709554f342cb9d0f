"""The bulk loader's PostgreSQL COPY text (built in the generating process) reads back exactly."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import BigInteger, Boolean, Column, Float, MetaData, String, Table, create_engine, select

from scanroute.analytics.fastload import _copy, copy_text
from scanroute.storage.types import UtcDateTime

ROWS = [
    ("plain", 1, True, 1.5, "2026-03-01 10:00:00.000001+00"),
    ("tab\there", -7, False, None, "2026-03-01 10:00:00.000000+00"),
    ("back\\slash\nnew line\rcr", 2**40, True, 0.1, "2026-12-31 23:59:59.999999+00"),
    (None, None, None, None, "1970-01-01 00:00:00.000000+00"),
    ("\\N", 0, False, -2.25, "2026-03-01 10:00:00.000000+00"),
    ("Zürich 東京", 1, True, 1e-300, "2026-03-01 10:00:00.000000+00"),
]


def rows_text(rows: list[tuple[Any, ...]]) -> bytes:
    return copy_text(list(zip(*rows, strict=True)), len(rows))


def test_copy_text_escapes_every_special_character() -> None:
    lines = rows_text(ROWS).decode().split("\n")
    assert lines[-1] == ""
    assert len(lines) == len(ROWS) + 1
    assert lines[1] == "tab\\there\t-7\tf\t\\N\t2026-03-01 10:00:00.000000+00"
    assert lines[2].startswith("back\\\\slash\\nnew line\\rcr\t1099511627776\tt\t0.1\t")
    assert lines[3].startswith("\\N\t\\N\t\\N\t\\N\t")
    assert copy_text([], 0) == b""
    assert copy_text([[1, 2, 3], itertools.repeat("x")], 2) == b"1\tx\n2\tx\n"


@pytest.mark.postgres
def test_copy_text_round_trips_through_postgresql(pg_server: str) -> None:
    table = Table(
        "fastload_probe",
        MetaData(),
        Column("t", String),
        Column("n", BigInteger),
        Column("b", Boolean),
        Column("f", Float),
        Column("at", UtcDateTime),
        prefixes=["TEMPORARY"],
    )
    engine = create_engine(pg_server.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            table.create(conn)
            _copy(conn, table, rows_text(ROWS))
            got = conn.execute(select(table)).all()
    finally:
        engine.dispose()
    want = [
        (t, n, b, f, datetime.fromisoformat(at.replace("+00", "+00:00")).astimezone(UTC))
        for t, n, b, f, at in ROWS
    ]
    assert sorted(map(tuple, got), key=repr) == sorted(want, key=repr)
