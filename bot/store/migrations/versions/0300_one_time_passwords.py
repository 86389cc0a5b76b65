"""one-time passwords: a first (or reset) password must be changed at first login and expires

Revision ID: 0300_one_time_passwords
Revises: 0200_whatsapp
Create Date: 2026-12-03

Professionals who never changed their password (no `password_change` in the audit log) are asked
to choose their own at their next login; their password does not expire (it may predate this
rule, so expiring it would lock them out without warning).
"""

import sqlalchemy as sa
from alembic import op

revision = "0300_one_time_passwords"
down_revision = "0200_whatsapp"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("professionals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("password_expires_at", sa.DateTime(timezone=True), nullable=True))
    pros = sa.table(
        "professionals", sa.column("username", sa.String), sa.column("must_change_password", sa.Boolean)
    )
    audit = sa.table("audit_log", sa.column("action", sa.String), sa.column("target", sa.String))
    changed = sa.select(audit.c.target).where(audit.c.action == "password_change")
    op.execute(
        pros.update()
        .where(sa.literal("user:").concat(pros.c.username).not_in(changed))
        .values(must_change_password=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("professionals", schema=None) as batch_op:
        batch_op.drop_column("password_expires_at")
        batch_op.drop_column("must_change_password")
