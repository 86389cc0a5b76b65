"""Citizens' handlers (private chats): map the update, call the service, let the outbox reply."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Update
from telegram import error as tg

from bot.channels.telegram import citizen_actions as act
from bot.channels.telegram.context import TriageContext, language_hint
from bot.core.conversation import YesNo
from bot.core.types import Channel, InboundMessage, Language

log = logging.getLogger(__name__)


def _who(update: Update) -> tuple[str, Language | None, int]:
    assert update.effective_chat is not None
    user = update.effective_user
    return (
        str(update.effective_chat.id),
        language_hint(user.language_code if user else None),
        update.update_id,
    )


async def start(update: Update, context: TriageContext) -> None:
    await asyncio.to_thread(act.send_text, context.deps, *_who(update), "utter_welcome")
    context.deps.wake()


async def help_(update: Update, context: TriageContext) -> None:
    await asyncio.to_thread(act.send_text, context.deps, *_who(update), "utter_help")
    context.deps.wake()


async def language(update: Update, context: TriageContext) -> None:
    await asyncio.to_thread(
        act.set_language, context.deps, *_who(update), " ".join(context.args or [])
    )
    context.deps.wake()


async def area(update: Update, context: TriageContext) -> None:
    await asyncio.to_thread(act.set_area, context.deps, *_who(update), " ".join(context.args or []))
    context.deps.wake()


async def forget(update: Update, context: TriageContext) -> None:
    await asyncio.to_thread(act.ask_forget, context.deps, *_who(update))
    context.deps.wake()


async def text(update: Update, context: TriageContext) -> None:
    """Free text: through the triage policy (the intake stores it first, dedups redeliveries)."""
    deps = context.deps
    message = update.effective_message
    assert message is not None and message.text is not None
    chat_id, hint, update_id = _who(update)
    if await asyncio.to_thread(
        act.answer_forget, deps, chat_id, hint, update_id, None, message.text
    ):
        deps.wake()
        return
    await asyncio.to_thread(act.came_back, deps, chat_id)
    inbound = InboundMessage(
        Channel.TELEGRAM,
        chat_id,
        message.text,
        external_id=f"{chat_id}:{message.message_id}",
        language_hint=hint,
    )
    result = await deps.services.intake.handle(inbound)
    if not result.duplicate and deps.flood.hit(chat_id, time.monotonic()):
        await asyncio.to_thread(act.slow_down, deps, chat_id, hint)
    deps.wake()


async def not_text(update: Update, context: TriageContext) -> None:
    """Photos, voice, stickers, files: a polite "text only, please"."""
    await asyncio.to_thread(act.send_text, context.deps, *_who(update), "utter_text_only")
    context.deps.wake()


async def button(update: Update, context: TriageContext) -> None:
    """ "Did this help?" (fb:<message_id>:yes|no) and "pass it on?" (ho:<message_id>:yes|no)."""
    deps = context.deps
    query = update.callback_query
    assert query is not None and query.data is not None
    chat_id = str(update.effective_chat.id) if update.effective_chat else ""
    kind, raw_id, choice = (query.data.split(":") + ["", ""])[:3]
    applies = raw_id.isdigit() and await asyncio.to_thread(
        act.button_applies, deps, chat_id, kind, int(raw_id)
    )
    if applies:
        act_on = deps.services.triage.feedback if kind == "fb" else deps.services.triage.handoff
        await asyncio.to_thread(act_on, int(raw_id), choice == "yes")
        deps.wake()
    await _close_buttons(update, choice)


async def forget_button(update: Update, context: TriageContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    answer = YesNo.YES if query.data == "fg:yes" else YesNo.NO
    if await asyncio.to_thread(act.answer_forget, context.deps, *_who(update), answer):
        context.deps.wake()
    await _close_buttons(update, answer.value)


async def _close_buttons(update: Update, choice: str) -> None:
    """Acknowledge the press and replace the buttons by the choice: it cannot be pressed twice."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    chosen = ""
    markup = (
        query.message.reply_markup
        if query.message and hasattr(query.message, "reply_markup")
        else None
    )
    for row in markup.inline_keyboard if markup else ():
        for key in row:
            if key.callback_data == query.data:
                chosen = key.text
    original = getattr(query.message, "text", None)
    if not original:
        return
    try:
        await query.edit_message_text(f"{original}\n\n› {chosen or choice}")
    except tg.BadRequest as exc:  # already edited, or too old to edit: the press still counted
        log.info("could not edit the button message: %s", exc)
