"""What happens to a webhook post once its signature is checked: store, acknowledge, then decide.

`accept` runs before the 200 goes back: it commits the citizens' messages (`store_many`; a
message id WhatsApp sent before is a duplicate and goes no further) and records each button
press's id (a press delivered twice counts once). That takes milliseconds. `process` runs after
the acknowledgement: statuses onto the outbox items, the new messages decided together
(`TriageService.decide_stored`), presses passed to `triage.press`, in the order the citizen sent
them. A process that dies in between leaves stored messages undecided; `process_pending` finds them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.app import Services
from bot.channels.whatsapp.events import Event, Incoming, Pressed, Status
from bot.core.types import ButtonPress, Channel, InboundMessage
from bot.service.triage import PressRefused
from bot.store import models as m
from bot.store.outbox import record_delivery

log = logging.getLogger(__name__)

CHANNEL = Channel.WHATSAPP


@dataclass
class Accepted:
    """One post's events to process after the acknowledgement: new messages with their ids."""

    events: list[Event]
    stored: dict[str, int] = field(default_factory=dict)  # wamid -> message id, new ones only
    presses: set[str] = field(default_factory=set)  # wamids of presses seen for the first time


def inbound_of(event: Incoming) -> InboundMessage:
    return InboundMessage(CHANNEL, event.sender, event.text, external_id=event.wamid, media=event.media)


class Inbox:
    def __init__(self, services: Services, wake: Callable[[], None]) -> None:
        self.services = services
        self.wake = wake
        self.tasks: set[asyncio.Task[None]] = set()

    def accept(self, events: list[Event]) -> Accepted:
        """Make the post's messages and presses safe before it is acknowledged."""
        accepted = Accepted(events)
        incoming = [e for e in events if isinstance(e, Incoming)]
        if incoming:
            triage = self.services.triage
            try:
                stored = triage.store_many([inbound_of(e) for e in incoming])
            except IntegrityError:  # another post stored one of these just now: one by one
                stored = [triage.store_inbound(inbound_of(e)) for e in incoming]
            accepted.stored = {
                e.wamid: mid for e, (mid, dup) in zip(incoming, stored, strict=True) if not dup
            }
        for event in events:
            if isinstance(event, Pressed) and self._first_time(event.wamid):
                accepted.presses.add(event.wamid)
        return accepted

    def _first_time(self, wamid: str) -> bool:
        try:
            with self.services.sessions.begin() as session:
                seen = session.scalars(
                    select(m.ProcessedUpdate.update_id).where(
                        m.ProcessedUpdate.channel == CHANNEL.value, m.ProcessedUpdate.update_id == wamid
                    )
                ).first()
                if seen is not None:
                    return False
                session.add(m.ProcessedUpdate(channel=CHANNEL.value, update_id=wamid))
        except IntegrityError:  # the same press in a concurrent post
            return False
        return True

    def spawn(self, accepted: Accepted) -> None:
        task = asyncio.create_task(self.process(accepted))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def process(self, accepted: Accepted) -> None:
        try:
            await asyncio.to_thread(self.process_now, accepted)
        except Exception:  # stored messages are retried by process_pending; log the rest
            log.exception("WhatsApp: processing a webhook post failed")
        self.wake()

    def process_now(self, accepted: Accepted) -> None:
        waiting: list[tuple[int, InboundMessage]] = []
        for event in accepted.events:
            if isinstance(event, Status):
                self._record(event)
            elif isinstance(event, Incoming) and event.wamid in accepted.stored:
                waiting.append((accepted.stored[event.wamid], inbound_of(event)))
            elif isinstance(event, Pressed) and event.wamid in accepted.presses:
                self._decide(waiting)  # what the citizen wrote before the press comes first
                waiting = []
                self._press(event)
        self._decide(waiting)

    def _decide(self, items: list[tuple[int, InboundMessage]]) -> None:
        if not items:
            return
        for result in self.services.triage.decide_stored(items):
            if isinstance(result, Exception):
                log.error("WhatsApp: a message could not be decided now", exc_info=result)

    def _press(self, event: Pressed) -> None:
        press = ButtonPress(CHANNEL, event.sender, event.data)
        try:
            self.services.triage.press(press)
        except PressRefused:  # a stale button: say so, like Telegram's note
            self.services.triage.notify(CHANNEL, event.sender, "utter_button_expired")

    def _record(self, event: Status) -> None:
        with self.services.sessions.begin() as session:
            item = record_delivery(session, CHANNEL.value, event.wamid, event.status, event.at, event.error)
        if item is None:
            log.debug("WhatsApp status %s for a message not in the outbox", event.status)

    async def drain(self) -> None:
        """Let the posts being processed finish (at stop)."""
        if self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
