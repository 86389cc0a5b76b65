"""a channel's message id is unique per citizen, not per channel

Two citizens may send the same external id (an API client's own numbering, say): each message is
that citizen's own, and a retry is recognised per citizen. The existing rows were unique per
channel, so they are unique per citizen too: the data stays as it is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_messages_channel", type_="unique")
        batch_op.create_unique_constraint(
            "uq_messages_citizen_id", ["citizen_id", "external_id"]
        )


def downgrade() -> None:
    # Fails when two citizens of one channel have sent the same external id since the upgrade.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_messages_citizen_id", type_="unique")
        batch_op.create_unique_constraint("uq_messages_channel", ["channel", "external_id"])
