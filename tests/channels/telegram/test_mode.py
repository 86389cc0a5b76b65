"""TELEGRAM_MODE is explicit, and no instance deletes a webhook unless told to: a laptop or a
staging instance started with the production token takes none of production's updates."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from fastapi import FastAPI

from bot.app import Services
from bot.channels.telegram import part
from bot.channels.telegram.settings import TelegramSettings
from tests.channels.telegram.conftest import eventually, running, settle
from tests.helpers.fake_telegram import FakeTelegram

SAM = 424242
PRODUCTION = "https://triage.example.nl/telegram/hook"


def settings_for(fake: FakeTelegram, **overrides: Any) -> TelegramSettings:
    values: dict[str, Any] = {
        "bot_token": fake.token,
        "api_url": fake.url,
        "poll_timeout": 1,
        "staff_language": "en",
        **overrides,
    }
    return TelegramSettings(_env_file=None, **values)  # type: ignore[call-arg]


def app_for(services: Services) -> FastAPI:
    app = FastAPI()
    app.state.services = services
    app.state.dispatcher = services.dispatcher()
    return app


def test_polling_leaves_another_deployments_webhook_alone(
    sqlite_services: Services, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    fake.webhook = {"url": PRODUCTION}
    fake.push(fake.text(SAM, "My smoke alarm keeps beeping"))

    async def flow() -> None:
        with caplog.at_level(logging.ERROR, logger="bot.channels.telegram"):
            stop = await part.start(
                app_for(sqlite_services), sqlite_services, settings_for(fake, mode="polling")
            )
            assert stop is not None
            try:
                await eventually(
                    lambda: "conflict" in sqlite_services.channel_health.get("telegram", ""),
                    what="the 409 reported",
                )
            finally:
                await stop()
        assert fake.calls_to("deleteWebhook") == []
        assert fake.webhook == {"url": PRODUCTION}  # production still gets its updates
        assert fake.texts(SAM) == []
        assert any(
            "TELEGRAM_DELETE_WEBHOOK=1" in r.getMessage() and PRODUCTION in r.getMessage()
            for r in caplog.records
        )

    asyncio.run(flow())


def test_polling_told_to_delete_the_webhook_takes_the_updates_over(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    fake.webhook = {"url": PRODUCTION}
    fake.push(fake.text(SAM, "My smoke alarm keeps beeping"))

    async def flow() -> None:
        async with running(sqlite_services, fake, mode="polling", delete_webhook=True):
            await eventually(lambda: fake.texts(SAM), what="an answer")
        assert len(fake.calls_to("deleteWebhook")) == 1 and fake.webhook is None

    asyncio.run(flow())


def test_webhook_mode_sets_the_webhook_and_never_polls(sqlite_services: Services, fake: FakeTelegram) -> None:
    async def flow() -> None:
        async with running(sqlite_services, fake, mode="webhook", webhook_url=PRODUCTION):
            await settle()
        assert fake.webhook is not None and fake.webhook["url"] == PRODUCTION
        assert fake.calls_to("getUpdates") == [] and fake.calls_to("deleteWebhook") == []

    asyncio.run(flow())


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"mode": "webhook"}, "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL"),
        ({"mode": "polling", "webhook_url": PRODUCTION}, "choose one"),
        ({"mode": "webhook", "webhook_url": PRODUCTION, "delete_webhook": True}, "is for polling"),
    ],
)
def test_contradicting_settings_keep_the_channel_off(
    sqlite_services: Services, fake: FakeTelegram, overrides: dict[str, Any], problem: str
) -> None:
    async def flow() -> None:
        stop = await part.start(app_for(sqlite_services), sqlite_services, settings_for(fake, **overrides))
        assert stop is None
        assert problem in sqlite_services.channel_health["telegram"]
        assert fake.calls == []  # not one call to Telegram

    asyncio.run(flow())


def test_an_unset_mode_says_which_it_chose(
    sqlite_services: Services, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    async def flow() -> None:
        with caplog.at_level(logging.WARNING, logger="bot.channels.telegram"):
            async with running(sqlite_services, fake):
                pass
        assert any("TELEGRAM_MODE is not set: polling" in r.getMessage() for r in caplog.records)
        assert fake.calls_to("deleteWebhook") == []

    asyncio.run(flow())


def test_the_mode_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", "webhook")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", PRODUCTION)
    monkeypatch.setenv("TELEGRAM_DELETE_WEBHOOK", "0")
    settings = TelegramSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.use_webhook and not settings.delete_webhook and settings.problem() is None
    monkeypatch.setenv("TELEGRAM_MODE", "pull")
    with pytest.raises(ValueError):
        TelegramSettings(_env_file=None)  # type: ignore[call-arg]
