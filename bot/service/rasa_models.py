"""Training, recording and activating models of the Rasa engine (the embedded engine's:
`models_registry.py`).

Trained models are recorded as `ModelRecord(engine="rasa")`, with a copy of the file in the
database like the embedded engine's (`models_registry.record_model`): a host that did not train
the active model writes that copy into its own Rasa models folder (`active_rasa_model`), and its
managed server (`rasa_part.py`) loads it; a running server swaps to a newly activated one. Erasure
deletes the copies of both engines' models alike (`bot.service.provenance`). Training itself, from
files, is `bot.nlu.rasa_training`.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from sqlalchemy.orm import Session

from bot.app import Services
from bot.nlu.engine import EngineUnavailable
from bot.nlu.rasa_engine import ENGINE_NAME, RasaEngine, RasaSettings
from bot.nlu.rasa_training import TrainedRasa, train_project
from bot.service.models_registry import activate_model, active_version, model_file, record_model
from bot.store.library_repo import export_library

log = logging.getLogger(__name__)


def train_from_db(
    services: Services, rasa: RasaSettings | None = None, full: bool = False, activate: bool = True
) -> TrainedRasa:
    """Export the current library, train, record the model and (by default) activate it."""
    rasa = rasa or RasaSettings()
    with services.sessions() as session:
        lib = export_library(session)
    trained = train_project(lib, services.settings, rasa, full=full)
    with services.sessions.begin() as session:
        record(session, trained, activate)
    return trained


def record(session: Session, trained: TrainedRasa, activate: bool = True) -> None:
    """Record `trained` with the database's copy of its file; (by default) activate it."""
    record_model(session, trained.version, ENGINE_NAME, trained.path, {"seconds": trained.seconds})
    if activate:
        activate_model(session, trained.version, ENGINE_NAME)


def active_rasa_model(session: Session, models_dir: Path) -> Path | None:
    """The active Rasa model's file on this host, copied from the database when this host has
    none yet; None when it is nowhere (recorded on another host before the database kept copies)."""
    version = active_version(session, ENGINE_NAME)
    return None if version is None else model_file(session, version, models_dir, ENGINE_NAME)


def swap_in_this_process(services: Services, version: str) -> None:
    """Load model `version` on the Rasa server this process parses with (a managed server would
    also pick it up from the database within seconds)."""
    with services.sessions() as session:
        engine = services.triage.engine(session)
        if not isinstance(engine, RasaEngine):
            return
        model = model_file(session, version, RasaSettings().models_path(services.settings), ENGINE_NAME)
    if model is None:
        log.warning("Rasa model %s is not on this host nor in the database: not loaded", version)
        return
    # When the server is down, the managed part loads the active model once it is back.
    with contextlib.suppress(EngineUnavailable):
        engine.load_model(model)
