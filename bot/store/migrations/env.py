"""Alembic environment: runs on the connection handed over by bot.store.db.migrate."""

from alembic import context

from bot.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only used via bot.store.db
    raise RuntimeError("run migrations through bot.store.db.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
