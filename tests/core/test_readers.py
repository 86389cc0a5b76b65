import pytest

from bot.core.readers import YesNo, read_area, read_yes_no
from bot.core.library import Area


@pytest.mark.parametrize("text", ["yes", "Yes!", "ja", "Ja graag", "yep", "👍", "jazeker"])
def test_yes(text: str) -> None:
    assert read_yes_no(text) is YesNo.YES


@pytest.mark.parametrize("text", ["no", "Nee", "nope", "nee hoor", "not really", "👎"])
def test_no(text: str) -> None:
    assert read_yes_no(text) is YesNo.NO


@pytest.mark.parametrize("text", ["yes but my alarm still beeps at night", "hoe zit dat", ""])
def test_a_question_is_not_a_yes_or_no(text: str) -> None:
    assert read_yes_no(text) is None


AREAS = (Area("centrum", "Centrum", ((1011, 1018),)), Area("noord", "Noord", ((1020, 1039),)))


def test_postcode_maps_to_its_area() -> None:
    label, area = read_area("1012 ab", AREAS)  # type: ignore[misc]
    assert label == "1012 AB" and area is not None and area.slug == "centrum"


def test_neighbourhood_name_is_recognised() -> None:
    found = read_area("ik woon in Noord", AREAS)
    assert found is not None and found[1] is not None and found[1].slug == "noord"


def test_unknown_postcode_is_remembered_without_an_area() -> None:
    assert read_area("9999XX", AREAS) == ("9999 XX", None)


def test_a_sentence_is_not_an_area() -> None:
    assert read_area("my neighbour plays loud music every night until 3 am", AREAS) is None
