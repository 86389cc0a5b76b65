import pytest

from bot.core.language import detect_language, parse_language
from bot.core.types import Language


@pytest.mark.parametrize(("text", "expected"), [
    ("my smoke alarm keeps beeping", Language.EN),
    ("how do I report noise from my neighbours", Language.EN),
    ("rookmelder piept", Language.NL),
    ("mijn buren maken veel lawaai wat kan ik doen", Language.NL),
    ("hoe vraag ik een vergunning aan voor een buurtfeest", Language.NL),
    ("kan ik met iemand praten", Language.NL),
    ("can I talk to someone", Language.EN),
])
def test_detects_english_and_dutch(text: str, expected: Language) -> None:
    assert detect_language(text) is expected


def test_hint_breaks_a_tie() -> None:
    assert detect_language("112", Language.NL) is Language.NL
    assert detect_language("112") is Language.EN


@pytest.mark.parametrize(("value", "expected"), [
    ("nl-BE", Language.NL), ("EN", Language.EN), ("de", None), (None, None), ("", None),
])
def test_parse_language(value: str | None, expected: Language | None) -> None:
    assert parse_language(value) is expected
