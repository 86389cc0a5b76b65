"""Nothing lost, nothing twice: webhook secret, rate limits, blocked users, duplicates, restarts."""

from __future__ import annotations

import asyncio
import logging
import threading

import httpx
from sqlalchemy import func, select

from bot.app import Services
from bot.channels.telegram.settings import TelegramSettings
from bot.core.types import InboundMessage
from bot.service.triage import IntakeResult
from bot.store import models as m
from tests.channels.telegram.conftest import eventually, running, settle
from tests.helpers.fake_telegram import FakeTelegram

SAM, ANOUK = 424242, 515151
HOOK = "https://triage.example.nl/telegram/hook"


def _count(services: Services, stmt) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as session:
        return int(session.scalar(stmt) or 0)


def test_webhook_checks_the_secret_and_handles_each_update_once(
    services: Services, fake: FakeTelegram, caplog
) -> None:  # type: ignore[no-untyped-def]
    secret = TelegramSettings(_env_file=None, bot_token=fake.token).secret_token  # type: ignore[call-arg]

    async def flow() -> None:
        async with running(services, fake, webhook_url=HOOK) as app:
            assert fake.webhook is not None and fake.webhook["url"] == HOOK
            assert fake.webhook["secret_token"] == secret
            assert not fake.calls_to("getUpdates")
            update = {"update_id": 9001, **fake.text(SAM, "/start")}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
                with caplog.at_level(logging.WARNING, logger="bot.channels.telegram.webhook"):
                    missing = await client.post("/telegram/hook", json=update)
                    wrong = await client.post(
                        "/telegram/hook",
                        json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": "guess"},
                    )
                assert missing.status_code == 403 and wrong.status_code == 403
                assert "missing secret token" in caplog.text and "wrong secret token" in caplog.text
                await settle(0.3)
                assert fake.sent(SAM) == []

                headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
                first = await client.post("/telegram/hook", json=update, headers=headers)
                again = await client.post("/telegram/hook", json=update, headers=headers)
                assert first.status_code == 200 and again.status_code == 200
            await eventually(lambda: fake.texts(SAM), what="welcome")
            await settle()
            assert len(fake.texts(SAM)) == 1 and fake.texts(SAM)[0].startswith("Welcome!")

    asyncio.run(flow())


def test_a_duplicated_update_in_polling_is_handled_once(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    async def flow() -> None:
        update = fake.text(SAM, "My smoke alarm keeps beeping")
        fake.push(update, update_id=777)
        fake.push(update, update_id=777)  # Telegram delivers it twice
        async with running(sqlite_services, fake):
            await eventually(lambda: len(fake.texts(SAM)) >= 2, what="answer")
            await settle()
            assert len(fake.texts(SAM)) == 2
        assert (
            _count(
                sqlite_services,
                select(func.count()).select_from(m.Message).where(m.Message.direction == "in"),
            )
            == 1
        )

    asyncio.run(flow())


def test_429_waits_retry_after_and_sends_once(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    services = sqlite_services

    async def flow() -> None:
        fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        async with running(services, fake):
            fake.push(fake.text(SAM, "/start"))
            await eventually(lambda: fake.texts(SAM), what="welcome after the wait")
            await settle(0.3)
            attempts = [c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == SAM]
            assert len(attempts) == 2 and len(fake.texts(SAM)) == 1
            assert attempts[1].at - attempts[0].at >= 0.95  # waited retry_after
        with services.sessions() as session:
            item = session.scalars(select(m.OutboxItem)).one()
        assert item.status == "sent" and item.attempts == 1  # a rate limit is not a failure

    asyncio.run(flow())


def test_5xx_is_retried_and_403_marks_the_citizen_unreachable(
    sqlite_services: Services, fake: FakeTelegram, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    services = sqlite_services
    monkeypatch.setattr("bot.service.outbox.backoff_seconds", lambda attempt: 0.2)

    async def flow() -> None:
        fake.fail("sendMessage", 502, "Bad Gateway")
        async with running(services, fake):
            fake.push(fake.text(ANOUK, "/start"))
            await eventually(lambda: fake.texts(ANOUK), what="sent after a 502")

            fake.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
            fake.push(fake.text(SAM, "/start"))
            await eventually(
                lambda: (
                    _count(
                        services,
                        select(func.count())
                        .select_from(m.Citizen)
                        .where(m.Citizen.unreachable.is_(True)),
                    )
                    == 1
                ),
                what="unreachable",
            )
            await settle(0.5)
            assert fake.texts(SAM) == []
            assert len([c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == SAM]) == 1

            fake.push(fake.text(SAM, "/help"))  # they unblocked the bot and write again
            await eventually(lambda: fake.texts(SAM), what="reachable again")

    asyncio.run(flow())


def test_restart_in_the_middle_of_a_burst_loses_nothing_and_repeats_nothing(
    services: Services, fake: FakeTelegram
) -> None:
    real_handle_many = services.triage.handle_many
    inside, release = threading.Event(), threading.Event()

    def dies_inside_message_3(inbounds: list[InboundMessage]) -> list[IntakeResult | Exception]:
        results = real_handle_many(inbounds)  # stored, decided, reply enqueued ...
        if any(i.text == "question 3" for i in inbounds) and not inside.is_set():
            inside.set()  # ... and the process dies before the update is marked handled
            release.wait(10)
            raise SystemExit("killed")
        return results

    async def flow() -> None:
        burst = [fake.push(fake.text(SAM, f"question {i}")) for i in range(1, 6)]
        services.triage.handle_many = dies_inside_message_3  # type: ignore[method-assign]
        async with running(services, fake):
            await eventually(inside.is_set, what="inside update 3")
            # (the outbox is drained first: a crash mid-send is the outbox's own test)
            await eventually(
                lambda: (
                    _count(
                        services,
                        select(func.count())
                        .select_from(m.OutboxItem)
                        .where(m.OutboxItem.status != "sent"),
                    )
                    == 0
                ),
                what="A's replies",
            )
        release.set()
        services.triage.handle_many = real_handle_many  # type: ignore[method-assign]
        polls_before = len(fake.calls_to("getUpdates"))

        async with running(services, fake):  # a new process on the same database
            await eventually(
                lambda: (
                    _count(
                        services,
                        select(func.count())
                        .select_from(m.Message)
                        .where(m.Message.direction == "in", m.Message.processed.is_(True)),
                    )
                    == 5
                ),
                what="all five handled",
            )
            await eventually(
                lambda: (
                    _count(
                        services,
                        select(func.count())
                        .select_from(m.OutboxItem)
                        .where(m.OutboxItem.status != "sent"),
                    )
                    == 0
                ),
                what="all sent",
            )
            await settle()
        resumed = fake.calls_to("getUpdates")[polls_before]
        assert resumed.params["offset"] == burst[2]["update_id"]  # 1 and 2 were stored
        with services.sessions() as session:
            inbound = list(
                session.scalars(
                    select(m.Message.text).where(m.Message.direction == "in").order_by(m.Message.id)
                )
            )
            outbound = session.scalar(
                select(func.count()).select_from(m.Message).where(m.Message.direction == "out")
            )
        assert inbound == [f"question {i}" for i in range(1, 6)]
        assert len(fake.texts(SAM)) == outbound  # every reply delivered, none twice

    asyncio.run(flow())
