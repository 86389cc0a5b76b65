"""Engine and session factory, and migrations to the latest schema."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
SCRUB_WAIT_MS = 5000
log = logging.getLogger(__name__)


def make_engine(url: str, echo: bool = False) -> Engine:
    """Statement parameters are hidden from errors and echo: they hold citizens' words."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # Deleted and overwritten content is zeroed, not left in free space (erasure).
            cur.execute("PRAGMA secure_delete=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # hide_parameters: citizen text must not reach logs through error messages (bot/logs.py).
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
    )


def scrub(engine: Engine) -> bool:
    """After an erasure or a purge: SQLite keeps the old pages in its write-ahead log (-wal) until
    a checkpoint. Copy them into the database, where secure_delete zeroed the removed content, and
    truncate the log. False when a reader kept the log busy (the next checkpoint finishes it).
    PostgreSQL keeps dead rows until VACUUM (docs/SECURITY.md); nothing to do here."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={SCRUB_WAIT_MS}")  # readers finish in ms
        try:
            busy, _frames, _copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        finally:
            conn.exec_driver_sql("PRAGMA busy_timeout=30000")
    if busy:
        log.warning("the write-ahead log was busy: erased pages leave it at the next checkpoint")
    return not busy


SCRUB = "scrub"  # session.info flag: this transaction removed citizens' words


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)

    @event.listens_for(factory, "after_commit")
    def _scrub_after_erasure(session: Session) -> None:
        if session.info.pop(SCRUB, False):
            scrub(engine)

    return factory


def scrub_after_commit(session: Session) -> None:
    """Ask for `scrub` once the caller's transaction has committed (erasure, retention)."""
    session.info[SCRUB] = True


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` with Alembic, the same migrations on SQLite and
    PostgreSQL. The migrations form one line (each `down_revision` is the one before)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        _collapse_stamps(conn, cfg)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _collapse_stamps(conn: Connection, cfg: Any) -> None:
    """Keep only the newest of the revisions a database is stamped with.

    Until 2026-12-03 the migrations after 0004 were five branches, so a database (or a backup)
    from then is stamped with several revisions that now lie on one line; Alembic refuses such a
    stamp, so the ones that are ancestors of another are dropped (the schema is the same)."""
    from alembic.script import ScriptDirectory

    if not inspect(conn).has_table("alembic_version"):
        return
    stamped = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if len(stamped) < 2:
        return
    script = ScriptDirectory.from_config(cfg)
    older = {
        ancestor.revision
        for rev in stamped
        for ancestor in script.iterate_revisions(rev, "base")
        if ancestor.revision != rev
    }
    for rev in stamped & older:
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = :v"), {"v": rev})


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
