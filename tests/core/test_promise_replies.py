"""The routed reply names the promised moment in the citizen's language: pure, no database."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.calendar import ALWAYS_STAFFED, calendar, promise
from bot.core.replies import Contacts, expected, phrase_moment, render
from bot.core.types import Action, Decision, Language

AMS = ZoneInfo("Europe/Amsterdam")
OFFICE = calendar("mon-fri 08:30-17:00")
NOW = datetime(2026, 12, 4, 18, 0, tzinfo=AMS)  # a Friday evening


@pytest.mark.parametrize(
    ("moment", "en", "nl"),
    [
        ("2026-12-04 19:00", "today 19:00", "vandaag 19:00"),
        ("2026-12-05 09:30", "tomorrow 09:30", "morgen 09:30"),
        ("2026-12-07 12:00", "Monday 12:00", "maandag 12:00"),
        ("2026-12-10 16:30", "Thursday 16:30", "donderdag 16:30"),
        ("2026-12-14 12:00", "Monday 14 December 12:00", "maandag 14 december 12:00"),
    ],
)
def test_moments_in_both_languages(moment: str, en: str, nl: str) -> None:
    when = datetime.fromisoformat(moment).replace(tzinfo=AMS)
    assert phrase_moment(when, NOW, Language.EN) == en
    assert phrase_moment(when, NOW, Language.NL) == nl


def _routed(language: Language) -> Decision:
    return Decision(Action.ROUTE, language, "local_crime_tip", 0.9, "fire", ranking=(), reasons=())


def _library():  # type: ignore[no-untyped-def]
    from tests.core.test_policy import LIB

    texts = {
        **LIB.texts,
        ("utter_routed_by", "en"): "Answer by {due}. Danger? {emergency_number}.",
        ("utter_routed_by", "nl"): "Antwoord uiterlijk {due}. Gevaar? {emergency_number}.",
        ("utter_routed_outside_hours", "en"): "Back {opens}; answer by {due}. Emergency: {emergency_number}.",
        (
            "utter_routed_outside_hours",
            "nl",
        ): "Terug vanaf {opens}; uiterlijk {due}. Noodgeval: {emergency_number}.",
    }
    return type(LIB)(LIB.intents, LIB.roles, LIB.default_role, LIB.answers, texts, emergency=LIB.emergency)


def test_out_of_hours_the_reply_says_when_the_team_reads_again_and_112() -> None:
    made = promise(OFFICE, NOW, 8)
    for language, text in (
        (Language.EN, "Back Monday 08:30; answer by Monday 16:30. Emergency: 112."),
        (Language.NL, "Terug vanaf maandag 08:30; uiterlijk maandag 16:30. Noodgeval: 112."),
    ):
        said = expected(OFFICE, made, NOW, 8, language)
        replies = render(_routed(language), _library(), Contacts(), said)
        assert replies[0].text == text


def test_during_hours_the_moment_and_always_staffed_a_duration() -> None:
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=AMS)
    said = expected(OFFICE, promise(OFFICE, monday, 2), monday, 2, Language.NL)
    assert render(_routed(Language.NL), _library(), Contacts(), said)[0].text == (
        "Antwoord uiterlijk vandaag 11:00. Gevaar? 112."
    )
    around = expected(ALWAYS_STAFFED, promise(ALWAYS_STAFFED, NOW, 8), NOW, 8, Language.EN)
    assert render(_routed(Language.EN), _library(), Contacts(), around)[0].text == (
        "Passed to an officer, answer within 8 hours."
    )
