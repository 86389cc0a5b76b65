"""Sends outbox items as WhatsApp messages (the outbox `Sender` contract).

A reply with buttons goes out as an interactive message with reply buttons (at most 3, titles cut
to 20 characters); its press comes back with the button's `<kind>:<ref>:<choice>`. Text over
4,096 characters is split, and over 1,024 the part with the buttons is the last. Parts already
sent are remembered per item, so a retry after a rate limit continues where it stopped.

The 24-hour window: free-form messages only within 24 hours of the citizen's last message. Later,
a professional's reply goes out as the configured template for its language, with the reply as the
template's parameter; anything else (or a reply without a template) fails at once with the reason,
never retried. The console refuses such a reply before it is queued
(`bot.service.reply_window`); this is the check at the moment of sending.

Graph errors map onto the outbox: rate limits -> RetryAfter (the sender pauses itself, so the rest
of a batch waits without calling Meta), an expired token -> /healthz and a 15-minute pause (no
retry storm), a number that cannot get messages -> RecipientUnreachable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.whatsapp import graph
from bot.channels.whatsapp.errors import (
    GraphConfigError,
    GraphError,
    GraphRateLimited,
    GraphRecipientRefused,
    GraphTemplateError,
    GraphTransient,
    GraphWindowClosed,
)
from bot.channels.whatsapp.graph import GraphClient
from bot.channels.whatsapp.health import Health
from bot.channels.whatsapp.settings import WhatsAppSettings
from bot.core.text import split_text
from bot.core.types import Language, ReplyKind
from bot.service import reply_window
from bot.service.outbox import (
    OutboundPayload,
    RecipientUnreachable,
    RetryAfter,
    TransientSendError,
    Undeliverable,
)
from bot.service.reply_window import ReplyWindow
from bot.store import models as m

log = logging.getLogger(__name__)

CONFIG_PAUSE = 900.0  # an expired token: the outbox tries again in 15 minutes, not in a loop


@dataclass(frozen=True, slots=True)
class Plan:
    open: bool  # the window is open: free-form messages may go
    language: str


def bodies(payload: OutboundPayload) -> list[dict[str, Any]]:
    """The messages for one item: text parts, the buttons on the last."""
    to, buttons = payload.recipient, payload.buttons
    if len(buttons) > graph.MAX_BUTTONS:  # none of ours has more: the labels go in the text
        log.warning("WhatsApp takes 3 reply buttons; item %s had %d", payload.item_id, len(buttons))
        text = "\n".join([payload.text, *(f"• {label}" for label, _ in buttons)])
        return [graph.text_body(to, part) for part in split_text(text, graph.TEXT_MAX)]
    if not buttons:
        return [graph.text_body(to, part) for part in split_text(payload.text, graph.TEXT_MAX)]
    parts = split_text(payload.text, graph.BUTTON_BODY_MAX) or [payload.text]
    head = split_text("\n\n".join(parts[:-1]), graph.TEXT_MAX) if len(parts) > 1 else []
    return [*(graph.text_body(to, p) for p in head), graph.buttons_body(to, parts[-1], buttons)]


class WhatsAppSender:
    in_app = False

    def __init__(
        self,
        client: GraphClient,
        sessions: sessionmaker[Session],
        settings: WhatsAppSettings,
        window: ReplyWindow,
        health: Health,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.sessions = sessions
        self.settings = settings
        self.window = window
        self.health = health
        self.clock = clock
        self.paused_until = 0.0
        self._progress: dict[int, int] = {}

    async def send(self, payload: OutboundPayload) -> str | None:
        pause = self.paused_until - self.clock()
        if pause > 0:
            raise RetryAfter(pause)
        plan = await asyncio.to_thread(self.plan, payload)
        try:
            if not plan.open:
                return await self._template(payload, plan)
            try:
                return await self._free_form(payload)
            except GraphWindowClosed:  # our clock and Meta's disagree by a moment: Meta decides
                self._progress.pop(payload.item_id, None)
                return await self._template(payload, plan)
        except GraphError as exc:
            error = self._outbox_error(exc)
            if not isinstance(error, RetryAfter | TransientSendError):  # the item ends here
                self._progress.pop(payload.item_id, None)
            raise error from exc

    def plan(self, payload: OutboundPayload) -> Plan:
        """Whether the citizen's window is open, and the language of the message."""
        with self.sessions() as session:
            item = session.get(m.OutboxItem, payload.item_id)
            message = session.get(m.Message, item.message_id) if item else None
            citizen = session.get(m.Citizen, message.citizen_id) if message else None
            language = (message.language if message else None) or Language.EN.value
            if citizen is None:
                return Plan(True, language)
            state = reply_window.state_of({citizen.channel: self.window}, citizen, language)
            return Plan(state is None or state.open, language)

    async def _free_form(self, payload: OutboundPayload) -> str | None:
        messages = bodies(payload)
        wamid: str | None = None
        for index in range(self._progress.get(payload.item_id, 0), len(messages)):
            wamid = await self.client.send(messages[index])
            self._progress[payload.item_id] = index + 1
        self._progress.pop(payload.item_id, None)
        self.health.ok("send")
        return wamid

    async def _template(self, payload: OutboundPayload, plan: Plan) -> str:
        template = self.settings.template(plan.language)
        hours = f"{self.window.hours:g} h"
        if payload.kind != ReplyKind.PROFESSIONAL.value:
            raise Undeliverable(f"cannot be delivered on WhatsApp after {hours}: the window has closed")
        if template is None:
            raise Undeliverable(
                f"cannot be delivered on WhatsApp after {hours}: no template for {plan.language} "
                "(WHATSAPP_REPLY_TEMPLATES)"
            )
        wamid = await self.client.send(graph.template_body(payload.recipient, template, payload.text))
        self.health.ok("send")
        self.health.ok("template")
        return wamid

    def _outbox_error(self, error: GraphError) -> Exception:
        if isinstance(error, GraphRateLimited):
            self.paused_until = self.clock() + error.seconds
            return RetryAfter(error.seconds)
        if isinstance(error, GraphConfigError):
            self.health.problem("send", str(error))
            self.paused_until = self.clock() + CONFIG_PAUSE
            return RetryAfter(CONFIG_PAUSE)
        if isinstance(error, GraphRecipientRefused):
            return RecipientUnreachable(str(error))
        if isinstance(error, GraphTransient):
            return TransientSendError(str(error))
        if isinstance(error, GraphTemplateError):
            self.health.problem("template", str(error))
            return Undeliverable(f"the WhatsApp template was refused: {error}")
        if isinstance(error, GraphWindowClosed):
            return Undeliverable(f"cannot be delivered on WhatsApp after {self.window.hours:g} h: {error}")
        log.error("WhatsApp refused a message: %s", error)
        return Undeliverable(f"WhatsApp refused the message: {error}")
