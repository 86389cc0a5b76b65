"""Emergencies happening now vs. questions, stories and worries about the same subjects, in English,
Dutch and a mix, written the way citizens type (tests/core/emergency_cases.yml); and the rules as
data: what `EmergencyRules.from_data` accepts and how it refuses the rest."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core import text as textcheck
from bot.core.emergency import EmergencyRules, EmergencyRulesError, detect_emergency, is_hypothetical
from bot.service.emergency_eval import CASES_FILE, EmergencyCase, read_cases
from tests.helpers.emergency import SHIPPED_RULES as RULES

CASES = read_cases(CASES_FILE)


def _param(case: EmergencyCase) -> Any:
    marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
    return pytest.param(case, id=f"{'E' if case.emergency else 'N'}-{case.text[:50]}", marks=marks)


def test_the_table_is_broad_enough() -> None:
    emergencies = [c for c in CASES if c.emergency]
    near_misses = [c for c in CASES if not c.emergency]
    assert len(CASES) >= 150 and len(emergencies) >= 60 and len(near_misses) >= 60
    assert {c.language for c in CASES} >= {"en", "nl", "mixed"}


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_each_message_as_a_person_on_the_team_would_read_it(case: EmergencyCase) -> None:
    signal = detect_emergency(case.text, RULES)
    assert signal.is_emergency == case.emergency, f"{case.note}: {signal.reason}"


def test_now_overrides_a_hypothetical_framing() -> None:
    assert detect_emergency("what do I do, the kitchen is on fire right now", RULES).is_emergency
    assert detect_emergency("wat moet ik doen als... help er is nu brand!!", RULES).is_emergency
    assert not detect_emergency("what should I do if the kitchen is on fire", RULES).is_emergency


def test_the_reason_names_the_family_never_the_citizens_words() -> None:
    signal = detect_emergency("ik ruik gas in het trappenhuis", RULES)
    assert signal.danger == "ruik gas" and signal.reason == "danger gas"
    spanning = detect_emergency("accident at Quokkastraat 12 near the school, a man is trapped", RULES)
    assert spanning.is_emergency and "quokka" in (spanning.danger or "")
    assert "quokka" not in spanning.reason.lower() and "trapped" not in spanning.reason
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
    assert RULES.normal("HELPPP theres a FIIIRE") == "help there's a fire"  # read in lower case
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
