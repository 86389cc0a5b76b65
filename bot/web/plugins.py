"""The parts that attach to the running service: each is started only when it is configured.

A part may have `install(app, settings)`, called when the app is created (routes, middleware,
static files), and an async `start(app, services)` returning an async `stop()` or None, called in
the lifespan (tasks on the event loop, listeners). Telegram needs TELEGRAM_BOT_TOKEN, X and WhatsApp their
credentials.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from bot.app import Services
from bot.config import Settings

log = logging.getLogger(__name__)

Stop = Callable[[], Awaitable[None]]

# Modules with `async def start(app, services) -> Stop | None`, in start order.
PARTS: list[str] = [
    "bot.web.console_part",
    "bot.web.sso",
    "bot.web.admin_part",
    "bot.channels.x.part",
    "bot.channels.whatsapp.part",
    "bot.service.rasa_part",
    "bot.web.rasa_api",
    "bot.channels.telegram.part",
    "bot.service.retention_part",
    "bot.service.escalation_part",
    "bot.web.privacy_routes",
    "bot.web.metrics_part",
]


def install(app: FastAPI, settings: Settings) -> None:
    """Before the app starts: parts with an `install(app, settings)` add routes and middleware."""
    for name in PARTS:
        module = importlib.import_module(name)
        if hasattr(module, "install"):
            module.install(app, settings)


async def start(app: FastAPI, services: Services) -> list[Stop]:
    stoppers: list[Stop] = []
    for name in PARTS:
        module = importlib.import_module(name)
        stop = await module.start(app, services)
        if stop is not None:
            stoppers.append(stop)
    return stoppers
