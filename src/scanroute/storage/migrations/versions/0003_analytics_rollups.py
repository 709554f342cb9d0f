"""analytics rollups in the workspace's local time, and attribution credit with scan dimensions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

METRICS = ("scans", "bot_scans", "visitors", "returning_visitors", "arrived", "engaged")
TEXT = {"creative": 100, "device": 10, "os": 40, "browser": 60, "country": 2, "region": 120, "city": 120}
ROLLUPS = {
    "rollup_day_codes": ("day", ()),
    "rollup_hour_codes": ("hour", ()),
    "rollup_day_dims": ("day", ("device", "os", "browser", "country")),
    "rollup_hour_dims": ("hour", ("device", "country")),
    "rollup_day_geo": ("day", ("country", "region", "city")),
}


def _rollup(name: str, time_key: str, dims: tuple[str, ...]) -> None:
    keys = ["workspace_id", time_key, "code_id", "campaign_id", "placement_id", "creative", *dims]
    columns = [
        sa.Column(k, sa.String(length=TEXT[k]) if k in TEXT else sa.Integer(), nullable=False) for k in keys
    ]
    columns += [sa.Column(m, sa.BigInteger(), nullable=False) for m in METRICS]
    op.create_table(
        name, *columns, sa.PrimaryKeyConstraint(*keys, name=op.f(f"pk_{name}")), sqlite_with_rowid=False
    )


def upgrade() -> None:
    for name, (time_key, dims) in ROLLUPS.items():
        _rollup(name, time_key, dims)
    op.create_table(
        "rollup_credits",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("conversion_id", sa.Integer(), nullable=False),
        sa.Column("scan_id", sa.String(length=32), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("creative", sa.String(length=100), nullable=False),
        sa.Column("device", sa.String(length=10), nullable=False),
        sa.Column("os", sa.String(length=40), nullable=False),
        sa.Column("browser", sa.String(length=60), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=120), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("credit_ppm", sa.Integer(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("is_order", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "workspace_id", "model", "day", "conversion_id", "scan_id", name=op.f("pk_rollup_credits")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_rollup_credits_conversion_id"), "rollup_credits", ["conversion_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rollup_credits_conversion_id"), table_name="rollup_credits")
    op.drop_table("rollup_credits")
    for name in reversed(ROLLUPS):
        op.drop_table(name)
