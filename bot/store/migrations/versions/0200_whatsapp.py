"""the outbox records what a channel reports later about a sent message (WhatsApp statuses)

Revision ID: 0200_whatsapp
Revises: 0100_office_hours
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0200_whatsapp"
down_revision = "0100_office_hours"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("delivery_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_outbox_channel_external", ["channel", "external_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_channel_external")
        batch_op.drop_column("delivery_at")
        batch_op.drop_column("delivery_status")
