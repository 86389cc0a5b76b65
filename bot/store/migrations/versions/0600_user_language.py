"""the console's language per user: "en", "nl", or NULL (not chosen: the browser decides)

Revision ID: 0600_user_language
Revises: 0500_curation
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0600_user_language"
down_revision = "0500_curation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("professionals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("professionals", schema=None) as batch_op:
        batch_op.drop_column("language")
