"""What the citizens' commands and buttons change, each in one transaction together with the
update's processed mark (so a redelivered update changes nothing twice). Synchronous: the
handlers run these with `asyncio.to_thread`.

Replies go into the outbox through the intake service's enqueue, like every reply to a citizen.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.channels.telegram.context import Deps
from bot.core.conversation import Pending, YesNo, read_area, read_yes_no
from bot.core.types import Button, Channel, Language, Reply
from bot.service.privacy import erase_citizen
from bot.store import models as m


def _citizen(deps: Deps, session: Session, chat_id: str) -> m.Citizen:
    # The intake service's get-or-create and enqueue are the one writer of citizens and outbox rows.
    citizen = deps.services.triage.citizen(session, Channel.TELEGRAM, chat_id)
    citizen.unreachable = False  # they write to us, so they have not blocked the bot (any more)
    return citizen


def came_back(deps: Deps, chat_id: str) -> None:
    """A citizen marked unreachable (blocked the bot) who writes again has unblocked it."""
    with deps.services.sessions.begin() as session:
        session.execute(
            update(m.Citizen)
            .where(m.Citizen.channel == Channel.TELEGRAM.value, m.Citizen.external_id == chat_id,
                   m.Citizen.unreachable.is_(True))
            .values(unreachable=False)
        )


def find_citizen(session: Session, chat_id: str) -> m.Citizen | None:
    return session.scalars(
        select(m.Citizen).where(
            m.Citizen.channel == Channel.TELEGRAM.value, m.Citizen.external_id == chat_id
        )
    ).first()


def language_of(citizen: m.Citizen, hint: Language | None) -> Language:
    return Language(citizen.language) if citizen.language else (hint or Language.EN)


def notify(
    deps: Deps,
    session: Session,
    citizen: m.Citizen,
    key: str,
    language: Language,
    buttons: Sequence[tuple[str, str]] = (),
    **values: object,
) -> None:
    """Enqueue one of the bot's texts to the citizen (sent by the outbox dispatcher)."""
    library = deps.services.triage.library(session)
    reply = Reply(
        deps.text(library, key, language, **values),
        buttons=tuple(Button(label, data) for label, data in buttons),
        kind="notice",
    )
    deps.services.triage.enqueue_replies(session, citizen, [reply], language, None)


def send_text(deps: Deps, chat_id: str, hint: Language | None, update_id: int, key: str) -> None:
    """/start, /help, "text only, please" and the like: one text in the citizen's language."""
    with deps.services.sessions.begin() as session:
        citizen = _citizen(deps, session, chat_id)
        notify(deps, session, citizen, key, language_of(citizen, hint))
        deps.ledger.record(session, update_id)


def set_language(deps: Deps, chat_id: str, hint: Language | None, update_id: int, arg: str) -> None:
    with deps.services.sessions.begin() as session:
        citizen = _citizen(deps, session, chat_id)
        try:
            chosen = Language(arg.strip().lower())
        except ValueError:
            notify(deps, session, citizen, "utter_tg_language_usage", language_of(citizen, hint))
        else:
            citizen.language = chosen.value
            notify(deps, session, citizen, "utter_language_set", chosen)
        deps.ledger.record(session, update_id)


def set_area(deps: Deps, chat_id: str, hint: Language | None, update_id: int, arg: str) -> None:
    with deps.services.sessions.begin() as session:
        citizen = _citizen(deps, session, chat_id)
        language = language_of(citizen, hint)
        found = read_area(arg, deps.services.triage.library(session).areas) if arg.strip() else None
        if not arg.strip():
            notify(deps, session, citizen, "utter_tg_area_usage", language)
        elif found is None:
            notify(deps, session, citizen, "utter_tg_area_unknown", language)
        else:
            label, area = found
            citizen.area_label, citizen.area = label, area.slug if area else None
            notify(deps, session, citizen, "utter_area_saved", language, area=label)
        deps.ledger.record(session, update_id)


def ask_forget(deps: Deps, chat_id: str, hint: Language | None, update_id: int) -> None:
    with deps.services.sessions.begin() as session:
        citizen = _citizen(deps, session, chat_id)
        language = language_of(citizen, hint)
        citizen.pending, citizen.pending_ref = Pending.FORGET.value, citizen.id
        library = deps.services.triage.library(session)
        buttons = [
            (deps.text(library, "utter_tg_button_forget_yes", language), "fg:yes"),
            (deps.text(library, "utter_tg_button_forget_no", language), "fg:no"),
        ]
        notify(deps, session, citizen, "utter_forget_confirm", language, buttons)
        deps.ledger.record(session, update_id)


def answer_forget(
    deps: Deps,
    chat_id: str,
    hint: Language | None,
    update_id: int,
    answer: YesNo | None,
    text: str | None = None,
) -> bool:
    """The answer to "delete all your data?", by button or typed yes/no. False when the citizen
    is not being asked (or typed something else: then the question lapses and the text is a
    normal message)."""
    with deps.services.sessions.begin() as session:
        citizen = find_citizen(session, chat_id)
        if citizen is None or citizen.pending != Pending.FORGET.value:
            return False
        if answer is None and text is not None:
            answer = read_yes_no(text)
        if answer is None:
            citizen.pending, citizen.pending_ref = Pending.NONE.value, None
            return False
        language = language_of(citizen, hint)
        if answer is YesNo.YES:
            erase_citizen(session, citizen)
            notify(deps, session, citizen, "utter_forgotten", language)
        else:
            citizen.pending, citizen.pending_ref = Pending.NONE.value, None
            notify(deps, session, citizen, "utter_tg_forget_kept", language)
        deps.ledger.record(session, update_id)
        return True


def slow_down(deps: Deps, chat_id: str, hint: Language | None) -> None:
    with deps.services.sessions.begin() as session:
        citizen = _citizen(deps, session, chat_id)
        notify(deps, session, citizen, "utter_slow_down", language_of(citizen, hint))


def button_applies(deps: Deps, chat_id: str, kind: str, message_id: int) -> bool:
    """A feedback (fb) or hand-off (ho) button counts once, and only for its own citizen."""
    with deps.services.sessions() as session:
        message = session.get(m.Message, message_id)
        if message is None or message.direction != "in":
            return False
        citizen = session.get(m.Citizen, message.citizen_id)
        if (
            citizen is None
            or citizen.channel != Channel.TELEGRAM.value
            or citizen.external_id != chat_id
        ):
            return False
        if kind == "fb":
            return message.feedback is None
        return citizen.pending == Pending.HANDOFF.value and citizen.pending_ref == message_id
