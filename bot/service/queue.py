"""The professionals' queue: list, claim, reply, reassign, note and close questions.

Claims are atomic: a conditional UPDATE on (id, status=open) lets exactly one of two simultaneous
claimers win; the loser is told who has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.core.i18n import Refused, msg
from bot.core.types import Language, QuestionStatus, Reply, ReplyKind
from bot.store import models as m
from bot.store.outbox import Outgoing, enqueue


class QueueError(Refused):
    """A queue action that cannot be done; `message` says why, to show the professional."""


class NotAllowed(QueueError):
    """The professional may not see or act on this question (other role or area)."""


class ClaimLost(QueueError):
    """Someone else claimed the question first."""

    def __init__(self, holder: str | None) -> None:
        super().__init__(
            msg("%(name)s has claimed this question.", name=holder)
            if holder
            else msg("Someone else has claimed this question.")
        )
        self.holder = holder


@dataclass(frozen=True)
class ClaimOutcome:
    won: bool
    holder: str | None


CLOSE_REASONS = ("resolved", "no_reply_needed", "spam")


@dataclass(frozen=True)
class Viewer:
    """Who is looking at the queue: admins see everything."""

    username: str
    roles: frozenset[str] = frozenset()
    areas: frozenset[str] = frozenset()
    is_admin: bool = False

    def may_see(self, question: m.Question) -> bool:
        if self.is_admin:
            return True
        if question.role not in self.roles:
            return False
        return not self.areas or question.area is None or question.area in self.areas

    @classmethod
    def of(cls, pro: m.Professional) -> Viewer:
        split = lambda s: frozenset(x for x in (s or "").split(",") if x)  # noqa: E731
        return cls(pro.username, split(pro.roles), split(pro.areas), pro.is_admin)


def list_questions(
    session: Session, viewer: Viewer, statuses: Sequence[str] = ("open", "claimed"), limit: int = 200
) -> list[m.Question]:
    stmt = select(m.Question).where(m.Question.status.in_(statuses))
    if not viewer.is_admin:
        stmt = stmt.where(m.Question.role.in_(viewer.roles or {"-"}))
        if viewer.areas:
            stmt = stmt.where(m.Question.area.is_(None) | m.Question.area.in_(viewer.areas))
    stmt = stmt.order_by(
        m.Question.emergency.desc(), m.Question.priority.desc(), m.Question.due_at, m.Question.id
    ).limit(limit)
    return list(session.scalars(stmt))


def get_question(session: Session, viewer: Viewer, question_id: int) -> m.Question:
    question = session.get(m.Question, question_id)
    if question is None:
        raise QueueError(msg("Question %(id)s does not exist.", id=question_id))
    if not viewer.may_see(question):
        raise NotAllowed(msg("Question %(id)s is not for your roles or areas.", id=question_id))
    return question


@dataclass(frozen=True)
class Hidden:
    """A run of the citizen's messages the viewer may not read: they belong to other teams'
    questions (or to no question). Shown as "n earlier messages to other teams"."""

    count: int
    earlier: bool  # before the first message the viewer may read
    hidden: bool = True  # lets a template tell it from a message


def thread(
    session: Session, viewer: Viewer, question: m.Question, limit: int = 200
) -> list[m.Message | Hidden]:
    """The citizen's history as `viewer` may read it: every message for an admin; for a
    professional only the messages of questions they may see (`Viewer.may_see`), each run of the
    rest folded into one `Hidden` count. The one read path for a citizen's history."""
    messages = list(
        session.scalars(
            select(m.Message)
            .where(m.Message.citizen_id == question.citizen_id)
            .order_by(m.Message.id.desc())
            .limit(limit)
        )
    )[::-1]
    if viewer.is_admin:
        return list(messages)
    linked = {message.question_id for message in messages if message.question_id is not None}
    readable = {question.id} if viewer.may_see(question) else set()
    if linked - readable:
        readable |= {
            q.id
            for q in session.scalars(select(m.Question).where(m.Question.id.in_(linked)))
            if viewer.may_see(q)
        }
    out: list[m.Message | Hidden] = []
    seen_one = False
    for message in messages:
        if message.question_id in readable:
            out.append(message)
            seen_one = True
        elif out and isinstance(out[-1], Hidden):
            out[-1] = Hidden(out[-1].count + 1, out[-1].earlier)
        else:
            out.append(Hidden(1, not seen_one))
    return out


def hidden_label(hidden: Hidden) -> str:
    """ "3 earlier messages to other teams", for the console and the terminal."""
    plural = "s" if hidden.count != 1 else ""
    return f"{hidden.count} {'earlier' if hidden.earlier else 'later'} message{plural} to other teams"


def claim(session: Session, viewer: Viewer, question_id: int) -> ClaimOutcome:
    question = get_question(session, viewer, question_id)
    if question.status == QuestionStatus.CLAIMED.value and question.assignee == viewer.username:
        return ClaimOutcome(True, viewer.username)
    done = session.execute(
        update(m.Question)
        .where(m.Question.id == question_id, m.Question.status == QuestionStatus.OPEN.value)
        .values(status=QuestionStatus.CLAIMED.value, assignee=viewer.username, claimed_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    session.refresh(question)
    if done.rowcount == 1:  # type: ignore[attr-defined]
        audit(session, viewer.username, "claim", f"question:{question_id}")
        return ClaimOutcome(True, viewer.username)
    return ClaimOutcome(False, question.assignee)


Act = Literal["reply", "reassign", "close"]  # what the claim rule guards


def holder(question: m.Question, action: Act) -> str | None:
    """Whose question it is for `action`: the claimant while it is claimed; for a reply also
    once answered (the conversation with the citizen stays theirs)."""
    held = (
        (QuestionStatus.CLAIMED.value, QuestionStatus.ANSWERED.value)
        if action == "reply"
        else (QuestionStatus.CLAIMED.value,)
    )
    return question.assignee if question.status in held else None


def ensure_holder(question: m.Question, viewer: Viewer, action: Act) -> None:
    """The claim rule, in one place for the console, Telegram and the terminal: a claimed
    question is replied to, reassigned or closed by its claimant only. Anyone else is refused,
    an admin too: an admin first takes it over (`take_over`: logged, the claimant told)."""
    owner = holder(question, action)
    if owner and owner != viewer.username:
        raise ClaimLost(owner)


@dataclass(frozen=True)
class TakeOver:
    question_id: int
    previous: str  # the claimant who lost it
    admin: str


TAKE_OVER = "take_over"  # the audit action; its detail names the previous claimant


def take_over(session: Session, viewer: Viewer, question_id: int, reason: str) -> TakeOver:
    """An admin makes a colleague's claimed (or answered) question their own: the one way past
    the claim rule. Atomic (only if the claimant is still the one seen), noted on the question,
    audited; the caller tells the claimant (console notice, Telegram push)."""
    if not viewer.is_admin:
        raise NotAllowed(msg("Only an admin can take over a colleague's question."))
    question = get_question(session, viewer, question_id)
    previous = holder(question, "reply")
    if not previous or previous == viewer.username:
        raise QueueError(
            msg(
                "Question %(id)s is not claimed by a colleague: there is nothing to take over.",
                id=question_id,
            )
        )
    if not reason.strip():
        raise QueueError(msg("Say why you take it over: the claimant reads it."))
    now = datetime.now(UTC)
    done = session.execute(
        update(m.Question)
        .where(m.Question.id == question_id, m.Question.assignee == previous)
        .values(assignee=viewer.username, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(question)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise QueueError(
            msg("Question %(id)s changed hands meanwhile: reload the page and try again.", id=question_id)
        )
    text = f"Taken over from {previous} by {viewer.username}: {reason.strip()}"
    session.add(m.Note(question_id=question_id, author=viewer.username, text=text))
    audit(
        session,
        viewer.username,
        TAKE_OVER,
        f"question:{question_id}",
        {"from": previous, "reason": reason.strip()},
    )
    return TakeOver(question_id, previous, viewer.username)


@dataclass(frozen=True)
class TakenFrom:
    """A take-over as the audit log keeps it."""

    question_id: int
    previous: str
    admin: str
    reason: str
    at: datetime

    @classmethod
    def of(cls, row: m.AuditLog) -> TakenFrom:
        detail = row.detail or {}
        qid = int((row.target or "question:0").split(":")[1])
        return cls(qid, str(detail.get("from", "")), row.actor, str(detail.get("reason", "")), row.created_at)


def taken_from(session: Session, username: str, days: int = 7) -> list[TakenFrom]:
    """The take-overs of `username`'s questions in the last `days`: the console tells them."""
    since = datetime.now(UTC) - timedelta(days=days)
    rows = session.scalars(
        select(m.AuditLog)
        .where(m.AuditLog.action == TAKE_OVER, m.AuditLog.created_at >= since)
        .order_by(m.AuditLog.id.desc())
    )
    return [t for t in map(TakenFrom.of, rows) if t.previous == username]


def last_take_over(session: Session, question_id: int) -> TakenFrom | None:
    row = session.scalars(
        select(m.AuditLog)
        .where(m.AuditLog.action == TAKE_OVER, m.AuditLog.target == f"question:{question_id}")
        .order_by(m.AuditLog.id.desc())
        .limit(1)
    ).first()
    return TakenFrom.of(row) if row is not None else None


def reply(session: Session, viewer: Viewer, question_id: int, text: str) -> m.Message:
    """Send a professional's (signed) answer to the citizen, on the channel the question came from."""
    question = get_question(session, viewer, question_id)
    body = text.strip()
    if not body:
        raise QueueError(msg("The reply is empty."))
    if question.status == QuestionStatus.CLOSED.value:
        raise QueueError(msg("The question is closed."))
    ensure_holder(question, viewer, "reply")
    citizen = session.get(m.Citizen, question.citizen_id)
    assert citizen is not None
    reply = Reply(body, kind=ReplyKind.PROFESSIONAL)
    outgoing = Outgoing(citizen, [reply], Language(question.language), question.id, viewer.username)
    out_id = enqueue(session, [outgoing])[0][0]
    out = session.get(m.Message, out_id)
    assert out is not None
    now = datetime.now(UTC)
    question.status = QuestionStatus.ANSWERED.value
    question.assignee = question.assignee or viewer.username
    question.claimed_at = question.claimed_at or now
    question.answered_at = question.answered_at or now
    audit(session, viewer.username, "reply", f"question:{question_id}", {"message_id": out.id})
    return out


def reassign(
    session: Session, viewer: Viewer, question_id: int, role: str, area: str | None, note: str
) -> m.Question:
    question = get_question(session, viewer, question_id)
    if session.get(m.Role, role) is None:
        raise QueueError(msg("Unknown role %(role)s.", role=role))
    if area and session.get(m.Area, area) is None:
        raise QueueError(msg("Unknown area %(area)s.", area=area))
    ensure_holder(question, viewer, "reassign")
    moved = (role, area or question.area) != (question.role, question.area)
    question.role, question.area = role, area or question.area
    if moved or question.status != QuestionStatus.CLAIMED.value:  # same team: the claim stays
        question.status, question.assignee, question.claimed_at = QuestionStatus.OPEN.value, None, None
    session.add(
        m.Note(
            question_id=question.id,
            author=viewer.username,
            text=f"Reassigned to {role}{' / ' + area if area else ''}: {note}".strip(),
        )
    )
    audit(session, viewer.username, "reassign", f"question:{question_id}", {"role": role, "area": area})
    return question


def add_note(session: Session, viewer: Viewer, question_id: int, text: str) -> m.Note:
    question = get_question(session, viewer, question_id)
    if not text.strip():
        raise QueueError(msg("The note is empty."))
    note = m.Note(question_id=question.id, author=viewer.username, text=text.strip())
    session.add(note)
    audit(session, viewer.username, "note", f"question:{question_id}")
    return note


def close(session: Session, viewer: Viewer, question_id: int, reason: str) -> m.Question:
    if reason not in CLOSE_REASONS:
        raise QueueError(msg("Reason must be one of %(reasons)s.", reasons=", ".join(CLOSE_REASONS)))
    question = get_question(session, viewer, question_id)
    ensure_holder(question, viewer, "close")
    question.status, question.close_reason = QuestionStatus.CLOSED.value, reason
    question.closed_at = datetime.now(UTC)
    audit(session, viewer.username, "close", f"question:{question_id}", {"reason": reason})
    return question


def audit(
    session: Session, actor: str, action: str, target: str | None = None, detail: dict | None = None
) -> None:  # type: ignore[type-arg]
    session.add(m.AuditLog(actor=actor, action=action, target=target, detail=detail))


_ARTICLES = ("a ", "an ", "the ", "een ", "de ", "het ")


def signature_name(role_name: str) -> str:
    """ "a fire prevention officer" -> "Fire prevention officer", for signing a reply."""
    name = role_name.strip()
    for article in _ARTICLES:
        if name.lower().startswith(article):
            name = name[len(article) :]
            break
    return name[:1].upper() + name[1:]


def signed(text: str, template: str, signer: str) -> str:
    """The citizen sees the answer signed with the role (a personal name only if configured)."""
    return template.replace("{text}", text.strip()).replace("{role_name}", signer)
