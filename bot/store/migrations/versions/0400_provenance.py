"""provenance of citizens' words: a training example records the inbound message it came from;
a message keeps its text as received (escaped) when it was not valid Unicode; audit entries and decision reasons written before this hold no message text any more

Revision ID: 0400_provenance
Revises: 0300_one_time_passwords
Create Date: 2026-12-03
"""

import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0400_provenance"
down_revision = "0300_one_time_passwords"
branch_labels = None
depends_on = None

EXAMPLE_ACTIONS = ("example.add", "example.remove", "example.move")
# "danger fire 'the phrase as the citizen wrote it' (past, but now)" -> "danger fire (past, but now)"
QUOTED = re.compile(r"^(danger \S+) '.*'", re.DOTALL)


def _json(value):  # type: ignore[no-untyped-def]
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_text", sa.Text(), nullable=True))
    with op.batch_alter_table("training_examples", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_message_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_training_examples_source_message_id", ["source_message_id"])
    conn = op.get_bind()
    examples = sa.table(
        "training_examples",
        sa.column("id", sa.Integer),
        sa.column("text", sa.Text),
        sa.column("source_file", sa.String),
        sa.column("source_message_id", sa.Integer),
    )
    messages = sa.table(
        "messages", sa.column("id", sa.Integer), sa.column("text", sa.Text), sa.column("direction", sa.String)
    )
    # Examples added in the console before provenance: the inbound message with the same text.
    for example_id, text in conn.execute(
        sa.select(examples.c.id, examples.c.text).where(examples.c.source_file.is_(None))
    ).all():
        source = conn.execute(
            sa.select(sa.func.min(messages.c.id)).where(messages.c.direction == "in", messages.c.text == text)
        ).scalar()
        if source is not None:
            conn.execute(
                sa.update(examples).where(examples.c.id == example_id).values(source_message_id=source)
            )
    audit = sa.table(
        "audit_log", sa.column("id", sa.Integer), sa.column("action", sa.String), sa.column("detail", sa.JSON)
    )
    for audit_id, detail in conn.execute(
        sa.select(audit.c.id, audit.c.detail).where(audit.c.action.in_(EXAMPLE_ACTIONS))
    ).all():
        detail = _json(detail)
        if isinstance(detail, dict) and "text" in detail:
            detail.pop("text")
            conn.execute(sa.update(audit).where(audit.c.id == audit_id).values(detail=detail))
    decisions = sa.table("decisions", sa.column("id", sa.Integer), sa.column("reasons", sa.JSON))
    for decision_id, reasons in conn.execute(
        sa.select(decisions.c.id, decisions.c.reasons).where(
            sa.cast(decisions.c.reasons, sa.Text).like("%danger %'%")
        )
    ).all():
        reasons = _json(reasons) or []
        shortened = [QUOTED.sub(r"\1", r) if isinstance(r, str) else r for r in reasons]
        if shortened != reasons:
            conn.execute(sa.update(decisions).where(decisions.c.id == decision_id).values(reasons=shortened))


def downgrade() -> None:
    with op.batch_alter_table("training_examples", schema=None) as batch_op:
        batch_op.drop_index("ix_training_examples_source_message_id")
        batch_op.drop_column("source_message_id")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("raw_text")
