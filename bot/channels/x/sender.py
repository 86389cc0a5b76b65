"""Sends outbox items as X direct messages (the outbox `Sender` contract).

X DMs have no buttons: a "Did this help?" or "Shall I pass it on?" prompt is sent as text that
asks for yes or no, and the citizen's "yes"/"no"/"ja"/"nee" comes back as a DM the intake reads
as the answer to the pending prompt. Text over X's 10,000-character limit is split.

When X says the channel is misconfigured (401, or 403 about the app) or rate limited (the
15-minute window, or the account's 24-hour budget read from x-user-limit-24hour-*), the sender
pauses itself: the remaining items are rescheduled without calling X, so a wrong token never
becomes a storm of failing requests. A 403 that names neither the app nor the recipient counts
against its one item, until a second recipient gets one too. A long message goes out in parts;
when a later part fails, the retry continues with that part (the parts sent are remembered per
outbox item in this process).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.x.client import XConnection
from bot.channels.x.errors import (
    XConfigError,
    XRateLimited,
    XRecipientRefused,
    XTransient,
    XUnclearForbidden,
    translate,
)
from bot.channels.x.health import ChannelHealth
from bot.core.library import Library
from bot.core.text import split_text
from bot.core.types import Language
from bot.service.outbox import OutboundPayload, RecipientUnreachable, RetryAfter, TransientSendError
from bot.store import models as m

log = logging.getLogger(__name__)

DM_MAX_CHARS = 10_000
DM_SEND = "POST /2/dm_conversations/with/:id/messages"  # the RateLimits key of a DM send
CONFIG_PAUSE = 900.0  # after 401/403: the outbox tries again in 15 minutes
YES_NO_KEY = "utter_x_reply_yes_no"


class XSender:
    in_app = False

    def __init__(
        self,
        conn: XConnection,
        sessions: sessionmaker[Session],
        library: Callable[[Session], Library],
        health: ChannelHealth,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.conn = conn
        self.sessions = sessions
        self.library = library
        self.health = health
        self.clock = clock
        self.paused_until = 0.0
        self._progress: dict[int, list[str]] = {}  # item -> ids of the parts already sent
        self._unclear: dict[str, float] = {}  # recipient -> when X gave an unexplained 403

    async def send(self, payload: OutboundPayload) -> str | None:
        pause = self.paused_until - self.clock()
        if pause > 0:
            raise RetryAfter(pause)
        day = self.conn.limits.daily_exhausted(DM_SEND, self.clock())
        if day is not None:  # X's 24-hour DM budget is used up: wait for its reset, quietly
            raise self._outbox_error(XRateLimited(day.reset - self.clock() + 1.0, daily=True))
        text = await asyncio.to_thread(self.render, payload)
        parts = split_text(text, DM_MAX_CHARS)
        sent = self._progress.get(payload.item_id, [])
        for part in parts[len(sent) :]:
            try:
                response = await asyncio.to_thread(
                    self.conn.client.create_direct_message,
                    participant_id=payload.recipient,
                    text=part,
                    user_auth=self.conn.user_auth,
                )
            except Exception as exc:
                if sent:  # the parts sent stay sent: a retry continues with this one
                    self._progress[payload.item_id] = sent
                    log.warning(
                        "X DM to %s: part %d of %d failed; retried from there",
                        payload.recipient,
                        len(sent) + 1,
                        len(parts),
                    )
                error = self._outbox_error(translate(exc, self.clock()), payload.recipient)
                if isinstance(error, RecipientUnreachable):
                    self._progress.pop(payload.item_id, None)
                raise error from exc
            data = response.data or {}
            sent = [*sent, str(data.get("dm_event_id", ""))]
        self._progress.pop(payload.item_id, None)
        self.health.ok("send")
        return ",".join(sent) or None

    def render(self, payload: OutboundPayload) -> str:
        """The message as text: a yes/no prompt says how to answer, in the message's language."""
        text = payload.text
        if not any(data.endswith((":yes", ":no")) for _, data in payload.buttons):
            return text
        with self.sessions() as session:
            item = session.get(m.OutboxItem, payload.item_id)
            message = session.get(m.Message, item.message_id) if item else None
            language = Language(message.language) if message and message.language else Language.EN
            hint = self.library(session).text(YES_NO_KEY, language)
        return text if hint in text else f"{text}\n{hint}"

    def _outbox_error(self, error: Exception, recipient: str = "") -> Exception:
        if isinstance(error, XRateLimited):
            self.paused_until = self.clock() + error.seconds
            if error.daily:
                self.health.budget_spent(self.paused_until)
            return RetryAfter(error.seconds)
        if isinstance(error, XUnclearForbidden) and not self._unclear_elsewhere(recipient):
            # one recipient's problem until another gets it too: this item waits, the rest go on
            return TransientSendError(str(error))
        if isinstance(error, XConfigError):
            self.health.problem("send", str(error))
            self.paused_until = self.clock() + CONFIG_PAUSE
            return RetryAfter(CONFIG_PAUSE)
        if isinstance(error, XRecipientRefused):
            return RecipientUnreachable(str(error))
        if isinstance(error, XTransient):
            return TransientSendError(str(error))
        return error  # XRequestError: the dispatcher logs it and counts the attempt

    def _unclear_elsewhere(self, recipient: str) -> bool:
        """Whether another recipient got an unexplained 403 lately (then it is the app's)."""
        now = self.clock()
        recent = {r: at for r, at in self._unclear.items() if now - at < CONFIG_PAUSE}
        others = any(r != recipient for r in recent)
        recent[recipient] = now
        self._unclear = recent
        return others
