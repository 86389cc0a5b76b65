"""Sends outbox items as X direct messages (the outbox `Sender` contract).

X DMs have no buttons: a "Did this help?" or "Shall I pass it on?" prompt is sent as text that
asks for yes or no, and the citizen's "yes"/"no"/"ja"/"nee" comes back as a DM the intake reads
as the answer to the pending prompt. Text over X's 10,000-character limit is split.

When X says the channel is misconfigured (401, or 403 about the app) or rate limited, the sender
pauses itself: the remaining items of a batch are rescheduled without calling X, so a wrong token
never becomes a storm of failing requests.
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

    async def send(self, payload: OutboundPayload) -> str | None:
        pause = self.paused_until - self.clock()
        if pause > 0:
            raise RetryAfter(pause)
        text = await asyncio.to_thread(self.render, payload)
        sent: list[str] = []
        for part in split_text(text, DM_MAX_CHARS):
            try:
                response = await asyncio.to_thread(
                    self.conn.client.create_direct_message,
                    participant_id=payload.recipient,
                    text=part,
                    user_auth=self.conn.user_auth,
                )
            except Exception as exc:
                if sent:  # never send the first part twice: keep what went out, log the rest
                    log.error(
                        "X DM to %s: part %d of a long message failed",
                        payload.recipient,
                        len(sent) + 1,
                        exc_info=True,
                    )
                    break
                raise self._outbox_error(translate(exc, self.clock())) from exc
            data = response.data or {}
            sent.append(str(data.get("dm_event_id", "")))
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

    def _outbox_error(self, error: Exception) -> Exception:
        if isinstance(error, XRateLimited):
            self.paused_until = self.clock() + error.seconds
            return RetryAfter(error.seconds)
        if isinstance(error, XConfigError):
            self.health.problem("send", str(error))
            self.paused_until = self.clock() + CONFIG_PAUSE
            return RetryAfter(CONFIG_PAUSE)
        if isinstance(error, XRecipientRefused):
            return RecipientUnreachable(str(error))
        if isinstance(error, XTransient):
            return TransientSendError(str(error))
        return error  # XRequestError: the dispatcher logs it and counts the attempt
