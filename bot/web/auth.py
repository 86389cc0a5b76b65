"""Who is asking: console sessions, the FastAPI dependencies that guard pages, and CSRF.

A console session is a row in `web_sessions` keyed by the sha256 of a random cookie token (a stolen
database does not give working cookies). Use the dependencies on routes:

    current_user         logged in (pages redirect to /login?next=..., htmx/JSON get 401); a
                         session opened with a one-time password reaches only /account (403 or
                         a redirect there) until the professional chose their own password
                         an SSO user without a role yet reaches only /waiting
    require_professional logged in, active (admins included)
    require_admin        logged in and admin, else 403
    verify_csrf          on every state-changing route (no-op for GET/HEAD)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy import delete, select

from bot.app import Services
from bot.service import sso
from bot.service.queue import Viewer, audit
from bot.store import models as m
from bot.web import security
from bot.web.deps import ServicesDep, services_of

__all__ = [
    "SESSION_COOKIE",
    "User",
    "audit",
    "current_user",
    "optional_user",
    "require_admin",
    "require_professional",
    "verify_csrf",
    "viewer_of",
    "services_of",
    "ensure_anon",
    "csrf_token_for",
    "start_session",
    "end_session",
    "safe_next",
    "set_session_cookie",
]

SESSION_COOKIE = "triage_session"
SESSION_HOURS = 12  # one shift


@dataclass(frozen=True)
class User:
    """The logged-in professional or admin, detached from any database session."""

    id: int
    username: str
    display_name: str
    is_admin: bool
    roles: tuple[str, ...]
    areas: tuple[str, ...]
    csrf_token: str
    token_hash: str
    must_change_password: bool = False  # logged in with a one-time password: /account only
    waiting: bool = False  # signed in through SSO without a role yet: /waiting only (bot.service.sso)
    oidc_id_token: str | None = None  # the provider's ID token of an SSO session (for logout)
    language: str | None = None  # the console's language they chose; None: the browser's


def viewer_of(user: User) -> Viewer:
    return Viewer(user.username, frozenset(user.roles), frozenset(user.areas), user.is_admin)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(x for x in (value or "").split(",") if x)


def _load(request: Request) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    svc = services_of(request)
    with svc.sessions() as session:
        row = session.execute(
            select(m.WebSession, m.Professional)
            .join(m.Professional, m.Professional.id == m.WebSession.professional_id)
            .where(
                m.WebSession.token_hash == security.token_hash(token),
                m.WebSession.expires_at > datetime.now(UTC),
                m.Professional.active.is_(True),
            )
        ).first()
        if row is None:
            return None
        web, pro = row
        return User(
            pro.id,
            pro.username,
            pro.display_name or pro.username,
            pro.is_admin,
            _split(pro.roles),
            _split(pro.areas),
            web.csrf_token,
            web.token_hash,
            pro.must_change_password,
            sso.waiting(pro.roles, pro.is_admin, pro.oidc_subject),
            web.oidc_id_token,
            pro.language,
        )


def optional_user(request: Request) -> User | None:
    """The logged-in user or None; cached on the request so several dependencies share it."""
    if not hasattr(request.state, "user"):
        request.state.user = _load(request)
    return request.state.user  # type: ignore[no-any-return]


def _wants_html(request: Request) -> bool:
    return (
        request.method == "GET"
        and "HX-Request" not in request.headers
        and "text/html" in request.headers.get("accept", "")
    )


# What a session logged in with a one-time password may open: choosing one's own password.
ONE_TIME_PATHS = frozenset({"/account", "/account/password"})
# What an SSO user without a role may open until an admin gives them one.
WAITING_PATHS = frozenset({"/waiting"})


def current_user(request: Request) -> User:
    user = optional_user(request)
    if user is None:
        if _wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise HTTPException(
                303, "login required", headers={"Location": f"/login?next={quote(target, safe='')}"}
            )
        raise HTTPException(401, "login required")
    if user.must_change_password and request.url.path not in ONE_TIME_PATHS:
        if _wants_html(request):
            raise HTTPException(303, "choose your own password first", headers={"Location": "/account"})
        raise HTTPException(403, "choose your own password first (Account page): yours was for one time only")
    if user.waiting and request.url.path not in WAITING_PATHS:
        if _wants_html(request):
            raise HTTPException(303, "waiting for a role", headers={"Location": "/waiting"})
        raise HTTPException(403, "an admin must give you a role first")
    return user


def require_professional(user: Annotated[User, Depends(current_user)]) -> User:
    return user


def require_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if not user.is_admin:
        raise HTTPException(403, "admins only")
    return user


def ensure_anon(request: Request) -> str:
    """The anonymous browser id (signed HttpOnly cookie), created on first use."""
    if hasattr(request.state, "anon_id"):
        return request.state.anon_id  # type: ignore[no-any-return]
    secret = services_of(request).settings.secret_key
    anon = security.unsign(secret, request.cookies.get(security.ANON_COOKIE))
    if anon is None:
        anon = security.new_token()
        request.state.anon_new = security.sign(secret, anon)
    request.state.anon_id = anon
    return anon


def csrf_token_for(request: Request) -> str:
    """The token forms on this page must carry: the session's, or the anonymous browser's."""
    user = optional_user(request)
    if user is not None:
        return user.csrf_token
    return security.anon_csrf(services_of(request).settings.secret_key, ensure_anon(request))


async def verify_csrf(request: Request, services: ServicesDep) -> None:
    """403 unless a state-changing request carries this browser's CSRF token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get("x-csrf-token")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    user = optional_user(request)
    expected: str | None
    if user is not None:
        expected = user.csrf_token
    else:
        secret = services.settings.secret_key
        anon = security.unsign(secret, request.cookies.get(security.ANON_COOKIE))
        expected = security.anon_csrf(secret, anon) if anon else None
    if not security.same(sent, expected):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


def start_session(services: Services, professional_id: int, oidc_id_token: str | None = None) -> str:
    """A new session (new token, new CSRF token: fixation-safe). Returns the cookie value.
    `oidc_id_token`: the session was opened through SSO (kept for logout at the provider)."""
    token = security.new_token()
    now = datetime.now(UTC)
    with services.sessions.begin() as session:
        session.execute(delete(m.WebSession).where(m.WebSession.expires_at <= now))
        session.add(
            m.WebSession(
                token_hash=security.token_hash(token),
                professional_id=professional_id,
                csrf_token=security.new_token(),
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
                oidc_id_token=oidc_id_token,
            )
        )
    return token


def end_session(services: Services, token_hash: str) -> None:
    with services.sessions.begin() as session:
        session.execute(delete(m.WebSession).where(m.WebSession.token_hash == token_hash))


def safe_next(target: str | None) -> str:
    """Only local paths: never an open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/queue"
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):  # browsers drop tabs: "/\t/evil"
        return "/queue"
    return target


def set_session_cookie(request: Request, services: Services, response: Response, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure behind HTTPS and in production."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        path="/",
        secure=security.secure_cookies(request.scope, services.settings.environment),
    )
