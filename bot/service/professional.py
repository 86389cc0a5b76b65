"""What a professional does with a question, shared by the CLI, the console and Telegram."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app import Services
from bot.core.i18n import msg
from bot.core.library import fill, unknown_placeholders
from bot.core.replies import ORGANISATION_PLACEHOLDERS
from bot.core.types import Language, QuestionStatus
from bot.service import queue, reply_window
from bot.service.queue import ClaimLost, QueueError, Viewer
from bot.store import models as m


def signed_reply(
    services: Services, session: Session, question: m.Question, text: str, author: m.Professional | None
) -> str:
    library = services.triage.library(session)
    language = Language(question.language)
    role_name = library.role(question.role).name(language)
    signer = queue.signature_name(role_name)
    if services.settings.sign_replies_with_name and author is not None and author.display_name:
        signer = f"{author.display_name}, {signer[:1].lower() + signer[1:]}"
    template = library.texts.get(("utter_professional_reply", language.value)) or "{text}\n\n— {role_name}"
    return queue.signed(text, template, signer)


def answer_in(session: Session, services: Services, viewer: Viewer, question_id: int, text: str) -> m.Message:
    """Claim the question if it is still open, then send the signed answer through the outbox to
    the citizen's channel, in the caller's transaction: the one way a professional answers, from
    the console, the terminal or Telegram. Raises `ClaimLost` when a colleague has it."""
    body = preview(session, services, viewer, question_id, text)
    question = queue.get_question(session, viewer, question_id)
    if question.status == QuestionStatus.OPEN.value:
        outcome = queue.claim(session, viewer, question_id)
        if not outcome.won:
            raise ClaimLost(outcome.holder)
    return queue.reply(session, viewer, question_id, body)


def preview(session: Session, services: Services, viewer: Viewer, question_id: int, text: str) -> str:
    """The reply exactly as the citizen would read it (placeholders filled, signed), without
    sending anything; `QueueError` names what would stop it being sent."""
    question = queue.get_question(session, viewer, question_id)  # NotAllowed outside their roles
    if not text.strip():
        raise QueueError(msg("The reply is empty."))
    unknown = unknown_placeholders(text, ORGANISATION_PLACEHOLDERS)
    if unknown:
        raise QueueError(
            msg("Unknown placeholder {%(name)s}: the citizen would read it as it is.", name=unknown[0])
        )
    # a reply started from a library answer, in the citizen's language
    text = fill(text, services.settings.contacts.values(Language(question.language)))
    author = session.scalars(select(m.Professional).where(m.Professional.username == viewer.username)).first()
    body = signed_reply(services, session, question, text, author)
    citizen = session.get(m.Citizen, question.citizen_id)
    if citizen is not None:  # WhatsApp after 24 h: a template, or a refusal that says what else
        reply_window.check(services.reply_windows, citizen, question.language, body)
    return body


def answer(services: Services, viewer: Viewer, question_id: int, text: str) -> m.Message:
    """`answer_in`, in a transaction of its own."""
    with services.sessions.begin() as session:
        return answer_in(session, services, viewer, question_id, text)
