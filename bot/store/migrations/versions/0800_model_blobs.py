"""the trained embedded models' files in the database, so that every instance of a fleet (on any
host) loads the model that was activated instead of training its own

Revision ID: 0800_model_blobs
Revises: 0700_outbox_priority
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0800_model_blobs"
down_revision = "0700_outbox_priority"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_blobs",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"], ["models.version"], name=op.f("fk_model_blobs_version_models"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_model_blobs")),
    )


def downgrade() -> None:
    op.drop_table("model_blobs")
