"""The conversation through the service, the same on every channel: prompts, commands typed as
text, "skip" and "stop", buttons that count once, and each citizen's messages their own."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.app import Services
from bot.core.types import Action, ButtonPress, Channel, InboundMessage, Language
from bot.service.triage import PressRefused
from bot.store import models as m

DRUGS_TIP = "I think my neighbour is dealing drugs from his garage, anonymous tip"


def say(services: Services, text: str, sender: str = "c1", channel: Channel = Channel.API, **kw):  # type: ignore[no-untyped-def]
    return services.triage.handle(InboundMessage(channel, sender, text, **kw))


def press(services: Services, data: str, sender: str = "c1", channel: Channel = Channel.API):  # type: ignore[no-untyped-def]
    return services.triage.press(ButtonPress(channel, sender, data))


def questions(services: Services) -> int:
    with services.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(m.Question)) or 0)


def buttons(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.data for r in result.replies for b in r.buttons]


@pytest.mark.parametrize("channel", [Channel.API, Channel.WEB, Channel.X, Channel.TELEGRAM, Channel.WHATSAPP])
def test_skip_at_the_postcode_prompt_opens_no_queue_item(services: Services, channel: Channel) -> None:
    routed = say(services, DRUGS_TIP, channel=channel)
    assert [r.kind for r in routed.replies] == ["ack", "ask_area"]
    assert buttons(routed) == [f"ar:{routed.question_id}:skip"]
    skipped = say(services, "skip", channel=channel)
    assert skipped.decision is None and skipped.question_id is None
    assert skipped.replies[0].text.startswith("Okay, no problem. Your question has been passed on")
    assert questions(services) == 1
    stop = say(services, "stop", channel=channel)  # nothing open any more: still no queue item
    assert stop.decision is None and "Nothing is waiting" in stop.replies[0].text
    assert questions(services) == 1


def test_the_skip_button_at_the_postcode_prompt_counts_once(services: Services) -> None:
    routed = say(services, DRUGS_TIP)
    press(services, f"ar:{routed.question_id}:skip")
    with pytest.raises(PressRefused):
        press(services, f"ar:{routed.question_id}:skip")
    assert questions(services) == 1


def test_area_typed_as_a_command_on_the_web_opens_no_queue_item(services: Services) -> None:
    result = say(services, "/area 1012 AB", channel=Channel.WEB)
    assert result.decision is None and result.question_id is None
    assert result.replies[0].text.startswith("Thanks, I've saved your area: 1012 AB")
    assert questions(services) == 0
    with services.sessions() as s:
        assert s.scalars(select(m.Citizen)).one().area_label == "1012 AB"


def test_a_dutch_postcode_reply_is_answered_in_dutch_in_an_english_browser(services: Services) -> None:
    routed = say(
        services,
        "Ik denk dat mijn buurman drugs verkoopt vanuit zijn garage, anonieme tip",
        channel=Channel.WEB,
        language_hint=Language.EN,
    )
    assert routed.decision.language is Language.NL and routed.replies[-1].kind == "ask_area"
    area = say(services, "1012 AB", channel=Channel.WEB, language_hint=Language.EN)
    assert area.replies[0].text.startswith("Dank je, ik heb je buurt opgeslagen: 1012 AB")
    skip = say(services, DRUGS_TIP.replace("garage", "shed"), sender="c2", channel=Channel.WEB)
    assert skip.decision.language is Language.EN


def test_handoff_three_times_opens_one_question(services: Services) -> None:
    answered = say(services, "how do i prevent burglary when im on holiday")
    assert answered.decision.action is Action.ANSWER
    offer = press(services, f"fb:{answered.message_id}:no")
    assert buttons(offer) == [f"ho:{answered.message_id}:yes", f"ho:{answered.message_id}:no"]
    first = press(services, f"ho:{answered.message_id}:yes")
    assert first.question_id is not None
    for _ in range(2):
        with pytest.raises(PressRefused):
            press(services, f"ho:{answered.message_id}:yes")
    assert say(services, "yes").question_id is None  # typed: no prompt open any more
    assert questions(services) == 1


def test_a_press_on_another_citizens_message_changes_nothing(services: Services) -> None:
    theirs = say(services, "my smoke alarm keeps beeping every minute", sender="victim")
    say(services, "hello", sender="attacker")
    for data in (f"fb:{theirs.message_id}:no", f"ho:{theirs.message_id}:yes"):
        with pytest.raises(PressRefused):
            press(services, data, sender="attacker")
        with pytest.raises(PressRefused):  # the same citizen id on another channel is another person
            press(services, data, sender="victim", channel=Channel.WEB)
    with services.sessions() as s:
        victim = s.scalars(select(m.Citizen).where(m.Citizen.external_id == "victim")).one()
        assert victim.pending == "feedback" and s.get(m.Message, theirs.message_id).feedback is None
        sent = s.scalar(
            select(func.count())
            .select_from(m.Message)
            .where(m.Message.citizen_id == victim.id, m.Message.direction == "out")
        )
    assert sent == 2 and questions(services) == 0  # the answer and its prompt, nothing more


def test_a_stale_feedback_button_no_longer_counts(services: Services) -> None:
    first = say(services, "my smoke alarm keeps beeping every minute")
    say(services, "hoe voorkom ik fietsdiefstal")  # a newer answer replaced the prompt
    with pytest.raises(PressRefused):
        press(services, f"fb:{first.message_id}:yes")
    with services.sessions() as s:
        assert s.get(m.Message, first.message_id).feedback is None


def test_the_same_external_id_from_two_citizens_is_two_messages(services: Services) -> None:
    mine = say(
        services, "I would like a fire safety inspection for my restaurant", sender="a", external_id="1"
    )
    theirs = say(services, "I want to invite the mayor to our street party", sender="b", external_id="1")
    assert not theirs.duplicate and theirs.message_id != mine.message_id
    assert theirs.question_id != mine.question_id and theirs.decision is not None
    again = say(services, "I want to invite the mayor to our street party", sender="b", external_id="1")
    assert again.duplicate and again.message_id == theirs.message_id
    assert again.question_id == theirs.question_id
    with services.sessions() as s:
        texts = set(s.scalars(select(m.Message.text).where(m.Message.direction == "in")))
    assert texts == {
        "I would like a fire safety inspection for my restaurant",
        "I want to invite the mayor to our street party",
    }


def test_forget_through_typed_commands_on_x(services: Services) -> None:
    say(services, "my smoke alarm keeps beeping", channel=Channel.X)
    ask = say(services, "/forget", channel=Channel.X)
    assert ask.replies[0].text.startswith("Are you sure") and ask.decision is None
    done = say(services, "yes", channel=Channel.X)
    assert done.replies[0].text.startswith("Done. All your data has been deleted.")
    with services.sessions() as s:
        kept = list(s.scalars(select(m.Message.text)))
    assert kept == [done.replies[0].text]


def test_language_prompt_by_button_then_replies_in_that_language(services: Services) -> None:
    ask = say(services, "/language")
    choice = next(d for d in buttons(ask) if d.endswith(":nl"))
    chosen = press(services, choice)
    assert chosen.replies[0].text == "Prima, ik antwoord vanaf nu in het Nederlands."
    routed = say(services, "I would like a fire safety inspection of my building")
    assert routed.decision.language is Language.NL


@pytest.mark.parametrize("channel", [Channel.TELEGRAM, Channel.WHATSAPP])
def test_a_photo_without_a_caption_is_stored_and_answered(services: Services, channel: Channel) -> None:
    result = say(services, "", channel=channel, media="photo")
    assert result.replies[0].text.startswith("Sorry, I can't read photos")
    with services.sessions() as s:
        stored = s.scalars(select(m.Message).where(m.Message.direction == "in")).one()
    assert stored.kind == "photo" and stored.processed


@pytest.mark.parametrize("channel", [Channel.TELEGRAM, Channel.WHATSAPP])
def test_a_captioned_photo_of_an_emergency_is_an_emergency(services: Services, channel: Channel) -> None:
    result = say(services, "there is a fire in my house right now, help", channel=channel, media="photo")
    assert result.decision.action is Action.EMERGENCY and result.question_id is not None


def test_simultaneous_presses_of_one_button_count_once(services: Services) -> None:
    import threading

    answered = say(services, "how do i prevent burglary when im on holiday")
    press(services, f"fb:{answered.message_id}:no")
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def tap() -> None:
        start.wait()
        try:
            press(services, f"ho:{answered.message_id}:yes")
            outcomes.append("counted")
        except PressRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=tap) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["counted"] + ["refused"] * 5
    assert questions(services) == 1
