"""The outbox's one writer: every message to a citizen is stored with its outbox item here.

The dispatcher (`bot.service.outbox`) sends the items. A reply on a channel the citizen reads from
our own database (web chat, API, CLI) may be stored as sent: the commit that stores it is its
delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.core.types import DeliveryStatus, Direction, Language, OutboxStatus, Reply, ReplyKind
from bot.store import models as m

EMERGENCY_PRIORITY = 0
NORMAL_PRIORITY = 1


def priority_of(kind: str) -> int:
    """The outbox item's `priority` (lower goes out first): the citizen must read "call 112"
    before another message's answer or a prompt that is due at the same time."""
    return EMERGENCY_PRIORITY if kind == ReplyKind.EMERGENCY.value else NORMAL_PRIORITY


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Replies to one citizen, in one language, maybe about a question, maybe by a professional."""

    citizen: m.Citizen
    replies: Sequence[Reply]
    language: Language
    question_id: int | None = None
    author: str | None = None  # a professional's username


def never(channel: str) -> bool:
    return False


def enqueue(
    session: Session, batch: Sequence[Outgoing], delivered_in_app: Callable[[str], bool] = never
) -> list[list[int]]:
    """Store each reply as an outbound message with its outbox item (one flush for the whole
    batch); the message ids, per `Outgoing`. A citizen who blocked us gets the messages (they are
    part of the conversation) but no outbox items."""
    outs = [
        [
            m.Message(
                citizen_id=group.citizen.id,
                direction=Direction.OUT.value,
                channel=group.citizen.channel,
                text=reply.text,
                language=group.language.value,
                kind=reply.kind,
                question_id=group.question_id,
                author=group.author,
                processed=True,
            )
            for reply in group.replies
        ]
        for group in batch
    ]
    session.add_all([out for messages in outs for out in messages])
    session.flush()
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for group, messages in zip(batch, outs, strict=True):
        citizen = group.citizen
        if citizen.unreachable:
            continue
        # An in-app reply is delivered by this transaction's commit: no dispatcher round trip.
        in_app = delivered_in_app(citizen.channel)
        rows += [
            {
                "message_id": out.id,
                "channel": citizen.channel,
                "recipient": citizen.external_id,
                "payload": {
                    "text": reply.text,
                    "kind": reply.kind,
                    "buttons": [[b.label, b.data] for b in reply.buttons],
                },
                "priority": priority_of(reply.kind),
                "status": (OutboxStatus.SENT if in_app else OutboxStatus.PENDING).value,
                "attempts": 1 if in_app else 0,
                "sent_at": now if in_app else None,
                "next_attempt_at": now,
                "created_at": now,
            }
            for out, reply in zip(messages, group.replies, strict=True)
        ]
    if rows:  # one statement for the batch: nothing reads the items back in this transaction
        # on the table (Core): an in-app item's sent_at and a pending one's NULL stay one statement
        session.execute(insert(m.table_of(m.OutboxItem)), rows)
    return [[out.id for out in messages] for messages in outs]


# A later status never replaces a further one: callbacks arrive out of order.
_RANK = {
    DeliveryStatus.SENT: 0,
    DeliveryStatus.DELIVERED: 1,
    DeliveryStatus.READ: 2,
    DeliveryStatus.FAILED: 3,
}


def record_delivery(
    session: Session,
    channel: str,
    external_id: str,
    status: DeliveryStatus,
    at: datetime,
    error: str | None = None,
) -> m.OutboxItem | None:
    """What the channel reports about a message it accepted (delivered, read, failed), on the
    outbox item that sent it; None when no item of ours has that id. A failure marks the item
    failed with the channel's reason, so an admin sees it among the undelivered replies."""
    item = session.scalars(
        select(m.OutboxItem)
        .where(m.OutboxItem.channel == channel, m.OutboxItem.external_id == external_id)
        .with_for_update()
    ).first()
    if item is None:
        return None
    known = DeliveryStatus(item.delivery_status) if item.delivery_status else None
    if known is not None and _RANK[known] >= _RANK[status]:
        return item
    item.delivery_status, item.delivery_at = status.value, at
    if status is DeliveryStatus.FAILED:
        item.status, item.last_error = OutboxStatus.FAILED.value, error or "the channel could not deliver it"
    return item
