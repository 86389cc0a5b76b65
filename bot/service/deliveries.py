"""Replies the outbox could not deliver for sure, for an admin to settle.

Two kinds: `unknown` (the process died during the send: the channel may or may not have it; the
dispatcher never sends twice, so it stops there) and `failed` (the channel refused it for good, or
every attempt failed). An admin who has checked can send one again, or, for an `unknown` one that
did arrive, record it as delivered. Both are written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core.types import OutboxStatus
from bot.service.queue import audit
from bot.store import models as m

IN_DOUBT = (OutboxStatus.UNKNOWN.value, OutboxStatus.FAILED.value)
PAGE = 200


class DeliveryError(Exception):
    """The item is not (or no longer) one to settle; the message is fit to show."""


@dataclass(frozen=True)
class Undelivered:
    item_id: int
    status: str
    channel: str
    citizen_id: int
    question_id: int | None
    text: str
    attempts: int
    error: str | None
    created_at: datetime


def in_doubt(session: Session, limit: int = PAGE) -> tuple[list[Undelivered], int]:
    """The newest `limit` items to settle, and how many there are in all."""
    total = session.scalar(select(func.count()).select_from(m.OutboxItem)
                           .where(m.OutboxItem.status.in_(IN_DOUBT))) or 0
    rows = session.execute(
        select(m.OutboxItem, m.Message.citizen_id, m.Message.question_id)
        .join(m.Message, m.Message.id == m.OutboxItem.message_id)
        .where(m.OutboxItem.status.in_(IN_DOUBT))
        .order_by(m.OutboxItem.id.desc()).limit(limit)
    ).all()
    items = [Undelivered(item.id, item.status, item.channel, citizen_id, question_id,
                         str(item.payload.get("text", "")), item.attempts, item.last_error,
                         item.created_at)
             for item, citizen_id, question_id in rows]
    return items, int(total)


def _item(session: Session, item_id: int, allowed: tuple[str, ...]) -> m.OutboxItem:
    item = session.get(m.OutboxItem, item_id, with_for_update=True)
    if item is None or item.status not in allowed:
        raise DeliveryError("That reply is not waiting to be settled (any more).")
    return item


def resend(session: Session, actor: str, item_id: int) -> None:
    """Queue the reply again, from a first attempt."""
    item = _item(session, item_id, IN_DOUBT)
    audit(session, actor, "outbox.resend", f"outbox:{item.id}", {"was": item.status})
    item.status, item.attempts, item.locked_until = OutboxStatus.PENDING.value, 0, None
    item.next_attempt_at = datetime.now(UTC)
    item.last_error = f"sent again by {actor}"


def confirm_delivered(session: Session, actor: str, item_id: int) -> None:
    """An `unknown` reply the admin found delivered: record it as sent, never send it again."""
    item = _item(session, item_id, (OutboxStatus.UNKNOWN.value,))
    audit(session, actor, "outbox.confirm", f"outbox:{item.id}")
    item.status, item.locked_until, item.sent_at = OutboxStatus.SENT.value, None, datetime.now(UTC)
    item.last_error = f"delivery confirmed by {actor}"
