"""outbox priority: an indexed integer column the dispatcher orders by (emergency replies first),
instead of reading every due item's JSON payload; existing emergency items are backfilled

Revision ID: 0700_outbox_priority
Revises: 0600_user_language
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0700_outbox_priority"
down_revision = "0600_user_language"
branch_labels = None
depends_on = None

EMERGENCY, NORMAL = 0, 1  # bot.store.outbox.priority_of


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), server_default=str(NORMAL), nullable=False))
        batch_op.create_index("ix_outbox_claim", ["status", "priority", "id"], unique=False)
    outbox = sa.table("outbox", sa.column("payload", sa.JSON), sa.column("priority", sa.Integer))
    op.execute(
        outbox.update().where(outbox.c.payload["kind"].as_string() == "emergency").values(priority=EMERGENCY)
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_claim")
        batch_op.drop_column("priority")
