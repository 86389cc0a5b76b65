"""Professionals on their phone: linking, pushed questions, claim, answer by reply, reminders."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import Services
from bot.service import linking
from bot.store import models as m
from tests.channels.telegram.conftest import add_professional, eventually, running, settle
from tests.helpers.fake_telegram import FakeTelegram

SAM = 424242  # a citizen
FENNA, JOOST, PIM = 900001, 900002, 900003  # professionals' Telegram accounts


def _code(services: Services, username: str) -> str:
    with services.sessions.begin() as session:
        pro = session.scalars(select(m.Professional).where(m.Professional.username == username)).one()
        return linking.issue_code(session, pro)


def _buttons(message: dict) -> dict[str, str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {key["text"]: key["callback_data"] for row in rows for key in row}


async def _link(services: Services, fake: FakeTelegram, chat: int, username: str) -> None:
    fake.push(fake.text(chat, f"/link {_code(services, username)}"))
    await eventually(
        lambda: any(t.startswith("Linked as") for t in fake.texts(chat)), what=f"{username} linked"
    )


def test_professional_links_claims_and_answers_by_reply(services: Services, fake: FakeTelegram) -> None:
    add_professional(services, "fenna", "fire_prevention_officer")
    add_professional(services, "joost", "community_police_officer")

    async def flow() -> None:
        async with running(services, fake):
            fake.push(fake.text(FENNA, "/link WRONGCODE1"))
            await eventually(lambda: fake.texts(FENNA), what="refusal")
            assert fake.texts(FENNA)[0].startswith("That code is unknown or has expired")
            await _link(services, fake, FENNA, "fenna")
            assert "a fire prevention officer" in fake.texts(FENNA)[-1]
            await _link(services, fake, JOOST, "joost")

            fake.push(fake.text(SAM, "I would like a fire safety inspection of my building"))
            card = await eventually(
                lambda: next(
                    (
                        fake.message(FENNA, p["_message_id"])
                        for p in fake.sent(FENNA)
                        if p.get("reply_markup")
                    ),
                    None,
                ),
                what="push",
            )
            assert "fire safety inspection of my building" in card["text"]
            assert "Status: open" in card["text"]
            assert list(_buttons(card)) == ["Claim", "Reassign", "Close"]
            await settle(0.3)
            assert not any("inspection" in t for t in fake.texts(JOOST))  # not his role

            fake.push(fake.press(FENNA, card, _buttons(card)["Claim"]))
            await eventually(lambda: fake.calls_to("editMessageText"), what="claimed card")
            edited = fake.message(FENNA, card["message_id"])
            assert "claimed by fenna" in edited["text"]
            assert list(_buttons(edited)) == ["Reassign", "Close"]

            fake.push(fake.text(FENNA, "We can come by on Tuesday at 10:00.", reply_to=edited))
            await eventually(lambda: any("Tuesday" in t for t in fake.texts(SAM)), what="answer")
            answer = next(t for t in fake.texts(SAM) if "Tuesday" in t)
            assert answer == "We can come by on Tuesday at 10:00.\n\n— Fire prevention officer"
            await eventually(
                lambda: any("is on its way" in t for t in fake.texts(FENNA)), what="confirmation"
            )

            fake.push(fake.text(FENNA, "/queue"))
            await eventually(
                lambda: fake.texts(FENNA)[-1].startswith("There are no open"), what="empty queue"
            )

        with services.sessions() as session:
            question = session.scalars(select(m.Question)).one()
            fenna = session.scalars(select(m.Professional).where(m.Professional.username == "fenna")).one()
        assert question.status == "answered" and question.assignee == "fenna"
        assert fenna.telegram_chat_id == str(FENNA)

    asyncio.run(flow())


def test_emergency_replies_at_once_and_reaches_every_professional_of_the_role(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    services = sqlite_services
    add_professional(services, "fenna", "public_order_officer", areas="")
    add_professional(services, "joost", "public_order_officer")
    add_professional(services, "pim", "fire_prevention_officer")

    async def flow() -> None:
        async with running(services, fake):
            for chat, name in ((FENNA, "fenna"), (JOOST, "joost"), (PIM, "pim")):
                await _link(services, fake, chat, name)
            fake.push(fake.text(SAM, "there is a fire in my house right now, help"))
            await eventually(lambda: fake.texts(SAM), what="emergency reply")
            assert fake.texts(SAM)[0].startswith("Call 112 now.")
            for chat in (FENNA, JOOST):
                await eventually(
                    lambda c=chat: any(t.startswith("🚨 EMERGENCY") for t in fake.texts(c)),
                    what="push",
                )
            await settle(0.3)
            assert not any("EMERGENCY" in t for t in fake.texts(PIM))

    asyncio.run(flow())


def test_queue_lists_open_questions_and_reminder_before_the_promised_time(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    services = sqlite_services
    add_professional(services, "fenna", "fire_prevention_officer")

    async def flow() -> None:
        async with running(services, fake, reminder_interval_seconds=0.2):
            await _link(services, fake, FENNA, "fenna")
            fake.push(fake.text(SAM, "I would like a fire safety inspection of my building"))
            await eventually(lambda: len(fake.sent(FENNA)) >= 2, what="push")

            fake.push(fake.text(FENNA, "/queue"))
            await eventually(
                lambda: any(t.startswith("1 open questions") for t in fake.texts(FENNA)),
                what="queue",
            )
            await eventually(lambda: len(fake.sent(FENNA)) >= 4, what="queue card")
            assert "inspection" in fake.texts(FENNA)[-1]

            with services.sessions.begin() as session:  # a week promised, 10 minutes left
                question = session.scalars(select(m.Question)).one()
                question.created_at = datetime.now(UTC) - timedelta(days=7)  # working days, any day
                question.due_at = datetime.now(UTC) + timedelta(minutes=10)
            reminder = await eventually(
                lambda: next((t for t in fake.texts(FENNA) if t.startswith("Reminder")), None),
                what="reminder",
            )
            assert "is due in 10 minutes" in reminder or "is due in 9 minutes" in reminder
            await settle(0.5)
            assert sum(t.startswith("Reminder") for t in fake.texts(FENNA)) == 1

    asyncio.run(flow())


def test_reassign_and_close_from_the_phone(sqlite_services: Services, fake: FakeTelegram) -> None:
    services = sqlite_services
    add_professional(services, "fenna", "fire_prevention_officer")
    add_professional(services, "joost", "enforcement_officer")

    async def flow() -> None:
        async with running(services, fake):
            await _link(services, fake, FENNA, "fenna")
            await _link(services, fake, JOOST, "joost")
            fake.push(fake.text(SAM, "I would like a fire safety inspection of my building"))
            card = await eventually(
                lambda: next(
                    (
                        fake.message(FENNA, p["_message_id"])
                        for p in fake.sent(FENNA)
                        if p.get("reply_markup")
                    ),
                    None,
                ),
                what="push",
            )
            fake.push(fake.press(FENNA, card, _buttons(card)["Reassign"]))
            await eventually(
                lambda: "Reassign question" in fake.message(FENNA, card["message_id"])["text"],
                what="role menu",
            )
            menu = fake.message(FENNA, card["message_id"])
            target = _buttons(menu)["an enforcement officer of the municipality"]
            fake.push(fake.press(FENNA, menu, target))
            pushed = await eventually(
                lambda: next(
                    (
                        fake.message(JOOST, p["_message_id"])
                        for p in fake.sent(JOOST)
                        if p.get("reply_markup")
                    ),
                    None,
                ),
                what="push to the new role",
            )
            fake.push(fake.press(JOOST, pushed, _buttons(pushed)["Close"]))
            await eventually(
                lambda: "Close question" in fake.message(JOOST, pushed["message_id"])["text"],
                what="reasons",
            )
            reasons = fake.message(JOOST, pushed["message_id"])
            fake.push(fake.press(JOOST, reasons, _buttons(reasons)["Resolved"]))
            await eventually(
                lambda: "closed (resolved)" in fake.message(JOOST, pushed["message_id"])["text"],
                what="closed card",
            )

        with services.sessions() as session:
            question = session.scalars(select(m.Question)).one()
        assert question.role == "enforcement_officer" and question.status == "closed"

    asyncio.run(flow())


def test_a_claimant_is_told_on_the_phone_when_an_admin_takes_over(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    """Issue 15: a take-over is never silent; the linked claimant gets a message at once."""
    from bot.service import queue, users

    services = sqlite_services
    add_professional(services, "fenna", "fire_prevention_officer")
    with services.sessions.begin() as session:
        users.create(session, "ada", "a-long-password", is_admin=True)

    async def flow() -> None:
        async with running(services, fake):
            await _link(services, fake, FENNA, "fenna")
            fake.push(fake.text(SAM, "I would like a fire safety inspection of my building"))
            await eventually(lambda: any(p.get("reply_markup") for p in fake.sent(FENNA)), what="push")
            with services.sessions.begin() as session:
                qid = session.scalars(select(m.Question.id)).one()
                fenna = queue.Viewer("fenna", frozenset({"fire_prevention_officer"}))
                assert queue.claim(session, fenna, qid).won
                queue.take_over(session, queue.Viewer("ada", is_admin=True), qid, "Fenna is on leave")
            services.triage.publish("question.taken_over", qid)
            notice = await eventually(
                lambda: next((t for t in fake.texts(FENNA) if "took over" in t), None), what="notice"
            )
            assert notice == f"ada took over question #{qid} from you: Fenna is on leave"

    asyncio.run(flow())


def test_a_reply_to_any_part_of_a_long_card_answers_its_question(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    """A card over 4,096 characters goes out in parts; a Telegram reply to the first part (not
    only to the last, which has the buttons) answers the citizen."""
    services = sqlite_services
    add_professional(services, "fenna", "fire_prevention_officer")
    long_question = "I would like a fire safety inspection of my building. " + "It has many floors. " * 200

    async def flow() -> None:
        async with running(services, fake):
            await _link(services, fake, FENNA, "fenna")
            linked = len(fake.sent(FENNA))
            fake.push(fake.text(SAM, long_question))
            await eventually(
                lambda: any(p.get("reply_markup") for p in fake.sent(FENNA)[linked:]), what="push"
            )
            parts = fake.sent(FENNA)[linked:]
            assert len(parts) == 2 and all(len(p["text"]) <= 4096 for p in parts)
            assert "fire safety inspection" in "".join(p["text"] for p in parts)
            assert not parts[0].get("reply_markup") and parts[1].get("reply_markup")
            first = fake.message(FENNA, parts[0]["_message_id"])
            fake.push(fake.text(FENNA, "We can come by on Tuesday at 10:00.", reply_to=first))
            await eventually(lambda: any("Tuesday" in t for t in fake.texts(SAM)), what="answer")
            assert next(t for t in fake.texts(SAM) if "Tuesday" in t).startswith("We can come by on Tuesday")

        with services.sessions() as session:
            question = session.scalars(select(m.Question)).one()
        assert question.status == "answered" and question.assignee == "fenna"

    asyncio.run(flow())


def test_a_dutch_professional_reads_cards_buttons_and_confirmations_in_dutch(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    """fenna chose Dutch on the console's Account page; joost chose nothing and gets the
    organisation's default for professionals (English here): the same question, each their own."""
    services = sqlite_services
    add_professional(services, "fenna", "fire_prevention_officer")
    add_professional(services, "joost", "fire_prevention_officer")
    with services.sessions.begin() as session:
        session.scalars(
            select(m.Professional).where(m.Professional.username == "fenna")
        ).one().language = "nl"

    def card_of(chat: int) -> dict | None:
        return next(
            (fake.message(chat, p["_message_id"]) for p in fake.sent(chat) if p.get("reply_markup")), None
        )

    async def flow() -> None:
        async with running(services, fake):
            fake.push(fake.text(FENNA, f"/link {_code(services, 'fenna')}"))
            linked = await eventually(lambda: fake.texts(FENNA), what="fenna linked")
            assert linked[0].startswith("Gekoppeld als fenna. Nieuwe vragen voor"), linked
            await _link(services, fake, JOOST, "joost")

            fake.push(fake.text(SAM, "I would like a fire safety inspection of my building"))
            dutch = await eventually(lambda: card_of(FENNA), what="fenna's card")
            english = await eventually(lambda: card_of(JOOST), what="joost's card")
            assert dutch["text"].startswith("Vraag #") and "Beantwoorden binnen:" in dutch["text"]
            assert "Status: open" in dutch["text"]
            assert list(_buttons(dutch)) == ["Oppakken", "Doorsturen", "Sluiten"]
            assert english["text"].startswith("Question #") and "Answer within:" in english["text"]
            assert list(_buttons(english)) == ["Claim", "Reassign", "Close"]

            fake.push(fake.press(FENNA, dutch, _buttons(dutch)["Oppakken"]))
            await eventually(lambda: fake.calls_to("editMessageText"), what="claimed card")
            claimed = fake.message(FENNA, dutch["message_id"])
            assert "opgepakt door fenna; antwoord op dit bericht om te antwoorden" in claimed["text"]

            # a service's refusal, in her language too
            fake.push(fake.text(FENNA, "Bel {emergency_numbr}", reply_to=claimed))
            refused = await eventually(
                lambda: next((t for t in fake.texts(FENNA) if t.startswith("Dat lukte niet")), None),
                what="refusal",
            )
            assert refused == (
                "Dat lukte niet: Onbekend invulveld {emergency_numbr}: "
                "de inwoner zou het letterlijk zo lezen."
            )

            fake.push(fake.text(FENNA, "We komen dinsdag om 10:00 langs.", reply_to=claimed))
            confirmation = await eventually(
                lambda: next((t for t in fake.texts(FENNA) if "onderweg naar de inwoner" in t), None),
                what="confirmation",
            )
            assert confirmation.startswith("Je antwoord op vraag #")

    asyncio.run(flow())
