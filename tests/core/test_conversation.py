"""The conversation state machine, transition by transition (pure: no database, no channel)."""

from __future__ import annotations

import pytest

from bot.core.conversation import (
    CLOSED,
    ButtonKind,
    Classify,
    Conversation,
    Erase,
    HandOff,
    Press,
    Prompt,
    RecordFeedback,
    Say,
    SetArea,
    SetLanguage,
    Step,
    Text,
    after_decision,
    is_live,
    read_press,
    step,
)
from bot.core.library import Area, Library
from bot.core.readers import CommandName, read_command
from bot.core.types import Action, Decision, Language
from tests.helpers.emergency import SHIPPED_RULES

AREAS = (Area("centrum", "Centrum", ((1011, 1018),)),)
LIBRARY = Library({}, {}, "public_order_officer", areas=AREAS, emergency=SHIPPED_RULES)
FEEDBACK = Conversation(Prompt.FEEDBACK, 7)
HANDOFF = Conversation(Prompt.HANDOFF, 7)
AREA = Conversation(Prompt.AREA, 40)
FORGET = Conversation(Prompt.FORGET, 9)
LANGUAGE = Conversation(Prompt.LANGUAGE, 9)


def text(state: Conversation, said: str, message_id: int = 100) -> Step:
    return step(state, Text(said, message_id), LIBRARY)


def press(state: Conversation, data: str) -> Step:
    pressed = read_press(data)
    assert pressed is not None, data
    return step(state, pressed, LIBRARY)


def keys(s: Step) -> list[str]:
    return [e.key for e in s.effects if isinstance(e, Say)]


def test_a_new_question_is_classified_with_nothing_open() -> None:
    s = text(CLOSED, "my smoke alarm keeps beeping")
    assert s.classify and s.state == CLOSED


@pytest.mark.parametrize("said", ["skip", "Overslaan", "stop", "STOP!", "annuleren"])
def test_skip_or_stop_with_nothing_open_is_answered_and_never_a_question(said: str) -> None:
    s = text(CLOSED, said)
    assert not s.classify and keys(s) == ["utter_nothing_open"]


@pytest.mark.parametrize("said", ["no thanks", "nee dank je", "laat maar"])
def test_polite_talk_with_nothing_open_is_left_to_the_policy(said: str) -> None:
    assert text(CLOSED, said).classify


@pytest.mark.parametrize(("answer", "data"), [("yes", "fb:7:yes"), ("ja hoor", "fb:7:yes")])
def test_feedback_yes_by_text_or_button(answer: str, data: str) -> None:
    for s in (text(FEEDBACK, answer), press(FEEDBACK, data)):
        assert s.state == CLOSED and s.effects[0] == RecordFeedback(7, True)
        assert keys(s) == ["utter_feedback_thanks"]


def test_feedback_no_offers_a_person_with_buttons_for_the_same_message() -> None:
    for s in (text(FEEDBACK, "nope"), press(FEEDBACK, "fb:7:no")):
        assert s.state == HANDOFF and s.effects[0] == RecordFeedback(7, False)
        offer = s.effects[1]
        assert isinstance(offer, Say) and offer.key == "utter_offer_handoff"
        assert [c.press.data for c in offer.choices] == ["ho:7:yes", "ho:7:no"]


def test_handoff_yes_hands_off_once() -> None:
    s = press(HANDOFF, "ho:7:yes")
    assert s.effects == (HandOff(7),) and s.state == CLOSED
    assert press(s.state, "ho:7:yes").refused  # the same press again: closed


@pytest.mark.parametrize("said", ["no", "nee bedankt", "skip", "stop"])
def test_handoff_declined_or_skipped(said: str) -> None:
    s = text(HANDOFF, said)
    assert s.state == CLOSED and keys(s) == ["utter_handoff_declined"] and not s.classify


@pytest.mark.parametrize("data", ["fb:8:yes", "ho:7:yes", "fg:7:yes", "ar:7:skip"])
def test_a_press_for_another_prompt_or_message_is_refused(data: str) -> None:
    s = press(FEEDBACK, data)
    assert s.refused and s.state == FEEDBACK and s.effects == ()


def test_a_press_with_nothing_open_is_refused() -> None:
    assert press(CLOSED, "fb:7:yes").refused


def test_the_postcode_answers_the_area_prompt_for_its_question() -> None:
    s = text(AREA, "1012 ab")
    assert s.state == CLOSED and s.effects[0] == SetArea("1012 AB", "centrum", 40)
    assert keys(s) == ["utter_area_saved"]


@pytest.mark.parametrize("said", ["skip", "overslaan", "liever niet", "nee", "no thanks"])
def test_skipping_the_area_prompt_opens_nothing(said: str) -> None:
    s = text(AREA, said)
    assert not s.classify and s.state == CLOSED and keys(s) == ["utter_area_skipped"]


def test_the_area_skip_button() -> None:
    s = press(AREA, "ar:40:skip")
    assert keys(s) == ["utter_area_skipped"] and s.state == CLOSED


def test_area_command_at_the_area_prompt_answers_it() -> None:
    s = text(AREA, "/area 1012 AB")
    assert s.effects[0] == SetArea("1012 AB", "centrum", 40) and s.state == CLOSED


def test_area_command_elsewhere_keeps_the_open_prompt() -> None:
    s = text(FEEDBACK, "/area 9999 XX")
    assert s.effects[0] == SetArea("9999 XX", None, None) and s.state == FEEDBACK


@pytest.mark.parametrize(
    ("said", "key"),
    [("/area", "utter_area_usage"), ("/area somewhere over the rainbow", "utter_area_unknown")],
)
def test_area_command_without_a_place(said: str, key: str) -> None:
    s = text(CLOSED, said)
    assert keys(s) == [key] and not s.classify


def test_an_emergency_is_never_read_as_an_answer() -> None:
    for state in (AREA, FEEDBACK, HANDOFF, FORGET, LANGUAGE):
        s = text(state, "1012 AB er is brand in mijn keuken, help!")
        assert s.classify and s.state == CLOSED, state


def test_any_other_text_lets_the_prompt_lapse() -> None:
    for state in (AREA, FEEDBACK, HANDOFF, FORGET, LANGUAGE):
        s = text(state, "how do I report noise nuisance from a bar")
        assert s.classify and s.state == CLOSED, state


def test_language_command_and_prompt() -> None:
    s = text(FEEDBACK, "/language nl")
    assert s.effects[0] == SetLanguage(Language.NL) and s.state == FEEDBACK
    assert s.language is Language.NL
    ask = text(CLOSED, "/language klingon", message_id=9)
    assert ask.state == LANGUAGE
    offer = ask.effects[0]
    assert isinstance(offer, Say) and [c.press.data for c in offer.choices] == ["lg:9:en", "lg:9:nl"]
    assert text(LANGUAGE, "Nederlands").effects[0] == SetLanguage(Language.NL)
    assert press(LANGUAGE, "lg:9:en").effects[0] == SetLanguage(Language.EN)
    assert keys(text(LANGUAGE, "skip")) == ["utter_prompt_closed"]


def test_forget_asks_first_then_erases_or_keeps() -> None:
    ask = text(FEEDBACK, "/forget", message_id=9)
    assert ask.state == FORGET and keys(ask) == ["utter_forget_confirm"]
    confirm = ask.effects[0]
    assert isinstance(confirm, Say) and [c.press.data for c in confirm.choices] == ["fg:9:yes", "fg:9:no"]
    yes = press(FORGET, "fg:9:yes")
    assert isinstance(yes.effects[0], Erase) and keys(yes) == ["utter_forgotten"]
    for kept in (press(FORGET, "fg:9:no"), text(FORGET, "nee"), text(FORGET, "stop")):
        assert keys(kept) == ["utter_forget_kept"] and kept.state == CLOSED
        assert not any(isinstance(e, Erase) for e in kept.effects)


def test_help_start_and_unknown_commands_keep_the_prompt() -> None:
    assert keys(text(HANDOFF, "/help")) == ["utter_help"] and text(HANDOFF, "/help").state == HANDOFF
    assert keys(text(CLOSED, "/start")) == ["utter_welcome"]
    assert keys(text(CLOSED, "/queue")) == ["utter_help"]
    assert not text(CLOSED, "/whatever").classify


def test_stop_closes_any_prompt() -> None:
    for state in (AREA, FEEDBACK, HANDOFF, FORGET, LANGUAGE):
        s = text(state, "/stop")
        assert s.state == CLOSED and not s.classify and keys(s)


def test_commands_read_the_way_channels_send_them() -> None:
    assert read_command("/language@PublicSafetyBot nl") is not None
    assert read_command("/language@PublicSafetyBot nl").arg == "nl"  # type: ignore[union-attr]
    assert read_command("/TAAL nl").name is CommandName.LANGUAGE  # type: ignore[union-attr]
    assert read_command("/ help me") is None and read_command("1/2 of the street") is None


@pytest.mark.parametrize(
    "data",
    [
        "fb:abc:yes",
        "fb:0:yes",
        "fb:99999999999:yes",
        "xx:1:yes",
        "fb:1:maybe",
        "fb:1",
        "fg:yes",
        "",
        "pq:c:1",
    ],
)
def test_button_data_that_is_not_ours_is_not_a_press(data: str) -> None:
    assert read_press(data) is None


def test_is_live_only_for_the_open_prompt() -> None:
    assert is_live(FEEDBACK, Press(ButtonKind.FEEDBACK, 7, "yes"))
    assert not is_live(FEEDBACK, Press(ButtonKind.FEEDBACK, 6, "yes"))
    assert not is_live(HANDOFF, Press(ButtonKind.FEEDBACK, 7, "yes"))


def decision(action: Action, ask_area: bool = False) -> Decision:
    return Decision(action, Language.EN, None, 0.9, None, (), (), ask_area=ask_area)


def test_after_a_decision() -> None:
    assert after_decision(decision(Action.ANSWER), 5, None) == Conversation(Prompt.FEEDBACK, 5)
    assert after_decision(decision(Action.ROUTE, ask_area=True), 5, 40) == AREA
    assert after_decision(decision(Action.ROUTE), 5, 40) == CLOSED
    assert after_decision(decision(Action.EMERGENCY), 5, 40) == CLOSED
    assert after_decision(decision(Action.SMALLTALK), 5, None) == CLOSED


def test_classify_is_the_only_effect_of_a_lapse() -> None:
    s = text(FEEDBACK, "what about fireworks on new year's eve")
    assert s.effects == (Classify(),)


@pytest.mark.parametrize("said", ["yes", "Nee!", "ja", "nope", "👍"])
def test_a_lone_yes_or_no_with_nothing_asked_is_answered_not_queued(said: str) -> None:
    s = text(CLOSED, said)
    assert not s.classify and keys(s) == ["utter_nothing_asked"]


@pytest.mark.parametrize("said", ["ok", "thanks", "yes my alarm still beeps at night"])
def test_talk_that_is_not_a_lone_yes_or_no_goes_to_the_policy(said: str) -> None:
    assert text(CLOSED, said).classify


def test_yes_to_the_postcode_or_language_prompt_asks_again() -> None:
    area = text(AREA, "ja")
    assert area.state == AREA and keys(area) == ["utter_area_again"] and not area.classify
    language = text(LANGUAGE, "yes")
    assert language.state == LANGUAGE and keys(language) == ["utter_language_choose"]
