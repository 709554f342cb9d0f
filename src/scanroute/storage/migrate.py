"""Apply and inspect Alembic migrations programmatically (used by ``serve`` and ``db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from scanroute.storage.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    """Apply pending migrations up to ``revision`` (default: every head of the chain)."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            # batch migrations recreate tables (copy, drop, rename); the bi_* views must not veto it
            conn.exec_driver_sql("PRAGMA legacy_alter_table=ON")
        command.upgrade(alembic_config(conn), revision)


def current_revision(db: Database) -> str | None:
    """The revision(s) the database is at (comma-separated), or ``None`` when unmigrated."""
    with db.engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return ",".join(sorted(heads)) or None


def head_revision() -> str | None:
    """The newest revision(s) of the packaged chain (comma-separated)."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    return ",".join(sorted(heads)) or None
