"""Engine and session factory, and migrations to the latest schema."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
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


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Bring the database to `revision` with Alembic, the same migrations on SQLite and
    PostgreSQL ("heads": every branch, as parts may add their own)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
