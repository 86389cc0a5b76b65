"""Emergencies happening now vs. questions about the same subject, in English and Dutch."""

import pytest

from bot.core.emergency import detect_emergency

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
    signal = detect_emergency(text)
    assert signal.is_emergency, signal.reason


@pytest.mark.parametrize("text", NOT_EMERGENCIES)
def test_question_about_a_subject_is_not_an_emergency(text: str) -> None:
    signal = detect_emergency(text)
    assert not signal.is_emergency, signal.reason


def test_now_overrides_a_hypothetical_framing() -> None:
    assert detect_emergency("what do I do, the kitchen is on fire right now").is_emergency
    assert detect_emergency("wat moet ik doen als... help er is nu brand!!").is_emergency
