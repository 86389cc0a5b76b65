"""Messages: inbound ones stored exactly as received (before anything else happens), and the
reads the conversation needs. Outbound messages are written with their outbox items
(`bot.store.outbox`). Repositories take a session and never commit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.types import Direction, InboundMessage, Language, OutboxStatus
from bot.store import models as m


def add_inbound(session: Session, citizen: m.Citizen, inbound: InboundMessage) -> m.Message:
    """A new inbound message (not flushed: the caller flushes once for a batch)."""
    message = m.Message(
        citizen_id=citizen.id,
        direction=Direction.IN.value,
        channel=inbound.channel.value,
        external_id=inbound.external_id,
        text=inbound.text,
        raw_text=inbound.raw,
        kind=inbound.media or "text",
        language=inbound.language.value if inbound.language else None,
    )
    session.add(message)
    return message


def known_inbound(session: Session, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Messages stored before, by (citizen id, the channel's message id): a redelivery of one of
    them is not a new message. The channel's ids are unique per citizen, not per channel: two
    citizens may send the same id, and each is their own message. One statement for a batch."""
    wanted = set(keys)
    if not wanted:
        return {}
    found: dict[tuple[int, str], int] = {}
    for message_id, citizen_id, external in session.execute(
        select(m.Message.id, m.Message.citizen_id, m.Message.external_id).where(
            m.Message.direction == Direction.IN.value,
            m.Message.external_id.in_({external for _, external in wanted}),
            m.Message.citizen_id.in_({citizen_id for citizen_id, _ in wanted}),
        )
    ):
        if (citizen_id, str(external)) in wanted:
            found[(citizen_id, str(external))] = message_id
    return found


def lock_for_decision(session: Session, ids: list[int]) -> dict[int, m.Message]:
    """The messages to decide, locked on PostgreSQL (in id order, so two deciders never wait on
    each other in a circle). The caller holds on to them: the identity map keeps only objects
    someone refers to."""
    stmt = select(m.Message).where(m.Message.id.in_(ids)).order_by(m.Message.id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return {message.id: message for message in session.scalars(stmt)}


def last_language(session: Session, message: m.Message) -> Language | None:
    """The language of the citizen's previous message: the conversation's language, for a
    follow-up that does not show one ("1053 KL", "ok")."""
    previous = session.scalars(
        select(m.Message.language)
        .where(
            m.Message.citizen_id == message.citizen_id,
            m.Message.direction == Direction.IN.value,
            m.Message.id < message.id,
            m.Message.language.is_not(None),
        )
        .order_by(m.Message.id.desc())
        .limit(1)
    ).first()
    return Language(previous) if previous in ("en", "nl") else None


def latest_language(session: Session, citizen_id: int) -> Language | None:
    """The language of the citizen's latest message."""
    latest = session.scalars(
        select(m.Message.language)
        .where(
            m.Message.citizen_id == citizen_id,
            m.Message.direction == Direction.IN.value,
            m.Message.language.is_not(None),
        )
        .order_by(m.Message.id.desc())
        .limit(1)
    ).first()
    return Language(latest) if latest in ("en", "nl") else None


def replies_to(session: Session, message: m.Message) -> list[m.Message]:
    """The bot's replies to an inbound message: the outbound ones after it, up to the citizen's
    next message."""
    outs = list(
        session.scalars(
            select(m.Message)
            .where(
                m.Message.citizen_id == message.citizen_id,
                m.Message.direction == Direction.OUT.value,
                m.Message.id > message.id,
            )
            .order_by(m.Message.id)
        )
    )
    following = session.scalars(
        select(m.Message.id)
        .where(
            m.Message.citizen_id == message.citizen_id,
            m.Message.direction == Direction.IN.value,
            m.Message.id > message.id,
        )
        .order_by(m.Message.id)
    ).first()
    return [o for o in outs if following is None or o.id < following]


def unprocessed(session: Session, born_before: datetime) -> list[int]:
    """Inbound messages stored but never decided (a crash, an engine that was down)."""
    return list(
        session.scalars(
            select(m.Message.id)
            .where(
                m.Message.direction == Direction.IN.value,
                m.Message.processed.is_(False),
                m.Message.created_at <= born_before,
            )
            .order_by(m.Message.id)
        )
    )


def conversation(
    session: Session, citizen_id: int, after: int = 0, outbound_only: bool = False
) -> list[tuple[m.Message, m.OutboxItem | None]]:
    """A citizen's own messages after id `after`, each outbound one with its outbox item, as the
    citizen's chat or an API client shows them: only the citizen's own, never anyone else's. An
    outbound message still on its way ends the list, so the order holds."""
    stmt = (
        select(m.Message, m.OutboxItem)
        .outerjoin(m.OutboxItem, m.OutboxItem.message_id == m.Message.id)
        .where(m.Message.citizen_id == citizen_id, m.Message.id > after)
        .order_by(m.Message.id)
    )
    if outbound_only:
        stmt = stmt.where(m.Message.direction == Direction.OUT.value)
    shown: list[tuple[m.Message, m.OutboxItem | None]] = []
    for message, item in session.execute(stmt).all():
        if message.direction == Direction.OUT.value:
            if item is not None and item.status in _ON_ITS_WAY:
                break
            if item is None or item.status != OutboxStatus.SENT.value:
                continue  # never delivered (failed, in doubt): not part of what they saw
        shown.append((message, item))
    return shown


_ON_ITS_WAY = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
