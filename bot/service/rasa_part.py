"""Part: the managed Rasa server of `triage serve --engine rasa` (ENGINE=rasa without RASA_URL).

Starts `rasa run --enable-api` with the active Rasa model (training one first when there is
none), waits until it is healthy, restarts it when it dies, loads a newly activated model (after
`triage train --engine rasa` or a retrain from the console, on any host: a model trained
elsewhere is copied from the database into this host's Rasa models folder first), deletes this
host's copies of models erasure deleted, and stops it with the service.
Does nothing for the embedded engine or an external server (RASA_URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI

from bot.app import Services
from bot.nlu.rasa_engine import ENGINE_NAME, RasaEngine, RasaSettings, model_version_of
from bot.nlu.rasa_server import ManagedRasaServer
from bot.service.models_registry import active_version, model_file, remove_forgotten_copies
from bot.service.rasa_models import active_rasa_model, train_from_db

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0


def _engine(services: Services) -> RasaEngine | None:
    with services.sessions() as session:
        engine = services.triage.engine(session)
    return engine if isinstance(engine, RasaEngine) else None


def _active_model(services: Services, rasa: RasaSettings) -> Path | None:
    """The active model's file on this host, copied from the database when this host has none."""
    with services.sessions() as session:
        return active_rasa_model(session, rasa.models_path(services.settings))


def _remove_forgotten(services: Services, rasa: RasaSettings) -> None:
    with services.sessions() as session:
        remove_forgotten_copies(session, rasa.models_path(services.settings), ENGINE_NAME)


def _model_or_train(services: Services, rasa: RasaSettings) -> Path:
    model = _active_model(services, rasa)
    if model is None:
        # None yet, or one recorded on another host before the database kept copies: a new
        # one, recorded with its copy, serves every host from now on.
        log.info("no Rasa model on this host nor in the database: training one from the library")
        model = train_from_db(services, rasa).path
    _remove_forgotten(services, rasa)
    return model


def _follow_active(
    services: Services, rasa: RasaSettings, server: ManagedRasaServer, missing: set[str]
) -> None:
    """Load the active model on `server` when it changed. Each round reads only the version; the
    file (copied from the database when this host has none) only when the version changed."""
    with services.sessions() as session:
        version = active_version(session, ENGINE_NAME)
        if version is None or version == server.engine.version:
            return
        active = model_file(session, version, rasa.models_path(services.settings), ENGINE_NAME)
    if active is None:
        if version not in missing:  # warned about once
            missing.add(version)
            log.warning("the active Rasa model %s is not on this host nor in the database", version)
        return
    if model_version_of(str(active)) != server.engine.version:
        log.info("loading the newly activated Rasa model %s", active.name)
        server.swap(active)
        _remove_forgotten(services, rasa)


async def start(app: FastAPI, services: Services) -> Callable[[], Awaitable[None]] | None:
    if services.settings.engine != "rasa":
        return None
    engine = _engine(services)
    if engine is None or not engine.managed:
        return None  # an external server (RASA_URL): it is run by someone else
    rasa = RasaSettings()
    model = await asyncio.to_thread(_model_or_train, services, rasa)
    server = ManagedRasaServer(rasa, services.settings, engine, model)
    await asyncio.to_thread(server.start)
    app.state.rasa_server = server
    stopping = asyncio.Event()
    missing: set[str] = set()  # active versions found nowhere

    async def supervise() -> None:
        while not stopping.is_set():
            try:
                await asyncio.to_thread(server.ensure_running)
                await asyncio.to_thread(_follow_active, services, rasa, server, missing)
            except Exception:  # keep supervising; the next round tries again
                log.exception("Rasa supervision failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), CHECK_SECONDS)

    task = asyncio.create_task(supervise())

    async def stop() -> None:
        stopping.set()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.to_thread(server.stop)

    return stop
