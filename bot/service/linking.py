"""One-time codes that link a professional's Telegram account (the console and the CLI issue them).

Only a sha256 of the code is stored; a code works once, within its validity.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.core.i18n import Refused, msg
from bot.store import models as m

VALID_MINUTES = 15
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to type on a phone


class LinkError(Refused, ValueError):
    """A code that is unknown, used or expired; `message` says so, to show."""


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace(" ", "").replace("-", "").encode()).hexdigest()


def issue_code(session: Session, professional: m.Professional, minutes: int = VALID_MINUTES) -> str:
    """A fresh code for this professional (earlier unused codes stop working)."""
    session.execute(
        delete(m.LinkCode).where(m.LinkCode.professional_id == professional.id, m.LinkCode.used_at.is_(None))
    )
    code = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    session.add(
        m.LinkCode(
            code_hash=_hash(code),
            professional_id=professional.id,
            expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
        )
    )
    session.flush()
    return code


def redeem(session: Session, code: str, telegram_chat_id: str) -> m.Professional:
    """Link the Telegram chat to the code's professional; the code is used up."""
    now = datetime.now(UTC)
    link = session.get(m.LinkCode, _hash(code), with_for_update=True)
    if link is None or link.used_at is not None or link.expires_at < now:
        raise LinkError(msg("Unknown or expired code."))
    professional = session.get(m.Professional, link.professional_id)
    if professional is None or not professional.active:
        raise LinkError(msg("Unknown or expired code."))
    for other in session.scalars(
        select(m.Professional).where(
            m.Professional.telegram_chat_id == telegram_chat_id,
            m.Professional.id != professional.id,
        )
    ):
        other.telegram_chat_id = None  # one Telegram account belongs to one professional
    professional.telegram_chat_id = telegram_chat_id
    link.used_at = now
    session.add(
        m.AuditLog(
            actor=professional.username,
            action="telegram_link",
            target=f"professional:{professional.id}",
        )
    )
    return professional


def unlink(session: Session, telegram_chat_id: str) -> None:
    for pro in session.scalars(
        select(m.Professional).where(m.Professional.telegram_chat_id == telegram_chat_id)
    ):
        pro.telegram_chat_id = None
