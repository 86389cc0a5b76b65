"""The console part: accounts, the professionals' desk, the citizen web chat, static files and
the security middleware (installed with the app), and the live-update broadcaster (started in the
lifespan). Listed in `bot.web.plugins.PARTS`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.app import Services
from bot.config import Settings
from bot.web import account, chat, desk
from bot.web.events import Broadcaster
from bot.web.plugins import Stop
from bot.web.security import AnonCookie, SecurityHeaders

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI, settings: Settings) -> None:
    app.include_router(account.router)
    app.include_router(desk.router)
    app.include_router(chat.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Pure ASGI middleware (SSE-safe); the last added runs first.
    app.add_middleware(AnonCookie, environment=settings.environment)
    app.add_middleware(SecurityHeaders, hsts=settings.environment == "production")


async def start(app: FastAPI, services: Services) -> Stop:
    broadcaster = Broadcaster()
    broadcaster.attach(services)
    app.state.broadcaster = broadcaster

    async def stop() -> None:
        broadcaster.detach(services)
        await broadcaster.close()

    return stop
