"""Where the X channel keeps its place: cursors in `channel_state`, seen ids in `processed_updates`.

Functions take a session and never commit (the caller frames the transaction).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store import models as m

DM_CURSOR = "x:dm_newest_event_id"
MENTION_CURSOR = "x:mention_since_id"
DM_CHANNEL = "x"
MENTION_CHANNEL = "x-mention"
INVITE_CHANNEL = "x-invite"


def load_cursor(session: Session, key: str) -> int | None:
    row = session.get(m.ChannelState, key)
    return int(row.value) if row is not None and row.value else None


def save_cursor(session: Session, key: str, value: int) -> None:
    """Move the cursor forward (never back: events are handled oldest first)."""
    row = session.get(m.ChannelState, key, with_for_update=True)
    if row is None:
        session.add(m.ChannelState(key=key, value=str(value), updated_at=datetime.now(UTC)))
    elif not row.value or int(row.value) < value:
        row.value, row.updated_at = str(value), datetime.now(UTC)


def seen(session: Session, channel: str, update_id: str) -> bool:
    found = session.scalars(
        select(m.ProcessedUpdate.update_id).where(
            m.ProcessedUpdate.channel == channel, m.ProcessedUpdate.update_id == update_id
        )
    ).first()
    return found is not None


def mark_seen(session: Session, channel: str, update_id: str) -> None:
    if not seen(session, channel, update_id):
        session.add(m.ProcessedUpdate(channel=channel, update_id=update_id))
