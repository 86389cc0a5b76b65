"""Hand-over from a Rasa assistant run on its own (`rasa shell`, Rasa's channels) to this service.

Rasa's custom actions (actions/actions.py) call these through `bot.web.rasa_api`. Each records the
citizen's message and the decision like any intake does, with Rasa's intent ranking, and returns
the texts Rasa should say. The triage policy still has the last word where safety is concerned:
our emergency rules escalate any message, and an answer that the library does not have in the
citizen's language becomes a route to a professional.

The conversation is stored under the `api` channel with sender `rasa:<sender_id>`; Rasa itself
delivers the replies, so they are stored without outbox items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app import Services
from bot.core.language import detect_language
from bot.core.policy import decide
from bot.core.replies import phrase_hours, render
from bot.core.types import Action, Channel, Decision, IntentScore, Language, Parse, QuestionStatus
from bot.service.triage import EMERGENCY_PRIORITY
from bot.store import models as m

SENDER_PREFIX = "rasa:"


class Requested(StrEnum):
    """What Rasa's rules asked for: the action that called us."""

    ANSWER = "answer"
    ROUTE = "route"
    EMERGENCY = "emergency"


@dataclass(frozen=True)
class Handover:
    sender_id: str
    text: str  # the citizen's latest message
    ranking: tuple[IntentScore, ...]  # Rasa's intent ranking, without nlu_fallback
    conversation: tuple[str, ...] = ()  # the citizen's earlier messages in this conversation
    language: Language | None = None  # Rasa's language slot: a hint for the detection
    message_id: str | None = None  # Rasa's id of the latest message: a retried action is a no-op
    model_version: str = "-"


@dataclass
class HandoverResult:
    action: str
    language: str
    intent: str | None
    question_id: int | None
    replies: list[str] = field(default_factory=list)
    duplicate: bool = False


def handle(services: Services, requested: Requested, h: Handover) -> HandoverResult:
    """Record the message, decide (honouring Rasa's rule), open a queue item when routed."""
    triage = services.triage
    with services.sessions.begin() as session:
        citizen = _citizen(session, h.sender_id)
        external_id = f"{SENDER_PREFIX}{h.message_id}" if h.message_id else None
        if external_id is not None:
            existing = session.scalars(select(m.Message).where(
                m.Message.channel == Channel.API.value, m.Message.external_id == external_id,
                m.Message.direction == "in")).first()
            if existing is not None:
                return _previous(session, existing)
        library = triage.library(session)
        # Rasa's `language` slot is what we detected last time: a hint, as a channel's would be.
        language = Language(citizen.language) if citizen.language else \
            detect_language(h.text, h.language)
        parse = Parse(ranking=h.ranking, engine="rasa", model_version=h.model_version)
        decision = _decide(requested, h.text, language, parse, library, triage.thresholds)
        message = m.Message(citizen_id=citizen.id, direction="in", channel=Channel.API.value,
                            external_id=external_id, text=h.text, language=language.value,
                            processed=True)
        session.add(message)
        session.flush()
        citizen.last_seen_at = datetime.now(UTC)
        session.add(m.DecisionRecord(
            message_id=message.id, engine="rasa", model_version=h.model_version,
            action=decision.action.value, intent=decision.intent, confidence=decision.confidence,
            role=decision.role, language=language.value,
            ranking=[[s.name, round(s.confidence, 4)] for s in decision.ranking],
            threshold=decision.thresholds.threshold,
            ambiguity_threshold=decision.thresholds.ambiguity_threshold,
            reasons=list(decision.reasons),
        ))
        question = None
        if decision.action in (Action.EMERGENCY, Action.ROUTE):
            question = _open_question(session, services, citizen, message, decision,
                                      _conversation_text(h), library)
        hours = triage.response_hours(library, decision.role)
        replies = render(decision, library, services.settings.contacts,
                         response_time=phrase_hours(hours, language),
                         extra={"question_id": question.id if question else ""})
        if decision.action is Action.ANSWER:
            replies = [r for r in replies if r.kind == "answer"]  # Rasa asks for feedback itself
        for reply in replies:
            session.add(m.Message(citizen_id=citizen.id, direction="out", channel=Channel.API.value,
                                  text=reply.text, language=language.value, kind=reply.kind,
                                  question_id=question.id if question else None, processed=True))
        result = HandoverResult(decision.action.value, language.value, decision.intent,
                                question.id if question else None, [r.text for r in replies])
    if result.question_id is not None:
        triage.publish("question.created", result.question_id)
    return result


def _decide(requested: Requested, text: str, language: Language, parse: Parse, library,  # type: ignore[no-untyped-def]
            thresholds) -> Decision:
    decision = decide(text, language, parse, library, thresholds)
    rasa_reason = f"rasa: action_{requested.value}"
    if requested is Requested.EMERGENCY and decision.action is not Action.EMERGENCY:
        role = library.spec("emergency").role if library.spec("emergency") else None
        decision = replace(decision, action=Action.EMERGENCY, role=role or library.default_role,
                           answer_intent=None, ask_area=False)
    elif requested is Requested.ROUTE and decision.action not in (Action.EMERGENCY, Action.ROUTE):
        decision = replace(decision, action=Action.ROUTE, role=library.default_role,
                           answer_intent=None, ask_area=False)
    else:
        decision = replace(decision, ask_area=False)  # Rasa does not run our area follow-up
    return replace(decision, reasons=(rasa_reason, *decision.reasons))


def _conversation_text(h: Handover) -> str:
    earlier = [t for t in h.conversation if t and t != h.text]
    return "\n".join([*earlier, h.text])


def _citizen(session: Session, sender_id: str) -> m.Citizen:
    external = f"{SENDER_PREFIX}{sender_id}"
    citizen = session.scalars(select(m.Citizen).where(
        m.Citizen.channel == Channel.API.value, m.Citizen.external_id == external)).first()
    if citizen is None:
        citizen = m.Citizen(channel=Channel.API.value, external_id=external)
        session.add(citizen)
        session.flush()
    return citizen


def _open_question(session: Session, services: Services, citizen: m.Citizen, message: m.Message,
                   decision: Decision, text: str, library) -> m.Question:  # type: ignore[no-untyped-def]
    emergency = decision.action is Action.EMERGENCY
    now = datetime.now(UTC)
    due = now + (timedelta(minutes=5) if emergency
                 else timedelta(hours=services.triage.response_hours(library, decision.role)))
    question = m.Question(
        citizen_id=citizen.id, message_id=message.id, channel=citizen.channel,
        language=decision.language.value, text=text, intent=decision.intent,
        role=decision.role or library.default_role, area=citizen.area,
        status=QuestionStatus.OPEN.value, priority=EMERGENCY_PRIORITY if emergency else 0,
        emergency=emergency, due_at=due, created_at=now,
    )
    session.add(question)
    session.flush()
    message.question_id = question.id
    return question


def _previous(session: Session, message: m.Message) -> HandoverResult:
    record = session.scalars(select(m.DecisionRecord).where(
        m.DecisionRecord.message_id == message.id)).first()
    replies: Sequence[str] = session.scalars(select(m.Message.text).where(
        m.Message.citizen_id == message.citizen_id, m.Message.direction == "out",
        m.Message.id > message.id).order_by(m.Message.id)).all()
    return HandoverResult(record.action if record else "route", message.language or "en",
                          record.intent if record else None, message.question_id,
                          list(replies), duplicate=True)
