"""Retention: citizens' words and identities do not outlive `settings.retention_days`.

Rows that feed the statistics are anonymised, not deleted: a message keeps its direction, channel,
language, kind, times and its decision row (intent, action, confidence; decisions hold no text), its
text is blanked; a question keeps role, area, intent, status and its timing fields, its text is
blanked; the professionals' notes on it are deleted; an outbox row loses its payload and recipient;
a citizen idle for the whole period loses its channel identity and postcode. Work still in progress
is left alone until it is done: an open or claimed question keeps its messages and its citizen (a
professional still has to answer them), and so does a citizen with a reply still to be sent.
Staff login attempts (usernames, addresses) older than the period are deleted. Copies of expired
words in the library go too (bot/service/provenance.py): training examples taught from an expired
message are deleted and the models marked for retraining; answer drafts suggested from a reply to
an expired question are blanked; an approved answer in use stays, as the organisation's reviewed
text, without its link to the question. Afterwards SQLite's files hold no copy (`bot.store.db.scrub`).

Idempotent: a second run in the same instant changes nothing. Runs from the CLI
(`triage privacy purge`) and hourly in `triage serve` (bot/service/retention_part.py).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, and_, delete, exists, not_, select, update
from sqlalchemy.orm import Session

from bot.core.conversation import CLOSED
from bot.core.types import OutboxStatus, QuestionStatus
from bot.service import provenance
from bot.store import citizens
from bot.store import models as m
from bot.store.db import scrub_after_commit

log = logging.getLogger(__name__)

EXPIRED = "[expired]"
EXPIRED_PREFIX = "expired:"
OPEN = (QuestionStatus.OPEN.value, QuestionStatus.CLAIMED.value)
IN_FLIGHT = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    messages: int = 0
    questions: int = 0
    notes: int = 0
    outbox: int = 0
    citizens: int = 0
    login_attempts: int = 0
    examples: int = 0
    answers: int = 0

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if k != "cutoff"}


def _busy_citizens() -> Select[tuple[int]]:
    """Citizens with an open question or a reply not yet sent: kept until that work is done."""
    open_q = select(m.Question.citizen_id).where(m.Question.status.in_(OPEN))
    in_flight = (select(m.Message.citizen_id)
                 .join(m.OutboxItem, m.OutboxItem.message_id == m.Message.id)
                 .where(m.OutboxItem.status.in_(IN_FLIGHT)))
    return open_q.union(in_flight)  # type: ignore[return-value]


def purge(session: Session, retention_days: int, now: datetime | None = None) -> PurgeReport:
    """Anonymise what is older than the period, in the caller's transaction."""
    if retention_days <= 0:
        raise ValueError("retention_days must be positive")
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    busy = _busy_citizens()
    open_question = exists().where(m.Question.id == m.Message.question_id, m.Question.status.in_(OPEN))

    expired_messages = select(m.Message.id).where(
        m.Message.created_at < cutoff, not_(open_question))
    old_questions = and_(m.Question.created_at < cutoff, m.Question.status.not_in(OPEN))
    copies = provenance.forget(session, expired_messages, select(m.Question.id).where(old_questions),
                               EXPIRED, keep_approved=True)
    outbox = session.execute(
        update(m.OutboxItem)
        .where(m.OutboxItem.message_id.in_(expired_messages),
               m.OutboxItem.status.not_in(IN_FLIGHT), m.OutboxItem.recipient != EXPIRED)
        .values(recipient=EXPIRED, payload={"text": "", "kind": "text", "buttons": []}, last_error=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    messages = session.execute(
        update(m.Message)
        .where(m.Message.created_at < cutoff, not_(open_question), m.Message.text != EXPIRED)
        .values(text=EXPIRED, raw_text=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]

    notes = session.execute(
        delete(m.Note).where(m.Note.question_id.in_(select(m.Question.id).where(old_questions)))
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    questions = session.execute(
        update(m.Question).where(old_questions, m.Question.text != EXPIRED).values(text=EXPIRED)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]

    idle_citizens = 0
    idle = list(session.scalars(
        select(m.Citizen).where(m.Citizen.last_seen_at < cutoff, m.Citizen.id.not_in(busy),
                                not_(m.Citizen.external_id.startswith(EXPIRED_PREFIX)))))
    for citizen in idle:  # one by one: each gets its own unique placeholder identity
        citizen.external_id = f"{EXPIRED_PREFIX}{citizen.id}"
        citizen.area_label = None
        citizens.set_conversation(citizen, CLOSED)
        idle_citizens += 1
    attempts = session.execute(
        delete(m.LoginAttempt).where(m.LoginAttempt.created_at < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.flush()
    session.expire_all()  # bulk statements bypassed the identity map
    report = PurgeReport(cutoff, messages, questions, notes, outbox, idle_citizens, attempts,
                         copies.examples, copies.answers)
    if any(report.counts().values()):
        scrub_after_commit(session)
    return report


def run(sessions, retention_days: int, now: datetime | None = None) -> PurgeReport:  # type: ignore[no-untyped-def]
    """One purge in its own transaction; logs counts only (never content)."""
    with sessions.begin() as session:
        report = purge(session, retention_days, now)
    if any(report.counts().values()):
        log.info("retention purge (older than %s): %s", report.cutoff.date(), report.counts())
    return report
