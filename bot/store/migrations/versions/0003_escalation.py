"""escalation paths: a role's next role up, and a question's escalations

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalates_to", sa.String(length=64), nullable=True))
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalations", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("for_admins", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("escalation_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_column("escalation_reason")
        batch_op.drop_column("for_admins")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("escalations")
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.drop_column("escalates_to")
