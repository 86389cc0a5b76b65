"""The team as the router sees it: who is active, in which roles and areas."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.staffing import Member, Staffing
from bot.store import models as m


def _split(value: str | None) -> frozenset[str]:
    return frozenset(x for x in (value or "").split(",") if x)


def staffing(session: Session) -> Staffing:
    rows = session.execute(
        select(m.Professional.roles, m.Professional.areas).where(m.Professional.active.is_(True))
    ).all()
    return Staffing.of(Member(_split(roles), _split(areas)) for roles, areas in rows)
