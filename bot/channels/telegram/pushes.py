"""Pushes to professionals: new (and reassigned) questions, emergencies at once, reminders.

These are sent directly with the bot, not through the outbox: the outbox is the citizens'
conversation (its rows are messages of a citizen), while a push is a notification about the queue,
which stays the source of truth in the console and /queue. A push retries on 429 and 5xx
(`send_direct`); a push repeated after a crash is harmless, a lost one is visible in the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from telegram import Bot

from bot.channels.telegram import staff_actions as staff
from bot.channels.telegram.context import Deps
from bot.channels.telegram.sender import StaffUnreachable, send_direct, send_parts

log = logging.getLogger(__name__)

PUSHED_EVENTS = ("question.created", "question.reassigned", "question.escalated")
TAKEN_OVER = "question.taken_over"  # the claimant who lost the question is told


class Pusher:
    def __init__(self, deps: Deps, bot: Bot, loop: asyncio.AbstractEventLoop) -> None:
        self.deps = deps
        self.bot = bot
        self.loop = loop
        self._tasks: set[asyncio.Task[object]] = set()

    def listener(self, event: str, question_id: int) -> None:
        """Called by the intake service, often from a worker thread: hand over to the loop."""
        if event == TAKEN_OVER:
            coro: Coroutine[Any, Any, object] = self.push_take_over(question_id)
        elif event in PUSHED_EVENTS:
            coro = (
                self.push_escalated(question_id)
                if event == "question.escalated"
                else self.push_question(question_id)
            )
        else:
            return
        try:
            self.loop.call_soon_threadsafe(self.spawn, coro)
        except RuntimeError:  # the loop is closed: the service is stopping
            coro.close()

    def spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def push_question(self, question_id: int, note: staff.Note | None = None) -> int:
        """Send the question's card to each professional it is for, in their language; returns
        how many got it."""
        chats = await asyncio.to_thread(staff.targets, self.deps, question_id)
        if not chats:
            return 0
        languages = {language for _, language in chats}
        cards = await asyncio.to_thread(staff.push_cards, self.deps, question_id, languages, note)
        if not cards:
            return 0
        sent = await asyncio.gather(*(self._send(chat, cards[language]) for chat, language in chats))
        return sum(sent)

    async def push_escalated(self, question_id: int) -> int:
        """An emergency nobody claimed, now for the next role up (or the admins)."""
        return await self.push_question(question_id, note=staff.escalation_note(self.deps, question_id))

    async def push_take_over(self, question_id: int) -> bool:
        """Tell the claimant (if their Telegram is linked) that an admin took their question."""
        notice = await asyncio.to_thread(staff.take_over_notice, self.deps, question_id)
        if notice is None:
            return False
        chat_id, text = notice
        try:
            await send_direct(self.bot, chat_id, text, (), attempts=self.deps.settings.push_attempts)
        except Exception:
            log.exception("take-over notice for question #%s to %s failed", question_id, chat_id)
            return False
        return True

    async def _send(self, chat_id: str, card: staff.Card) -> bool:
        try:
            messages = await send_parts(
                self.bot,
                chat_id,
                card.text,
                card.buttons,
                attempts=self.deps.settings.push_attempts,
            )
        except StaffUnreachable:
            log.warning("professional's Telegram chat %s blocked the bot; unlinked", chat_id)
            await asyncio.to_thread(staff.unlink, self.deps, chat_id)
            return False
        except Exception:
            log.exception("push of question #%s to %s failed", card.question_id, chat_id)
            return False
        if not messages:
            return False
        ids = [message.message_id for message in messages]
        await asyncio.to_thread(staff.remember_card, self.deps, chat_id, ids, card.question_id)
        return True

    async def remind_once(self) -> int:
        due = await asyncio.to_thread(staff.due_for_reminder, self.deps)
        for question_id, note in due:
            await self.push_question(question_id, note=note)
        return len(due)

    async def remind_forever(self) -> None:
        while True:
            try:
                await self.remind_once()
                await asyncio.to_thread(self.deps.ledger.prune)
            except Exception:
                log.exception("Telegram reminders failed")
            await asyncio.sleep(self.deps.settings.reminder_interval_seconds)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
