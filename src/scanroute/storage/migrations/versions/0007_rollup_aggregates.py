"""analytics: workspace-wide device rollup and daily credit aggregates (filled from the rollups)

At 10 M scans a 30-day breakdown by device, OS, browser or country read ~130 000 rows of
``rollup_day_dims`` and every credit query ~120 000 rows of ``rollup_credits`` (one per credit);
these two tables answer the same questions from a few thousand rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

METRICS = ("scans", "bot_scans", "visitors", "returning_visitors", "arrived", "engaged")
TEXT = {"creative": 100, "device": 10, "os": 40, "browser": 60, "country": 2}
DEVICE_KEYS = ("workspace_id", "day", "device", "os", "browser", "country")
CREDIT_KEYS = (
    "workspace_id", "model", "day", "code_id", "campaign_id", "placement_id", "creative", "device", "country"
)  # fmt: skip


def _key(name: str) -> sa.Column[object]:
    if name == "model":
        return sa.Column(name, sa.String(length=12), nullable=False)
    return sa.Column(name, sa.String(length=TEXT[name]) if name in TEXT else sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "rollup_day_devices",
        *[_key(k) for k in DEVICE_KEYS],
        *[sa.Column(m, sa.BigInteger(), nullable=False) for m in METRICS],
        sa.PrimaryKeyConstraint(*DEVICE_KEYS, name=op.f("pk_rollup_day_devices")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_credit_days",
        *[_key(k) for k in CREDIT_KEYS],
        *[sa.Column(m, sa.BigInteger(), nullable=False) for m in ("credit_ppm", "order_ppm", "value_minor")],
        sa.PrimaryKeyConstraint(*CREDIT_KEYS, name=op.f("pk_rollup_credit_days")),
        sqlite_with_rowid=False,
    )
    keys, sums = ", ".join(DEVICE_KEYS), ", ".join(f"SUM({m})" for m in METRICS)
    op.execute(
        f"INSERT INTO rollup_day_devices ({keys}, {', '.join(METRICS)}) "  # noqa: S608 - constants
        f"SELECT {keys}, {sums} FROM rollup_day_dims GROUP BY {keys}"
    )
    keys = ", ".join(CREDIT_KEYS)
    op.execute(
        f"INSERT INTO rollup_credit_days ({keys}, credit_ppm, order_ppm, value_minor) "  # noqa: S608
        f"SELECT {keys}, SUM(credit_ppm), SUM(CASE WHEN is_order THEN credit_ppm ELSE 0 END),"
        f" SUM(value_minor) FROM rollup_credits GROUP BY {keys}"
    )
    if op.get_context().dialect.name == "postgresql":  # plan the new tables from real statistics
        op.execute("ANALYZE rollup_day_devices")
        op.execute("ANALYZE rollup_credit_days")


def downgrade() -> None:
    op.drop_table("rollup_credit_days")
    op.drop_table("rollup_day_devices")
