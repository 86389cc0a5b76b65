"""Part: the managed Rasa server of `triage serve --engine rasa` (ENGINE=rasa without RASA_URL).

Starts `rasa run --enable-api` with the active Rasa model (training one first when there is
none), waits until it is healthy, restarts it when it dies, loads a newly activated model (after
`triage train --engine rasa` or a retrain from the console), and stops it with the service.
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
from bot.nlu.rasa_engine import RasaEngine, RasaSettings, model_version_of
from bot.nlu.rasa_server import ManagedRasaServer
from bot.service.rasa_models import active_rasa_model, train_from_db

log = logging.getLogger(__name__)

CHECK_SECONDS = 2.0


def _engine(services: Services) -> RasaEngine | None:
    with services.sessions() as session:
        engine = services.triage.engine(session)
    return engine if isinstance(engine, RasaEngine) else None


def _active_model(services: Services) -> Path | None:
    with services.sessions() as session:
        return active_rasa_model(session)


def _model_or_train(services: Services, rasa: RasaSettings) -> Path:
    model = _active_model(services)
    if model is None:
        log.info("no Rasa model yet: training one from the library")
        model = train_from_db(services, rasa).path
    return model


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

    async def supervise() -> None:
        while not stopping.is_set():
            try:
                await asyncio.to_thread(server.ensure_running)
                active = await asyncio.to_thread(_active_model, services)
                if active is not None and model_version_of(str(active)) != engine.version:
                    log.info("loading the newly activated Rasa model %s", active.name)
                    await asyncio.to_thread(server.swap, active)
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
