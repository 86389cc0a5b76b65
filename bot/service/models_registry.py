"""Training, storing and activating models of the embedded engine, and the copies of every
engine's model files that a fleet shares (the Rasa engine's models: `rasa_models.py`).

A trained model is a file in the models folder of the host that trained it and, for the rest of
a fleet, a copy in the database (`ModelBlob`, written by `record_model`): an instance on another
host that sees a version activated writes that copy into its own models folder (`model_file`) and
loads it, so every instance serves the same model and none trains its own. When erasure deletes a
model (`bot.service.provenance`), its database copy goes with it (`forget_blobs`), and each
instance deletes its own copy of the file once it sees the model that replaced it activated
(`remove_forgotten_copies`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.nlu import engine as embedded
from bot.nlu import rasa_engine
from bot.nlu.engine import SklearnEngine, TrainResult, train
from bot.store import models as m
from bot.store.library_repo import training_data

log = logging.getLogger(__name__)

SKLEARN = embedded.ENGINE_NAME
# The file name of a model is its version and its engine's suffix, on every host.
FILE_SUFFIX = {SKLEARN: embedded.MODEL_SUFFIX, rasa_engine.ENGINE_NAME: rasa_engine.MODEL_SUFFIX}


@dataclass(frozen=True)
class Trained:
    result: TrainResult
    path: Path


def train_from_db(
    session: Session, models_dir: Path, activate: bool = True, metrics: dict | None = None
) -> Trained:  # type: ignore[type-arg]
    texts, labels = training_data(session)
    result = train(texts, labels)
    path = result.engine.save(models_dir)
    record_model(session, result.engine.version, result.engine.name, path, metrics or {})
    if activate:
        activate_model(session, result.engine.version)
    return Trained(result, path)


KEPT_COPIES = 3  # database copies per engine besides the active one's: the newest (a candidate among them)


def record_model(session: Session, version: str, engine: str, path: Path, metrics: dict[str, Any]) -> None:
    """Record a trained model (not active) and keep a copy of its file in the database for the
    instances on other hosts. The file is read in one go: a Rasa model is tens of MB at most.
    Older copies of the engine's models go (`prune_copies`)."""
    session.add(
        m.ModelRecord(version=version, engine=engine, path=str(path.resolve()), metrics=metrics, active=False)
    )
    session.flush()
    session.add(m.ModelBlob(version=version, data=path.read_bytes()))
    session.flush()
    prune_copies(session, engine)


def prune_copies(session: Session, engine: str, kept: int = KEPT_COPIES) -> list[str]:
    """Delete the database copies of `engine`'s models other than the active one and the `kept`
    newest: every retrain adds one (tens of MB for Rasa), and only the active model and a
    candidate awaiting an admin's confirmation are ever loaded from them. The records stay (the
    dashboard's history); a host that still has the file keeps it."""
    newest = select(m.ModelRecord.version).where(m.ModelRecord.engine == engine)
    keep = set(session.scalars(newest.order_by(m.ModelRecord.id.desc()).limit(kept)))
    keep |= set(session.scalars(newest.where(m.ModelRecord.active.is_(True))))
    stale = [
        v
        for v in session.scalars(
            select(m.ModelBlob.version)
            .join(m.ModelRecord, m.ModelRecord.version == m.ModelBlob.version)
            .where(m.ModelRecord.engine == engine)
        )
        if v not in keep
    ]
    forget_blobs(session, stale)
    if stale:
        log.info("deleted the database copies of older %s models %s", engine, ", ".join(stale))
    return stale


def activate_model(session: Session, version: str, engine: str = SKLEARN) -> None:
    """One active model per engine: the Rasa engine's active model is left alone."""
    session.execute(
        update(m.ModelRecord)
        .where(m.ModelRecord.engine == engine)
        .values(active=m.ModelRecord.version == version)
    )


def active_model(session: Session, engine: str = SKLEARN) -> m.ModelRecord | None:
    return session.scalars(
        select(m.ModelRecord).where(m.ModelRecord.active.is_(True), m.ModelRecord.engine == engine)
    ).first()


def active_version(session: Session, engine: str = SKLEARN) -> str | None:
    """The active model's version: one small query, for checking often."""
    return session.scalars(
        select(m.ModelRecord.version).where(m.ModelRecord.active.is_(True), m.ModelRecord.engine == engine)
    ).first()


def local_copy(models_dir: Path, version: str, engine: str = SKLEARN) -> Path:
    """Where this host keeps the file of `version` (the trainer's own path is the same name)."""
    return models_dir / f"{version}{FILE_SUFFIX[engine]}"


def model_file(session: Session, version: str, models_dir: Path, engine: str = SKLEARN) -> Path | None:
    """The file of `version` on this host: the models folder's copy, else the database's copy
    written there, else the recorded file when it is on this host (recorded before the database
    kept copies, or trained into another folder); None when there is none of these. The
    database's copy is read only when this host has no copy of its own."""
    path = local_copy(models_dir, version, engine)
    if path.exists():
        return path
    data = session.scalar(select(m.ModelBlob.data).where(m.ModelBlob.version == version))
    if data is None:
        recorded = session.scalar(select(m.ModelRecord.path).where(m.ModelRecord.version == version))
        return Path(recorded) if recorded and Path(recorded).exists() else None
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f"{version}.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_bytes(bytes(data))
    tmp.replace(path)  # atomic: another process never loads half a file
    log.info("model %s copied from the database into %s", version, models_dir)
    return path


def forget_blobs(session: Session, versions: list[str]) -> None:
    """Delete the database's copies of `versions` (erasure; the caller deletes the files)."""
    if versions:
        session.execute(delete(m.ModelBlob).where(m.ModelBlob.version.in_(versions)))


def remove_forgotten_copies(session: Session, models_dir: Path, engine: str = SKLEARN) -> list[str]:
    """Delete this host's copies of `engine`'s models that erasure deleted (their records have
    no path)."""
    removed = []
    forgotten = select(m.ModelRecord.version).where(m.ModelRecord.path == "", m.ModelRecord.engine == engine)
    for version in session.scalars(forgotten):
        path = local_copy(models_dir, version, engine)
        if path.exists():
            path.unlink(missing_ok=True)
            removed.append(version)
    if removed:
        log.info("deleted this host's copies of forgotten models %s", ", ".join(removed))
    return removed


def _holds_sqlite_write(session: Session) -> bool:
    """Whether `session`'s SQLite connection is in a write transaction (pysqlite begins one at
    the first INSERT/UPDATE/DELETE, not at a SELECT)."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or not session.in_transaction():
        return False
    driver = session.connection().connection.driver_connection
    return bool(getattr(driver, "in_transaction", False))


class EngineHolder:
    """Holds the active model and swaps it when another version is activated (by any process)."""

    CHECK_SECONDS = 2.0

    def __init__(self, sessions: sessionmaker[Session], models_dir: Path) -> None:
        self._sessions = sessions
        self._models_dir = models_dir
        self._engine: SklearnEngine | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._cleaned_for: str | None = None  # the active version after which copies were cleaned

    def get(self, session: Session) -> SklearnEngine:
        """The active model. Another process's activation is noticed within CHECK_SECONDS (one
        query per interval, not per message); this process's own goes through `set`."""
        current = self._engine
        now = time.monotonic()
        if current is not None and now - self._checked < self.CHECK_SECONDS:
            return current
        record = active_model(session)
        self._checked = now
        if record is not None and record.version != self._cleaned_for:
            remove_forgotten_copies(session, self._models_dir)  # a retrain after erasure replaced them
            self._cleaned_for = record.version
        if record is not None and current is not None and current.version == record.version:
            return current
        with self._lock:
            if record is None:
                self._engine = self._train(session)
            elif self._engine is None or self._engine.version != record.version:
                self._engine = self._load(session, record)
            return self._engine

    def _load(self, session: Session, record: m.ModelRecord) -> SklearnEngine:
        path = model_file(session, record.version, self._models_dir)
        if path is not None:
            return SklearnEngine.load(path)
        # Neither here nor in the database (recorded before it kept copies, on another host):
        # train and activate a model that every instance can load from now on.
        log.warning("model %s is not on this host nor in the database: training a new one", record.version)
        return self._train(session)

    def _train(self, session: Session) -> SklearnEngine:
        """Train and activate, committed in a transaction of its own (the caller's session may
        be a read that is never committed: the record and its copy must not be lost). On SQLite,
        when the caller's transaction has written (a message being decided), it holds the one
        write lock and a transaction of our own would wait on it until the busy timeout: the
        model is then trained in the caller's transaction and commits with its work."""
        if _holds_sqlite_write(session):
            return train_from_db(session, self._models_dir).result.engine
        with self._sessions.begin() as own:
            return train_from_db(own, self._models_dir).result.engine

    def set(self, engine: SklearnEngine) -> None:
        with self._lock:
            self._engine = engine
            self._checked = time.monotonic()
