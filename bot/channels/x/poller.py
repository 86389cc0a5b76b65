"""Polls the organisation's DM events and hands each citizen's message to the intake service.

X returns DM events newest first and has no "since" parameter, so one poll reads pages until it
reaches the stored cursor (the newest event already handled), then handles the new events oldest
first. After each event the cursor moves and the event id is recorded in `processed_updates`, in
one commit: a restart resumes exactly after the last handled event, and `triage.handle` is
idempotent on the event id should the process die between intake and that commit.

On the very first start (no cursor) the channel starts from "now": it records the newest event
and answers nothing older, instead of replying to up to 30 days of history. An account without
DMs in those 30 days records 0, so the first citizen's DM is not taken for history.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.app import Services
from bot.channels.x import state
from bot.channels.x.client import REQUEST_TIMEOUT, XConnection
from bot.channels.x.errors import XConfigError, XError, XRateLimited, XTransient, translate
from bot.channels.x.health import ChannelHealth
from bot.core.types import Channel, InboundMessage
from bot.service.outbox import backoff_seconds
from bot.service.pollers import Heartbeat

log = logging.getLogger(__name__)

DM_EVENTS = "GET /2/dm_events"
EVENT_FIELDS = [
    "id",
    "event_type",
    "text",
    "created_at",
    "sender_id",
    "dm_conversation_id",
    "attachments",
    "referenced_tweets",
]
# X puts a t.co link to an attached photo or a shared post in the DM's text; without it, a DM
# with only an attachment has no words of the citizen's.
TCO_LINK = re.compile(r"https?://t\.co/\w+")
PAGE_SIZE = 100
MAX_PAGES = 30  # 3,000 events a poll, 30 of the 300 requests a 15-minute window allows
CONFIG_PAUSE = 300.0  # after 401/403: try again every 5 minutes, not in a loop


@dataclass(frozen=True, slots=True)
class DmEvent:
    """A message-create event as the channel needs it (no tweepy object leaves this module)."""

    id: int
    sender_id: str
    text: str
    conversation_id: str
    media: str | None = None  # "media" (photo, video, GIF) or "post" (a shared post); else text

    @classmethod
    def of(cls, item: Any) -> DmEvent:
        """From tweepy's DirectMessageEvent: `attachments` ({"media_keys": [...]}) and
        `referenced_tweets` ([{"id": ...}]) as X API v2 returns them. The links X adds for them
        are not the citizen's words: a DM of only those is a non-text message, which gets the
        same reply as Telegram's (the intake's, "utter_text_only"); text with them is text."""
        attachments = item.attachments or {}
        media = "media" if attachments.get("media_keys") else "post" if item.referenced_tweets else None
        text = item.text or ""
        if media is not None:
            text = TCO_LINK.sub("", text).strip()
        return cls(item.id, str(item.sender_id or ""), text, str(item.dm_conversation_id or ""), media)

    @property
    def one_to_one(self) -> bool:
        # 1-1 conversation ids are "<smaller user id>-<larger user id>"; group ids have no dash.
        return "-" in self.conversation_id or not self.conversation_id


class DmPoller:
    def __init__(
        self,
        conn: XConnection,
        services: Services,
        health: ChannelHealth,
        interval: float,
        wake: Callable[[], None] = lambda: None,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.conn = conn
        self.services = services
        self.health = health
        self.interval = interval
        self.wake = wake
        self.heartbeat = heartbeat or Heartbeat("x dm polling", "x", interval + REQUEST_TIMEOUT)

    # -- one poll (synchronous: runs in a thread) ---------------------------------------------

    def poll_once(self) -> int:
        """Fetch and handle the new events; return how many citizen messages were handled."""
        try:
            own_id, _ = self.conn.me()
            with self.services.sessions() as session:
                cursor = state.load_cursor(session, state.DM_CURSOR)
            events, newest = self.fetch_new(cursor)
        except Exception as exc:
            raise translate(exc) from exc
        if cursor is None:  # no DMs in 30 days: start at 0, so the first one is answered
            with self.services.sessions.begin() as session:
                state.save_cursor(session, state.DM_CURSOR, newest or 0)
            log.info("X DMs: first start, answering messages after event %s", newest or 0)
            return 0
        handled = 0
        for event in sorted(events, key=lambda e: e.id):
            if self.handle(event, own_id):
                handled += 1
        return handled

    def fetch_new(self, cursor: int | None) -> tuple[list[DmEvent], int | None]:
        """Events newer than `cursor`, reading pages newest-first; and the newest event id."""
        events: list[DmEvent] = []
        newest: int | None = None
        token: str | None = None
        for _ in range(MAX_PAGES):
            response = self.conn.client.get_direct_message_events(
                dm_event_fields=EVENT_FIELDS,
                event_types="MessageCreate",
                max_results=PAGE_SIZE,
                pagination_token=token,
                user_auth=self.conn.user_auth,
            )
            reached = False
            for item in response.data or []:
                newest = item.id if newest is None else max(newest, item.id)
                if cursor is not None and item.id <= cursor:
                    reached = True
                    continue
                if item.event_type == "MessageCreate":
                    events.append(DmEvent.of(item))
            token = (response.meta or {}).get("next_token")
            if cursor is None or reached or not token:
                break
        else:
            log.warning("X DMs: more than %d pages of new events; older ones are skipped", MAX_PAGES)
        return events, newest

    def handle(self, event: DmEvent, own_id: str) -> bool:
        """Hand one event to the intake unless it is ours or in a group; then move the cursor."""
        citizen = event.sender_id != own_id and event.one_to_one and bool(event.sender_id)
        if citizen:
            with self.services.sessions() as session:
                citizen = not state.seen(session, state.DM_CHANNEL, str(event.id))
        if citizen:
            self.services.triage.handle(
                InboundMessage(
                    Channel.X, event.sender_id, event.text, external_id=str(event.id), media=event.media
                )
            )
        elif event.sender_id != own_id and not event.one_to_one:
            log.info("X DMs: ignoring group conversation %s", event.conversation_id)
        with self.services.sessions.begin() as session:
            state.mark_seen(session, state.DM_CHANNEL, str(event.id))
            state.save_cursor(session, state.DM_CURSOR, event.id)
        return citizen

    # -- the loop in the serve process ----------------------------------------------------------

    async def run(self) -> None:
        failures = 0
        while True:
            delay = await self.step()
            failures = failures + 1 if delay is None else 0
            await asyncio.sleep(delay if delay is not None else backoff_seconds(failures))

    async def step(self) -> float | None:
        """One poll; returns the seconds to wait before the next, or None to back off."""
        beat = self.heartbeat
        try:
            handled = await asyncio.to_thread(self.poll_once)
        except XRateLimited as exc:
            log.warning("X DMs: %s", exc)
            beat.waiting(exc.seconds)
            return exc.seconds
        except XConfigError as exc:
            self.health.problem("poll", str(exc))
            beat.waiting(CONFIG_PAUSE)
            return CONFIG_PAUSE
        except XTransient as exc:
            log.warning("X DMs: poll failed, retrying: %s", exc)
            return None
        except XError as exc:
            self.health.problem("poll", str(exc))
            beat.waiting(CONFIG_PAUSE)
            return CONFIG_PAUSE
        except Exception:  # a bug or the database: keep polling, with a traceback in the log
            log.exception("X DMs: poll failed")
            return None
        beat.call_completed()
        self.health.ok("poll")
        if handled:
            beat.update_handled()
            self.wake()
        delay = max(self.interval, self.conn.limits.wait(DM_EVENTS))
        beat.waiting(delay)
        return delay
