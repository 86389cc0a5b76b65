"""Citizens' handlers (private chats): translate the update, call the service, let the outbox reply.

No conversation rule lives here: a text, a command ("/area 1012 AB") or a photo's caption goes to
the intake as it is, and a button's data to `triage.press`; what they mean is the conversation
core's (`bot.core.conversation`), the same on every channel.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram import error as tg

from bot.channels.telegram.context import TriageContext, language_hint
from bot.channels.telegram.sender import answer_query
from bot.core.types import ButtonPress, Channel, InboundMessage, Language
from bot.service.triage import PressRefused

log = logging.getLogger(__name__)

# What a message without text can be, in the order python-telegram-bot's Message names them.
MEDIA = (
    "photo",
    "video",
    "animation",
    "voice",
    "audio",
    "video_note",
    "sticker",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)


def _who(update: Update) -> tuple[str, Language | None]:
    assert update.effective_chat is not None
    user = update.effective_user
    return str(update.effective_chat.id), language_hint(user.language_code if user else None)


def described(message: Message) -> str:
    """The text to store for a message: its text or caption, or what a location or contact
    card says (kept for the professional; the conversation never reads it as a question)."""
    if message.text is not None:
        return message.text
    if message.venue is not None:
        venue, place = message.venue, message.venue.location
        return f"📍 {venue.title}, {venue.address} ({place.latitude:.6f}, {place.longitude:.6f})"
    if message.location is not None:
        return f"📍 {message.location.latitude:.6f}, {message.location.longitude:.6f}"
    if message.contact is not None:
        name = " ".join(p for p in (message.contact.first_name, message.contact.last_name) if p)
        return f"👤 {name} {message.contact.phone_number or ''}".strip()
    return message.caption or ""


def media_of(message: Message) -> str | None:
    """What the citizen sent when it is not plain text: "photo", "voice"...; None for text."""
    if message.text is not None:
        return None
    return next((kind for kind in MEDIA if getattr(message, kind, None)), "other")


async def message(update: Update, context: TriageContext) -> None:
    """Anything a citizen sends in a private chat: stored first, then read by the conversation
    and the triage policy (the intake dedups a redelivered update on its message id)."""
    deps = context.deps
    sent = update.effective_message
    assert sent is not None
    chat_id, hint = _who(update)
    inbound = InboundMessage(
        Channel.TELEGRAM,
        chat_id,
        described(sent),
        external_id=f"{chat_id}:{sent.message_id}",
        language_hint=hint,
        media=media_of(sent),
    )
    await deps.services.intake.handle(inbound)
    deps.wake()


async def button(update: Update, context: TriageContext) -> None:
    """A citizen's button. It counts once, for its own prompt; a stale one gets a short note
    and loses its buttons. Every press is answered, so the app's spinner always stops."""
    deps = context.deps
    query = update.callback_query
    assert query is not None
    if update.effective_chat is None or not query.data:  # not a button of ours: answer it
        await answer_query(query)
        return
    chat_id, hint = _who(update)
    press = ButtonPress(Channel.TELEGRAM, chat_id, query.data or "")
    try:
        await asyncio.to_thread(deps.services.triage.press, press)
    except PressRefused:
        note = await asyncio.to_thread(deps.services.triage.refusal, press, hint)
        await _answer(update, note)
        await _close_buttons(update, None)
        return
    await _answer(update, None)
    await _close_buttons(update, query.data or "")
    deps.wake()  # the buttons close first, then the reply comes


async def _answer(update: Update, note: str | None) -> None:
    assert update.callback_query is not None
    await answer_query(update.callback_query, note)


async def _close_buttons(update: Update, data: str | None) -> None:
    """Replace the buttons by the choice made (or remove stale ones): none can be pressed twice."""
    query = update.callback_query
    assert query is not None
    markup = getattr(query.message, "reply_markup", None)
    chosen = next(
        (
            key.text
            for row in (markup.inline_keyboard if markup else ())
            for key in row
            if data is not None and key.callback_data == data
        ),
        "",
    )
    original = getattr(query.message, "text", None)
    try:
        if data is not None and original:
            await query.edit_message_text(f"{original}\n\n› {chosen or data}")
        elif markup is not None:
            await query.edit_message_reply_markup(reply_markup=None)
    except tg.BadRequest as exc:  # already edited, or too old to edit: the press still counted
        log.info("could not edit the button message: %s", exc)
