"""The outbox: every reply to a citizen is a row here, sent by a dispatcher, at most once.

An item is claimed (pending -> sending, under a row lock with SKIP LOCKED on PostgreSQL, a
conditional update everywhere) before its send, and marked sent in its own commit right after.
An item found still "sending" after its lock expired was possibly sent by a process that died; it is
marked `unknown` for a person to check instead of being sent again: we never send twice. In-app
channels (web chat, API, CLI) are the exception: their "send" is the commit that makes the reply
visible, so a stale claim there is simply retried (after 10 s) and the reply is not lost. The
intake stores its in-app replies as sent in the transaction that decides the message
(`TriageService.delivered_in_app`); the dispatcher delivers the in-app items that come from
elsewhere (a professional's reply, an admin's "send again").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Row, Select, and_, or_, select, tuple_, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.core.throttle import Limits, Scope
from bot.core.types import OutboxStatus
from bot.store import models as m

log = logging.getLogger(__name__)

LOCK_SECONDS = 120
IN_APP_LOCK_SECONDS = 10  # in-app delivery: redoing it is harmless, so a stale claim is retried
EXPIRY_INTERVAL_SECONDS = 1.0  # how often a dispatcher looks for stale claims (two updates)


@dataclass(frozen=True, slots=True)
class OutboundPayload:
    recipient: str
    text: str
    kind: str
    buttons: tuple[tuple[str, str], ...]
    item_id: int
    channel: str


class RetryAfter(Exception):
    """The channel asked us to wait (Telegram 429 retry_after, X x-rate-limit-reset)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class TransientSendError(Exception):
    """5xx or a network error: retry with backoff."""


class RecipientUnreachable(Exception):
    """The citizen blocked the bot or no longer exists (Telegram 403): stop trying."""


class Undeliverable(Exception):
    """This message cannot go out on this channel, now or later (WhatsApp's 24-hour window has
    closed and no template fits, a request the channel refuses): the item fails at once, with
    the reason for an admin; the citizen stays reachable."""


class Sender(Protocol):
    """Delivers one outbox item on one channel.

    `in_app` says whether sending is the commit that shows the reply: the citizen reads it from our
    own database (web chat, API, CLI: `DeliveredInApp`). Doing that twice is harmless, so the
    dispatcher claims such items together and retries a stale claim, and the intake stores such
    replies as sent. A sender that talks to another service (Telegram, X) sets it False."""

    in_app: bool

    async def send(self, payload: OutboundPayload) -> str | None:
        """Send one message; return the channel's message id. Raise the errors above."""


class DeliveredInApp:
    """For channels the citizen reads from our own database (web chat, API, CLI): sending is
    making the message visible, which the commit of the outbox row does. Doing it twice shows the
    message once, so an item left "sending" by a dead process is retried, not given up."""

    in_app = True

    async def send(self, payload: OutboundPayload) -> str | None:
        return None


def backoff_seconds(attempt: int) -> float:
    return min(300.0, 2.0**attempt) * (0.75 + 0.5 * random.random())


def _held_chats(now: datetime) -> Select[str, str]:
    """The chats (channel, recipient) with an item held: waiting out a 429 or a retry. Their due
    items wait, so "Did this help?" never arrives before the answer. An item being sent does not
    hold its chat: a dispatcher killed mid-send leaves it "sending" for LOCK_SECONDS, and the
    chat (an emergency reply among them) must not wait that long; one dispatcher sends a chat's
    items in id order anyway. Held items are few and this subquery does not depend on the row,
    so the database computes it once per claim (a hashed subplan): one select, no query per item."""
    held = aliased(m.OutboxItem)
    return select(held.channel, held.recipient).where(
        and_(held.status == OutboxStatus.PENDING, held.next_attempt_at > now)
    )


class Dispatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        senders: dict[str, Sender],
        max_attempts: int = 8,
        batch: int = 50,
        throttles: Mapping[str, Limits] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.senders = senders  # live: a channel started later registers its sender here
        # live too: a channel registers its limits with its sender; none means no throttling
        self.throttles: Mapping[str, Limits] = throttles if throttles is not None else {}
        self.max_attempts = max_attempts
        self.batch = batch
        self.clock = clock
        self.wakeup = asyncio.Event()
        self.throttled_for = 0.0  # when a throttle refused: seconds until its channel has room
        self._next_expiry = datetime.min.replace(tzinfo=UTC)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def claim(self) -> list[OutboundPayload]:
        """Claim what is due: every in-app item in one conditional update, at most one remote
        item (a crash can strand only the one in flight). Only rows the update changed are ours:
        another dispatcher may have claimed the rest since our select.

        A remote item goes only when its channel's throttle allows it (`_pick`): one that its
        chat's rate refuses waits, pending, with `next_attempt_at` at the time its chat has room
        (which holds the chat's later items, so its order stays); when the channel's budget is
        full, its items stay as they are and the next one of another channel may go."""
        now = self._now()
        self.throttled_for = 0.0
        with self.sessions.begin() as session:
            if now >= self._next_expiry:
                self._expire_stale(session, now)
                self._next_expiry = now + timedelta(seconds=EXPIRY_INTERVAL_SECONDS)
            in_app = set(self._in_app_channels())
            # An emergency reply goes out before anything else that is due (another message's
            # answer, a prompt): the citizen must read "call 112" first. The order is the index's.
            stmt = (
                select(m.OutboxItem.id, m.OutboxItem.channel, m.OutboxItem.recipient)
                .where(
                    m.OutboxItem.status == OutboxStatus.PENDING,
                    m.OutboxItem.next_attempt_at <= now,
                    m.OutboxItem.channel.in_(list(self.senders)),
                    or_(
                        m.OutboxItem.channel.in_(list(in_app)),
                        tuple_(m.OutboxItem.channel, m.OutboxItem.recipient).not_in(_held_chats(now)),
                    ),
                )
                .order_by(m.OutboxItem.priority, m.OutboxItem.id)
                .limit(self.batch)
            )
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            due = session.execute(stmt).all()
            local = [item_id for item_id, channel, _ in due if channel in in_app]
            remote = self._pick([row for row in due if row.channel not in in_app], session, now)
            won = [
                item
                for ids, lock in ((local, IN_APP_LOCK_SECONDS), (remote, LOCK_SECONDS))
                if ids
                for item in session.scalars(
                    update(m.OutboxItem)
                    .where(m.OutboxItem.id.in_(ids), m.OutboxItem.status == OutboxStatus.PENDING)
                    .values(
                        status=OutboxStatus.SENDING,
                        locked_until=now + timedelta(seconds=lock),
                        attempts=m.OutboxItem.attempts + 1,
                    )
                    .returning(m.OutboxItem)
                    .execution_options(synchronize_session=False)
                )
            ]
            for item in won:
                throttle = self.throttles.get(item.channel)
                if throttle is not None and item.channel not in in_app:
                    throttle.count(item.recipient, now.timestamp())
            return [
                OutboundPayload(
                    recipient=item.recipient,
                    text=item.payload.get("text", ""),
                    kind=item.payload.get("kind", "text"),
                    buttons=tuple(tuple(b) for b in item.payload.get("buttons", [])),  # type: ignore[misc]
                    item_id=item.id,
                    channel=item.channel,
                )
                for item in sorted(won, key=lambda item: (item.priority, item.id))
            ]

    def _pick(self, rows: list[Row[int, str, str]], session: Session, now: datetime) -> list[int]:
        """The first remote item (in priority order) its channel's throttle lets go, as [id] or
        []. Refused by its chat's rate: the item waits until then (one UPDATE, only when that
        happens), and the chat's later items are skipped. Refused by the channel's budget: the
        channel's items wait where they are. Emergencies come first in `rows`, so they take the
        budget first."""
        full: set[str] = set()
        waiting: set[tuple[str, str]] = set()
        deferred: dict[float, list[int]] = {}
        chosen: list[int] = []
        for item_id, channel, recipient in rows:
            if channel in full or (channel, recipient) in waiting:
                continue
            throttle = self.throttles.get(channel)
            refusal = throttle.check(recipient, now.timestamp()) if throttle is not None else None
            if refusal is None:
                chosen = [item_id]
                break
            self.throttled_for = min(self.throttled_for or refusal.wait, refusal.wait)
            if refusal.scope is Scope.CHAT:
                waiting.add((channel, recipient))
                deferred.setdefault(refusal.wait, []).append(item_id)
            else:
                full.add(channel)
        for wait, ids in deferred.items():
            session.execute(
                update(m.OutboxItem)
                .where(m.OutboxItem.id.in_(ids), m.OutboxItem.status == OutboxStatus.PENDING)
                .values(next_attempt_at=now + timedelta(seconds=wait))
                .execution_options(synchronize_session=False)
            )
        return chosen

    def _in_app_channels(self) -> list[str]:
        return [c for c, sender in list(self.senders.items()) if sender.in_app]

    def _expire_stale(self, session: Session, now: datetime) -> None:
        session.execute(  # in-app: the process died before the commit that shows it; do it again
            update(m.OutboxItem)
            .where(
                m.OutboxItem.status == OutboxStatus.SENDING,
                m.OutboxItem.locked_until < now,
                m.OutboxItem.channel.in_(self._in_app_channels()),
            )
            .values(status=OutboxStatus.PENDING, locked_until=None, last_error="retried after a stale claim")
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(m.OutboxItem)
            .where(m.OutboxItem.status == OutboxStatus.SENDING, m.OutboxItem.locked_until < now)
            .values(status=OutboxStatus.UNKNOWN, last_error="dispatcher stopped mid-send; not resent")
            .execution_options(synchronize_session=False)
        )

    async def run_once(self) -> int:
        """Send what is due, up to `batch` items. Items of remote channels are claimed one at a
        time, right before their send: a process killed mid-batch strands at most one of them."""
        blocked: set[tuple[str, str]] = set()
        handled = 0
        while handled < self.batch:
            items = await asyncio.to_thread(self.claim)
            if not items:
                break
            delivered: list[tuple[int, str | None]] = []  # in-app items, marked together
            for item in items:
                if (item.channel, item.recipient) in blocked:
                    await asyncio.to_thread(self._give_up, item.item_id, "recipient unreachable", False)
                    continue
                if not await self._deliver(item, delivered):
                    blocked.add((item.channel, item.recipient))
            if delivered:
                await asyncio.to_thread(self._mark_sent_many, delivered)
            handled += len(items)
        return handled

    async def _deliver(
        self, payload: OutboundPayload, delivered: list[tuple[int, str | None]] | None = None
    ) -> bool:
        """Send one item; False when the recipient turned out to be unreachable. An item of an
        in-app channel is added to `delivered` to be marked sent with the others of its claim:
        sending it again after a crash is harmless. Remote items are marked at once."""
        channel = payload.channel
        sender = self.senders[channel]
        try:
            external = await sender.send(payload)
        except RetryAfter as exc:
            await asyncio.to_thread(self._reschedule, payload.item_id, exc.seconds, str(exc), False)
        except RecipientUnreachable as exc:
            await asyncio.to_thread(self._give_up, payload.item_id, str(exc), True)
            return False
        except Undeliverable as exc:
            await asyncio.to_thread(self._give_up, payload.item_id, str(exc), False)
        except TransientSendError as exc:
            await asyncio.to_thread(self._reschedule, payload.item_id, None, str(exc), True)
        except Exception as exc:  # a bug in a sender: keep the item, log with traceback
            log.exception("sender for %s failed", channel)
            await asyncio.to_thread(self._reschedule, payload.item_id, None, repr(exc), True)
        else:
            if delivered is not None and sender.in_app:
                delivered.append((payload.item_id, external))
            else:
                await asyncio.to_thread(self._mark_sent, payload.item_id, external)
        return True

    def _mark_sent_many(self, delivered: list[tuple[int, str | None]]) -> None:
        now = self._now()
        with self.sessions.begin() as session:  # ORM bulk UPDATE by primary key: one executemany
            session.execute(
                update(m.OutboxItem),
                [
                    {
                        "id": item_id,
                        "status": OutboxStatus.SENT,
                        "sent_at": now,
                        "external_id": external,
                        "locked_until": None,
                    }
                    for item_id, external in delivered
                ],
            )

    def _mark_sent(self, item_id: int, external: str | None) -> None:
        self._mark_sent_many([(item_id, external)])

    def _reschedule(self, item_id: int, wait: float | None, error: str, counts: bool) -> None:
        with self.sessions.begin() as session:
            item = session.get(m.OutboxItem, item_id)
            assert item is not None
            if counts and item.attempts >= self.max_attempts:
                item.status, item.last_error = OutboxStatus.FAILED, error
                return
            if not counts:
                item.attempts -= 1  # a rate limit is not a failed attempt
            delay = wait if wait is not None else backoff_seconds(item.attempts)
            item.status, item.locked_until = OutboxStatus.PENDING, None
            item.next_attempt_at = self._now() + timedelta(seconds=delay)
            item.last_error = error

    def _give_up(self, item_id: int, error: str, unreachable: bool) -> None:
        with self.sessions.begin() as session:
            item = session.get(m.OutboxItem, item_id)
            assert item is not None
            item.status, item.last_error = OutboxStatus.FAILED, error
            if unreachable:
                message = session.get(m.Message, item.message_id)
                citizen = session.get(m.Citizen, message.citizen_id) if message else None
                if citizen is not None:
                    citizen.unreachable = True
                session.execute(
                    update(m.OutboxItem)
                    .where(
                        m.OutboxItem.recipient == item.recipient,
                        m.OutboxItem.channel == item.channel,
                        m.OutboxItem.status == OutboxStatus.PENDING,
                    )
                    .values(status=OutboxStatus.FAILED, last_error="recipient unreachable")
                    .execution_options(synchronize_session=False)
                )

    async def run_forever(self, interval: float = 0.5) -> None:
        while True:
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("outbox dispatch failed")
                sent = 0
            if not sent:
                self.wakeup.clear()
                wait = min(interval, self.throttled_for) if self.throttled_for > 0 else interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), timeout=wait)
