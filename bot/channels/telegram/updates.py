"""Each Telegram update is handled exactly once.

An update is handled, then its id is stored in `processed_updates` (the handlers that change
state store it inside their own transaction), and only then does the polling offset advance
(kept in `channel_state`). Telegram keeps unconfirmed updates, so a restart anywhere in a burst
gets the unstored ones again and skips the stored ones: nothing lost, nothing twice. Text messages
are idempotent on their own too (the intake dedups on the message's external id).

We run our own getUpdates loop instead of the library's Updater because the Updater confirms an
update (advances the offset) as soon as it is queued in memory, before anything is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, Update
from telegram import error as tg
from telegram.ext import Application

from bot.channels.telegram.sender import retry_seconds
from bot.service.outbox import backoff_seconds
from bot.service.pollers import Heartbeat
from bot.store import models as m

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]  # edits are not asked for
MAX_ATTEMPTS = 5  # a handler failing this often on one update is a bug: log it and move on
OFFSET_MAX_AGE = timedelta(hours=24)  # how long Telegram keeps an unconfirmed update
READ_MARGIN = 10.0  # seconds a getUpdates call may take beyond its long-polling timeout


class UpdateLedger:
    """processed_updates and the polling offset of one bot (update ids are per bot)."""

    def __init__(self, sessions: sessionmaker[Session], bot_id: int) -> None:
        self.sessions = sessions
        self.bot_id = bot_id
        self.offset_key = f"{CHANNEL}:{bot_id}:offset"

    def _key(self, update_id: int) -> str:
        return f"{self.bot_id}:{update_id}"

    def seen(self, update_id: int) -> bool:
        with self.sessions() as session:
            return session.get(m.ProcessedUpdate, (CHANNEL, self._key(update_id))) is not None

    def record(self, session: Session, update_id: int) -> None:
        """Store the update as handled, inside the caller's transaction (idempotent)."""
        if session.get(m.ProcessedUpdate, (CHANNEL, self._key(update_id))) is not None:
            return
        try:
            with session.begin_nested():
                session.add(m.ProcessedUpdate(channel=CHANNEL, update_id=self._key(update_id)))
        except IntegrityError:  # stored concurrently (a webhook redelivery on another instance)
            pass

    def complete(self, update_id: int, advance_offset: bool) -> None:
        with self.sessions.begin() as session:
            self.record(session, update_id)
            if advance_offset:
                state = session.get(m.ChannelState, self.offset_key)
                if state is None:
                    session.add(m.ChannelState(key=self.offset_key, value=str(update_id + 1)))
                else:  # polling handles updates in order; ids may restart lower (see above)
                    state.value, state.updated_at = str(update_id + 1), datetime.now(UTC)

    def offset(self, max_age: timedelta = OFFSET_MAX_AGE) -> int | None:
        """The stored polling offset, None when it is older than `max_age`: Telegram keeps
        updates for 24 hours, so an older offset confirms nothing we still need, and after a
        week without updates Telegram may start the ids again lower than it."""
        with self.sessions() as session:
            state = session.get(m.ChannelState, self.offset_key)
            if state is None:
                return None
            updated = state.updated_at
            if updated.tzinfo is None:
                updated = updated.replace(tzinfo=UTC)
            return int(state.value) if datetime.now(UTC) - updated <= max_age else None

    def prune(self, days: int = 7) -> None:
        """Telegram redelivers for at most 24 hours; a week of ids is plenty."""
        cutoff = datetime.now(UTC) - timedelta(days=days)
        with self.sessions.begin() as session:
            session.execute(
                delete(m.ProcessedUpdate).where(
                    m.ProcessedUpdate.channel == CHANNEL, m.ProcessedUpdate.created_at < cutoff
                )
            )

    def stored_ids(self) -> list[str]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(m.ProcessedUpdate.update_id).where(m.ProcessedUpdate.channel == CHANNEL)
                )
            )


class UpdateRunner:
    """Runs updates through the Application once each; the same path for polling and webhook."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        ledger: UpdateLedger,
        failed: set[int],
        on_health: Callable[[str], None] = lambda _: None,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.application = application
        self.ledger = ledger
        self.failed = failed  # update ids whose handler raised (filled by the error handler)
        self.on_health = on_health
        self.heartbeat = heartbeat
        self._attempts: dict[int, int] = {}
        self._in_flight: dict[int, asyncio.Future[bool]] = {}

    async def handle(self, update: Update, advance_offset: bool = False) -> bool:
        """True when the update is done (now or before); False when it must come again. The
        same update delivered twice at once (a webhook retry racing the first request) is
        handled once: the second waits for the first's outcome."""
        uid = update.update_id
        running = self._in_flight.get(uid)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._in_flight[uid] = future
        try:
            done = await self._handle(update, advance_offset)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a lone handler must not warn "never retrieved"
            raise
        else:
            future.set_result(done)
            return done
        finally:
            self._in_flight.pop(uid, None)

    async def _handle(self, update: Update, advance_offset: bool) -> bool:
        uid = update.update_id
        if await asyncio.to_thread(self.ledger.seen, uid):
            log.info("update %s already handled; skipped", uid)
            if advance_offset:
                await asyncio.to_thread(self.ledger.complete, uid, True)
            return True
        self.failed.discard(uid)
        await self.application.process_update(update)
        if uid in self.failed:
            self.failed.discard(uid)
            attempts = self._attempts[uid] = self._attempts.get(uid, 0) + 1
            if attempts < MAX_ATTEMPTS:
                return False
            log.error(
                "update %s failed %d times; recorded as handled so the channel moves on",
                uid,
                attempts,
            )
        self._attempts.pop(uid, None)
        await asyncio.to_thread(self.ledger.complete, uid, advance_offset)
        if self.heartbeat is not None:
            self.heartbeat.update_handled()
        return True

    async def poll_forever(self, bot: Bot, timeout: int) -> None:
        """getUpdates in a loop. The offset is sent only while it confirms something: after a
        call that confirmed the handled updates returns, the next call asks without one, so
        update ids that Telegram restarts lower (after a week without updates) still arrive.
        An update whose handling raises (the database away) stays unconfirmed and comes again."""
        offset = await asyncio.to_thread(self.ledger.offset)
        failures = 0
        while True:
            try:
                updates = await bot.get_updates(
                    offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES
                )
            except tg.RetryAfter as exc:
                self._waiting(retry_seconds(exc))
                await asyncio.sleep(retry_seconds(exc))
                continue
            except tg.Conflict as exc:  # another instance polls, or a webhook is set
                self.on_health(f"conflict: {exc}")
                log.error("Telegram polling conflict (one polling instance only): %s", exc)
                await asyncio.sleep(30)
                continue
            except tg.InvalidToken:
                self.on_health("invalid token")
                log.exception("Telegram rejected the bot token; polling stopped")
                return
            except tg.TelegramError as exc:  # NetworkError, TimedOut, 5xx
                failures += 1
                self.on_health(f"polling failing: {type(exc).__name__}")
                log.warning("getUpdates failed (%s); retrying", exc)
                await asyncio.sleep(min(backoff_seconds(failures), 60.0))
                continue
            if self.heartbeat is not None:
                self.heartbeat.call_completed()
            offset = None  # what the call confirmed is gone from Telegram
            for update in updates:
                try:
                    done = await self.handle(update, advance_offset=True)
                except Exception as exc:  # noqa: BLE001 - the database, most likely: retry
                    failures += 1
                    self.on_health(f"handling failing: {type(exc).__name__}")
                    log.exception("Telegram update %s could not be handled; retrying", update.update_id)
                    await asyncio.sleep(min(backoff_seconds(failures), 60.0))
                    break  # not confirmed: this update and the rest come again
                if not done:
                    await asyncio.sleep(min(backoff_seconds(self._attempts.get(update.update_id, 1)), 30.0))
                    break  # the offset stays: this update and the rest come again
                offset = update.update_id + 1
            else:
                failures = 0
                self.on_health("ok")

    def _waiting(self, seconds: float) -> None:
        if self.heartbeat is not None:
            self.heartbeat.waiting(seconds)
