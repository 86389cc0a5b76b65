"""Professionals and admins: creation, lookup and password checks (argon2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.i18n import Refused, msg
from bot.store import models as m

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,79}$")
MIN_PASSWORD = 10


class UserError(Refused, ValueError):
    """A user that cannot be created or changed; `message` says why, to show."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


ONE_TIME_HOURS = 72  # an unused one-time password stops working after this


def set_password(pro: m.Professional, password: str, *, one_time: bool) -> None:
    """The one writer of a password. A one-time password (first or reset, made by an admin or the
    CLI) must be changed at the first login and expires unused after `ONE_TIME_HOURS`; a password
    the professional chose is neither."""
    pro.password_hash = hash_password(password)
    pro.must_change_password = one_time
    pro.password_expires_at = datetime.now(UTC) + timedelta(hours=ONE_TIME_HOURS) if one_time else None


def expired(pro: m.Professional, now: datetime | None = None) -> bool:
    """Whether the professional's (one-time) password has expired unused."""
    return pro.password_expires_at is not None and (now or datetime.now(UTC)) >= pro.password_expires_at


def find(session: Session, username: str) -> m.Professional | None:
    return session.scalars(select(m.Professional).where(m.Professional.username == username)).first()


def create(
    session: Session,
    username: str,
    password: str,
    *,
    is_admin: bool = False,
    display_name: str = "",
    roles: str = "",
    areas: str = "",
    one_time: bool = True,
) -> m.Professional:
    """A new professional; `password` is one-time (`set_password`) unless `one_time=False`."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise UserError(
            msg("Username: 2 to 80 characters: lower-case letters, digits, dots, underscores and hyphens.")
        )
    if len(password) < MIN_PASSWORD:
        raise UserError(msg("Password: at least %(chars)s characters.", chars=MIN_PASSWORD))
    if find(session, username) is not None:
        raise UserError(msg("User '%(username)s' already exists.", username=username))
    role_list = [r.strip() for r in roles.split(",") if r.strip()]
    known = set(session.scalars(select(m.Role.slug)))
    unknown = [r for r in role_list if r not in known]
    if unknown:
        raise UserError(msg("Unknown role(s): %(roles)s.", roles=", ".join(unknown)))
    area_list = [a.strip() for a in areas.split(",") if a.strip()]
    known_areas = set(session.scalars(select(m.Area.slug)))
    if [a for a in area_list if a not in known_areas]:
        missing = ", ".join(a for a in area_list if a not in known_areas)
        hint = (
            msg("known areas: %(areas)s", areas=", ".join(sorted(known_areas)))
            if known_areas
            else msg("there are no areas yet")
        )
        raise UserError(
            msg(
                "Unknown area(s): %(missing)s (%(hint)s). Create an area with its postcodes in the "
                "console under Admin, Roles and areas; leave --areas out for all areas.",
                missing=missing,
                hint=hint,
            )
        )
    pro = m.Professional(
        username=username,
        display_name=display_name or username,
        is_admin=is_admin,
        roles=",".join(role_list),
        areas=",".join(area_list),
    )
    set_password(pro, password, one_time=one_time)
    session.add(pro)
    session.flush()
    return pro
