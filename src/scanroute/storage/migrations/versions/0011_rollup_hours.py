"""analytics: workspace-wide rollup per local hour (filled from ``rollup_hour_codes``)

An hourly series over 30 days read ~29 000 rows of ``rollup_hour_codes`` at 10 M scans (one
per code and hour) to sum them into 720 points; this table holds the 720 rows.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

METRICS = ("scans", "bot_scans", "visitors", "returning_visitors", "arrived", "engaged")
KEYS = ("workspace_id", "hour")


def upgrade() -> None:
    op.create_table(
        "rollup_hours",
        *[sa.Column(k, sa.Integer(), nullable=False) for k in KEYS],
        *[sa.Column(m, sa.BigInteger(), nullable=False) for m in METRICS],
        sa.PrimaryKeyConstraint(*KEYS, name=op.f("pk_rollup_hours")),
        sqlite_with_rowid=False,
    )
    keys, sums = ", ".join(KEYS), ", ".join(f"SUM({m})" for m in METRICS)
    op.execute(
        f"INSERT INTO rollup_hours ({keys}, {', '.join(METRICS)}) "  # noqa: S608 - constants
        f"SELECT {keys}, {sums} FROM rollup_hour_codes GROUP BY {keys}"
    )
    if op.get_context().dialect.name == "postgresql":  # plan the new table from real statistics
        op.execute("ANALYZE rollup_hours")


def downgrade() -> None:
    op.drop_table("rollup_hours")
