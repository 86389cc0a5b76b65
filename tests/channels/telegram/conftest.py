"""The harness: the real python-telegram-bot Application in our part, against a fake Bot API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI

from bot.app import Services
from bot.channels.telegram import part
from bot.channels.telegram.settings import TelegramSettings
from bot.service import users
from tests.helpers.fake_telegram import FakeTelegram


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    server = FakeTelegram().start()
    yield server
    server.stop()


async def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Wait until `check()` is truthy (it runs in a thread: it may query the database)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(check)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


async def settle(seconds: float = 0.4) -> None:
    """Give the bot time to (wrongly) do more; used before asserting that nothing else came."""
    await asyncio.sleep(seconds)


@asynccontextmanager
async def running(services: Services, fake: FakeTelegram, **overrides: Any) -> AsyncIterator[FastAPI]:
    """The service's app state as the lifespan builds it (outbox dispatcher) plus our part."""
    app = FastAPI()
    app.state.services = services
    dispatcher = services.dispatcher()
    app.state.dispatcher = dispatcher
    outbox = asyncio.create_task(dispatcher.run_forever(0.05))
    values: dict[str, Any] = {
        "bot_token": fake.token,
        "api_url": fake.url,
        "poll_timeout": 1,
        "staff_language": "en",
        **overrides,
    }
    settings = TelegramSettings(_env_file=None, **values)  # type: ignore[call-arg]
    stop = await part.start(app, services, settings)
    assert stop is not None
    try:
        await eventually(lambda: services.channel_health.get("telegram") == "ok", what="start")
        yield app
    finally:
        await stop()
        outbox.cancel()
        await asyncio.gather(outbox, return_exceptions=True)


def add_professional(services: Services, username: str, roles: str, areas: str = "") -> None:
    with services.sessions.begin() as session:
        users.create(session, username, "a-long-password", roles=roles, areas=areas)
