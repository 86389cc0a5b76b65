"""Single sign-on: who a provider's validated ID token is here, and what they may do.

The pure part turns claims into a `Grant` (roles, areas, admin) by the configured `ClaimRules`;
`sign_in` finds the professional by the provider's issuer and `sub` (never by e-mail: an e-mail
address can be reassigned or claimed at another provider), creates one at the first login, and
refuses a disabled account. `link` attaches a provider identity to an existing (local) account
at that user's own request, again by issuer and `sub` only; `unlink` (an admin, Team page) removes
it, never leaving an account with no way in. A roles claim never takes the admin
role from the last active admin: that sign-in keeps it, logs a warning and marks the user
(`sso_admin_kept_at`) for the Team page's warning. The web side (bot/web/sso.py) runs the OpenID
flow with Authlib.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.service import users
from bot.service.queue import audit
from bot.store import models as m

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimRules:
    """Where roles and areas come from. No `roles_claim`: an admin assigns them on the Team page."""

    roles_claim: str = ""
    areas_claim: str = ""
    role_map: Mapping[str, str] | None = None  # the provider's value -> our role slug
    admin_value: str = ""

    @classmethod
    def of(cls, settings: Settings) -> ClaimRules:
        return cls(
            settings.oidc_roles_claim.strip(),
            settings.oidc_areas_claim.strip(),
            dict(settings.oidc_role_map),
            settings.oidc_admin_value.strip(),
        )


@dataclass(frozen=True)
class Grant:
    roles: tuple[str, ...]
    areas: tuple[str, ...]
    is_admin: bool
    ignored: tuple[str, ...]  # values no role or area of ours matched


@dataclass(frozen=True)
class SignIn:
    """The outcome of `sign_in`: a professional's id, or a refusal fit to show."""

    professional_id: int | None
    username: str = ""
    refusal: str | None = None
    created: bool = False


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """A claim's values: `path` may be dotted (Keycloak's realm_access.roles); a string value is
    one value, or several separated by commas or spaces."""
    value: Any = claims
    for part in [p for p in path.split(".") if p]:
        if not isinstance(value, Mapping) or part not in value:
            return []
        value = value[part]
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if isinstance(v, str | int)]
    return []


def grant_from(
    claims: Mapping[str, Any], rules: ClaimRules, known_roles: set[str], known_areas: set[str]
) -> Grant:
    """Roles, areas and admin rights from the claims (only with a `roles_claim`)."""
    mapping = dict(rules.role_map or {})
    roles: list[str] = []
    ignored: list[str] = []
    is_admin = False
    for value in claim_values(claims, rules.roles_claim) if rules.roles_claim else []:
        if rules.admin_value and value == rules.admin_value:
            is_admin = True
            continue
        slug = mapping.get(value, value)
        if slug in known_roles:
            if slug not in roles:
                roles.append(slug)
        else:
            ignored.append(f"role:{value}")
    areas: list[str] = []
    for value in claim_values(claims, rules.areas_claim) if rules.areas_claim else []:
        if value in known_areas:
            if value not in areas:
                areas.append(value)
        else:
            ignored.append(f"area:{value}")
    return Grant(tuple(roles), tuple(areas), is_admin, tuple(ignored))


_NOT_USERNAME = re.compile(r"[^a-z0-9_.-]+")


def username_for(claims: Mapping[str, Any], taken: Callable[[str], bool]) -> str:
    """A free username like the ones admins make (bot.service.users), from preferred_username,
    the e-mail's local part or the name; a taken one gets a number (it is never linked to it)."""
    for key in ("preferred_username", "email", "name"):
        raw = str(claims.get(key) or "").strip().lower()
        if key == "email" or "@" in raw:
            raw = raw.split("@", 1)[0]
        base = _NOT_USERNAME.sub("-", raw.replace(" ", ".")).strip("-._")[:70]
        if len(base) >= 2:
            break
    else:
        base = "sso-user"
    if not base[0].isalnum():
        base = "u" + base
    name, n = base, 1
    while taken(name):
        n += 1
        name = f"{base}-{n}"
    return name


def sign_in(session: Session, issuer: str, claims: Mapping[str, Any], rules: ClaimRules) -> SignIn:
    """The professional behind a validated ID token: found by (issuer, sub), created at the first
    login; with a roles claim, roles, areas and admin rights follow it at every login."""
    subject = str(claims.get("sub") or "")
    if not subject:
        return SignIn(None, refusal="The sign-in service did not say who you are.")
    pro = session.scalars(
        select(m.Professional).where(
            m.Professional.oidc_issuer == issuer, m.Professional.oidc_subject == subject
        )
    ).first()
    created = pro is None
    if pro is None:
        username = username_for(
            claims,
            lambda u: (
                session.scalars(select(m.Professional.id).where(m.Professional.username == u)).first()
                is not None
            ),
        )
        pro = m.Professional(
            username=username,
            display_name=str(claims.get("name") or username)[:200],
            password_hash="",  # no local password: an admin may give one (Team page)
            roles="",
            areas="",
            oidc_issuer=issuer,
            oidc_subject=subject,
        )
        session.add(pro)
        session.flush()
        audit(session, "sso", "user.sso_created", f"user:{pro.username}", {"issuer": issuer})
    if not pro.active:
        audit(session, pro.username, "login.sso_refused", f"user:{pro.username}", {"reason": "inactive"})
        return SignIn(None, pro.username, "This account is disabled. Ask an admin if that is a mistake.")
    kept = False
    if rules.roles_claim:
        known_roles = set(session.scalars(select(m.Role.slug)))
        known_areas = set(session.scalars(select(m.Area.slug)))
        grant = grant_from(claims, rules, known_roles, known_areas)
        if grant.ignored:
            log.info("SSO login of %s: ignored claim values %s", pro.username, ", ".join(grant.ignored))
        kept = pro.is_admin and not grant.is_admin and not other_active_admins(session, pro.id)
        if kept:
            log.warning(
                "SSO login of %s: the roles claim no longer gives the admin role, but %s is the last "
                "active admin and keeps it; make someone else admin (Team page) or fix the claim",
                pro.username,
                pro.username,
            )
        pro.roles, pro.areas = ",".join(grant.roles), ",".join(grant.areas)
        pro.is_admin = grant.is_admin or kept
        pro.sso_admin_kept_at = datetime.now(UTC) if kept else None
    audit(
        session,
        pro.username,
        "login.sso",
        f"user:{pro.username}",
        {"roles": pro.roles, "areas": pro.areas, "is_admin": pro.is_admin}
        | ({"admin_kept": "last active admin"} if kept else {}),
    )
    return SignIn(pro.id, pro.username, created=created)


def other_active_admins(session: Session, pro_id: int) -> int:
    """How many active admins there are besides `pro_id`. The rows are locked (FOR UPDATE, in id
    order; nothing on SQLite, whose writers queue anyway), so two last admins signing in at once
    cannot both lose the role: the second one counts after the first has committed."""
    ids = session.scalars(
        select(m.Professional.id)
        .where(m.Professional.active.is_(True), m.Professional.is_admin.is_(True))
        .order_by(m.Professional.id)
        .with_for_update()
    ).all()
    return len([i for i in ids if i != pro_id])


def kept_admins(pros: Iterable[m.Professional]) -> list[m.Professional]:
    """Those who are admin only because a claim would have left the organisation without one."""
    return [p for p in pros if p.active and p.is_admin and p.sso_admin_kept_at is not None]


def waiting(pro_roles: str, is_admin: bool, oidc_subject: str | None) -> bool:
    """An SSO user with neither roles nor admin rights waits for an admin to give them a role."""
    return bool(oidc_subject) and not is_admin and not pro_roles


class LinkOutcome(StrEnum):
    """What linking an organisation account to one's own account came to (the Account page says it)."""

    LINKED = "linked"
    ALREADY = "already"  # this identity was already theirs
    TAKEN = "taken"  # the identity belongs to another user: never moved
    OTHER = "other"  # their account is linked to another identity already
    FAILED = "failed"  # no `sub`, the flow did not check out, or the account is gone or disabled


def link(session: Session, pro_id: int, issuer: str, claims: Mapping[str, Any]) -> LinkOutcome:
    """Attach the identity (issuer, `sub`) of a validated ID token to professional `pro_id`, who
    asked for it while signed in. Nothing else of theirs changes (username, roles, areas, history);
    with a roles claim, their next SSO sign-in applies it as for everyone."""
    subject = str(claims.get("sub") or "")
    pro = session.get(m.Professional, pro_id)
    if not subject or pro is None or not pro.active:
        return LinkOutcome.FAILED
    owner = session.scalars(
        select(m.Professional).where(
            m.Professional.oidc_issuer == issuer, m.Professional.oidc_subject == subject
        )
    ).first()
    if owner is not None and owner.id == pro.id:
        return LinkOutcome.ALREADY
    if owner is not None or pro.oidc_subject:
        outcome = LinkOutcome.TAKEN if owner is not None else LinkOutcome.OTHER
        log.warning("SSO link for %s refused: %s", pro.username, outcome.value)
        audit(
            session,
            pro.username,
            "user.sso_link_refused",
            f"user:{pro.username}",
            {"reason": outcome.value, "issuer": issuer},
        )
        return outcome
    pro.oidc_issuer, pro.oidc_subject = issuer, subject
    session.flush()  # the (issuer, sub) pair is unique: a concurrent link fails here
    audit(session, pro.username, "user.sso_linked", f"user:{pro.username}", {"issuer": issuer})
    return LinkOutcome.LINKED


class UnlinkOutcome(StrEnum):
    """What removing a user's organisation-account link came to (the Team page says it)."""

    UNLINKED = "unlinked"
    NOT_LINKED = "not_linked"
    MISSING = "missing"  # no such user
    PASSWORD_OFF = "password_off"  # their local password is turned off: no way in without the link
    NO_PASSWORD = "no_password"  # no local password they can use (never set, or one-time and expired)


def unlink_refusal(pro: m.Professional, now: datetime | None = None) -> UnlinkOutcome | None:
    """Why removing `pro`'s link would leave them no way in (None: their local password works)."""
    if not pro.password_login:
        return UnlinkOutcome.PASSWORD_OFF
    if not pro.password_hash or users.expired(pro, now):
        return UnlinkOutcome.NO_PASSWORD
    return None


def unlink(session: Session, actor: str, pro_id: int) -> UnlinkOutcome:
    """An admin (`actor`, maybe the user themselves) removes professional `pro_id`'s organisation
    identity: a sign-in with it no longer reaches them (it would make a new user, as a first sign-in
    does), and they may link another one from their Account page. Refused when their local password
    would not let them in any more. Sessions opened through SSO end; password sessions go on.
    The row is locked (FOR UPDATE), as the Team page's save locks it to turn the password off, so
    the two cannot together leave an account with no way in."""
    pro = session.get(m.Professional, pro_id, with_for_update=True)
    if pro is None:
        return UnlinkOutcome.MISSING
    if not pro.oidc_subject:
        return UnlinkOutcome.NOT_LINKED
    issuer = pro.oidc_issuer or ""
    refusal = unlink_refusal(pro)
    if refusal is not None:
        log.warning("SSO link of %s not removed by %s: %s", pro.username, actor, refusal.value)
        audit(
            session,
            actor,
            "user.sso_unlink_refused",
            f"user:{pro.username}",
            {"reason": refusal.value, "issuer": issuer},
        )
        return refusal
    pro.oidc_issuer, pro.oidc_subject = None, None
    pro.sso_admin_kept_at = None  # no claim speaks for them any more
    session.execute(
        delete(m.WebSession).where(
            m.WebSession.professional_id == pro.id, m.WebSession.oidc_id_token.is_not(None)
        )
    )
    log.info("SSO link of %s (issuer %s) removed by %s", pro.username, issuer, actor)
    audit(session, actor, "user.sso_unlinked", f"user:{pro.username}", {"issuer": issuer})
    return UnlinkOutcome.UNLINKED
