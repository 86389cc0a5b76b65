"""The same migrations run up, down and up again on SQLite and PostgreSQL, matching the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.store.db import downgrade, make_engine, migrate
from bot.store.models import Base


def test_migrations_round_trip_and_match_the_models(db_url) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    migrate(engine)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], diff
    engine.dispose()
