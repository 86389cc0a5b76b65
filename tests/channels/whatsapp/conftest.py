"""The harness: our WhatsApp part in an app with the outbox dispatcher, a fake Graph API on
127.0.0.1, and signed webhook posts through httpx (the app's real routes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bot.app import Services
from bot.channels.whatsapp import part
from bot.channels.whatsapp.settings import WhatsAppSettings
from tests.channels.telegram import conftest as telegram_harness
from tests.channels.telegram.conftest import settle  # noqa: F401 - shared helper
from tests.helpers.fake_graph import APP_SECRET, PHONE_ID, TOKEN, VERIFY_TOKEN, FakeGraph, sign

HOOK = "/whatsapp/webhook"


async def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """The Telegram harness's wait, with room for a loaded machine (the first decision loads
    the model and the library)."""
    return await telegram_harness.eventually(check, timeout, what)


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    server = FakeGraph().start()
    yield server
    server.stop()


def settings_for(graph: FakeGraph, **overrides: Any) -> WhatsAppSettings:
    values: dict[str, Any] = {
        "phone_number_id": PHONE_ID,
        "access_token": TOKEN,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
        "graph_url": graph.url,
        **overrides,
    }
    return WhatsAppSettings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post(HOOK, content=body, headers=sign(body) if headers is None else headers)


@asynccontextmanager
async def running(services: Services, graph: FakeGraph, **overrides: Any) -> AsyncIterator[Running]:
    """The app's state as the lifespan builds it (outbox dispatcher) plus the WhatsApp part."""
    app = FastAPI()
    app.state.services = services
    dispatcher = services.dispatcher()
    app.state.dispatcher = dispatcher
    outbox = asyncio.create_task(dispatcher.run_forever(0.05))
    stop = await part.start(app, services, settings_for(graph, **overrides))
    assert stop is not None
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            yield Running(app, client)
    finally:
        await stop()
        outbox.cancel()
        await asyncio.gather(outbox, return_exceptions=True)
