"""Emergencies nobody claims go up their role's escalation path, one step each time the minutes
run out (`EMERGENCY_ESCALATION_MINUTES`, default 5), until the admins have them.

Each step is a conditional update on the question's role and step count, so with several
instances (or a restart in the middle) a step is taken once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.core.staffing import next_up
from bot.core.types import QuestionStatus
from bot.service.knowledge import Knowledge
from bot.store import models as m
from bot.store.questions import TRIAGE


def escalate_unclaimed(
    session: Session, knowledge: Knowledge, minutes: float, now: datetime | None = None
) -> list[int]:
    """Move every emergency open and unclaimed for `minutes` (since it was opened or last moved)
    one step up; the ids of those moved."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(minutes=minutes)
    library = knowledge.library(session)
    staffing = knowledge.staffing(session)
    waiting = session.scalars(
        select(m.Question)
        .where(
            m.Question.status == QuestionStatus.OPEN.value,
            m.Question.emergency.is_(True),
            m.Question.for_admins.is_(False),
            func.coalesce(m.Question.escalated_at, m.Question.created_at) <= cutoff,
        )
        .order_by(m.Question.id)
    ).all()
    moved: list[int] = []
    for question in waiting:
        placement = next_up(question.role, question.area, library, staffing)
        done = session.execute(
            update(m.Question)
            .where(
                m.Question.id == question.id,
                m.Question.role == question.role,
                m.Question.escalations == question.escalations,
                m.Question.status == QuestionStatus.OPEN.value,
            )
            .values(
                role=placement.role,
                for_admins=placement.for_admins,
                escalations=question.escalations + 1,
                escalated_at=now,
                escalation_reason="; ".join(placement.reasons),
            )
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            continue  # claimed or moved by someone else just now
        session.add(
            m.Note(
                question_id=question.id,
                author=TRIAGE,
                text=f"{'; '.join(placement.reasons)} (unclaimed for {minutes:g} min)",
            )
        )
        moved.append(question.id)
    return moved
