"""curation with a safety net: required lines per answer, "in step" confirmations, and
professionals' suggestions kept apart from drafts (status "suggested")

Revision ID: 0500_curation
Revises: 0400_provenance
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0500_curation"
down_revision = "0400_provenance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "required_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_required_lines")),
        sa.UniqueConstraint("key", "language", "text", name=op.f("uq_required_lines_key")),
    )
    with op.batch_alter_table("required_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_required_lines_key"), ["key"], unique=False)
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_step_at", sa.DateTime(timezone=True), nullable=True))
    # A suggestion waiting for an admin was a draft; it is now "suggested" until an admin turns
    # it into a draft of an intent's answer.
    op.execute(
        "UPDATE answers SET status = 'suggested' "
        "WHERE status = 'draft' AND suggested_from_question IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("UPDATE answers SET status = 'draft' WHERE status = 'suggested'")
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_column("in_step_at")
    with op.batch_alter_table("required_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_required_lines_key"))
    op.drop_table("required_lines")
