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


def _bot_message(chat: int, text: str = "A question card") -> dict:  # type: ignore[type-arg]
    return {
        "message_id": 1,
        "date": 1_800_000_000,
        "chat": {"id": chat, "type": "private", "first_name": "Sam"},
        "from": {"id": 7000001, "is_bot": True, "first_name": "Triage"},
        "text": text,
    }


def test_a_press_too_old_to_answer_does_not_hold_up_the_channel(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    """After a restart Telegram refuses to answer old presses ("query is too old"): the press is
    done with, not retried five times while every other update waits (emergencies too)."""

    async def flow() -> None:
        async with running(sqlite_services, fake):
            fake.push(fake.press(SAM, _bot_message(SAM), "pq:c:1"))  # a card button
            fake.push(fake.press(SAM, _bot_message(SAM), "fb:1:yes"))  # a citizen's button
            fake.expire_queries()
            fake.push(fake.text(SAM, "/help"))
            await eventually(lambda: fake.texts(SAM), timeout=4, what="the help, without delay")
            await settle(1.0)
            assert len(fake.calls_to("answerCallbackQuery")) == 2  # each tried once

    asyncio.run(flow())


def test_presses_that_match_no_button_of_ours_are_answered(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    async def flow() -> None:
        async with running(sqlite_services, fake):
            fake.push(fake.press(SAM, _bot_message(SAM), None))  # a game button: no data
            fake.push(fake.press(SAM, _bot_message(SAM), "zz:unknown"))
            await eventually(lambda: len(fake.calls_to("answerCallbackQuery")) == 2, what="both answered")

    asyncio.run(flow())


def test_the_bot_leaves_a_group_it_is_added_to(sqlite_services: Services, fake: FakeTelegram) -> None:
    async def flow() -> None:
        async with running(sqlite_services, fake):
            fake.push(fake.added_to_group(-100555, by=SAM))
            await eventually(lambda: fake.left == [-100555], what="left the group")
            assert fake.texts(-100555) == ["I only work in private chats. Please send me a private message."]

    asyncio.run(flow())


def test_with_groups_allowed_the_bot_stays(sqlite_services: Services, fake: FakeTelegram) -> None:
    async def flow() -> None:
        async with running(sqlite_services, fake, allow_groups=True):
            fake.push(fake.added_to_group(-100556, by=SAM))
            await eventually(lambda: fake.texts(-100556), what="the note")
            await settle()
            assert fake.left == []

    asyncio.run(flow())


def test_an_update_delivered_twice_at_once_acts_once() -> None:
    """Two webhook requests with the same update at the same moment (Telegram retrying a slow
    answer): the second waits for the first's outcome and does nothing of its own."""
    from telegram import Update

    from bot.channels.telegram.updates import UpdateRunner

    class Ledger:
        def __init__(self) -> None:
            self.done: set[int] = set()

        def seen(self, update_id: int) -> bool:
            return update_id in self.done

        def complete(self, update_id: int, advance_offset: bool) -> None:
            self.done.add(update_id)

    class SlowApplication:
        def __init__(self) -> None:
            self.processed = 0

        async def process_update(self, update: object) -> None:
            self.processed += 1
            await asyncio.sleep(0.2)  # a /queue reading the database and sending

    application = SlowApplication()
    runner = UpdateRunner(application, Ledger(), set())  # type: ignore[arg-type]
    update = Update(update_id=9101)

    async def twice() -> list[bool]:
        return list(await asyncio.gather(runner.handle(update), runner.handle(update)))

    assert asyncio.run(twice()) == [True, True]
    assert application.processed == 1


def test_citizen_commands_from_a_professional_do_not_make_them_a_citizen(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    from sqlalchemy import select

    from bot.service import linking
    from tests.channels.telegram.conftest import add_professional

    services = sqlite_services
    fenna = 900001
    add_professional(services, "fenna", "fire_prevention_officer")
    with services.sessions.begin() as session:
        pro = session.scalars(select(m.Professional).where(m.Professional.username == "fenna")).one()
        code = linking.issue_code(session, pro)

    async def flow() -> None:
        async with running(services, fake):
            fake.push(fake.text(fenna, f"/link {code}"))
            await eventually(lambda: fake.texts(fenna), what="linked")
            for command in ("/language nl", "/area 1012 AB", "/forget", "/start"):
                fake.push(fake.text(fenna, command))
            await eventually(lambda: len(fake.texts(fenna)) == 5, what="four answers")
            await settle()
            assert all("/queue" in text for text in fake.texts(fenna)[1:])  # the staff help

    asyncio.run(flow())
    with services.sessions() as session:
        assert session.scalars(select(m.Citizen).where(m.Citizen.external_id == str(fenna))).first() is None
