"""What the real Bot API does to a long-running bot: a database hiccup while polling, a poller
that dies, update ids that restart lower, the stored offset after a week, stale button presses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from bot.app import Services
from bot.channels.telegram.part import bot_id_of
from bot.channels.telegram.updates import UpdateLedger
from bot.store import models as m
from tests.channels.telegram.conftest import eventually, running, settle
from tests.helpers.fake_telegram import FakeTelegram

SAM = 424242


def _db_down() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def test_polling_survives_a_database_error_while_handling(
    sqlite_services: Services, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = sqlite_services
    real_seen = UpdateLedger.seen
    failures = [1]

    def flaky_seen(self: UpdateLedger, update_id: int) -> bool:
        if failures:
            failures.pop()
            raise _db_down()
        return real_seen(self, update_id)

    monkeypatch.setattr(UpdateLedger, "seen", flaky_seen)

    async def flow() -> None:
        async with running(services, fake):
            fake.push(fake.text(SAM, "/start"))
            await eventually(lambda: fake.texts(SAM), timeout=15, what="the welcome, after a retry")
            assert not failures  # the database did fail once
            beat = services.heartbeats["telegram"]
            assert beat.last_call is not None and beat.last_update is not None
            await eventually(lambda: services.channel_health["telegram"] == "ok", what="ok again")
            fake.push(fake.text(SAM, "/help"))  # and it goes on polling
            await eventually(lambda: len(fake.texts(SAM)) == 2, what="the help")

    asyncio.run(flow())


def test_a_poller_that_dies_is_restarted(
    sqlite_services: Services, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = sqlite_services
    real_offset = UpdateLedger.offset
    failures = [1]

    def dying_offset(self: UpdateLedger, *args: object) -> int | None:
        if failures:
            failures.pop()
            raise RuntimeError("a bug at the start of the loop")
        return real_offset(self)

    monkeypatch.setattr(UpdateLedger, "offset", dying_offset)

    async def flow() -> None:
        async with running(services, fake):
            fake.push(fake.text(SAM, "/start"))
            await eventually(lambda: fake.texts(SAM), timeout=15, what="the welcome after a restart")
            assert services.heartbeats["telegram"].restarts == 1

    asyncio.run(flow())


def test_update_ids_restarting_lower_are_still_handled(sqlite_services: Services, fake: FakeTelegram) -> None:
    """After a week without updates Telegram may pick update ids below the offset we confirmed;
    polling on with that offset would confirm (drop) every new update."""
    services = sqlite_services

    async def flow() -> None:
        async with running(services, fake):
            first = fake.push(fake.text(SAM, "/start"))
            await eventually(lambda: fake.texts(SAM), what="the welcome")
            confirm = first["update_id"] + 1
            await eventually(
                lambda: any(c.params.get("offset") == confirm for c in fake.calls_to("getUpdates")),
                what="the confirming poll",
            )
            await settle(1.5)  # that poll has returned
            fake.push(fake.text(SAM, "/help"), update_id=7)
            await eventually(lambda: len(fake.texts(SAM)) == 2, what="the answer to update 7")

    asyncio.run(flow())


def test_a_stored_offset_older_than_a_day_is_not_used(sqlite_services: Services, fake: FakeTelegram) -> None:
    """The service was off for a week: the offset it stored would confirm (drop) updates whose
    ids Telegram restarted lower meanwhile."""
    services = sqlite_services
    key = UpdateLedger(services.sessions, bot_id_of(fake.token)).offset_key
    with services.sessions.begin() as session:
        session.add(m.ChannelState(key=key, value="900000", updated_at=datetime.now(UTC) - timedelta(days=8)))
    fake.push(fake.text(SAM, "/start"), update_id=42)

    async def flow() -> None:
        async with running(services, fake):
            await eventually(lambda: fake.texts(SAM), what="the welcome to update 42")
        assert fake.calls_to("getUpdates")[0].params.get("offset") is None

    asyncio.run(flow())
