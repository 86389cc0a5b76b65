"""Logging in and out, and changing one's password.

Lockout: after `MAX_FAILURES` failed logins for a username within `WINDOW`, that username is refused
for `WINDOW` (counted from the failure that locked it), whatever the password; the page says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import delete, select

from bot.app import Services
from bot.service import linking, users
from bot.store import models as m
from bot.web import security, sso
from bot.web.auth import (
    SESSION_COOKIE,
    User,
    audit,
    current_user,
    end_session,
    optional_user,
    safe_next,
    set_session_cookie,
    start_session,
    verify_csrf,
)
from bot.web.deps import ServicesDep
from bot.web.i18n import LANGUAGES, NAMES, Msg, browser_language, msg
from bot.web.templating import render

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
_DUMMY_HASH = users.hash_password("not-a-real-password-for-timing")

router = APIRouter(dependencies=[Depends(verify_csrf)])


# The lockout message, singular and plural ("1 minute", "5 minutes").
LOCKED_ONE = msg("Too many failed attempts for this account. Try again in %(minutes)s minute.")
LOCKED_MANY = msg("Too many failed attempts for this account. Try again in %(minutes)s minutes.")


def locked_out(minutes: int) -> Msg:
    return Msg((LOCKED_ONE if minutes == 1 else LOCKED_MANY).msgid, {"minutes": minutes})


def locked_until(session, username: str, now: datetime) -> datetime | None:  # type: ignore[no-untyped-def]
    """When the lock on this username ends, or None when it is not locked."""
    last_success = session.scalars(
        select(m.LoginAttempt.created_at)
        .where(m.LoginAttempt.username == username, m.LoginAttempt.success.is_(True))
        .order_by(m.LoginAttempt.created_at.desc())
        .limit(1)
    ).first()
    since = now - WINDOW * 2
    if last_success is not None and last_success > since:
        since = last_success
    failures = list(
        session.scalars(
            select(m.LoginAttempt.created_at)
            .where(
                m.LoginAttempt.username == username,
                m.LoginAttempt.success.is_(False),
                m.LoginAttempt.created_at > since,
            )
            .order_by(m.LoginAttempt.created_at)
        )
    )
    # Locked when some run of MAX_FAILURES failures fits in WINDOW and its lock has not ended.
    for i in range(len(failures) - MAX_FAILURES + 1):
        first, last = failures[i], failures[i + MAX_FAILURES - 1]
        if last - first <= WINDOW and last + WINDOW > now:
            return last + WINDOW
    return None


def attempt_login(
    services: Services, username: str, password: str, remote: str | None
) -> tuple[int | None, Msg | None]:
    """(professional id, None) on success, (None, message) otherwise. Records the attempt."""
    username = username.strip().lower()[:80]
    now = datetime.now(UTC)
    with services.sessions.begin() as session:
        until = locked_until(session, username, now)
        if until is not None:
            minutes = max(1, int((until - now).total_seconds() // 60) + 1)
            return None, locked_out(minutes)
        pro = users.find(session, username)
        ok = users.verify_password(pro.password_hash if pro else _DUMMY_HASH, password)
        ok = ok and pro is not None and pro.active and pro.password_login
        late = ok and pro is not None and users.expired(pro, now)
        session.add(m.LoginAttempt(username=username, remote=remote, success=ok and not late, created_at=now))
        if not ok or pro is None:
            return None, msg("Wrong username or password.")
        if late:  # the right password, but a one-time one nobody used in time
            audit(session, pro.username, "login.expired_password", f"user:{pro.username}")
            return None, msg(
                "This one-time password has expired (they work for %(hours)s hours). "
                "Ask an admin for a new one.",
                hours=users.ONE_TIME_HOURS,
            )
        audit(session, pro.username, "login", f"user:{pro.username}")
        return pro.id, None


@router.get("/")
async def home(request: Request) -> Response:
    if optional_user(request) is not None:
        return RedirectResponse("/queue", status_code=303)
    return render(request, "home.html")


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    if optional_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), username="", **sso.login_context(request))


@router.post("/login")
async def login(
    request: Request,
    svc: ServicesDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    remote = request.client.host if request.client else None
    pro_id, error = await asyncio.to_thread(attempt_login, svc, username, password, remote)
    if pro_id is None:
        return render(
            request,
            "login.html",
            status_code=429 if error and error.msgid in (LOCKED_ONE.msgid, LOCKED_MANY.msgid) else 401,
            next=safe_next(next),
            username=username,
            flash=error,
            flash_kind="error",
            **sso.login_context(request),
        )
    old = request.cookies.get(SESSION_COOKIE)
    if old:  # a fresh token at every login: a planted cookie is worth nothing
        await asyncio.to_thread(end_session, svc, security.token_hash(old))
    token = await asyncio.to_thread(start_session, svc, pro_id)
    # After a one-time password, `current_user` sends every page on to /account until it is changed.
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(request, svc, response, token)
    return response


@router.post("/logout")
async def logout(request: Request, svc: ServicesDep) -> Response:
    user = optional_user(request)
    if user is not None:
        await asyncio.to_thread(end_session, svc, user.token_hash)

        def log() -> None:
            with svc.sessions.begin() as session:
                audit(session, user.username, "logout", f"user:{user.username}")

        await asyncio.to_thread(log)
    # An SSO session also ends at the provider when it offers that (it sends the browser back to /login).
    target = await sso.provider_logout_url(request, user.oidc_id_token if user else None)
    response = RedirectResponse(target or "/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _telegram_linked(services: Services, user: User) -> bool:
    with services.sessions() as session:
        pro = session.get(m.Professional, user.id)
        return bool(pro and pro.telegram_chat_id)


async def account(
    request: Request, svc: Services, user: User, status_code: int = 200, **extra: Any
) -> Response:
    """The account page with the password form and the Telegram link state."""
    linked = await asyncio.to_thread(_telegram_linked, svc, user)
    sso_context = sso.account_context(request)
    if sso_context:
        sso_context["sso_identity"] = await asyncio.to_thread(sso.identity_of, svc, user.id)
    return render(
        request,
        "account.html",
        status_code=status_code,
        **sso_context,
        min_length=users.MIN_PASSWORD,
        telegram_linked=linked,
        telegram_on="telegram" in svc.channel_health,
        link_minutes=linking.VALID_MINUTES,
        language_names=NAMES,
        browser_language=browser_language(request.headers.get("accept-language")),
        **({"must_change": user.must_change_password} | extra),
    )


@router.get("/account")
async def account_page(
    request: Request,
    svc: ServicesDep,
    user: Annotated[User, Depends(current_user)],
    sso_result: Annotated[str, Query(alias="sso")] = "",
) -> Response:
    """`?sso=...`: how linking the organisation account went (bot.web.sso.LINK_RESULTS)."""
    return await account(request, svc, user, **sso.link_flash(request, sso_result))


def _issue_link_code(services: Services, user: User) -> str:
    with services.sessions.begin() as session:
        pro = session.get(m.Professional, user.id)
        assert pro is not None
        code = linking.issue_code(session, pro)
        audit(session, user.username, "telegram_link_code", f"user:{user.username}")
    return code


def _unlink_telegram(services: Services, user: User) -> None:
    with services.sessions.begin() as session:
        pro = session.get(m.Professional, user.id)
        if pro is not None and pro.telegram_chat_id:
            linking.unlink(session, pro.telegram_chat_id)
            audit(session, user.username, "telegram_unlink", f"user:{user.username}")


@router.post("/account/telegram/code")
async def telegram_code(
    request: Request, svc: ServicesDep, user: Annotated[User, Depends(current_user)]
) -> Response:
    """A one-time code to send to the bot as /link CODE (earlier unused codes stop working)."""
    code = await asyncio.to_thread(_issue_link_code, svc, user)
    return await account(request, svc, user, link_code=code)


@router.post("/account/telegram/unlink")
async def telegram_unlink(
    request: Request, svc: ServicesDep, user: Annotated[User, Depends(current_user)]
) -> Response:
    await asyncio.to_thread(_unlink_telegram, svc, user)
    return await account(
        request, svc, user, flash=msg("Your Telegram account is no longer linked."), flash_kind="ok"
    )


def change_password(services: Services, user: User, current: str, new: str, repeat: str) -> Msg | None:
    """None on success, else the message to show. Other sessions of the user end."""
    if new != repeat:
        return msg("The new passwords do not match.")
    if len(new) < users.MIN_PASSWORD:
        return msg("The new password needs at least %(n)s characters.", n=users.MIN_PASSWORD)
    if new == current:
        return msg("Choose a new password, not the one you have now.")
    with services.sessions.begin() as session:
        pro = session.get(m.Professional, user.id)
        if pro is None or not users.verify_password(pro.password_hash, current):
            return msg("The current password is wrong.")
        users.set_password(pro, new, one_time=False)
        session.execute(
            delete(m.WebSession).where(
                m.WebSession.professional_id == user.id, m.WebSession.token_hash != user.token_hash
            )
        )
        audit(session, user.username, "password_change", f"user:{user.username}")
    return None


@router.post("/account/password")
async def password(
    request: Request,
    svc: ServicesDep,
    user: Annotated[User, Depends(current_user)],
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    repeat: Annotated[str, Form()] = "",
) -> Response:
    error = await asyncio.to_thread(change_password, svc, user, current, new, repeat)
    if error:
        return await account(request, svc, user, status_code=400, flash=error, flash_kind="error")
    return await account(
        request,
        svc,
        user,
        flash=msg("Your password was changed. Other sessions were logged out."),
        flash_kind="ok",
        must_change=False,
    )


def set_language(services: Services, user: User, language: str | None) -> None:
    with services.sessions.begin() as session:
        pro = session.get(m.Professional, user.id)
        if pro is not None:
            pro.language = language


@router.post("/account/language")
async def language(
    request: Request,
    svc: ServicesDep,
    user: Annotated[User, Depends(current_user)],
    language: Annotated[str, Form()] = "",
) -> Response:
    """The console's language for this user; empty: follow the browser's Accept-Language."""
    if language and language not in LANGUAGES:
        return await account(
            request, svc, user, status_code=400, flash=msg("Unknown language."), flash_kind="error"
        )
    chosen = language or None
    await asyncio.to_thread(set_language, svc, user, chosen)
    request.state.user = replace(user, language=chosen)  # this page already in the new language
    return await account(
        request, svc, request.state.user, flash=msg("The console's language was saved."), flash_kind="ok"
    )
