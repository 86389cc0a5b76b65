"""single sign-on: professionals matched by their OpenID provider's issuer and subject, a local
password an admin can turn off, and the ID token of an SSO session (for logout at the provider)

Revision ID: 0900_sso
Revises: 0800_model_blobs
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0900_sso"
down_revision = "0800_model_blobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("professionals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oidc_issuer", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("password_login", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_professionals_oidc_issuer"), ["oidc_issuer", "oidc_subject"]
        )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oidc_id_token", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_column("oidc_id_token")
    with op.batch_alter_table("professionals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_professionals_oidc_issuer"), type_="unique")
        batch_op.drop_column("password_login")
        batch_op.drop_column("oidc_subject")
        batch_op.drop_column("oidc_issuer")
