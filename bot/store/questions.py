"""Questions: the one place a queue item is opened, with the due rule: emergencies at once, the
rest in their role's working time (`bot.core.calendar`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot.core.calendar import Promise
from bot.core.staffing import Placement
from bot.core.types import Action, Decision, QuestionStatus
from bot.store import models as m

TRIAGE = "triage"  # the author of the notes the service writes on a question

EMERGENCY_PRIORITY = 100
HANDOFF_PRIORITY = 1  # the citizen asked for a person after a library answer did not help
EMERGENCY_DUE = timedelta(minutes=5)  # someone must look at an emergency at once


def open_question(
    session: Session,
    citizen: m.Citizen,
    message: m.Message,
    decision: Decision,
    response_hours: float,
    default_role: str,
    priority: int = 0,
    text: str | None = None,
    flush: bool = True,
    placement: Placement | None = None,
    promised: Promise | None = None,
    now: datetime | None = None,
) -> m.Question:
    """Open a queue item for `message` (routed or an emergency). `text` is what the professional
    reads, the message's text by default; `flush=False` leaves the insert to the caller's flush
    (a batch flushes its questions together), and the message is linked once the id exists.
    `placement` says why it went up the escalation path, if it did (the question says so).
    `promised` is the due time in the role's working time (`bot.core.calendar.promise`, made at
    `now`); an emergency ignores it: it is due at once, whatever the calendar says."""
    emergency = decision.action is Action.EMERGENCY
    now = now or datetime.now(UTC)
    if emergency:
        due, out_of_hours = now + EMERGENCY_DUE, False
    elif promised is not None:
        due, out_of_hours = promised.due, promised.out_of_hours
    else:
        due, out_of_hours = now + timedelta(hours=response_hours), False
    question = m.Question(
        citizen_id=citizen.id,
        message_id=message.id,
        channel=citizen.channel,
        language=decision.language.value,
        text=message.text if text is None else text,
        intent=decision.intent,
        role=decision.role or default_role,
        area=citizen.area,
        status=QuestionStatus.OPEN.value,
        priority=EMERGENCY_PRIORITY if emergency else priority,
        emergency=emergency,
        due_at=due,
        out_of_hours=out_of_hours,
        created_at=now,
    )
    if placement is not None and placement.moved:  # in the same row: no statement more
        question.for_admins = placement.for_admins
        question.escalations, question.escalated_at = 1, now
        question.escalation_reason = "; ".join(placement.reasons)
    session.add(question)
    if flush:
        session.flush()
        message.question_id = question.id
    return question
