"""The triage policy on hand-made parses: pure, no engine or database."""

from bot.core.library import Library
from bot.core.policy import decide
from bot.core.replies import Contacts, phrase_hours, render
from bot.core.types import Action, IntentScore, IntentSpec, Language, Mode, Parse, Role, Thresholds
from tests.helpers.emergency import SHIPPED_RULES

LIB = Library(
    intents={
        "fire_alarm_beeping": IntentSpec("fire_alarm_beeping", Mode.ANSWER),
        "noise_nuisance": IntentSpec("noise_nuisance", Mode.ANSWER),
        "local_crime_tip": IntentSpec("local_crime_tip", Mode.ROUTE, "community_police_officer"),
        "greet": IntentSpec("greet", Mode.SMALLTALK),
        "emergency": IntentSpec("emergency", Mode.EMERGENCY, "public_order_officer"),
        "out_of_scope": IntentSpec("out_of_scope", Mode.ROUTE),
    },
    roles={
        "public_order_officer": Role("public_order_officer", {"en": "an officer", "nl": "een agent"}),
        "community_police_officer": Role(
            "community_police_officer",
            {"en": "a community officer", "nl": "een wijkagent"},
            area_bound=True,
            response_hours=24,
        ),
    },
    default_role="public_order_officer",
    answers={
        ("fire_alarm_beeping", "en"): "Replace the battery. Call {emergency_number} if smoke.",
        ("fire_alarm_beeping", "nl"): "Vervang de batterij.",
    },
    texts={
        ("utter_emergency", "en"): "Call {emergency_number} now.",
        ("utter_emergency", "nl"): "Bel nu {emergency_number}.",
        ("utter_routed", "en"): "Passed to {role_name}, answer within {response_time}.",
        ("utter_routed", "nl"): "Doorgestuurd naar {role_name}, antwoord binnen {response_time}.",
        ("utter_ask_area", "en"): "What is your postcode?",
        ("utter_feedback_prompt", "en"): "Did this help?",
        ("utter_greet", "en"): "Hello!",
    },
    emergency=SHIPPED_RULES,
)
T = Thresholds(0.5, 0.1)


def parse(*scores: tuple[str, float]) -> Parse:
    return Parse(tuple(IntentScore(n, c) for n, c in scores), "test", "v1")


def test_confident_answer_intent_gets_the_library_answer() -> None:
    d = decide("smoke alarm beeps", Language.EN, parse(("fire_alarm_beeping", 0.9), ("greet", 0.05)), LIB, T)
    assert d.action is Action.ANSWER and d.answer_intent == "fire_alarm_beeping"
    replies = render(d, LIB, Contacts(emergency_number="112"), "24 hours", message_id=7)
    assert replies[0].text == "Replace the battery. Call 112 if smoke."
    assert [b.data for b in replies[1].buttons] == ["fb:7:yes", "fb:7:no"]


def test_low_confidence_goes_to_the_default_role() -> None:
    d = decide("hm", Language.EN, parse(("fire_alarm_beeping", 0.3), ("greet", 0.2)), LIB, T)
    assert d.action is Action.ROUTE and d.role == "public_order_officer"
    assert any("low confidence" in r for r in d.reasons)


def test_ambiguity_goes_to_a_person() -> None:
    d = decide("x", Language.EN, parse(("fire_alarm_beeping", 0.52), ("noise_nuisance", 0.46)), LIB, T)
    assert d.action is Action.ROUTE
    assert any("ambiguous" in r for r in d.reasons)


def test_no_approved_answer_in_the_language_routes() -> None:
    d = decide("geluidsoverlast", Language.NL, parse(("noise_nuisance", 0.95)), LIB, T)
    assert d.action is Action.ROUTE
    assert any("no approved nl answer" in r for r in d.reasons)


def test_route_intent_goes_to_its_role_and_asks_for_the_area_once() -> None:
    d = decide("tip", Language.EN, parse(("local_crime_tip", 0.9)), LIB, T)
    assert d.action is Action.ROUTE and d.role == "community_police_officer" and d.ask_area
    known = decide("tip", Language.EN, parse(("local_crime_tip", 0.9)), LIB, T, area_known=True)
    assert not known.ask_area
    texts = [r.text for r in render(d, LIB, Contacts(), phrase_hours(24, Language.EN))]
    assert texts == ["Passed to a community officer, answer within 24 hours.", "What is your postcode?"]


def test_emergency_by_rules_beats_a_confident_answer() -> None:
    d = decide(
        "my smoke alarm is going off and the hallway is full of smoke",
        Language.EN,
        parse(("fire_alarm_beeping", 0.95)),
        LIB,
        T,
    )
    assert d.action is Action.EMERGENCY and d.emergency
    assert render(d, LIB, Contacts(emergency_number="112"), "")[0].text == "Call 112 now."


def test_emergency_by_classifier_even_at_low_confidence() -> None:
    d = decide("something odd", Language.NL, parse(("emergency", 0.35), ("greet", 0.3)), LIB, T)
    assert d.action is Action.EMERGENCY
    assert render(d, LIB, Contacts(emergency_number="112"), "")[0].text == "Bel nu 112."


def test_hypothetical_framing_stands_down_the_classifier() -> None:
    d = decide("what should I do if there is a fire", Language.EN, parse(("emergency", 0.6)), LIB, T)
    assert d.action is Action.ROUTE


def test_smalltalk() -> None:
    d = decide("hi", Language.EN, parse(("greet", 0.97)), LIB, T)
    assert d.action is Action.SMALLTALK
    assert render(d, LIB, Contacts(), "")[0].text == "Hello!"


def test_nothing_predicted_routes_to_default() -> None:
    d = decide("...", Language.EN, parse(), LIB, T)
    assert d.action is Action.ROUTE and d.role == "public_order_officer" and d.intent is None


def test_phrase_hours() -> None:
    assert phrase_hours(24, Language.EN) == "24 hours"
    assert phrase_hours(72, Language.NL) == "3 dagen"
    assert phrase_hours(8.5, Language.EN) == "8.5 hours" and phrase_hours(8.5, Language.NL) == "8,5 uur"
    # a time left, as a Telegram card shows it: never "95.89957650111111 hours"
    assert phrase_hours(95.89957650111111, Language.EN) == "4 days"
    assert phrase_hours(3.2, Language.NL) == "3 uur" and phrase_hours(1.1, Language.EN) == "1 hour"
    assert phrase_hours(0.5, Language.EN) == "30 minutes"
    assert phrase_hours(1, Language.EN) == "1 hour"


ROLE_LIB = Library(
    intents={
        "fire_alarm_beeping": IntentSpec("fire_alarm_beeping", Mode.ANSWER, "fire_prevention"),
        "fire_safety_inspection": IntentSpec("fire_safety_inspection", Mode.ROUTE, "fire_prevention"),
        "local_crime_tip": IntentSpec("local_crime_tip", Mode.ROUTE, "police"),
        "greet": IntentSpec("greet", Mode.SMALLTALK),
        "emergency": IntentSpec("emergency", Mode.EMERGENCY, "police"),
        "out_of_scope": IntentSpec("out_of_scope", Mode.ROUTE),
    },
    roles={
        "oov": Role("oov", {}),
        "fire_prevention": Role("fire_prevention", {}),
        "police": Role("police", {}),
    },
    default_role="oov",
    emergency=SHIPPED_RULES,
)
RT = Thresholds(0.5, 0.1, role_threshold=0.6)


def test_unsure_of_the_intent_but_sure_of_the_role_routes_to_the_role() -> None:
    d = decide(
        "my detector on the ceiling",
        Language.EN,
        parse(("fire_alarm_beeping", 0.38), ("fire_safety_inspection", 0.33), ("greet", 0.1)),
        ROLE_LIB,
        RT,
    )
    assert d.action is Action.ROUTE and d.role == "fire_prevention"
    assert any(r.startswith("role-level: fire_prevention holds 0.71") for r in d.reasons)
    assert d.roles[0] == IntentScore("fire_prevention", 0.71)


def test_a_split_between_roles_or_out_of_scope_goes_to_the_default_role() -> None:
    split = decide(
        "hm", Language.EN, parse(("fire_alarm_beeping", 0.4), ("local_crime_tip", 0.35)), ROLE_LIB, RT
    )
    assert split.role == "oov" and [r.name for r in split.roles] == ["fire_prevention", "police"]
    oos = decide(
        "hm",
        Language.EN,
        parse(("out_of_scope", 0.45), ("fire_alarm_beeping", 0.3), ("fire_safety_inspection", 0.25)),
        ROLE_LIB,
        RT,
    )
    assert oos.role == "oov"  # out-of-scope belongs to no role: 0.55 is not enough


def test_smalltalk_and_emergency_intents_count_for_no_role() -> None:
    d = decide(
        "hm", Language.EN, parse(("greet", 0.45), ("emergency", 0.44), ("local_crime_tip", 0.1)), ROLE_LIB, RT
    )
    assert d.role == "oov" and d.roles == (IntentScore("police", 0.1),)
