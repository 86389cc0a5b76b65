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


def test_a_database_stamped_with_the_old_branches_upgrades_on_the_line(db_url) -> None:  # type: ignore[no-untyped-def]
    """Before 2026-12-03 the migrations after 0004 were five branches: a database or backup from
    then is stamped with all five. It must start on today's single line, not stop on Alembic's
    'overlapping revisions' error."""
    from sqlalchemy import text

    engine = make_engine(db_url)
    migrate(engine, "0500_curation")
    old_heads = ["0100_office_hours", "0200_whatsapp", "0300_one_time_passwords", "0400_provenance"]
    with engine.begin() as conn:
        for rev in old_heads:
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": rev})
    migrate(engine)
    with engine.connect() as conn:
        stamped = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    assert len(stamped) == 1 and stamped[0] not in old_heads
    engine.dispose()
