"""The safety net around a library answer: lines it must keep, and whether the other language's
answer is still in step with it.

A required line (the "call {emergency_number} from outside" line) is stored per answer (key and
language). A draft that drops one is flagged on the answer page and is approved only with an
explicit override (`library_admin.approve(..., override=True)`, audited). An answer that mentions
{emergency_number} keeps it even without a stored line. Functions take a session, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.i18n import Refused, msg
from bot.service.queue import audit
from bot.store import models as m

EMERGENCY_PLACEHOLDER = "{emergency_number}"
OTHER = {"en": "nl", "nl": "en"}


class RequiredLineError(Refused, ValueError):
    """A required line that cannot be added or removed; `message` says why, to show the admin."""


def _plain(text: str) -> str:
    return " ".join(text.split()).casefold()


def required_lines(session: Session, key: str, language: str) -> list[m.RequiredLine]:
    return list(
        session.scalars(
            select(m.RequiredLine)
            .where(m.RequiredLine.key == key, m.RequiredLine.language == language)
            .order_by(m.RequiredLine.id)
        )
    )


def add_required_line(session: Session, actor: str, key: str, language: str, text: str) -> m.RequiredLine:
    line = " ".join(text.split())
    if not line:
        raise RequiredLineError(msg("Choose or write the line the answer must keep."))
    for existing in required_lines(session, key, language):
        if _plain(existing.text) == _plain(line):
            return existing
    row = m.RequiredLine(key=key, language=language, text=line, added_by=actor)
    session.add(row)
    session.flush()
    audit(session, actor, "answer.require_line", f"answer:{key}/{language}", {"text": line})
    return row


def remove_required_line(session: Session, actor: str, line_id: int) -> m.RequiredLine:
    row = session.get(m.RequiredLine, line_id)
    if row is None:
        raise RequiredLineError(msg("Required line %(id)s does not exist.", id=line_id))
    audit(session, actor, "answer.unrequire_line", f"answer:{row.key}/{row.language}", {"text": row.text})
    session.delete(row)
    session.flush()
    return row


def missing_lines(text: str, required: list[str], live: str | None) -> list[str]:
    """The required lines `text` drops (whitespace and case aside); the emergency number too when
    the live answer has it and `text` does not."""
    plain = _plain(text)
    missing = [line for line in required if _plain(line) not in plain]
    if live and EMERGENCY_PLACEHOLDER in live and EMERGENCY_PLACEHOLDER not in text:
        missing.append(EMERGENCY_PLACEHOLDER)
    return missing


def missing_required(session: Session, answer: m.Answer, live: m.Answer | None) -> list[str]:
    lines = [r.text for r in required_lines(session, answer.key, answer.language)]
    return missing_lines(answer.text, lines, live.text if live is not None else None)


@dataclass(frozen=True)
class OutOfStep:
    """This language's answer was last reviewed before the other language's answer changed."""

    language: str
    other: m.Answer  # the other language's newer approved version


def _approved(session: Session, key: str, language: str) -> m.Answer | None:
    return session.scalars(
        select(m.Answer)
        .where(m.Answer.key == key, m.Answer.language == language, m.Answer.status == "approved")
        .order_by(m.Answer.version.desc())
    ).first()


def _reviewed_at(answer: m.Answer) -> datetime:
    moments = [t for t in (answer.approved_at, answer.in_step_at, answer.created_at) if t is not None]
    return max(moments) if moments else datetime.min.replace(tzinfo=UTC)


def out_of_step(session: Session, key: str, language: str) -> OutOfStep | None:
    """Flagged when the other language's approved answer changed after this one was approved
    (or last confirmed in step)."""
    mine = _approved(session, key, language)
    other = _approved(session, key, OTHER[language])
    if mine is None or other is None or other.approved_at is None:
        return None
    return OutOfStep(language, other) if other.approved_at > _reviewed_at(mine) else None


def mark_in_step(session: Session, actor: str, key: str, language: str) -> m.Answer:
    """An admin read both and this language's answer says the same: the flag goes."""
    mine = _approved(session, key, language)
    if mine is None:
        raise RequiredLineError(msg("Nothing approved in this language yet: write a version first."))
    mine.in_step_at = datetime.now(UTC)
    audit(session, actor, "answer.in_step", f"answer:{key}/{language}", {"version": mine.version})
    return mine
