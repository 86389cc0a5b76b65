"""Sending to Telegram: the outbox Sender for citizens, and a retrying direct send for staff.

Telegram's errors are mapped onto the outbox contract here and nowhere else:
RetryAfter (429) -> outbox.RetryAfter, Forbidden (403: blocked) -> RecipientUnreachable,
TimedOut / NetworkError (5xx, connection) -> TransientSendError.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Sequence
from datetime import timedelta

from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram import error as tg
from telegram.constants import MessageLimit
from telegram.warnings import PTBDeprecationWarning

from bot.core.text import split_text
from bot.service.outbox import (
    OutboundPayload,
    RecipientUnreachable,
    RetryAfter,
    TransientSendError,
    backoff_seconds,
)

log = logging.getLogger(__name__)

MAX_CHARS = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096


def keyboard(buttons: Sequence[tuple[str, str]], per_row: int = 3) -> InlineKeyboardMarkup | None:
    """(label, callback data) pairs as inline buttons, `per_row` to a row."""
    if not buttons:
        return None
    keys = [InlineKeyboardButton(label, callback_data=data) for label, data in buttons]
    return InlineKeyboardMarkup([keys[i : i + per_row] for i in range(0, len(keys), per_row)])


def retry_seconds(exc: tg.RetryAfter) -> float:
    with warnings.catch_warnings():  # int seconds until PTB makes it a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _not_found(exc: tg.BadRequest) -> bool:
    text = str(exc).lower()
    return "chat not found" in text or "user not found" in text or "user is deactivated" in text


class TelegramSender:
    """The outbox's sender for the telegram channel. A long text goes out as several messages,
    buttons on the last; parts already sent are remembered per outbox item, so a retry after a
    429 in the middle continues where it stopped instead of repeating the first part."""

    in_app = False

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._progress: dict[int, int] = {}

    async def send(self, payload: OutboundPayload) -> str | None:
        parts = split_text(payload.text, MAX_CHARS)
        done = self._progress.get(payload.item_id, 0)
        message_id: str | None = None
        try:
            for index in range(done, len(parts)):
                last = index == len(parts) - 1
                sent = await self.bot.send_message(
                    chat_id=int(payload.recipient),
                    text=parts[index],
                    reply_markup=keyboard(payload.buttons) if last else None,
                    disable_web_page_preview=True,
                )
                message_id = str(sent.message_id)
                self._progress[payload.item_id] = index + 1
        except tg.RetryAfter as exc:
            raise RetryAfter(retry_seconds(exc)) from exc
        except tg.Forbidden as exc:
            self._progress.pop(payload.item_id, None)
            raise RecipientUnreachable(str(exc)) from exc
        except tg.BadRequest as exc:  # a subclass of NetworkError: must come first
            if _not_found(exc):
                self._progress.pop(payload.item_id, None)
                raise RecipientUnreachable(str(exc)) from exc
            raise
        except tg.NetworkError as exc:  # TimedOut, 5xx, connection errors
            raise TransientSendError(str(exc)) from exc
        self._progress.pop(payload.item_id, None)
        return message_id


async def answer_query(query: CallbackQuery, note: str | None = None) -> None:
    """Stop the app's spinner. Telegram refuses an answer after about 15 seconds ("query is too
    old", after a restart or a slow handler) and a second one: the press still counted, and the
    update must not fail over it (a failing update is retried and holds up the whole channel)."""
    try:
        await query.answer(note[:200] if note else None)
    except tg.BadRequest as exc:
        log.info("could not answer the button press: %s", exc)
    except tg.NetworkError as exc:  # the spinner stops by itself after a while
        log.warning("could not answer the button press: %s", exc)


class StaffUnreachable(Exception):
    """The professional blocked the bot: stop pushing until they link again."""


async def send_direct(
    bot: Bot,
    chat_id: int | str,
    text: str,
    buttons: Sequence[tuple[str, str]] = (),
    attempts: int = 5,
    reply_to: int | None = None,
) -> Message | None:
    """Send to a professional now, retrying on 429 (after retry_after) and 5xx/network errors
    (with backoff). Returns the last message sent, None when it could not be sent."""
    parts = await send_parts(bot, chat_id, text, buttons, attempts, reply_to)
    return parts[-1] if parts else None


async def send_parts(
    bot: Bot,
    chat_id: int | str,
    text: str,
    buttons: Sequence[tuple[str, str]] = (),
    attempts: int = 5,
    reply_to: int | None = None,
) -> list[Message]:
    """`send_direct`, returning every message a text over 4,096 characters went out as (buttons on
    the last), so each can be linked to what it is about; empty when a part could not be sent."""
    parts = split_text(text, MAX_CHARS)
    sent: list[Message] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        for attempt in range(1, attempts + 1):
            try:
                sent.append(
                    await bot.send_message(
                        chat_id=chat_id,
                        text=part,
                        reply_markup=keyboard(buttons) if last else None,
                        disable_web_page_preview=True,
                        reply_to_message_id=reply_to if index == 0 else None,
                    )
                )
                break
            except tg.RetryAfter as exc:
                await asyncio.sleep(min(retry_seconds(exc), 60.0))
            except tg.Forbidden as exc:
                raise StaffUnreachable(str(exc)) from exc
            except tg.BadRequest:
                log.exception("Telegram refused a message to %s", chat_id)
                return []
            except tg.NetworkError as exc:
                if attempt == attempts:
                    log.warning("giving up sending to %s: %s", chat_id, exc)
                    return []
                await asyncio.sleep(min(backoff_seconds(attempt - 1), 30.0))
        else:
            log.warning("giving up sending to %s after %d rate limits", chat_id, attempts)
            return []
    return sent
