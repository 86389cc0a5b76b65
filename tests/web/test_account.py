"""Logging in and out, session cookies, lockout and password change."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.store import models as m
from bot.web.api import create_app
from bot.web.auth import SESSION_COOKIE
from tests.web.conftest import PASSWORD, csrf_of, login, make_user


def _try(client, username: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_login_sets_a_strict_session_cookie_and_logout_ends_it(app_client, services):  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles="fire_prevention_officer")
    response = _try(app_client, "fiona", PASSWORD)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert (
        cookie.startswith(f"{SESSION_COOKIE}=")
        and "HttpOnly" in cookie
        and "SameSite=lax" in cookie
    )
    assert "Secure" not in cookie  # plain http in development
    token = app_client.cookies[SESSION_COOKIE]
    with services.sessions() as session:
        stored = session.scalars(select(m.WebSession.token_hash)).all()
    assert token not in stored and len(stored) == 1  # only a hash is stored
    csrf = csrf_of(app_client.get("/queue").text)
    assert (
        app_client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code
        == 303
    )
    app_client.cookies.set(SESSION_COOKIE, token)  # the old cookie is worth nothing now
    assert app_client.get("/queue", follow_redirects=False).status_code == 303


def test_cookies_are_secure_behind_https(services):  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles="fire_prevention_officer")
    with TestClient(create_app(services), base_url="https://console.example") as client:
        response = _try(client, "fiona", PASSWORD)
        assert "Secure" in response.headers["set-cookie"]
        assert "strict-transport-security" in response.headers


def test_a_planted_session_cookie_is_replaced_at_login(app_client, services):  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles="fire_prevention_officer")
    app_client.cookies.set(SESSION_COOKIE, "planted-by-attacker", domain="testserver.local")
    _try(app_client, "fiona", PASSWORD)
    assert app_client.cookies[SESSION_COOKIE] != "planted-by-attacker"
    first = app_client.cookies[SESSION_COOKIE]
    app_client.cookies.clear()
    _try(app_client, "fiona", PASSWORD)
    assert app_client.cookies[SESSION_COOKIE] != first


def test_wrong_password_and_unknown_user_look_the_same(app_client, services):  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles="fire_prevention_officer")
    wrong = _try(app_client, "fiona", "not the password")
    unknown = _try(app_client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        "Wrong username or password." in wrong.text
        and "Wrong username or password." in unknown.text
    )


def test_lockout_after_five_failures_then_open_again(app_client, services):  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles="fire_prevention_officer")
    make_user(services, "frank", roles="fire_prevention_officer")
    for _ in range(5):
        assert _try(app_client, "fiona", "guess guess guess").status_code == 401
    locked = _try(app_client, "fiona", PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert "Too many failed attempts for this account. Try again in 15 minutes." in locked.text
    assert SESSION_COOKIE not in app_client.cookies
    assert _try(app_client, "frank", PASSWORD).status_code == 303  # other accounts unaffected
    app_client.cookies.clear()
    with services.sessions.begin() as session:  # 16 minutes later
        for attempt in session.scalars(select(m.LoginAttempt)):
            attempt.created_at -= timedelta(minutes=16)
    assert _try(app_client, "fiona", PASSWORD).status_code == 303


def test_password_change(app_client, services):  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles="fire_prevention_officer")
    with TestClient(app_client.app, headers={"Accept": "text/html"}) as other_device:
        login(other_device, "fiona")
        token = login(app_client, "fiona")
        wrong = app_client.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current": "nope",
                "new": "a new long password",
                "repeat": "a new long password",
            },
        )
        assert wrong.status_code == 400 and "current password is wrong" in wrong.text
        short = app_client.post(
            "/account/password",
            data={"csrf_token": token, "current": PASSWORD, "new": "short", "repeat": "short"},
        )
        assert short.status_code == 400 and "at least 10 characters" in short.text
        done = app_client.post(
            "/account/password",
            data={
                "csrf_token": token,
                "current": PASSWORD,
                "new": "a new long password",
                "repeat": "a new long password",
            },
        )
        assert done.status_code == 200 and "Your password was changed" in done.text
        assert app_client.get("/queue").status_code == 200  # this session goes on
        assert other_device.get("/queue", follow_redirects=False).status_code == 303  # others end
    app_client.cookies.clear()
    assert _try(app_client, "fiona", PASSWORD).status_code == 401
    assert _try(app_client, "fiona", "a new long password").status_code == 303
    with services.sessions() as session:
        assert "password_change" in session.scalars(select(m.AuditLog.action)).all()


def test_a_professional_links_telegram_from_the_account_page(app_client, services):  # type: ignore[no-untyped-def]
    from bot.service import linking

    make_user(services, "fiona", roles="fire_prevention_officer")
    token = login(app_client, "fiona")
    page = app_client.get("/account")
    assert "Get a link code" in page.text and "Unlink" not in page.text
    issued = app_client.post("/account/telegram/code", data={"csrf_token": token})
    assert issued.status_code == 200
    code = issued.text.split("/link ", 1)[1].split("<", 1)[0].strip()
    assert len(code) == 10
    with services.sessions.begin() as session:  # what the bot does with "/link CODE"
        assert linking.redeem(session, code, "777").username == "fiona"
    linked = app_client.get("/account")
    assert "is linked" in linked.text and "Unlink Telegram" in linked.text
    assert app_client.post("/account/telegram/unlink", data={"csrf_token": "wrong"}).status_code == 403
    app_client.post("/account/telegram/unlink", data={"csrf_token": token})
    with services.sessions() as session:
        pro = session.scalars(select(m.Professional).where(m.Professional.username == "fiona")).one()
        assert pro.telegram_chat_id is None
        actions = set(session.scalars(select(m.AuditLog.action).where(m.AuditLog.actor == "fiona")))
    assert {"telegram_link_code", "telegram_link", "telegram_unlink"} <= actions
