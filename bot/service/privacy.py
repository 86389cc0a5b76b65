"""A citizen's data: erase it (/forget, the right to erasure) and export it (the right of access).

Erasing keeps the citizen row (the channel needs it to confirm, and to talk again) and the
questions' bare facts for the statistics (role, intent, times); it removes every message, the
decisions, the outbox rows, the professionals' notes, the questions' text, and the copies of
their words in the library (bot/service/provenance.py: training examples, answers suggested from
replies to them, and it marks the models for retraining). Afterwards no copy stays in SQLite's
files (secure_delete and a checkpoint, `bot.store.db.scrub`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.core.conversation import CLOSED
from bot.core.types import QuestionStatus
from bot.service import provenance
from bot.service.queue import audit
from bot.store import citizens
from bot.store import models as m
from bot.store.db import scrub_after_commit

ERASED = "[erased]"
ERASE_ACTION = "privacy.erase"  # the audit log's action of every erasure (`erasures_since`)


def erase_citizen(session: Session, citizen: m.Citizen) -> dict[str, int]:
    """Erase in the caller's transaction; returns how many rows of each kind went."""
    citizen.language = citizen.area = citizen.area_label = None
    citizens.set_conversation(citizen, CLOSED)
    session.flush()
    message_ids = select(m.Message.id).where(m.Message.citizen_id == citizen.id)
    question_ids = select(m.Question.id).where(m.Question.citizen_id == citizen.id)
    copies = provenance.forget(session, message_ids, question_ids, ERASED, keep_approved=False)
    counts = copies.counts() | {
        "outbox": session.execute(
            delete(m.OutboxItem).where(m.OutboxItem.message_id.in_(message_ids))
        ).rowcount,  # type: ignore[attr-defined]
        "decisions": session.execute(
            delete(m.DecisionRecord).where(m.DecisionRecord.message_id.in_(message_ids))
        ).rowcount,  # type: ignore[attr-defined]
        "notes": session.execute(delete(m.Note).where(m.Note.question_id.in_(question_ids))).rowcount,  # type: ignore[attr-defined]
        "messages": session.execute(delete(m.Message).where(m.Message.citizen_id == citizen.id)).rowcount,  # type: ignore[attr-defined]
    }
    session.execute(
        update(m.Question)
        .where(
            m.Question.citizen_id == citizen.id,
            m.Question.status.in_([QuestionStatus.OPEN.value, QuestionStatus.CLAIMED.value]),
        )
        .values(status=QuestionStatus.CLOSED.value, close_reason="erased")
    )
    counts["questions"] = session.execute(
        update(m.Question).where(m.Question.citizen_id == citizen.id).values(text=ERASED)
    ).rowcount  # type: ignore[attr-defined]
    session.expire_all()  # bulk statements bypassed the identity map
    scrub_after_commit(session)
    return counts


def erase(sessions: sessionmaker[Session], citizen_id: int, actor: str) -> dict[str, int] | None:
    """Erase one citizen in its own transaction, audited (counts only). None when there is no
    such citizen."""
    with sessions.begin() as session:
        citizen = session.get(m.Citizen, citizen_id)
        if citizen is None:
            return None
        counts = erase_citizen(session, citizen)
        audit(session, actor, ERASE_ACTION, f"citizen:{citizen_id}", counts)
    return counts


def export_citizen(session: Session, citizen_id: int) -> dict[str, Any]:
    """Everything we hold about one citizen, as plain data (JSON-serialisable)."""
    citizen = session.get(m.Citizen, citizen_id)
    if citizen is None:
        raise LookupError(f"citizen {citizen_id} not found")
    messages = list(
        session.scalars(select(m.Message).where(m.Message.citizen_id == citizen_id).order_by(m.Message.id))
    )
    decisions = {
        d.message_id: d
        for d in session.scalars(
            select(m.DecisionRecord).where(m.DecisionRecord.message_id.in_([msg.id for msg in messages]))
        )
    }
    questions = list(
        session.scalars(select(m.Question).where(m.Question.citizen_id == citizen_id).order_by(m.Question.id))
    )

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "citizen": {
            "id": citizen.id,
            "channel": citizen.channel,
            "external_id": citizen.external_id,
            "language": citizen.language,
            "area": citizen.area,
            "area_label": citizen.area_label,
            "unreachable": citizen.unreachable,
            "created_at": iso(citizen.created_at),
            "last_seen_at": iso(citizen.last_seen_at),
        },
        "messages": [
            {
                "id": msg.id,
                "direction": msg.direction,
                "text": msg.text,
                **({"as_received": msg.raw_text} if msg.raw_text else {}),
                "language": msg.language,
                "kind": msg.kind,
                "author": msg.author,
                "feedback": msg.feedback,
                "created_at": iso(msg.created_at),
                "decision": (
                    {
                        "action": d.action,
                        "intent": d.intent,
                        "confidence": d.confidence,
                        "role": d.role,
                    }
                    if (d := decisions.get(msg.id))
                    else None
                ),
            }
            for msg in messages
        ],
        "questions": [
            {
                "id": q.id,
                "text": q.text,
                "status": q.status,
                "role": q.role,
                "area": q.area,
                "emergency": q.emergency,
                "created_at": iso(q.created_at),
                "answered_at": iso(q.answered_at),
                "closed_at": iso(q.closed_at),
            }
            for q in questions
        ],
    }


def erasures_since(session: Session, since: datetime) -> list[int]:
    """Citizens erased after `since` (the audit log): what a restored backup must erase again."""
    targets = session.scalars(
        select(m.AuditLog.target).where(m.AuditLog.action == ERASE_ACTION, m.AuditLog.created_at > since)
    )
    return sorted({int(t.split(":", 1)[1]) for t in targets if t and t.startswith("citizen:")})


def erase_again(session: Session, citizen_ids: list[int], actor: str) -> list[int]:
    """Erase each citizen that exists (a restored backup); returns those erased, audited."""
    done: list[int] = []
    for citizen_id in citizen_ids:
        citizen = session.get(m.Citizen, citizen_id)
        if citizen is not None:
            audit(session, actor, ERASE_ACTION, f"citizen:{citizen_id}", erase_citizen(session, citizen))
            done.append(citizen_id)
    return done
