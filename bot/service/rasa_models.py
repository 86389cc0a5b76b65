"""Training, recording and activating models of the Rasa engine (the embedded engine's:
`models_registry.py`).

Trained models are recorded as `ModelRecord(engine="rasa")`; the active one is what a managed
server loads (`rasa_part.py`), and a running server swaps to a newly activated one. Training
itself, from files, is `bot.nlu.rasa_training`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app import Services
from bot.nlu.engine import EngineUnavailable
from bot.nlu.rasa_engine import ENGINE_NAME, RasaEngine, RasaSettings
from bot.nlu.rasa_training import TrainedRasa, train_project
from bot.service.models_registry import activate_model
from bot.store import models as m
from bot.store.library_repo import export_library


def train_from_db(
    services: Services, rasa: RasaSettings | None = None, full: bool = False, activate: bool = True
) -> TrainedRasa:
    """Export the current library, train, record the model and (by default) activate it."""
    rasa = rasa or RasaSettings()
    with services.sessions() as session:
        lib = export_library(session)
    trained = train_project(lib, services.settings, rasa, full=full)
    with services.sessions.begin() as session:
        session.add(
            m.ModelRecord(
                version=trained.version,
                engine=ENGINE_NAME,
                path=str(trained.path),
                metrics={"seconds": trained.seconds},
                active=False,
            )
        )
        session.flush()
        if activate:
            activate_model(session, trained.version, ENGINE_NAME)
    return trained


def active_rasa_model(session: Session) -> Path | None:
    """The active Rasa model's file, when there is one and it is still on disk."""
    path = session.scalars(
        select(m.ModelRecord.path).where(m.ModelRecord.engine == ENGINE_NAME, m.ModelRecord.active.is_(True))
    ).first()
    return Path(path) if path and Path(path).exists() else None


def swap_in_this_process(services: Services, model: Path) -> None:
    """Load `model` on the Rasa server this process parses with (a managed server would also pick
    it up from the database within seconds)."""
    with services.sessions() as session:
        engine = services.triage.engine(session)
    if isinstance(engine, RasaEngine):
        # When the server is down, the managed part loads the active model once it is back.
        with contextlib.suppress(EngineUnavailable):
            engine.load_model(model)
