"""analytics: credit aggregates per local hour and code, per device/OS/browser, per place

After 0007, the credit queries still reading one ``rollup_credits`` row per credit were those by
hour, hour of day, OS, browser and city (~120 000 rows per model and 30 days at 10 M scans); these
three tables answer them from a few thousand. Filled from ``rollup_credits``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TEXT = {
    "model": 12, "creative": 100, "device": 10, "os": 40, "browser": 60,
    "country": 2, "region": 120, "city": 120,
}  # fmt: skip
METRICS = ("credit_ppm", "order_ppm", "value_minor")
TABLES = {
    "rollup_credit_hours": ("hour", "code_id", "campaign_id", "placement_id", "creative"),
    "rollup_credit_devices": ("day", "device", "os", "browser", "country"),
    "rollup_credit_geo": ("day", "country", "region", "city"),
}


def upgrade() -> None:
    for name, dims in TABLES.items():
        keys = ("workspace_id", "model", *dims)
        op.create_table(
            name,
            *[
                sa.Column(k, sa.String(length=TEXT[k]) if k in TEXT else sa.Integer(), nullable=False)
                for k in keys
            ],
            *[sa.Column(m, sa.BigInteger(), nullable=False) for m in METRICS],
            sa.PrimaryKeyConstraint(*keys, name=op.f(f"pk_{name}")),
            sqlite_with_rowid=False,
        )
        names = ", ".join(keys)
        op.execute(
            f"INSERT INTO {name} ({names}, credit_ppm, order_ppm, value_minor) "  # noqa: S608 - constants
            f"SELECT {names}, SUM(credit_ppm), SUM(CASE WHEN is_order THEN credit_ppm ELSE 0 END),"
            f" SUM(value_minor) FROM rollup_credits GROUP BY {names}"
        )
        if op.get_context().dialect.name == "postgresql":
            op.execute(f"ANALYZE {name}")


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
