"""The policy's figures on held-out messages: wrong auto-answers, role accuracy, emergencies."""

from __future__ import annotations

from bot.core.library import Library
from bot.core.types import IntentScore, IntentSpec, Mode, Parse, Role, Thresholds
from bot.service.policy_eval import evaluate_policy
from tests.helpers.emergency import SHIPPED_RULES

LIB = Library(
    intents={
        "fire_alarm_beeping": IntentSpec("fire_alarm_beeping", Mode.ANSWER, "fire"),
        "fire_safety_inspection": IntentSpec("fire_safety_inspection", Mode.ROUTE, "fire"),
        "local_crime_tip": IntentSpec("local_crime_tip", Mode.ROUTE, "police"),
        "emergency": IntentSpec("emergency", Mode.EMERGENCY, "police"),
    },
    roles={"fire": Role("fire", {}), "police": Role("police", {}), "oov": Role("oov", {})},
    default_role="oov",
    answers={("fire_alarm_beeping", "en"): "Change the battery."},
    emergency=SHIPPED_RULES,
)


def parse(*scores: tuple[str, float]) -> Parse:
    return Parse(tuple(IntentScore(n, c) for n, c in scores), "test", "v1")


def test_the_policy_figures() -> None:
    cases = [
        ("my smoke alarm beeps", "fire_alarm_beeping", parse(("fire_alarm_beeping", 0.9))),  # right
        (
            "can someone check our exits",
            "fire_safety_inspection",
            parse(("fire_alarm_beeping", 0.8), ("fire_safety_inspection", 0.1)),
        ),  # wrong answer, right role
        ("dealing from a garage", "local_crime_tip", parse(("local_crime_tip", 0.9))),  # right role
        ("odd smell in the street", "local_crime_tip", parse(("fire_safety_inspection", 0.9))),  # wrong role
        ("help my house is on fire", "emergency", parse(("fire_alarm_beeping", 0.9))),  # the rules catch it
        ("someone collapsed", "emergency", parse(("emergency", 0.9))),
    ]
    texts, labels, parses = zip(*cases, strict=True)
    report = evaluate_policy(texts, labels, parses, LIB, Thresholds(0.5, 0.1))
    assert (report.answered, report.wrong_answers) == (2, 1)
    assert (report.owned, report.right_role) == (4, 3)
    assert (report.emergencies, report.emergencies_caught, report.false_alarms) == (2, 2, 0)
    assert report.to_dict()["role_accuracy"] == 0.75
