"""roles keep office hours (a longer text), a time zone and extra closed days; a question says
whether it arrived out of hours

Revision ID: 0100_office_hours
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0100_office_hours"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("closed_days", sa.Text(), nullable=True))
        batch_op.alter_column(
            "staffed_hours", type_=sa.String(length=255), existing_type=sa.String(length=64)
        )
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("out_of_hours", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_column("out_of_hours")
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.alter_column(
            "staffed_hours", type_=sa.String(length=64), existing_type=sa.String(length=255)
        )
        batch_op.drop_column("closed_days")
        batch_op.drop_column("time_zone")
