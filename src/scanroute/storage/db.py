"""Database access: one engine per process, a read path and a single-writer write path.

SQLite follows Datasette's discipline: WAL journal, a busy timeout, foreign keys on, and every
write transaction opened with ``BEGIN IMMEDIATE`` under a process-wide lock, so that writers
queue instead of failing with "database is locked". PostgreSQL uses an ordinary pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

SQLITE_BUSY_TIMEOUT_MS = 5_000
SQLITE_SYNCHRONOUS = "NORMAL"  # every connection's; bulk_write lifts it for one commit


def normalise_url(url: str) -> str:
    """Map ``postgres://`` and ``postgresql://`` to the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Database:
    """A SQLAlchemy engine with ``read()`` and ``write()`` transaction helpers."""

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._write_lock = threading.Lock()
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            }
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
            kwargs["connect_args"] = {"connect_timeout": 3}
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading; its implicit transaction is rolled back at the end."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on error (single writer on SQLite)."""
        if self.is_sqlite:
            with self._write_lock, self.engine.connect() as conn:
                conn.info["immediate"] = True
                try:
                    with conn.begin():
                        yield conn
                finally:
                    conn.info.pop("immediate", None)
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def bulk_write(self, committed: Callable[[], None] | None = None) -> Iterator[Connection]:
        """A write transaction for a bulk load into the store, as durable as ``write`` when done.

        On SQLite the commit itself is not synced (``synchronous=OFF`` for this transaction:
        measured, a multi-gigabyte commit spends seconds in syncs that the checkpoint repeats);
        after it, the connection's ``SQLITE_SYNCHRONOUS`` is restored and the WAL is checkpointed
        into the database file with its syncs, so the load is on disk when this returns. A power
        loss before that loses the load as a whole (WAL frames are checksummed: no corruption).
        ``committed`` is called between the commit and the checkpoint (to time them apart).
        On PostgreSQL it is ``write``.
        """
        if not self.is_sqlite:
            with self.write() as conn:
                yield conn
            if committed is not None:
                committed()
            return
        with self._write_lock, self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            conn.info["immediate"] = True
            raw.execute("PRAGMA synchronous=OFF")  # the dbapi connection: no implicit BEGIN
            try:
                with conn.begin():
                    yield conn
            finally:
                raw.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
                conn.info.pop("immediate", None)
            if committed is not None:
                committed()
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def ping(self) -> bool:
        """True when the store answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            return False
        return True

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA synchronous={SQLITE_SYNCHRONOUS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")


def sqlite_nullpool_engine(url: str) -> Engine:
    """An engine without pooling, for one-off tools (migrations on SQLite)."""
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    if engine.dialect.name == "sqlite":
        _install_sqlite_hooks(engine)
    return engine
