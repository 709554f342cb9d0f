"""insights: anomalies, lead models, job runs and locks, BI roles, bi views, row-level security

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import scanroute.storage.types
from scanroute.bi import rls, views

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _ws_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=op.f(f"fk_{table}_workspace_id_workspaces"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    utc = scanroute.storage.types.UtcDateTime(timezone=True)
    op.create_table(
        "anomalies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("direction", sa.String(length=5), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("observed", sa.BigInteger(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("expected_low", sa.Float(), nullable=False),
        sa.Column("expected_high", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("detected_at", utc, nullable=False),
        sa.CheckConstraint("scope IN ('code','campaign')", name=op.f("ck_anomalies_scope")),
        sa.CheckConstraint("direction IN ('spike','drop')", name=op.f("ck_anomalies_direction")),
        _ws_fk("anomalies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomalies")),
        sa.UniqueConstraint(
            "workspace_id",
            "scope",
            "scope_id",
            "day",
            name=op.f("uq_anomalies_workspace_id_scope_scope_id_day"),
        ),
    )
    with op.batch_alter_table("anomalies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_anomalies_workspace_id_day"), ["workspace_id", "day"], unique=False
        )

    op.create_table(
        "lead_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        _ws_fk("lead_models"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_models")),
    )
    with op.batch_alter_table("lead_models", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lead_models_workspace_id_created_at"), ["workspace_id", "created_at"], unique=False
        )

    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("trigger", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("started_at", utc, nullable=False),
        sa.Column("finished_at", utc, nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_runs_name_started_at"), ["name", "started_at"], unique=False)

    op.create_table(
        "job_locks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("expires_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_locks")),
    )
    op.create_table(
        "bi_roles",
        sa.Column("role_name", sa.String(length=63), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        _ws_fk("bi_roles"),
        sa.PrimaryKeyConstraint("role_name", name=op.f("pk_bi_roles")),
    )

    dialect = op.get_bind().dialect.name
    for statement in views.create_sql(dialect, version=1):
        op.execute(statement)
    if dialect == "postgresql":
        for statement in rls.create_sql(version=1):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in rls.drop_sql():
            op.execute(statement)
    for statement in views.drop_sql(dialect):
        op.execute(statement)
    if dialect == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS bi")
    op.drop_table("bi_roles")
    op.drop_table("job_locks")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_runs_name_started_at"))
    op.drop_table("job_runs")
    with op.batch_alter_table("lead_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_models_workspace_id_created_at"))
    op.drop_table("lead_models")
    with op.batch_alter_table("anomalies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anomalies_workspace_id_day"))
    op.drop_table("anomalies")
