"""Professionals' handlers: /link, /queue, card buttons, and answers by Telegram reply."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram import error as tg

from bot.channels.telegram import staff_actions as staff
from bot.channels.telegram.context import TriageContext
from bot.channels.telegram.sender import answer_query, keyboard, send_direct, send_parts

log = logging.getLogger(__name__)


def _chat(update: Update) -> str:
    assert update.effective_chat is not None
    return str(update.effective_chat.id)


async def link(update: Update, context: TriageContext) -> None:
    code = " ".join(context.args or [])
    text = await asyncio.to_thread(staff.link, context.deps, _chat(update), code, update.update_id)
    await send_direct(context.bot, _chat(update), text)


async def help_(update: Update, context: TriageContext) -> None:
    text = await asyncio.to_thread(staff.help_text, context.deps, _chat(update))
    await send_direct(context.bot, _chat(update), text)


async def show_queue(update: Update, context: TriageContext) -> None:
    chat = _chat(update)
    header, cards = await asyncio.to_thread(staff.open_cards, context.deps, chat)
    await send_direct(context.bot, chat, header)
    for card in cards:
        sent = await send_parts(context.bot, chat, card.text, card.buttons)
        if sent:
            ids = [message.message_id for message in sent]
            await asyncio.to_thread(staff.remember_card, context.deps, chat, ids, card.question_id)


async def reply(update: Update, context: TriageContext) -> None:
    """Text from a professional: a reply to a question's message answers the citizen."""
    deps = context.deps
    message = update.effective_message
    assert message is not None and message.text is not None
    chat = _chat(update)
    if message.reply_to_message is None:
        await help_(update, context)
        return
    outcome = await asyncio.to_thread(
        staff.answer,
        deps,
        chat,
        message.reply_to_message.message_id,
        message.text,
        update.update_id,
    )
    if outcome.event and outcome.question_id:
        deps.services.triage.publish(outcome.event, outcome.question_id)
        deps.wake()
    if outcome.text:
        await send_direct(context.bot, chat, outcome.text, reply_to=message.message_id)


async def button(update: Update, context: TriageContext) -> None:
    deps = context.deps
    query = update.callback_query
    assert query is not None
    if not query.data:  # no data at all (python-telegram-bot routes that to any pattern)
        await answer_query(query)
        return
    outcome = await asyncio.to_thread(staff.act, deps, _chat(update), query.data, update.update_id)
    if outcome.event and outcome.question_id:
        deps.services.triage.publish(outcome.event, outcome.question_id)
    await answer_query(query, outcome.text)
    if outcome.card is not None:
        try:
            await query.edit_message_text(outcome.card.text, reply_markup=keyboard(outcome.card.buttons))
        except tg.BadRequest as exc:  # unchanged or too old to edit
            log.info("could not update the card: %s", exc)
