"""Citizens in private chats, through the real python-telegram-bot against the fake Bot API."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.app import Services
from bot.store import citizens, outbox
from bot.store import models as m
from tests.channels.telegram.conftest import eventually, running, settle
from tests.helpers.fake_telegram import FakeTelegram

SAM, ANOUK = 424242, 515151


def _buttons(message: dict) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(key["text"], key["callback_data"]) for row in rows for key in row]


def test_english_citizen_start_answer_feedback_no_and_handoff(services: Services, fake: FakeTelegram) -> None:
    async def flow() -> None:
        async with running(services, fake):
            fake.push(fake.text(SAM, "/start", language="en"))
            welcome = await eventually(lambda: fake.texts(SAM), what="welcome")
            assert welcome[0].startswith("Welcome!") and "/forget" in welcome[0]

            fake.push(fake.text(SAM, "My smoke alarm keeps beeping"))
            await eventually(lambda: len(fake.texts(SAM)) >= 3, what="answer and prompt")
            answer, prompt = fake.texts(SAM)[1:3]
            assert "beep" in answer.lower()
            assert prompt == "Did this help?"
            prompt_message = fake.last_with_buttons(SAM)
            labels = [label for label, _ in _buttons(prompt_message)]
            assert labels == ["👍 Yes", "👎 No"]

            no = next(data for label, data in _buttons(prompt_message) if "No" in label)
            fake.push(fake.press(SAM, prompt_message, no))
            await eventually(lambda: len(fake.texts(SAM)) >= 4, what="hand-off offer")
            assert fake.texts(SAM)[3].startswith("Sorry this didn't help")
            edits = await eventually(lambda: fake.calls_to("editMessageText"), what="edit")
            assert edits[-1].params["text"].endswith("› 👎 No")  # buttons gone
            assert fake.calls_to("answerCallbackQuery")

            offer = fake.last_with_buttons(SAM)
            yes = next(data for label, data in _buttons(offer) if label == "Yes, please")
            fake.push(fake.press(SAM, offer, yes))
            await eventually(lambda: len(fake.texts(SAM)) >= 5, what="routed")
            assert fake.texts(SAM)[4].startswith("I've passed your question to")

            # pressing the same button again (a double tap) changes nothing
            fake.push(fake.press(SAM, offer, yes))
            await settle()
            assert len(fake.texts(SAM)) == 5

        with services.sessions() as session:
            questions = list(session.scalars(select(m.Question)))
        assert len(questions) == 1 and questions[0].channel == "telegram"
        assert questions[0].text == "My smoke alarm keeps beeping"

    asyncio.run(flow())


def test_dutch_citizen_from_app_language_and_helpful_yes(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    async def flow() -> None:
        async with running(sqlite_services, fake):
            fake.push(fake.text(ANOUK, "/start", language="nl"))
            fake.push(fake.text(ANOUK, "/help", language="nl"))
            await eventually(lambda: len(fake.texts(ANOUK)) >= 2, what="welcome and help")
            welcome, help_text = fake.texts(ANOUK)[:2]
            assert welcome.startswith("Welkom!") and "maximaal 90 dagen" in welcome
            assert help_text.startswith("Stel je vraag gewoon")

            fake.push(fake.text(ANOUK, "mijn rookmelder blijft piepen", language="nl"))
            await eventually(lambda: len(fake.texts(ANOUK)) >= 4, what="Dutch answer")
            assert fake.texts(ANOUK)[3] == "Heb je hier iets aan?"
            prompt = fake.last_with_buttons(ANOUK)
            yes = next(data for label, data in _buttons(prompt) if "Ja" in label)
            fake.push(fake.press(ANOUK, prompt, yes, language="nl"))
            await eventually(lambda: len(fake.texts(ANOUK)) >= 5, what="thanks")
            assert fake.texts(ANOUK)[4].startswith("Bedankt voor je reactie")

        with sqlite_services.sessions() as session:
            answered = session.scalars(
                select(m.Message).where(m.Message.text == "mijn rookmelder blijft piepen")
            ).one()
        assert answered.feedback == "yes" and answered.language == "nl"

    asyncio.run(flow())


def test_language_area_and_forget_with_confirmation(sqlite_services: Services, fake: FakeTelegram) -> None:
    services = sqlite_services

    async def flow() -> None:
        async with running(services, fake):
            fake.push(fake.text(SAM, "/language nl", language="en"))
            fake.push(fake.text(SAM, "/area 1012 AB", language="en"))
            fake.push(fake.text(SAM, "/language de", language="en"))
            fake.push(fake.text(SAM, "I would like a fire safety inspection of my building"))
            await eventually(lambda: len(fake.texts(SAM)) >= 4, what="command replies")
            chosen, area, usage, routed = fake.texts(SAM)[:4]
            assert chosen == "Prima, ik antwoord vanaf nu in het Nederlands."
            assert area.startswith("Dank je, ik heb je buurt opgeslagen: 1012 AB")
            assert usage.startswith("In welke taal wil je antwoord?")  # with two buttons
            assert routed.startswith("Ik heb je vraag doorgestuurd")  # /language is explicit

            fake.push(fake.text(SAM, "/forget"))
            await eventually(lambda: len(fake.texts(SAM)) >= 5, what="forget question")
            assert fake.texts(SAM)[4].startswith("Weet je zeker")
            confirm = fake.last_with_buttons(SAM)
            yes, no = [d for _, d in _buttons(confirm)]
            assert yes.startswith("fg:") and yes.endswith(":yes") and no.endswith(":no")
            fake.push(fake.press(SAM, confirm, yes))
            await eventually(lambda: len(fake.texts(SAM)) >= 6, what="forgotten")
            assert fake.texts(SAM)[5].startswith("Klaar. Al je gegevens zijn gewist")

        with services.sessions() as session:
            citizen = session.scalars(select(m.Citizen)).one()
            texts = list(session.scalars(select(m.Message.text)))
            question = session.scalars(select(m.Question)).one()
            decisions = session.scalar(select(func.count()).select_from(m.DecisionRecord))
        assert citizen.language is None and citizen.area_label is None
        assert texts == ["Klaar. Al je gegevens zijn gewist. Je kunt altijd opnieuw beginnen."]
        assert question.text == "[erased]" and question.status == "closed"
        assert decisions == 0

    asyncio.run(flow())


def test_forget_answered_no_by_typing_keeps_everything(sqlite_services: Services, fake: FakeTelegram) -> None:
    async def flow() -> None:
        async with running(sqlite_services, fake):
            fake.push(fake.text(SAM, "hello"))
            fake.push(fake.text(SAM, "/forget"))
            fake.push(fake.text(SAM, "no"))
            await eventually(lambda: len(fake.texts(SAM)) >= 3, what="kept")
            assert fake.texts(SAM)[2] == "Okay, I haven't deleted anything."

        with sqlite_services.sessions() as session:
            assert "hello" in list(session.scalars(select(m.Message.text)))

    asyncio.run(flow())


def test_photos_and_group_chats_get_a_polite_note(sqlite_services: Services, fake: FakeTelegram) -> None:
    group = {"id": -100777, "type": "group", "title": "Neighbours"}

    async def flow() -> None:
        async with running(sqlite_services, fake):
            fake.push(fake.photo(SAM))
            fake.push(fake.text(SAM, "/start", chat=group))
            fake.push(fake.text(SAM, "anyone?", chat=group))
            await eventually(lambda: fake.texts(SAM) and fake.texts(-100777), what="notes")
            await settle()
            assert fake.texts(SAM) == [
                "Sorry, I can't read photos, voice messages or stickers. Please type your question. "
                "In an emergency, call 112."
            ]
            assert fake.texts(-100777) == [  # once, not for every message in the group
                "I only work in private chats. Please send me a private message."
            ]

        with sqlite_services.sessions() as session:  # a group is not a citizen
            assert [c.external_id for c in session.scalars(select(m.Citizen))] == [str(SAM)]

    asyncio.run(flow())


def test_a_flood_gets_one_polite_note_and_every_message_is_answered(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    async def flow() -> None:
        # FLOOD_MESSAGES=8, FLOOD_SECONDS=30; twelve replies to one chat: throttled at 1/s they would
        # take ten seconds, and the throttle has its own tests (test_throttling.py)
        async with running(sqlite_services, fake, chat_messages_per_second=50):
            for i in range(11):
                fake.push(fake.text(SAM, f"hello {i}"))
            await eventually(lambda: len(fake.texts(SAM)) >= 12, what="answers and note")
            await settle()
            texts = fake.texts(SAM)
            notes = [t for t in texts if t.startswith("You're sending a lot of messages")]
            assert len(notes) == 1 and len(texts) == 12

        with sqlite_services.sessions() as session:
            stored = session.scalar(
                select(func.count())
                .select_from(m.Message)
                .where(m.Message.direction == "in", m.Message.processed.is_(True))
            )
        assert stored == 11

    asyncio.run(flow())


def test_long_replies_are_split_and_keep_their_buttons(sqlite_services: Services, fake: FakeTelegram) -> None:
    from bot.core.types import Button, Channel, Language, Reply

    services = sqlite_services
    long_text = "\n\n".join(f"Paragraph {i}: " + "word " * 150 for i in range(10))  # ~7,700 chars

    async def flow() -> None:
        async with running(services, fake) as app:
            with services.sessions.begin() as session:
                citizen = citizens.get_or_create(session, Channel.TELEGRAM.value, str(SAM))
                reply = Reply(long_text, buttons=(Button("OK", "fb:1:yes"),), kind="answer")
                outbox.enqueue(session, [outbox.Outgoing(citizen, [reply], Language.EN)])
            app.state.dispatcher.wakeup.set()
            await eventually(lambda: len(fake.sent(SAM)) >= 2, what="parts")
            await settle(0.3)
            parts = fake.sent(SAM)
            assert len(parts) == 2
            assert all(len(p["text"]) <= 4096 for p in parts)
            assert parts[0]["text"].endswith("word") and parts[1]["text"].startswith("Paragraph")
            assert "reply_markup" not in parts[0] and parts[1]["reply_markup"]
            assert " ".join(p["text"] for p in parts).split() == long_text.split()

    asyncio.run(flow())


def test_a_captioned_photo_is_read_and_a_stale_or_unknown_button_is_answered(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    async def flow() -> None:
        async with running(sqlite_services, fake):
            fake.push(fake.photo(SAM, caption="there is a fire in my house right now, help"))
            await eventually(lambda: fake.texts(SAM), what="emergency reply")
            assert fake.texts(SAM)[0].startswith("Call 112 now.")

            fake.push(fake.text(SAM, "My smoke alarm keeps beeping"))
            await eventually(lambda: len(fake.texts(SAM)) >= 3, what="answer and prompt")
            prompt = fake.last_with_buttons(SAM)
            yes = next(data for label, data in _buttons(prompt) if "Yes" in label)
            fake.push(fake.text(SAM, "how do I report noise nuisance"))  # the prompt lapses
            await eventually(lambda: len(fake.texts(SAM)) >= 4, what="the next answer")
            answered = len(fake.calls_to("answerCallbackQuery"))
            fake.push(fake.press(SAM, prompt, yes))  # too late: a newer question replaced it
            fake.push(fake.press(SAM, prompt, "something:odd"))  # data no handler knows
            notes = await eventually(
                lambda: (
                    fake.calls_to("answerCallbackQuery")[answered:]
                    if len(fake.calls_to("answerCallbackQuery")) >= answered + 2
                    else None
                ),
                what="both presses answered",
            )
            assert all(n.params["text"].startswith("This button no longer works") for n in notes)
            await settle()
            assert not any(t.startswith("Thanks for your feedback") for t in fake.texts(SAM))

        with sqlite_services.sessions() as session:
            photo = session.scalars(select(m.Message).where(m.Message.kind == "photo")).one()
            question = session.scalars(select(m.Question)).one()
        assert photo.text == "there is a fire in my house right now, help"
        assert question.emergency and question.message_id == photo.id

    asyncio.run(flow())


def test_a_location_is_kept_for_the_professional_and_answered(
    sqlite_services: Services, fake: FakeTelegram
) -> None:
    async def flow() -> None:
        async with running(sqlite_services, fake):
            fake.push(fake.text(SAM, "I think my neighbour is dealing drugs from his garage, anonymous tip"))
            await eventually(lambda: len(fake.texts(SAM)) >= 2, what="routed")
            fake.push(fake.location(SAM, 52.370216, 4.895168))
            await eventually(lambda: len(fake.texts(SAM)) >= 3, what="location reply")
            assert fake.texts(SAM)[2].startswith("Thanks, I've received your location")
            assert "112" in fake.texts(SAM)[2]

        with sqlite_services.sessions() as session:
            stored = session.scalars(select(m.Message).where(m.Message.kind == "location")).one()
            question = session.scalars(select(m.Question)).one()
            thread = list(
                session.scalars(select(m.Message.text).where(m.Message.citizen_id == question.citizen_id))
            )
        assert stored.text == "📍 52.370216, 4.895168" and stored.text in thread
        assert session is not None and question.text.startswith("I think my neighbour")

    asyncio.run(flow())
