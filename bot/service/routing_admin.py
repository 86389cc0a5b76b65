"""Routing settings an admin keeps: roles (names, response-time promise, office hours), areas
(postcode ranges) and the professionals who serve them.

Roles and areas are part of the library the policy reads, so changes bump the library version.
Functions take a session and never commit; every change is written to the audit log.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.core.calendar import Calendar, CalendarError, calendar
from bot.core.i18n import Refused, msg
from bot.service import users
from bot.service.queue import audit
from bot.store import models as m
from bot.store.library_repo import bump_library_version

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_RANGE = re.compile(r"^\d{4}(-\d{4})?$")


class RoutingError(Refused, ValueError):
    """A routing change that cannot be made; `message` says why, to show the admin."""


def _slug(value: str) -> str:
    slug = value.strip().lower()
    if not _SLUG.match(slug):
        raise RoutingError(msg("Identifier: lower-case letters, digits, _ and - only."))
    return slug


def roles(session: Session) -> list[m.Role]:
    return list(session.scalars(select(m.Role).order_by(m.Role.slug)))


def areas(session: Session) -> list[m.Area]:
    return list(session.scalars(select(m.Area).order_by(m.Area.slug)))


def professionals(session: Session) -> list[m.Professional]:
    return list(session.scalars(select(m.Professional).order_by(m.Professional.username)))


def office_hours(value: str, zone: str = "", closed: str = "") -> Calendar:
    """ "mon-fri 08:30-17:00" (or empty: always staffed), a time zone (empty: Europe/Amsterdam)
    and extra closed days "2026-12-24, 2026-12-31", checked (`bot.core.calendar`)."""
    try:
        return calendar(value, zone, closed)
    except CalendarError as exc:
        raise RoutingError(
            msg(
                "%(problem)s; office hours look like mon-fri 08:30-17:00, or empty for always staffed.",
                problem=str(exc),
            )
        ) from exc


def postcode_ranges(value: str) -> str:
    """ "1011-1019, 1020" -> "1011-1019,1020"; four-digit Dutch postcodes, low before high."""
    parts = [p.replace(" ", "") for p in value.split(",") if p.strip()]
    for part in parts:
        lo, _, hi = part.partition("-")
        if not _RANGE.match(part) or (hi and int(hi) < int(lo)):
            raise RoutingError(
                msg("Postcode range '%(range)s': four digits, or low-high such as 1011-1019.", range=part)
            )
    return ",".join(parts)


def save_role(
    session: Session,
    actor: str,
    slug: str,
    name_en: str,
    name_nl: str,
    response_hours: float,
    staffed: str,
    area_bound: bool,
    escalates_to: str = "",
    time_zone: str = "",
    closed_days: str = "",
) -> m.Role:
    slug = _slug(slug)
    if not name_en.strip() or not name_nl.strip():
        raise RoutingError(msg("A role needs an English and a Dutch display name."))
    if not 0 < response_hours <= 24 * 14:
        raise RoutingError(msg("Response-time promise: between 0 and 336 hours."))
    hours = office_hours(staffed, time_zone, closed_days)
    role = session.get(m.Role, slug)
    created = role is None
    if role is None:
        role = m.Role(slug=slug)
        session.add(role)
    role.name_en, role.name_nl = name_en.strip(), name_nl.strip()
    role.response_hours = float(response_hours)
    role.staffed_hours = None if hours.always else hours.spec
    role.time_zone = time_zone.strip() or None
    role.closed_days = ",".join(sorted(d.isoformat() for d in hours.closed)) or None
    role.area_bound = area_bound
    role.escalates_to = _escalation(session, slug, escalates_to)
    session.flush()
    audit(
        session,
        actor,
        "role.create" if created else "role.update",
        f"role:{slug}",
        {
            "name_en": role.name_en,
            "name_nl": role.name_nl,
            "response_hours": role.response_hours,
            "staffed_hours": role.staffed_hours,
            "time_zone": role.time_zone,
            "closed_days": role.closed_days,
            "area_bound": area_bound,
            "escalates_to": role.escalates_to,
        },
    )
    bump_library_version(session)
    return role


def _escalation(session: Session, slug: str, target: str) -> str | None:
    """The role `slug`'s questions go to when nobody of it is on duty: another role whose own path
    does not lead back here; empty for the admins."""
    target = target.strip()
    if not target:
        return None
    if session.get(m.Role, target) is None:
        raise RoutingError(msg("Escalates to: unknown role %(role)s.", role=target))
    seen = {slug}
    step: str | None = target
    while step is not None:
        if step in seen:
            raise RoutingError(
                msg(
                    "Escalates to: %(target)s leads back to %(role)s; choose another role.",
                    target=target,
                    role=slug,
                )
            )
        seen.add(step)
        row = session.get(m.Role, step)
        step = row.escalates_to if row else None
    return target


def save_area(session: Session, actor: str, slug: str, name: str, ranges: str) -> m.Area:
    slug = _slug(slug)
    if not name.strip():
        raise RoutingError(msg("An area needs a name."))
    area = session.get(m.Area, slug)
    created = area is None
    if area is None:
        area = m.Area(slug=slug)
        session.add(area)
    area.name, area.postcode_ranges = name.strip(), postcode_ranges(ranges)
    session.flush()
    audit(
        session,
        actor,
        "area.create" if created else "area.update",
        f"area:{slug}",
        {"name": area.name, "postcode_ranges": area.postcode_ranges},
    )
    bump_library_version(session)
    return area


def new_password() -> str:
    """A one-time password shown once to the admin, to hand over; the user changes it."""
    return secrets.token_urlsafe(12)


def add_professional(
    session: Session,
    actor: str,
    username: str,
    display_name: str,
    roles: list[str],
    areas: list[str],
    is_admin: bool,
) -> tuple[m.Professional, str]:
    password = new_password()
    try:
        pro = users.create(
            session,
            username,
            password,
            is_admin=is_admin,
            display_name=display_name.strip(),
            roles=",".join(roles),
            areas=",".join(areas),
        )
    except users.UserError as exc:
        raise RoutingError(exc.message) from exc
    audit(
        session,
        actor,
        "user.create",
        f"user:{pro.username}",
        {"roles": pro.roles, "areas": pro.areas, "is_admin": is_admin},
    )
    return pro, password


def update_professional(
    session: Session,
    actor: str,
    pro_id: int,
    roles: list[str],
    areas: list[str],
    active: bool,
    is_admin: bool,
    password_login: bool | None = None,
) -> m.Professional:
    """`password_login`: whether the local password works (None: unchanged); an SSO user's admin
    may turn it off so they sign in only through the organisation's provider; never for a user
    without a linked organisation account (they could not sign in at all). The row is locked (FOR
    UPDATE), as `sso.unlink` locks it, so the two cannot together leave an account with no way in."""
    pro = session.get(m.Professional, pro_id, with_for_update=True)
    if pro is None:
        raise RoutingError(msg("There is no such user."))
    if password_login is False and pro.password_login and not pro.oidc_subject:
        raise RoutingError(
            msg(
                "The local password of %(name)s stays on: no organisation account is linked to their "
                "account, so they could not sign in at all.",
                name=pro.username,
            )
        )
    known_roles = {r.slug for r in session.scalars(select(m.Role))}
    known_areas = {a.slug for a in session.scalars(select(m.Area))}
    if set(roles) - known_roles or set(areas) - known_areas:
        raise RoutingError(msg("Unknown role or area."))
    if pro.username == actor and (not active or not is_admin):
        raise RoutingError(msg("You cannot remove your own admin rights or deactivate yourself."))
    pro.roles, pro.areas, pro.active, pro.is_admin = (
        ",".join(roles),
        ",".join(areas),
        active,
        is_admin,
    )
    if not is_admin:  # no longer an admin: the Team page's warning about a kept admin role ends
        pro.sso_admin_kept_at = None
    if password_login is not None:
        pro.password_login = password_login
    if password_login is False:  # sessions opened with the password end with it
        session.execute(
            delete(m.WebSession).where(
                m.WebSession.professional_id == pro.id, m.WebSession.oidc_id_token.is_(None)
            )
        )
    audit(
        session,
        actor,
        "user.update",
        f"user:{pro.username}",
        {
            "roles": pro.roles,
            "areas": pro.areas,
            "active": active,
            "is_admin": is_admin,
            "password_login": pro.password_login,
        },
    )
    return pro


def reset_password(session: Session, actor: str, pro_id: int) -> tuple[m.Professional, str]:
    pro = session.get(m.Professional, pro_id)
    if pro is None:
        raise RoutingError(msg("There is no such user."))
    password = new_password()
    users.set_password(pro, password, one_time=True)
    session.execute(delete(m.WebSession).where(m.WebSession.professional_id == pro.id))
    audit(session, actor, "user.reset_password", f"user:{pro.username}", None)
    return pro, password
