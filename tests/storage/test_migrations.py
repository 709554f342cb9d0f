"""The migration chain on empty SQLite and PostgreSQL databases produces the declared schema."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from scanroute.storage import migrate
from scanroute.storage.db import Database
from scanroute.storage.schema import metadata


def _diff(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        return list(compare_metadata(ctx, metadata))


def test_sqlite_migrations_match_schema(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(db)
    assert migrate.current_revision(db) == migrate.head_revision()
    assert _diff(db) == []
    assert set(inspect(db.engine).get_table_names()) >= {t.name for t in metadata.sorted_tables}
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    migrate.upgrade(db)  # idempotent
    assert migrate.current_revision(db) == migrate.head_revision()


@pytest.mark.postgres
def test_postgres_migrations_match_schema(pg_server: str, worker_id: str) -> None:
    name = f"scanroute_migrate_{worker_id}_{os.getpid()}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    from sqlalchemy.engine import make_url

    db = Database(make_url(pg_server).set(database=name).render_as_string(hide_password=False))
    try:
        migrate.upgrade(db)
        assert migrate.current_revision(db) == migrate.head_revision()
        assert _diff(db) == []
    finally:
        db.dispose()
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
