"""The service side of the conversation core (`bot.core.conversation`): applying a step's effects
to the database, inside the caller's transaction.

The core says what happens ("record this feedback", "open a question for that message", "say
this"); this module does it with the repositories, so every channel gets the same behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.core import conversation as core
from bot.core.library import Library
from bot.core.replies import render, say
from bot.core.staffing import Placement
from bot.core.types import Action, Decision, IntentScore, Language, Reply
from bot.service.knowledge import Knowledge
from bot.service.privacy import ERASE_ACTION, erase_citizen
from bot.service.queue import audit
from bot.store import citizens, decisions, questions
from bot.store import models as m

HANDOFF_REASON = "library answer did not help: citizen asked for a person"


@dataclass
class Outcome:
    """What applying a step produced: replies to send, and a question it opened."""

    replies: list[Reply] = field(default_factory=list)
    question: m.Question | None = None


class Conversations:
    def __init__(self, settings: Settings, knowledge: Knowledge) -> None:
        self.settings = settings
        self.knowledge = knowledge

    def apply(
        self, session: Session, citizen: m.Citizen, effects: Sequence[core.Effect], language: Language
    ) -> Outcome:
        """Carry out a step's effects (all but `Classify`, which the caller runs) in order."""
        library = self.knowledge.library(session)
        outcome = Outcome()
        for effect in effects:
            if isinstance(effect, core.Say):
                outcome.replies.append(say(effect, library, language, self.settings.contacts))
            elif isinstance(effect, core.RecordFeedback):
                answered = session.get(m.Message, effect.message_id)
                if answered is not None and answered.citizen_id == citizen.id:
                    answered.feedback = "yes" if effect.helpful else "no"
            elif isinstance(effect, core.HandOff):
                question, replies = self._hand_off(session, citizen, effect.message_id, library, language)
                outcome.question = question or outcome.question
                outcome.replies.extend(replies)
            elif isinstance(effect, core.SetArea):
                self._set_area(session, citizen, effect)
            elif isinstance(effect, core.SetLanguage):
                citizen.language = effect.language.value
            elif isinstance(effect, core.Erase):
                counts = erase_citizen(session, citizen)
                # recorded like a staff erasure, so `triage restore` can apply it again
                audit(session, "citizen", ERASE_ACTION, f"citizen:{citizen.id}", counts)
        return outcome

    def _hand_off(
        self, session: Session, citizen: m.Citizen, message_id: int, library: Library, language: Language
    ) -> tuple[m.Question | None, list[Reply]]:
        """The citizen wants a person after a library answer: a question for the answered
        message, to the role of its intent, a little ahead of the queue."""
        original = session.get(m.Message, message_id)
        if original is None or original.citizen_id != citizen.id:
            return None, []
        record = decisions.of_message(session, message_id)
        intent = record.intent if record else None
        spec = library.spec(intent)
        role = (spec.role if spec and spec.role else None) or library.default_role
        decision = Decision(
            action=Action.ROUTE,
            language=language,
            intent=intent,
            confidence=record.confidence if record else 0.0,
            role=role,
            ranking=tuple(IntentScore(n, c) for n, c in (record.ranking if record else [])),
            reasons=(HANDOFF_REASON,),
            ask_area=library.role(role).area_bound and citizen.area_label is None,
            thresholds=self.knowledge.thresholds,
        )
        decision, placement = self.staffed(session, library, decision, citizen)
        promised = self.knowledge.promise(library, decision.role)
        question = questions.open_question(
            session,
            citizen,
            original,
            decision,
            promised.hours,
            library.default_role,
            priority=questions.HANDOFF_PRIORITY,
            placement=placement,
            promised=promised.made,
            now=promised.now,
        )
        citizens.set_conversation(citizen, core.after_decision(decision, original.id, question.id))
        replies = render(
            decision,
            library,
            self.settings.contacts,
            promised.phrased(language),
            question_id=question.id,
            for_admins=placement.for_admins,
        )
        return question, replies

    def staffed(
        self, session: Session, library: Library, decision: Decision, citizen: m.Citizen
    ) -> tuple[Decision, Placement]:
        """The decision with the role someone is on duty for (up the escalation path), the
        reasons recorded; and the placement, for the question to say why."""
        role = decision.role or library.default_role
        placement = self.knowledge.place(session, library, role, citizen.area)
        if not placement.moved:
            return decision, placement
        ask_area = library.role(placement.role).area_bound and citizen.area_label is None
        moved = replace(
            decision,
            role=placement.role,
            ask_area=ask_area and decision.action is Action.ROUTE,
            reasons=(*decision.reasons, *placement.reasons),
        )
        return moved, placement

    @staticmethod
    def _set_area(session: Session, citizen: m.Citizen, effect: core.SetArea) -> None:
        citizen.area_label, citizen.area = effect.label, effect.area
        if effect.question_id is None:
            return
        question = session.get(m.Question, effect.question_id)
        if question is not None and question.citizen_id == citizen.id and question.area is None:
            question.area = effect.area
