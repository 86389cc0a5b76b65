"""What professionals do from Telegram: link, list, claim, reassign, close, answer by reply.

Synchronous (the handlers use `asyncio.to_thread`); each state change is one transaction that
also stores the update as processed, so a redelivered update never answers a citizen twice.
The queue rules (who may see what, atomic claims) are `bot.service.queue`'s.

Every text a professional reads here (cards, buttons, confirmations) is a library text
(responses/telegram.yml, English and Dutch) in the professional's own language: the one they chose
on the console's Account page, else the organisation's default for professionals
(TELEGRAM_STAFF_LANGUAGE). A service's refusal is translated with the console's catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.channels.telegram.context import Deps
from bot.core.calendar import in_last_part
from bot.core.i18n import Refused
from bot.core.library import Library
from bot.core.replies import phrase_hours
from bot.core.types import Language, QuestionStatus
from bot.service import linking, professional, queue
from bot.service.queue import ClaimLost, QueueError, Viewer
from bot.store import models as m
from bot.web.i18n import translations

CARD_KEY = "telegram:card:{chat}:{message}"  # channel_state: a pushed message -> its question
CARD_DAYS = 30


@dataclass(frozen=True)
class Card:
    """A question as a professional sees it on the phone."""

    question_id: int
    text: str
    buttons: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Note:
    """A line above a pushed card (a reminder, an escalation): a library text and its values,
    written in each reader's language ({role_name} is the question's role, in that language)."""

    key: str
    values: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What to show the professional after an action; `card` replaces the pressed message."""

    text: str | None = None
    card: Card | None = None
    event: str | None = None  # published after the commit
    question_id: int | None = None


def professional_for(session: Session, chat_id: str) -> m.Professional | None:
    return session.scalars(
        select(m.Professional).where(
            m.Professional.telegram_chat_id == chat_id, m.Professional.active.is_(True)
        )
    ).first()


def language_of(deps: Deps, pro: m.Professional | None) -> Language:
    """The professional's own language (the console's Account page), else the organisation's
    default for professionals (TELEGRAM_STAFF_LANGUAGE); an unlinked chat gets the default."""
    if pro is not None and pro.language in tuple(Language):
        return Language(pro.language)
    return deps.settings.staff_language


def refusal(deps: Deps, library: Library, exc: Refused, lang: Language) -> str:
    """A service's refusal (`bot.core.i18n.Refused`) as the professional reads it."""
    return deps.text(
        library, "utter_tg_action_failed", lang, reason=exc.message.text(translations(lang.value))
    )


def is_professional(deps: Deps, chat_id: str) -> bool:
    with deps.services.sessions() as session:
        return professional_for(session, chat_id) is not None


def card(
    deps: Deps,
    session: Session,
    question: m.Question,
    language: Language | None = None,
    note: Note | None = None,
) -> Card:
    """The question's card in `language` (the organisation's default when not given)."""
    lang = language or deps.settings.staff_language
    library = deps.services.triage.library(session)
    area = session.get(m.Area, question.area) if question.area else None
    status_key = f"utter_tg_status_{question.status}"
    reason = question.close_reason or ""
    status = deps.text(
        library,
        status_key,
        lang,
        username=question.assignee or "",
        reason=deps.text(library, f"utter_tg_reason_{reason}", lang).lower()
        if reason in queue.CLOSE_REASONS
        else reason,
    )
    hours_left = max(0.0, (question.due_at - datetime.now(UTC)).total_seconds() / 3600)
    key = "utter_tg_emergency_card" if question.emergency else "utter_tg_question_card"
    body = deps.text(
        library,
        key,
        lang,
        question_id=question.id,
        role_name=library.role(question.role).name(lang),
        area=f" · {area.name}" if area else (f" · {question.area}" if question.area else ""),
        due=phrase_hours(hours_left, lang),
        status=status,
        text=question.text,
    )
    label = lambda k: deps.text(library, f"utter_tg_button_{k}", lang)  # noqa: E731
    qid = question.id
    buttons: list[tuple[str, str]] = []
    if question.status == QuestionStatus.OPEN.value:
        buttons.append((label("claim"), f"pq:c:{qid}"))
    if question.status in (QuestionStatus.OPEN.value, QuestionStatus.CLAIMED.value):
        buttons.append((label("reassign"), f"pq:r:{qid}"))
    if question.status != QuestionStatus.CLOSED.value:
        buttons.append((label("close"), f"pq:x:{qid}"))
    role_name = library.role(question.role).name(lang)
    prefix = deps.text(library, note.key, lang, role_name=role_name, **note.values) if note else ""
    return Card(qid, f"{prefix}\n\n{body}" if prefix else body, tuple(buttons))


def remember_card(deps: Deps, chat_id: str, message_ids: Sequence[int], question_id: int) -> None:
    """Link the messages a card went out as (one, or each part of a card over 4,096 characters)
    to its question: a professional's Telegram reply to any of them answers that question."""
    with deps.services.sessions.begin() as session:
        for message_id in message_ids:
            key = CARD_KEY.format(chat=chat_id, message=message_id)
            state = session.get(m.ChannelState, key)
            if state is None:
                session.add(m.ChannelState(key=key, value=str(question_id)))
            else:
                state.value = str(question_id)
        cutoff = datetime.now(UTC) - timedelta(days=CARD_DAYS)
        session.execute(
            delete(m.ChannelState).where(
                m.ChannelState.key.like("telegram:card:%"), m.ChannelState.updated_at < cutoff
            )
        )


def _card_question(session: Session, chat_id: str, message_id: int) -> int | None:
    state = session.get(m.ChannelState, CARD_KEY.format(chat=chat_id, message=message_id))
    return int(state.value) if state else None


def link(deps: Deps, chat_id: str, code: str, update_id: int) -> str:
    lang = deps.settings.staff_language
    with deps.services.sessions.begin() as session:
        library = deps.services.triage.library(session)
        if not code.strip():
            return deps.text(library, "utter_tg_link_usage", lang)
        try:
            pro = linking.redeem(session, code, chat_id)
        except linking.LinkError:
            deps.ledger.record(session, update_id)
            return deps.text(library, "utter_tg_link_failed", lang)
        lang = language_of(deps, pro)
        roles = ", ".join(library.role(r).name(lang) for r in Viewer.of(pro).roles) or "-"
        deps.ledger.record(session, update_id)
        return deps.text(library, "utter_tg_linked", lang, username=pro.username, roles=roles)


def help_text(deps: Deps, chat_id: str) -> str:
    with deps.services.sessions() as session:
        pro = professional_for(session, chat_id)
        library = deps.services.triage.library(session)
        return deps.text(
            library,
            "utter_tg_pro_help",
            language_of(deps, pro),
            username=pro.username if pro else "",
        )


def open_cards(deps: Deps, chat_id: str, limit: int = 10) -> tuple[str, list[Card]]:
    with deps.services.sessions() as session:
        pro = professional_for(session, chat_id)
        library = deps.services.triage.library(session)
        lang = language_of(deps, pro)
        if pro is None:
            return deps.text(library, "utter_tg_queue_empty", lang), []
        questions = queue.list_questions(session, Viewer.of(pro))
        if not questions:
            return deps.text(library, "utter_tg_queue_empty", lang), []
        header = deps.text(
            library,
            "utter_tg_queue_header",
            lang,
            count=len(questions),
            shown=min(limit, len(questions)),
        )
        return header, [card(deps, session, q, lang) for q in questions[:limit]]


def act(deps: Deps, chat_id: str, data: str, update_id: int) -> Outcome:
    """A card's button: pq:c (claim), pq:r / pq:rr:<role> (reassign), pq:x / pq:xx:<reason>."""
    parts = data.split(":")
    if len(parts) < 3 or not parts[2].isdigit():
        return Outcome()
    verb, qid, arg = parts[1], int(parts[2]), (parts[3] if len(parts) > 3 else "")
    with deps.services.sessions.begin() as session:
        pro = professional_for(session, chat_id)
        library = deps.services.triage.library(session)
        lang = language_of(deps, pro)
        if pro is None:
            return Outcome(text=deps.text(library, "utter_tg_link_usage", lang))
        viewer = Viewer.of(pro)
        try:
            question = queue.get_question(session, viewer, qid)
            event = None
            if verb == "c":
                outcome = queue.claim(session, viewer, qid)
                if not outcome.won:
                    return Outcome(
                        text=deps.text(library, "utter_tg_claim_lost", lang, username=outcome.holder or "?"),
                        card=card(deps, session, question, lang),
                    )
                event = "question.claimed"
            elif verb == "r":
                roles = [
                    (library.role(slug).name(lang), f"pq:rr:{qid}:{slug}")
                    for slug in sorted(library.roles)
                    if slug != question.role
                ]
                prompt = deps.text(library, "utter_tg_choose_role", lang, question_id=qid)
                base = card(deps, session, question, lang)
                return Outcome(card=Card(qid, f"{base.text}\n\n{prompt}", tuple(roles)))
            elif verb == "rr":
                queue.reassign(session, viewer, qid, arg, None, "via Telegram")
                event = "question.reassigned"
            elif verb == "x":
                reasons = [
                    (deps.text(library, f"utter_tg_reason_{r}", lang), f"pq:xx:{qid}:{r}")
                    for r in queue.CLOSE_REASONS
                ]
                prompt = deps.text(library, "utter_tg_choose_reason", lang, question_id=qid)
                base = card(deps, session, question, lang)
                return Outcome(card=Card(qid, f"{base.text}\n\n{prompt}", tuple(reasons)))
            elif verb == "xx":
                queue.close(session, viewer, qid, arg)
                event = "question.closed"
            else:
                return Outcome()
        except QueueError as exc:
            return Outcome(text=refusal(deps, library, exc, lang))
        session.flush()
        session.refresh(question)
        result = Outcome(card=card(deps, session, question, lang), event=event, question_id=qid)
        deps.ledger.record(session, update_id)
        return result


def answer(deps: Deps, chat_id: str, replied_to: int, text: str, update_id: int) -> Outcome:
    """A Telegram reply to a question's message: the answer goes to the citizen, signed with
    the role, on the citizen's own channel (claimed first if it was still open)."""
    with deps.services.sessions.begin() as session:
        library = deps.services.triage.library(session)
        pro = professional_for(session, chat_id)
        lang = language_of(deps, pro)
        qid = _card_question(session, chat_id, replied_to)
        if pro is None or qid is None:
            return Outcome(text=deps.text(library, "utter_tg_unknown_question", lang))
        try:
            out = professional.answer_in(session, deps.services, Viewer.of(pro), qid, text)
        except ClaimLost as exc:
            return Outcome(text=deps.text(library, "utter_tg_claim_lost", lang, username=exc.holder or "?"))
        except QueueError as exc:
            return Outcome(text=refusal(deps, library, exc, lang))
        citizen = session.get(m.Citizen, out.citizen_id)
        key = (
            "utter_tg_citizen_unreachable"
            if citizen is None or citizen.unreachable
            else "utter_tg_answer_sent"
        )
        deps.ledger.record(session, update_id)
        return Outcome(
            text=deps.text(library, key, lang, question_id=qid),
            event="question.answered",
            question_id=qid,
        )


def targets(deps: Deps, question_id: int) -> list[tuple[str, Language]]:
    """Linked professionals to push a question to, with their language: its role (and area,
    except emergencies); the admins too when nobody on the escalation path is on duty."""
    with deps.services.sessions() as session:
        question = session.get(m.Question, question_id)
        if question is None:
            return []
        chats: list[tuple[str, Language]] = []
        for pro in session.scalars(
            select(m.Professional).where(
                m.Professional.telegram_chat_id.is_not(None), m.Professional.active.is_(True)
            )
        ):
            viewer = Viewer.of(pro)
            if question.for_admins and pro.is_admin:
                chats.append((pro.telegram_chat_id or "", language_of(deps, pro)))
                continue
            if question.role not in viewer.roles:
                continue
            if question.emergency or viewer.may_see(question):
                chats.append((pro.telegram_chat_id or "", language_of(deps, pro)))
        return chats


def escalation_note(deps: Deps, question_id: int) -> Note:
    minutes = f"{deps.services.settings.emergency_escalation_minutes:g}"
    return Note("utter_tg_escalated", {"question_id": question_id, "minutes": minutes})


def take_over_notice(deps: Deps, question_id: int) -> tuple[str, str] | None:
    """(chat, text) telling the previous claimant that an admin took the question over."""
    with deps.services.sessions() as session:
        taken = queue.last_take_over(session, question_id)
        if taken is None:
            return None
        pro = session.scalars(select(m.Professional).where(m.Professional.username == taken.previous)).first()
        if pro is None or not pro.telegram_chat_id:
            return None
        library = deps.services.triage.library(session)
        text = deps.text(
            library,
            "utter_tg_taken_over",
            language_of(deps, pro),
            admin=taken.admin,
            question_id=question_id,
            reason=taken.reason,
        )
        return pro.telegram_chat_id, text


def push_cards(
    deps: Deps, question_id: int, languages: set[Language], note: Note | None = None
) -> dict[Language, Card]:
    """The question's card in each of `languages` (its readers'), under `note` if any."""
    with deps.services.sessions() as session:
        question = session.get(m.Question, question_id)
        if question is None:
            return {}
        return {lang: card(deps, session, question, lang, note) for lang in languages}


def due_for_reminder(deps: Deps) -> list[tuple[int, Note]]:
    """Open, unclaimed questions in the last part of their promised working time (their role's
    calendar), each reminded once
    (a conditional update, so two instances never both remind). Returns (id, reminder note)."""
    now = datetime.now(UTC)
    fraction = deps.settings.reminder_fraction
    found: list[tuple[int, Note]] = []
    with deps.services.sessions.begin() as session:
        library = deps.services.triage.library(session)
        candidates = session.scalars(
            select(m.Question).where(
                m.Question.status == QuestionStatus.OPEN.value,
                m.Question.reminded.is_(False),
                m.Question.emergency.is_(False),
            )
        )
        for question in candidates:
            calendar = library.role(question.role).calendar  # time left counts working time
            if not in_last_part(calendar, question.created_at, question.due_at, now, fraction):
                continue
            done = session.execute(
                update(m.Question)
                .where(m.Question.id == question.id, m.Question.reminded.is_(False))
                .values(reminded=True)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                continue
            minutes = max(0, round((question.due_at - now).total_seconds() / 60))
            found.append(
                (
                    question.id,
                    Note("utter_reminder_unclaimed", {"question_id": question.id, "minutes": minutes}),
                )
            )
    return found


def unlink(deps: Deps, chat_id: str) -> None:
    with deps.services.sessions.begin() as session:
        linking.unlink(session, chat_id)
