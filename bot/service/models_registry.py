"""Training, storing and activating models of the embedded engine."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.nlu.engine import SklearnEngine, TrainResult, train
from bot.store import models as m
from bot.store.library_repo import training_data


@dataclass(frozen=True)
class Trained:
    result: TrainResult
    path: Path


def train_from_db(session: Session, models_dir: Path, activate: bool = True,
                  metrics: dict | None = None) -> Trained:  # type: ignore[type-arg]
    texts, labels = training_data(session)
    result = train(texts, labels)
    path = result.engine.save(models_dir)
    session.add(m.ModelRecord(version=result.engine.version, engine=result.engine.name,
                              path=str(path.resolve()), metrics=metrics or {}, active=False))
    session.flush()
    if activate:
        activate_model(session, result.engine.version)
    return Trained(result, path)


def activate_model(session: Session, version: str, engine: str = "sklearn") -> None:
    """One active model per engine: the Rasa engine's active model is left alone."""
    session.execute(update(m.ModelRecord).where(m.ModelRecord.engine == engine)
                    .values(active=m.ModelRecord.version == version))


def active_model(session: Session, engine: str = "sklearn") -> m.ModelRecord | None:
    return session.scalars(
        select(m.ModelRecord).where(m.ModelRecord.active.is_(True), m.ModelRecord.engine == engine)
    ).first()


class EngineHolder:
    """Holds the active model and swaps it when another version is activated (by any process)."""

    CHECK_SECONDS = 2.0

    def __init__(self, sessions: sessionmaker[Session], models_dir: Path) -> None:
        self._sessions = sessions
        self._models_dir = models_dir
        self._engine: SklearnEngine | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def get(self, session: Session) -> SklearnEngine:
        """The active model. Another process's activation is noticed within CHECK_SECONDS (one
        query per interval, not per message); this process's own goes through `set`."""
        current = self._engine
        now = time.monotonic()
        if current is not None and now - self._checked < self.CHECK_SECONDS:
            return current
        record = active_model(session)
        self._checked = now
        if record is not None and current is not None and current.version == record.version:
            return current
        with self._lock:
            if record is None:
                trained = train_from_db(session, self._models_dir)
                self._engine = trained.result.engine
            elif self._engine is None or self._engine.version != record.version:
                path = Path(record.path)
                if path.exists():
                    self._engine = SklearnEngine.load(path)
                else:  # the data dir moved or was cleaned: retrain rather than fail
                    self._engine = train_from_db(session, self._models_dir).result.engine
            return self._engine

    def set(self, engine: SklearnEngine) -> None:
        with self._lock:
            self._engine = engine
            self._checked = time.monotonic()
