"""conversions: pending attribution of scans not stored yet, time-decay half-life, pixel secrets

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

import scanroute.storage.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attribution_pending",
        sa.Column("scan_id", sa.String(length=32), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("created_at", scanroute.storage.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_attribution_pending_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("scan_id", "workspace_id", name=op.f("pk_attribution_pending")),
    )
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("half_life_hours", sa.SmallInteger(), server_default="168", nullable=False)
        )
    # Workspaces created before 0002 have no pixel secret yet: give each its own.
    conn = op.get_bind()
    table = sa.table("workspaces", sa.column("id", sa.Integer()), sa.column("pixel_secret", sa.String()))
    for (ident,) in conn.execute(sa.select(table.c.id).where(table.c.pixel_secret == "")).all():
        conn.execute(sa.update(table).where(table.c.id == ident).values(pixel_secret=secrets.token_hex(32)))


def downgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("half_life_hours")
    op.drop_table("attribution_pending")
