"""The python-telegram-bot Application: every handler is registered here, and one error handler.

Routing: group chats get a note (and the bot leaves them unless TELEGRAM_ALLOW_GROUPS is set);
/link works for anyone; a linked professional's chat goes to the
professionals' handlers, everyone else is a citizen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from telegram import Update
from telegram import error as tg
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.channels.telegram import citizens, professionals
from bot.channels.telegram import staff_actions as staff
from bot.channels.telegram.context import Deps, TriageContext, language_hint
from bot.channels.telegram.sender import send_direct
from bot.channels.telegram.settings import TelegramSettings
from bot.core.types import Language

log = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
GROUP_NOTE_EVERY = 3600.0  # seconds between notes in one group


def _by_role(for_citizen: Any, for_professional: Any) -> Any:
    """One handler that sends a linked professional's chat to the professionals' side."""

    async def route(update: Update, context: TriageContext) -> None:
        chat = str(update.effective_chat.id) if update.effective_chat else ""
        if await asyncio.to_thread(staff.is_professional, context.deps, chat):
            await for_professional(update, context)
        else:
            await for_citizen(update, context)

    return route


async def group_note(update: Update, context: TriageContext) -> None:
    chat = update.effective_chat
    deps = context.deps
    if chat is None or deps.group_noted.get(chat.id, 0.0) > time.monotonic():
        return
    deps.group_noted[chat.id] = time.monotonic() + GROUP_NOTE_EVERY
    user = update.effective_user
    language = language_hint(user.language_code if user else None) or Language.EN

    def text() -> str:
        with deps.services.sessions() as session:
            library = deps.services.triage.library(session)
            return deps.text(library, "utter_group_chat", language)

    await send_direct(context.bot, chat.id, await asyncio.to_thread(text))


async def in_group(update: Update, context: TriageContext) -> None:
    """A message in a group, or the bot added to one: the bot works in private chats. Unless
    TELEGRAM_ALLOW_GROUPS is set it says so once and leaves; otherwise it notes it once an hour."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    member = update.my_chat_member
    if member is not None and member.new_chat_member.status not in ("member", "administrator"):
        return  # removed or restricted: nothing to say
    await group_note(update, context)
    if context.deps.settings.allow_groups:
        return
    try:
        await context.bot.leave_chat(chat.id)
        log.info("left group chat %s (TELEGRAM_ALLOW_GROUPS is off)", chat.id)
    except tg.TelegramError as exc:
        log.warning("could not leave group chat %s: %s", chat.id, exc)


async def on_error(update: object, context: TriageContext) -> None:
    """The channel's one error handler: log with the traceback; the update is retried later."""
    uid = update.update_id if isinstance(update, Update) else None
    log.error("Telegram update %s failed", uid, exc_info=context.error)
    if uid is not None:
        context.deps.failed.add(uid)


def build_application(deps: Deps, settings: TelegramSettings) -> Application:  # type: ignore[type-arg]
    """The Application with all handlers. No Updater: updates come from our own loop or webhook."""
    application = (
        Application.builder()
        .token(settings.bot_token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .request(HTTPXRequest(connection_pool_size=16, read_timeout=15.0, connect_timeout=10.0))
        .get_updates_request(HTTPXRequest(read_timeout=10.0, connect_timeout=10.0))
        .context_types(ContextTypes(context=TriageContext))
        .updater(None)
        .build()
    )
    application.bot_data["deps"] = deps
    add = application.add_handler
    add(MessageHandler(~filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, in_group))
    add(ChatMemberHandler(in_group, ChatMemberHandler.MY_CHAT_MEMBER))
    add(CommandHandler("link", professionals.link, filters=PRIVATE))
    add(CommandHandler("queue", _by_role(citizens.message, professionals.show_queue), filters=PRIVATE))
    # Citizens' commands are text the conversation reads; a professional gets the staff help.
    add(MessageHandler(PRIVATE & filters.COMMAND, _by_role(citizens.message, professionals.help_)))
    add(MessageHandler(PRIVATE & filters.TEXT, _by_role(citizens.message, professionals.reply)))
    add(MessageHandler(PRIVATE, _by_role(citizens.message, professionals.help_)))  # photos...
    add(CallbackQueryHandler(professionals.button, pattern=r"^pq:"))
    add(CallbackQueryHandler(citizens.button))  # every other press, unknown data included
    application.add_error_handler(on_error)  # type: ignore[arg-type]
    return application
