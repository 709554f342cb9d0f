"""Alembic environment: runs the one migration chain against the configured connection."""

from __future__ import annotations

from alembic import context

from scanroute.storage.schema import metadata

config = context.config


def run_migrations_online() -> None:
    """Run migrations on the connection handed in by ``scanroute.storage.migrate``."""
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
