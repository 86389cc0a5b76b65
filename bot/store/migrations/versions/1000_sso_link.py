"""single sign-on, part two: when a provider's roles claim would take the admin role from the last
active admin, the sign-in keeps it and records when (the Team page warns the admins about it)

Revision ID: 1000_sso_link
Revises: 0900_sso
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "1000_sso_link"
down_revision = "0900_sso"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("professionals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_admin_kept_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("professionals", schema=None) as batch_op:
        batch_op.drop_column("sso_admin_kept_at")
