"""Single sign-on against a real OpenID provider (oidc-provider on loopback), driven with httpx:
the code flow with PKCE from our login page through the provider's login form and back, the user
matched by `sub`, roles from the claim, the waiting page, tampered state and nonce refused,
logout at both ends, a disabled user refused."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import select

from bot.service import users
from bot.store import models as m
from tests.oidc.conftest import ACCOUNTS, COMMUNITY, FIRE, PASSWORD, SSOServer

LOCAL_PASSWORD = "local password 123"
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_FORM = re.compile(r'<form[^>]*action="([^"]+)"')


def client() -> httpx.Client:
    return httpx.Client(follow_redirects=False, timeout=30, headers={"Accept": "text/html"})


def walk(c: httpx.Client, response: httpx.Response, until: str | None = None) -> httpx.Response | str:
    """Follow redirects (across our app and the provider); stop before a URL starting with `until`."""
    for _ in range(20):
        if not response.is_redirect:
            return response
        url = str(response.next_request.url)  # type: ignore[union-attr]
        if until and url.startswith(until):
            return url
        response = c.get(url)
    raise AssertionError("too many redirects")


def start(c: httpx.Client, server: SSOServer, next_: str = "/queue") -> str:
    """Our login page's button, then our redirect to the provider: its authorization URL."""
    page = c.get(f"{server.url}/login")
    assert 'id="sso-login"' in page.text and "Sign in with Politie Test" in page.text
    dutch = c.get(f"{server.url}/login", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"})
    assert "Inloggen met Politie Test" in dutch.text
    response = c.get(f"{server.url}/login/oidc", params={"next": next_})
    assert response.status_code == 302, response.text[:300]
    return response.headers["location"]


def provider_login(c: httpx.Client, server: SSOServer, auth_url: str, login: str) -> str:
    """The provider's login form, filled in: returns the callback URL it sends the browser to."""
    page = walk(c, c.get(auth_url))
    assert isinstance(page, httpx.Response) and page.status_code == 200, page
    action = _FORM.search(page.text)
    assert action, page.text[:500]
    done = c.post(f"{server.provider.issuer}{action.group(1)}", data={"login": login, "password": PASSWORD})
    callback = walk(c, done, until=f"{server.url}/login/oidc/callback")
    assert isinstance(callback, str), callback.text[:500]
    return callback


def sso_login(c: httpx.Client, server: SSOServer, login: str, next_: str = "/queue") -> httpx.Response:
    """The whole flow; returns our app's answer to the callback (not followed)."""
    return c.get(provider_login(c, server, start(c, server, next_), login))


def pro_by_sub(server: SSOServer, login: str) -> m.Professional | None:
    with server.services.sessions() as session:
        return session.scalars(
            select(m.Professional).where(m.Professional.oidc_subject == ACCOUNTS[login]["sub"])
        ).first()


def ensure_area(server: SSOServer, slug: str) -> None:
    with server.services.sessions.begin() as session:
        if session.get(m.Area, slug) is None:
            session.add(m.Area(slug=slug, name=slug.title()))


def local_admin(server: SSOServer) -> tuple[httpx.Client, str]:
    """A local admin logged in with a password: (client, CSRF token)."""
    with server.services.sessions.begin() as session:
        if users.find(session, "boss") is None:
            users.create(session, "boss", LOCAL_PASSWORD, is_admin=True, one_time=False)
    c = client()
    page = c.get(f"{server.url}/login")
    token = _CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    done = c.post(
        f"{server.url}/login",
        data={"username": "boss", "password": LOCAL_PASSWORD, "csrf_token": token, "next": "/admin/team"},
    )
    assert done.status_code == 303, done.text[:300]
    team = c.get(f"{server.url}/admin/team")
    return c, _CSRF.search(team.text).group(1)  # type: ignore[union-attr]


def test_first_login_creates_the_user_with_roles_from_the_claim_and_the_next_matches_by_sub(
    sso_claims: SSOServer,
) -> None:
    ensure_area(sso_claims, "centrum")
    c = client()
    auth_url = start(c, sso_claims)
    flow_cookie = c.cookies.get("triage_oidc")
    assert flow_cookie, "the flow's state is kept in a cookie of its own"
    query = parse_qs(urlsplit(auth_url).query)
    assert auth_url.startswith(sso_claims.provider.issuer)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and "openid" in query["scope"][0]
    callback = c.get(provider_login(c, sso_claims, auth_url, "alice"))
    assert callback.status_code == 303 and callback.headers["location"] == "/queue"
    cookie = next(v for v in callback.headers.get_list("set-cookie") if v.startswith("triage_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    queue = c.get(f"{sso_claims.url}/queue")
    assert queue.status_code == 200 and 'action="/logout"' in queue.text

    pro = pro_by_sub(sso_claims, "alice")
    assert pro is not None
    assert pro.username == "alice" and pro.display_name == "Alice de Vries"
    assert pro.oidc_issuer == sso_claims.provider.issuer
    # "Brandpreventie" mapped to our role; "Unknown-Group" ignored; the area from its claim.
    assert (pro.roles, pro.areas, pro.is_admin) == (FIRE, "centrum", False)
    assert pro.password_hash == ""  # no local password

    # An admin changes her roles here; the claim wins again at her next login, on the same account.
    with sso_claims.services.sessions.begin() as session:
        session.get(m.Professional, pro.id).roles = COMMUNITY  # type: ignore[union-attr]
    again = client()
    assert sso_login(again, sso_claims, "alice").status_code == 303
    with sso_claims.services.sessions() as session:
        found = session.scalars(
            select(m.Professional).where(m.Professional.oidc_subject == ACCOUNTS["alice"]["sub"])
        ).all()
        assert [p.id for p in found] == [pro.id]
        assert found[0].roles == FIRE
        actions = session.scalars(select(m.AuditLog.action).where(m.AuditLog.target == "user:alice")).all()
    assert actions.count("login.sso") == 2 and actions.count("user.sso_created") == 1


def test_the_admin_value_in_the_roles_claim_makes_an_admin(sso_claims: SSOServer) -> None:
    c = client()
    assert sso_login(c, sso_claims, "bob", next_="/admin/team").headers["location"] == "/admin/team"
    assert c.get(f"{sso_claims.url}/admin/team").status_code == 200
    pro = pro_by_sub(sso_claims, "bob")
    assert pro is not None and pro.is_admin and pro.roles == ""


def test_a_user_without_roles_waits_for_an_admin(sso_claims: SSOServer) -> None:
    c = client()
    assert sso_login(c, sso_claims, "carol").headers["location"] == "/queue"
    queue = c.get(f"{sso_claims.url}/queue")
    assert queue.status_code == 303 and queue.headers["location"] == "/waiting"
    page = c.get(f"{sso_claims.url}/waiting")
    assert page.status_code == 200 and "An admin must give you a role" in page.text
    dutch = c.get(f"{sso_claims.url}/waiting", headers={"Accept-Language": "nl"})
    assert "Een beheerder moet je eerst een rol geven" in dutch.text
    assert c.get(f"{sso_claims.url}/queue/list", headers={"HX-Request": "true"}).status_code == 403
    admin, _ = local_admin(sso_claims)
    team = admin.get(f"{sso_claims.url}/admin/team")
    waiting = team.text.split('id="waiting-users"', 1)[1].split("</section>", 1)[0]
    assert "Carol Bakker" in waiting and "Alice" not in waiting


def test_the_roles_claim_never_takes_the_admin_role_from_the_last_active_admin(
    sso_claims: SSOServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Grace is made admin here, but her claim has no admin value: while she is the only active
    admin, her sign-in keeps the role (a warning in the log and on the Team page, en and nl);
    once someone else is admin, her next sign-in follows the claim."""
    local_admin(sso_claims)  # "boss", a local admin (the one who made her admin)
    c = client()
    assert sso_login(c, sso_claims, "grace").status_code == 303
    pro = pro_by_sub(sso_claims, "grace")
    assert pro is not None and not pro.is_admin and pro.roles == FIRE
    with sso_claims.services.sessions.begin() as session:
        session.get(m.Professional, pro.id).is_admin = True  # type: ignore[union-attr]
        others = session.scalars(
            select(m.Professional).where(
                m.Professional.id != pro.id,
                m.Professional.is_admin.is_(True),
                m.Professional.active.is_(True),
            )
        ).all()
        assert others, "the other admins this test lets go for a moment"
        other_ids = [o.id for o in others]
        for other in others:  # the other admins leave: Grace is the last active admin
            other.active = False
    try:
        with caplog.at_level(logging.WARNING, logger="bot.service.sso"):
            again = client()
            assert sso_login(again, sso_claims, "grace", next_="/admin/team").status_code == 303
        assert "grace is the last active admin and keeps it" in caplog.text
        with sso_claims.services.sessions() as session:
            found = session.get(m.Professional, pro.id)
            assert found is not None and found.is_admin and found.roles == FIRE
            assert found.sso_admin_kept_at is not None
            detail = session.scalars(
                select(m.AuditLog.detail)
                .where(m.AuditLog.action == "login.sso", m.AuditLog.target == "user:grace")
                .order_by(m.AuditLog.id.desc())
            ).first()
        assert detail is not None and detail["admin_kept"] == "last active admin" and detail["is_admin"]
        team = again.get(f"{sso_claims.url}/admin/team")
        assert team.status_code == 200
        warning = team.text.split('id="admin-kept-grace"', 1)[1].split("</section>", 1)[0]
        assert "Grace Peters is admin only because nobody else is" in warning
        assert "Grace Peters is the last active admin" in warning and "Make someone else an admin" in warning
        dutch = again.get(f"{sso_claims.url}/admin/team", headers={"Accept-Language": "nl"})
        warning = dutch.text.split('id="admin-kept-grace"', 1)[1].split("</section>", 1)[0]
        assert "Grace Peters is alleen beheerder omdat niemand anders het is" in warning
        assert "Maak hieronder iemand anders beheerder" in warning
    finally:
        with sso_claims.services.sessions.begin() as session:
            for other_id in other_ids:
                session.get(m.Professional, other_id).active = True  # type: ignore[union-attr]
    # Another admin is active again: her next sign-in follows the claim, and the warning is gone.
    third = client()
    assert sso_login(third, sso_claims, "grace").status_code == 303
    with sso_claims.services.sessions() as session:
        found = session.get(m.Professional, pro.id)
        assert found is not None and not found.is_admin and found.sso_admin_kept_at is None
    admin, _ = local_admin(sso_claims)
    assert 'id="admin-kept-' not in admin.get(f"{sso_claims.url}/admin/team").text


def test_a_tampered_state_is_refused(sso_claims: SSOServer) -> None:
    c = client()
    callback = provider_login(c, sso_claims, start(c, sso_claims), "erin")
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["state"] = query["state"][:-2] + ("aa" if not query["state"].endswith("aa") else "bb")
    answer = c.get(urlunsplit(parts._replace(query=urlencode(query))))
    assert answer.status_code == 400 and "did not succeed" in answer.text
    assert not [v for v in answer.headers.get_list("set-cookie") if v.startswith("triage_session=")]
    assert pro_by_sub(sso_claims, "erin") is None
    # No state at all, and a code replayed without the browser's flow cookie: refused too.
    assert c.get(f"{sso_claims.url}/login/oidc/callback?code=x").status_code == 400
    assert client().get(callback).status_code == 400
    assert pro_by_sub(sso_claims, "erin") is None


def test_a_wrong_nonce_is_refused(sso_claims: SSOServer) -> None:
    """The provider signs an ID token for another nonce (an attacker's request): refused, though
    the state and the code are good."""
    c = client()
    auth_url = start(c, sso_claims)
    parts = urlsplit(auth_url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["nonce"] = "an-attackers-nonce-0123456789"
    callback = provider_login(c, sso_claims, urlunsplit(parts._replace(query=urlencode(query))), "erin")
    answer = c.get(callback)
    assert answer.status_code == 400 and "did not succeed" in answer.text
    assert not [v for v in answer.headers.get_list("set-cookie") if v.startswith("triage_session=")]
    assert pro_by_sub(sso_claims, "erin") is None


def test_logout_ends_the_session_here_and_at_the_provider(sso_claims: SSOServer) -> None:
    c = client()
    sso_login(c, sso_claims, "dave")
    queue = c.get(f"{sso_claims.url}/queue")
    assert queue.status_code == 200
    token = _CSRF.search(queue.text).group(1)  # type: ignore[union-attr]
    with sso_claims.services.sessions() as session:
        id_token = session.scalars(select(m.WebSession.oidc_id_token)).all()
    out = c.post(f"{sso_claims.url}/logout", data={"csrf_token": token})
    assert out.status_code == 303
    end = out.headers["location"]
    query = parse_qs(urlsplit(end).query)
    assert end.startswith(f"{sso_claims.provider.issuer}/session/end")
    assert query["id_token_hint"][0] in id_token
    assert query["post_logout_redirect_uri"] == [f"{sso_claims.url}/login"]
    # The local session is gone, whatever the provider does.
    assert c.get(f"{sso_claims.url}/queue").headers["location"].startswith("/login")
    # The provider asks to confirm, then sends the browser back to our login page.
    confirm = walk(c, c.get(end))
    assert isinstance(confirm, httpx.Response) and confirm.status_code == 200, confirm
    form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', confirm.text, re.S)
    assert form, confirm.text[:500]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    action = form.group(1).replace("&amp;", "&")
    if action.startswith("/"):
        action = f"{sso_claims.provider.issuer}{action}"
    back = walk(c, c.post(action, data={**fields, "logout": "yes"}), until=f"{sso_claims.url}/login")
    assert back == f"{sso_claims.url}/login" or str(back).startswith(f"{sso_claims.url}/login?")


def test_a_disabled_user_cannot_get_in_through_sso(sso_claims: SSOServer) -> None:
    c = client()
    assert sso_login(c, sso_claims, "frank").status_code == 303
    pro = pro_by_sub(sso_claims, "frank")
    assert pro is not None
    with sso_claims.services.sessions.begin() as session:
        session.get(m.Professional, pro.id).active = False  # type: ignore[union-attr]
    assert c.get(f"{sso_claims.url}/queue").status_code == 303  # the open session stops working
    fresh = client()
    refused = sso_login(fresh, sso_claims, "frank")
    assert refused.status_code == 403 and "This account is disabled" in refused.text
    assert not [v for v in refused.headers.get_list("set-cookie") if v.startswith("triage_session=")]
    with sso_claims.services.sessions() as session:
        assert session.get(m.Professional, pro.id).active is False  # type: ignore[union-attr]


def test_never_matched_by_username_or_email_and_no_open_redirect(sso_claims: SSOServer) -> None:
    """An account at the provider called "admin" with the admin's e-mail gets an account of its
    own; `next` pointing elsewhere lands on the queue."""
    with sso_claims.services.sessions.begin() as session:
        if users.find(session, "admin") is None:
            users.create(session, "admin", LOCAL_PASSWORD, is_admin=True, one_time=False)
    for target in ("//evil.example/x", "https://evil.example/", "/\t/evil.example"):
        c = client()
        answer = sso_login(c, sso_claims, "mallory", next_=target)
        assert answer.status_code == 303 and answer.headers["location"] == "/queue", target
    with sso_claims.services.sessions() as session:
        local = users.find(session, "admin")
        assert local is not None and local.oidc_subject is None and local.is_admin
        pros = session.scalars(
            select(m.Professional).where(m.Professional.oidc_subject == ACCOUNTS["mallory"]["sub"])
        ).all()
        assert [(p.username, p.is_admin, p.roles) for p in pros] == [("admin-2", False, FIRE)]


def test_without_a_roles_claim_an_admin_assigns_roles_and_can_turn_the_password_off(
    sso_plain: SSOServer,
) -> None:
    c = client()
    assert sso_login(c, sso_plain, "erin").status_code == 303
    assert c.get(f"{sso_plain.url}/queue").headers["location"] == "/waiting"
    pro = pro_by_sub(sso_plain, "erin")
    assert pro is not None and pro.roles == "" and not pro.is_admin  # the claim is not read here
    admin, token = local_admin(sso_plain)
    team = admin.get(f"{sso_plain.url}/admin/team")
    assert "Erin Visser" in team.text.split('id="waiting-users"', 1)[1].split("</section>", 1)[0]
    saved = admin.post(
        f"{sso_plain.url}/admin/team/{pro.id}",
        data={"csrf_token": token, "roles": FIRE, "active": "true", "password_login": "false"},
    )
    assert saved.status_code == 303, saved.text[:300]
    # Her SSO session goes on, now with the role; the waiting page sends her to the queue.
    assert c.get(f"{sso_plain.url}/waiting").headers["location"] == "/queue"
    assert c.get(f"{sso_plain.url}/queue").status_code == 200
    team = admin.get(f"{sso_plain.url}/admin/team")
    assert 'id="waiting-users"' not in team.text
    # With the local password off, even a password an admin gave her does not open the console.
    with sso_plain.services.sessions.begin() as session:
        found = session.get(m.Professional, pro.id)
        assert found is not None and found.password_login is False and found.roles == FIRE
        users.set_password(found, LOCAL_PASSWORD, one_time=False)
    page = client()
    login = page.get(f"{sso_plain.url}/login")
    refused = page.post(
        f"{sso_plain.url}/login",
        data={
            "username": pro.username,
            "password": LOCAL_PASSWORD,
            "csrf_token": _CSRF.search(login.text).group(1),  # type: ignore[union-attr]
            "next": "/queue",
        },
    )
    assert refused.status_code == 401
