"""Emergencies happening now vs. questions about the same subject, in English and Dutch; and the
rules as data: what `EmergencyRules.from_data` accepts and how it refuses the rest."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core import text as textcheck
from bot.core.emergency import EmergencyRules, EmergencyRulesError, detect_emergency, is_hypothetical
from tests.helpers.emergency import SHIPPED_RULES as RULES

EMERGENCIES = [
    "HELP there is a fire in my kitchen",
    "my neighbours house is on fire!!",
    "smoke is coming out of the flat downstairs",
    "I smell gas in the stairwell",
    "strong gas smell in my street right now",
    "co alarm going off and my kids are dizzy and have a headache",
    "my dad collapsed and is not breathing",
    "someone is unconscious on the pavement",
    "someone is breaking into my house right now",
    "there's a man with a knife outside the station",
    "I am being followed and threatened",
    "serious accident on the ring road, people are trapped",
    "a child is drowning in the canal",
    "brand!! bij de buren",
    "help er is brand in mijn keuken",
    "ik ruik gas in het trappenhuis",
    "gaslucht in de hele straat",
    "mijn vader is bewusteloos en ademt niet",
    "er wordt nu ingebroken bij mijn buren",
    "er staat een man met een mes voor de deur en hij bedreigt ons",
    "ik word achtervolgd en bedreigd",
    "ernstig ongeluk op de kruising, er zijn gewonden",
    "de schuur staat in de fik",
    "koolmonoxide melder gaat af en we zijn allemaal duizelig",
]

NOT_EMERGENCIES = [
    "my smoke alarm keeps beeping every minute",
    "where should I put smoke detectors in my house",
    "what should I do if there is a fire in my house",
    "how do I make a fire escape plan",
    "how can I prevent burglary while on holiday",
    "we were burgled last week, how do I report it",
    "when should I call 112",
    "can I get a carbon monoxide detector for my boiler",
    "are fireworks allowed on new years eve",
    "mijn rookmelder piept steeds",
    "waar moet ik rookmelders ophangen",
    "wat moet ik doen als er brand is",
    "hoe maak ik een vluchtplan",
    "hoe kan ik inbraak voorkomen",
    "vorige week is er bij ons ingebroken, hoe doe ik aangifte",
    "wanneer moet ik 112 bellen",
    "tips voor een koolmonoxidemelder",
    "mag ik vuurwerk afsteken met oud en nieuw",
]


@pytest.mark.parametrize("text", EMERGENCIES)
def test_emergency_happening_now_is_recognised(text: str) -> None:
    signal = detect_emergency(text, RULES)
    assert signal.is_emergency, signal.reason


@pytest.mark.parametrize("text", NOT_EMERGENCIES)
def test_question_about_a_subject_is_not_an_emergency(text: str) -> None:
    signal = detect_emergency(text, RULES)
    assert not signal.is_emergency, signal.reason


def test_now_overrides_a_hypothetical_framing() -> None:
    assert detect_emergency("what do I do, the kitchen is on fire right now", RULES).is_emergency
    assert detect_emergency("wat moet ik doen als... help er is nu brand!!", RULES).is_emergency
    assert not detect_emergency("what should I do if the kitchen is on fire", RULES).is_emergency


def test_the_reason_names_the_family_and_the_phrase() -> None:
    signal = detect_emergency("ik ruik gas in het trappenhuis", RULES)
    assert signal.danger == "ruik gas" and signal.reason == "danger gas 'ruik gas'"
    down = detect_emergency("vorige week rook ik gas in het trappenhuis, is dat gevaarlijk?", RULES)
    assert not down.is_emergency and "stood down: past" in down.reason


FILLER_EN = "We moved here two years ago and mostly it is a quiet street with friendly neighbours. " * 40
FILLER_NL = "We wonen hier sinds twee jaar en meestal is het een rustige straat met aardige buren. " * 40


@pytest.mark.parametrize(
    "text",
    [
        FILLER_EN + "Right now someone is breaking into the house next door. " + FILLER_EN,
        FILLER_NL + "Op dit moment wordt er ingebroken bij de buren. " + FILLER_NL,
        FILLER_EN + "anyway the co alarm went off and " + "uhm " * 30 + "my son is dizzy " + FILLER_EN,
        FILLER_NL.replace(".", "") + " de auto van de buren staat in de fik " + FILLER_NL.replace(".", ""),
    ],
    ids=["en-break-in", "nl-break-in", "en-co-run-on", "nl-fire-no-punctuation"],
)
def test_a_danger_in_the_middle_of_a_long_story_is_found(text: str) -> None:
    assert len(text) > 6000
    assert detect_emergency(text, RULES).is_emergency


def test_an_over_long_message_is_refused_unless_it_describes_an_emergency() -> None:
    long_story = FILLER_EN * 3
    assert textcheck.check(long_story, RULES, max_chars=4096) is textcheck.TextProblem.TOO_LONG
    urgent = long_story + "My neighbours house is on fire, help! " + long_story
    assert textcheck.check(urgent, RULES, max_chars=4096) is None


def test_is_hypothetical_stands_the_classifier_down_only_without_a_now() -> None:
    assert is_hypothetical("what should I do if I smell gas", RULES)
    assert not is_hypothetical("what should I do, I smell gas right now", RULES)
    assert not is_hypothetical("I smell gas", RULES)


def test_spelling_variants_are_read_as_their_word() -> None:
    assert RULES.normal("mn huis staat in de fik") == "mijn huis staat in de fik"
    assert RULES.normal("HELPPP theres a FIIIRE") == "HELP there's a FIRE"
    assert detect_emergency("my house is on fier", RULES).is_emergency


# -- the rules as data ---------------------------------------------------------------------------

MINIMAL: dict[str, Any] = {
    "danger": {"fire": {"en": [r"\bon\s+fire\b"], "nl": [r"\bin\s+brand\b"]}},
    "now": {"right_now": {"en": [r"\bright\s+now\b"]}},
    "not_now": {"past": {"en": [r"\blast\s+week\b"], "nl": [r"\bvorige\s+week\b"]}},
}


def _with(path: tuple[str, ...], value: object) -> dict[str, Any]:
    data: dict[str, Any] = {g: {f: dict(spec) for f, spec in fams.items()} for g, fams in MINIMAL.items()}
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def test_minimal_rules_from_plain_data() -> None:
    rules = EmergencyRules.from_data(MINIMAL)
    assert detect_emergency("the shed is on fire", rules).is_emergency
    assert not detect_emergency("the shed was on fire last week", rules).is_emergency
    assert detect_emergency("last week a fire, and right now the shed is on fire", rules).is_emergency
    assert rules.size == 3


def test_a_danger_family_can_need_a_second_signal_anywhere_in_the_message() -> None:
    rules = EmergencyRules.from_data(
        _with(("danger", "co"), {"en": [r"\bco\s+alarm\b"], "with": {"en": [r"\bdizzy\b"]}})
    )
    assert not detect_emergency("the co alarm is beeping", rules).is_emergency
    assert detect_emergency("the co alarm is beeping. " + "x " * 80 + "and I feel dizzy", rules).is_emergency


@pytest.mark.parametrize(
    ("data", "where", "problem"),
    [
        (_with(("danger", "fire", "en"), [r"\bon\s+(fire\b"]), "danger.fire.en[0]", "not a valid regular"),
        (_with(("danger", "fire", "en"), "on fire"), "danger.fire.en", "must be a list"),
        (_with(("danger", "fire", "nl"), [42]), "danger.fire.nl[0]", "non-empty text"),
        (_with(("danger", "fire", "en"), [r"\b(x)?"]), "danger.fire.en[0]", "can match an empty text"),
        (_with(("danger", "fire", "patterns"), []), "danger.fire.patterns", "unknown key"),
        (_with(("danger", "fire"), {"en": [], "nl": []}), "danger.fire", "has no patterns"),
        (_with(("now", "right_now", "with"), {"en": ["x"]}), "now.right_now.with", "only danger families"),
        (_with(("danger",), {}), "danger", "not empty"),
        (_with(("dangers",), {}), "dangers", "unknown group"),
        (_with(("spelling",), {"fire": "fier"}), "spelling.fire", "list of words"),
        (_with(("spelling",), {"fire": ["fi er"]}), "spelling.fire[0]", "one word"),
    ],
)
def test_malformed_rules_name_the_entry(data: dict[str, Any], where: str, problem: str) -> None:
    with pytest.raises(EmergencyRulesError) as err:
        EmergencyRules.from_data(data)
    assert err.value.where == where and problem in err.value.problem
    assert str(err.value).startswith(f"{where}: ")


def test_a_missing_group_is_refused_rather_than_silently_empty() -> None:
    data = {k: v for k, v in MINIMAL.items() if k != "not_now"}
    with pytest.raises(EmergencyRulesError, match="not_now: must be a mapping"):
        EmergencyRules.from_data(data)
