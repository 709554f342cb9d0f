"""scans: index (workspace, visitor, code, ts) instead of (workspace, visitor)

The drainer's first/second-scan rule needs the two earliest stored scans of a
visitor-code-day. With only (workspace, visitor) it read every scan the visitor ever made at
each batch, so storing slowed down as a repeat visitor's history grew; the wider index answers
"earliest two of this visitor, code and day" from a few index entries. Its prefix still serves
every query the old index served.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scans") as batch_op:
        name = batch_op.f("ix_scans_workspace_id_visitor_code_id_ts")
        batch_op.create_index(name, ["workspace_id", "visitor", "code_id", "ts"])
        batch_op.drop_index(batch_op.f("ix_scans_workspace_id_visitor"))


def downgrade() -> None:
    with op.batch_alter_table("scans") as batch_op:
        batch_op.create_index(batch_op.f("ix_scans_workspace_id_visitor"), ["workspace_id", "visitor"])
        batch_op.drop_index(batch_op.f("ix_scans_workspace_id_visitor_code_id_ts"))
