"""Recall and false alarms of the emergency rules on a table of messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.rasa_format import LibraryFileError
from bot.service.emergency_eval import CASES_FILE, EmergencyCase, evaluate, main, read_cases
from tests.helpers.emergency import SHIPPED_RULES

TABLE = """\
cases:
- {text: "the shed is on fire", expected: emergency, lang: en, note: fire}
- {text: "de schuur staat in brand", expected: emergency, lang: nl, note: fire}
- {text: "the zeppelin is losing height fast", expected: emergency, lang: en, xfail: "no zeppelin rule"}
- {text: "how do I prevent a chip pan fire", expected: not_emergency, lang: en, note: prevention}
- {text: "mag ik vuurwerk afsteken", expected: not_emergency, lang: nl}
"""


def test_recall_and_false_alarms_count_every_case(tmp_path: Path) -> None:
    (tmp_path / "cases.yml").write_text(TABLE, encoding="utf-8")
    cases = read_cases(tmp_path / "cases.yml")
    assert cases[2] == EmergencyCase("the zeppelin is losing height fast", True, "en", "", "no zeppelin rule")
    wrong = EmergencyCase("my smoke alarm beeps, the kitchen is on fire", False)  # a label gone wrong
    report = evaluate([*cases, wrong], SHIPPED_RULES)
    assert (report.total.caught, report.total.emergencies) == (2, 3)
    assert (report.total.false_alarms, report.total.near_misses) == (1, 3)
    assert report.recall == pytest.approx(2 / 3) and report.false_alarm_rate == pytest.approx(1 / 3)
    assert (report.by_language["nl"].caught, report.by_language["nl"].emergencies) == (1, 1)
    assert [o.case.text for o in report.missed] == ["the zeppelin is losing height fast"]
    assert report.lines()[0] == "all      recall 2/3 = 66.7%   false alarms 1/3 = 33.3%"
    assert report.to_dict()["flagged"][0]["reason"].startswith("danger fire")  # type: ignore[index]


@pytest.mark.parametrize(
    ("table", "line", "problem"),
    [
        ("cases:\n- {text: hi, expected: maybe}\n", 2, "expected must be emergency or not_emergency"),
        ("cases:\n- {text: hi, expected: emergency}\n- {expected: emergency}\n", 3, "each case needs a text"),
        ("- {text: hi, expected: emergency}\n", 1, "expected a mapping with a 'cases:' list"),
    ],
)
def test_a_bad_table_names_the_line(tmp_path: Path, table: str, line: int, problem: str) -> None:
    (tmp_path / "cases.yml").write_text(table, encoding="utf-8")
    with pytest.raises(LibraryFileError) as err:
        read_cases(tmp_path / "cases.yml")
    assert err.value.line == line and problem in str(err.value)


def test_the_report_prints_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(CASES_FILE)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("all      recall ") and "false alarms" in first
