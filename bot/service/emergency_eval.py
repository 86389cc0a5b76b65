"""How well the emergency rules do on a table of messages: the share of emergencies they catch
(recall) and the share of near misses they wrongly call one (false alarms).

The table is YAML, `cases:` a list of `{text, expected: emergency | not_emergency, lang, note}`,
optionally `xfail: <reason>` for a case the rules cannot get right yet (it still counts here).
`tests/core/emergency_cases.yml` is the shipped table; `triage evaluate` can print this report.

    python -m bot.service.emergency_eval [cases.yml] [responses/]
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.core.emergency import EmergencyRules, EmergencySignal, detect_emergency
from bot.nlu.rasa_format import LibraryFileError, load_yaml, read_emergency

CASES_FILE = PROJECT_ROOT / "tests" / "core" / "emergency_cases.yml"
EXPECTED = {"emergency": True, "not_emergency": False}


@dataclass(frozen=True, slots=True)
class EmergencyCase:
    text: str
    emergency: bool  # what a person on the team would say
    language: str = ""
    note: str = ""
    xfail: str | None = None  # why the rules get it wrong for now


@dataclass(frozen=True, slots=True)
class Outcome:
    case: EmergencyCase
    signal: EmergencySignal

    @property
    def right(self) -> bool:
        return self.signal.is_emergency == self.case.emergency


@dataclass
class Tally:
    emergencies: int = 0
    caught: int = 0
    near_misses: int = 0
    false_alarms: int = 0

    @property
    def recall(self) -> float:
        return self.caught / self.emergencies if self.emergencies else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.near_misses if self.near_misses else 0.0

    def add(self, outcome: Outcome) -> None:
        if outcome.case.emergency:
            self.emergencies += 1
            self.caught += outcome.signal.is_emergency
        else:
            self.near_misses += 1
            self.false_alarms += outcome.signal.is_emergency

    def line(self, label: str) -> str:
        return (
            f"{label:<8} recall {self.caught}/{self.emergencies} = {self.recall:.1%}   "
            f"false alarms {self.false_alarms}/{self.near_misses} = {self.false_alarm_rate:.1%}"
        )


@dataclass
class EmergencyReport:
    total: Tally
    by_language: dict[str, Tally] = field(default_factory=dict)
    missed: list[Outcome] = field(default_factory=list)  # emergencies not recognised
    flagged: list[Outcome] = field(default_factory=list)  # near misses called an emergency

    @property
    def recall(self) -> float:
        return self.total.recall

    @property
    def false_alarm_rate(self) -> float:
        return self.total.false_alarm_rate

    def lines(self) -> list[str]:
        out = [self.total.line("all")]
        out += [tally.line(lang) for lang, tally in sorted(self.by_language.items())]
        out += [f"missed:  {o.case.text}" for o in self.missed]
        out += [f"flagged: {o.case.text}  ({o.signal.reason})" for o in self.flagged]
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "recall": self.recall,
            "false_alarm_rate": self.false_alarm_rate,
            "emergencies": self.total.emergencies,
            "caught": self.total.caught,
            "near_misses": self.total.near_misses,
            "false_alarms": self.total.false_alarms,
            "missed": [o.case.text for o in self.missed],
            "flagged": [{"text": o.case.text, "reason": o.signal.reason} for o in self.flagged],
        }


def evaluate(cases: Iterable[EmergencyCase], rules: EmergencyRules) -> EmergencyReport:
    report = EmergencyReport(Tally())
    for case in cases:
        outcome = Outcome(case, detect_emergency(case.text, rules))
        report.total.add(outcome)
        report.by_language.setdefault(case.language or "?", Tally()).add(outcome)
        if not outcome.right:
            (report.missed if case.emergency else report.flagged).append(outcome)
    return report


def read_cases(path: Path) -> list[EmergencyCase]:
    """The table in `path`; raises LibraryFileError naming the file and line of a bad case."""
    data = load_yaml(path)
    items = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise LibraryFileError(path, 1, "expected a mapping with a 'cases:' list")
    lines: Sequence[int] = getattr(items, "item_lines", ())
    cases = []
    for i, item in enumerate(items):
        line = lines[i] if i < len(lines) else None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise LibraryFileError(path, line, "each case needs a text")
        expected = item.get("expected")
        if expected not in EXPECTED:
            message = f"expected must be emergency or not_emergency, not {expected!r}"
            raise LibraryFileError(path, line, message)
        xfail = item.get("xfail")
        cases.append(
            EmergencyCase(
                text=item["text"],
                emergency=EXPECTED[expected],
                language=str(item.get("lang") or ""),
                note=str(item.get("note") or ""),
                xfail=str(xfail) if xfail else None,
            )
        )
    return cases


def main(argv: Sequence[str]) -> int:
    cases = read_cases(Path(argv[0]) if argv else CASES_FILE)
    rules = read_emergency(Path(argv[1]) if len(argv) > 1 else PROJECT_ROOT / "responses")
    print("\n".join(evaluate(cases, rules).lines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
