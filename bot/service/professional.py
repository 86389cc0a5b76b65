"""What a professional does with a question, shared by the CLI, the console and Telegram."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app import Services
from bot.core.types import Language
from bot.service import queue
from bot.service.queue import QueueError, Viewer
from bot.store import models as m


def signed_reply(services: Services, session: Session, question: m.Question, text: str,
                 author: m.Professional | None) -> str:
    library = services.triage.library(session)
    language = Language(question.language)
    role_name = library.role(question.role).name(language)
    signer = queue.signature_name(role_name)
    if services.settings.sign_replies_with_name and author is not None and author.display_name:
        signer = f"{author.display_name}, {signer[:1].lower() + signer[1:]}"
    template = library.texts.get(("utter_professional_reply", language.value)) or "{text}\n\n— {role_name}"
    return queue.signed(text, template, signer)


def answer(services: Services, viewer: Viewer, question_id: int, text: str) -> m.Message:
    """Claim if still open, then send the answer through the outbox to the citizen's channel."""
    if not text.strip():
        raise QueueError("the reply is empty")
    with services.sessions.begin() as session:
        question = queue.get_question(session, viewer, question_id)
        if question.status == "open":
            outcome = queue.claim(session, viewer, question_id)
            if not outcome.won:
                raise QueueError(f"{outcome.holder} has claimed this question")
        author = session.scalars(select(m.Professional).where(
            m.Professional.username == viewer.username)).first()
        body = signed_reply(services, session, question, text, author)
        return queue.reply(session, viewer, question_id, body)
