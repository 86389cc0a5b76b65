"""What the triage policy does with held-out messages whose intent is known: the figures a team
cares about beyond intent accuracy.

    wrong auto-answers   a library answer sent for a message whose true intent is another one
    role accuracy        of the messages a role owns, the share that reach that role (answered by
                         its library answer, or routed to it)
    emergency recall     of the emergency examples, the share the policy treats as one
    false alarms         of the other examples, the share it treats as an emergency

`triage evaluate` prints them from k-fold parses (each example classified by a model that never
saw it) and `bench/library.py` records them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from bot.core.language import detect_language
from bot.core.library import Library
from bot.core.policy import decide
from bot.core.types import Action, Mode, Parse, Thresholds


@dataclass
class PolicyReport:
    examples: int = 0
    answered: int = 0
    wrong_answers: int = 0
    owned: int = 0  # examples whose intent a role owns
    right_role: int = 0
    emergencies: int = 0
    emergencies_caught: int = 0
    others: int = 0
    false_alarms: int = 0

    @property
    def wrong_answer_rate(self) -> float:
        """Wrong auto-answers as a share of all messages."""
        return self.wrong_answers / self.examples if self.examples else 0.0

    @property
    def role_accuracy(self) -> float:
        return self.right_role / self.owned if self.owned else 1.0

    @property
    def emergency_recall(self) -> float:
        return self.emergencies_caught / self.emergencies if self.emergencies else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.others if self.others else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            **asdict(self),
            "wrong_answer_rate": self.wrong_answer_rate,
            "role_accuracy": self.role_accuracy,
            "emergency_recall": self.emergency_recall,
            "false_alarm_rate": self.false_alarm_rate,
        }


def evaluate_policy(
    texts: Sequence[str],
    labels: Sequence[str],
    parses: Sequence[Parse],
    library: Library,
    thresholds: Thresholds,
) -> PolicyReport:
    report = PolicyReport()
    for text, label, parse in zip(texts, labels, parses, strict=True):
        decision = decide(text, detect_language(text), parse, library, thresholds, area_known=True)
        truth = library.spec(label)
        report.examples += 1
        if decision.action is Action.ANSWER:
            report.answered += 1
            report.wrong_answers += decision.answer_intent != label
        if truth is not None and truth.mode is Mode.EMERGENCY:
            report.emergencies += 1
            report.emergencies_caught += decision.action is Action.EMERGENCY
            continue
        report.others += 1
        report.false_alarms += decision.action is Action.EMERGENCY
        owner = library.owners.get(label)
        if owner is None:
            continue
        report.owned += 1
        if decision.action is Action.ANSWER:
            reached = library.owners.get(decision.answer_intent or "")
        else:
            reached = decision.role if decision.action is Action.ROUTE else None
        report.right_role += reached == owner
    return report
