"""Linking an existing local account to an organisation account, against the real OpenID provider
(oidc-provider on loopback), driven with httpx: the Account page's button, the code flow with PKCE,
state and nonce (and prompt=login), the identity attached to the signed-in user only; an identity
that belongs to someone else, a tampered state, and a browser that changed user are refused; after
linking, signing in with SSO opens the same account with its roles, areas and history."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
from sqlalchemy import func, select

from bot.service import users
from bot.store import models as m
from tests.oidc.conftest import ACCOUNTS, COMMUNITY, FIRE, SSOServer
from tests.oidc.test_sso import LOCAL_PASSWORD, client, local_admin, pro_by_sub, provider_login, sso_login
from tests.web.conftest import make_question

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
NL = {"Accept-Language": "nl-NL,nl;q=0.9"}


def local_user(server: SSOServer, username: str, roles: str = FIRE, areas: str = "") -> int:
    with server.services.sessions.begin() as session:
        for area in [a for a in areas.split(",") if a]:
            if session.get(m.Area, area) is None:
                session.add(m.Area(slug=area, name=area.title()))
        session.flush()
        pro = users.create(session, username, LOCAL_PASSWORD, roles=roles, areas=areas, one_time=False)
        return pro.id


def password_login(server: SSOServer, username: str) -> tuple[httpx.Client, str]:
    """Signed in with the local password: (client, CSRF token)."""
    c = client()
    page = c.get(f"{server.url}/login")
    done = c.post(
        f"{server.url}/login",
        data={
            "username": username,
            "password": LOCAL_PASSWORD,
            "csrf_token": _CSRF.search(page.text).group(1),  # type: ignore[union-attr]
            "next": "/account",
        },
    )
    assert done.status_code == 303, done.text[:300]
    account = c.get(f"{server.url}/account")
    return c, _CSRF.search(account.text).group(1)  # type: ignore[union-attr]


def start_link(c: httpx.Client, server: SSOServer, token: str) -> str:
    """The Account page's button: our redirect to the provider (its authorization URL)."""
    answer = c.post(f"{server.url}/account/sso/link", data={"csrf_token": token})
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["location"]


def identity(server: SSOServer, pro_id: int) -> tuple[str | None, str | None]:
    with server.services.sessions() as session:
        pro = session.get(m.Professional, pro_id)
        assert pro is not None
        return pro.oidc_issuer, pro.oidc_subject


def accounts_with(server: SSOServer, login: str) -> int:
    with server.services.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(m.Professional)
                .where(m.Professional.oidc_subject == ACCOUNTS[login]["sub"])
            )
            or 0
        )


def test_a_local_user_links_the_organisation_account_and_then_signs_in_with_it_as_the_same_user(
    sso_plain: SSOServer,
) -> None:
    kees = local_user(sso_plain, "kees", roles=FIRE, areas="centrum")
    question = make_question(sso_plain.services, FIRE, "Is mijn rookmelder goed geplaatst?", area="centrum")
    with sso_plain.services.sessions.begin() as session:
        session.get(m.Question, question).assignee = "kees"  # type: ignore[union-attr]
    c, token = password_login(sso_plain, "kees")
    page = c.get(f"{sso_plain.url}/account")
    section = page.text.split('id="sso"', 1)[1].split("</section>", 1)[0]
    assert "Link my organisation account" in section and "Politie Test" in section
    assert 'action="/account/sso/link"' in section and 'id="sso-linked"' not in section
    dutch = c.get(f"{sso_plain.url}/account", headers=NL)
    assert "Koppel mijn organisatieaccount" in dutch.text
    # The button needs the session's CSRF token, and a session.
    assert c.post(f"{sso_plain.url}/account/sso/link", data={"csrf_token": "wrong"}).status_code == 403
    assert client().post(f"{sso_plain.url}/account/sso/link").status_code in (401, 403)

    auth_url = start_link(c, sso_plain, token)
    query = parse_qs(urlsplit(auth_url).query)
    assert auth_url.startswith(sso_plain.provider.issuer)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and query["prompt"] == ["login"]
    callback = provider_login(c, sso_plain, auth_url, "henk")
    done = c.get(callback)
    assert done.status_code == 303 and done.headers["location"] == "/account?sso=linked"
    assert identity(sso_plain, kees) == (sso_plain.provider.issuer, ACCOUNTS["henk"]["sub"])
    assert accounts_with(sso_plain, "henk") == 1  # no second account was made for him
    page = c.get(f"{sso_plain.url}/account?sso=linked")
    assert "Your organisation account is linked" in page.text
    section = page.text.split('id="sso"', 1)[1].split("</section>", 1)[0]
    assert (
        'id="sso-linked"' in section and ACCOUNTS["henk"]["sub"] in section and 'id="sso-link"' not in section
    )
    assert (
        "Je organisatieaccount is gekoppeld" in c.get(f"{sso_plain.url}/account?sso=linked", headers=NL).text
    )
    # Still signed in locally; linking again says it is linked already.
    again = c.post(f"{sso_plain.url}/account/sso/link", data={"csrf_token": token})
    assert again.status_code == 303 and again.headers["location"] == "/account?sso=other"

    # The admins see it on the Team page, and may turn his local password off.
    admin, admin_token = local_admin(sso_plain)
    team = admin.get(f"{sso_plain.url}/admin/team")
    entry = team.text.split('id="user-kees"', 1)[1].split("</li>", 1)[0]
    assert "sso-linked" in entry and ACCOUNTS["henk"]["sub"] in entry and 'name="password_login"' in entry
    assert re.search(r"\d+ of \d+ accounts are linked to an organisation account", team.text)

    # Signing in with SSO opens kees, with his roles, areas and history.
    fresh = client()
    answer = sso_login(fresh, sso_plain, "henk")
    assert answer.status_code == 303 and answer.headers["location"] == "/queue"
    account = fresh.get(f"{sso_plain.url}/account")
    assert account.status_code == 200 and "<dd>kees</dd>" in account.text
    assert fresh.get(f"{sso_plain.url}/questions/{question}").status_code == 200
    with sso_plain.services.sessions() as session:
        pro = session.get(m.Professional, kees)
        assert pro is not None and (pro.username, pro.roles, pro.areas) == ("kees", FIRE, "centrum")
        assert pro.password_login and pro.password_hash  # his password goes on until an admin turns it off
        assert session.get(m.Question, question).assignee == "kees"  # type: ignore[union-attr]
        actions = session.scalars(select(m.AuditLog.action).where(m.AuditLog.target == "user:kees")).all()
    assert {"login", "user.sso_linked", "login.sso"} <= set(actions) and "user.sso_created" not in actions
    assert accounts_with(sso_plain, "henk") == 1


def test_an_identity_that_belongs_to_another_user_is_refused(sso_plain: SSOServer) -> None:
    """Carol signed in with SSO before (an account of her own); jan's attempt to link her
    organisation account to his is refused, and nothing moves."""
    assert sso_login(client(), sso_plain, "carol").status_code == 303
    carol = pro_by_sub(sso_plain, "carol")
    assert carol is not None
    jan = local_user(sso_plain, "jan", roles=COMMUNITY)
    c, token = password_login(sso_plain, "jan")
    done = c.get(provider_login(c, sso_plain, start_link(c, sso_plain, token), "carol"))
    assert done.status_code == 303 and done.headers["location"] == "/account?sso=taken"
    page = c.get(f"{sso_plain.url}/account?sso=taken")
    assert "this organisation account already belongs to another user" in page.text
    assert 'id="sso-link"' in page.text  # still not linked
    dutch = c.get(f"{sso_plain.url}/account?sso=taken", headers=NL)
    assert "dit organisatieaccount hoort al bij een andere gebruiker" in dutch.text
    assert identity(sso_plain, jan) == (None, None)
    assert identity(sso_plain, carol.id) == (sso_plain.provider.issuer, ACCOUNTS["carol"]["sub"])
    assert accounts_with(sso_plain, "carol") == 1
    with sso_plain.services.sessions() as session:
        refused = session.scalars(
            select(m.AuditLog.detail).where(
                m.AuditLog.action == "user.sso_link_refused", m.AuditLog.target == "user:jan"
            )
        ).all()
    assert [d["reason"] for d in refused if d] == ["taken"]
    # Signing in as carol still opens carol's account, not jan's.
    assert sso_login(client(), sso_plain, "carol").status_code == 303
    with sso_plain.services.sessions() as session:
        newest = session.scalars(select(m.WebSession).order_by(m.WebSession.created_at.desc())).first()
        assert newest is not None and newest.professional_id == carol.id


def test_a_tampered_state_or_another_signed_in_user_is_refused(sso_plain: SSOServer) -> None:
    lotte = local_user(sso_plain, "lotte")
    c, token = password_login(sso_plain, "lotte")
    callback = provider_login(c, sso_plain, start_link(c, sso_plain, token), "dave")
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["state"] = query["state"][:-2] + ("aa" if not query["state"].endswith("aa") else "bb")
    answer = c.get(urlunsplit(parts._replace(query=urlencode(query))))
    assert answer.status_code == 400 and "did not succeed" in answer.text
    # The good callback without the browser's flow cookie (sent to someone else): refused too.
    assert client().get(callback).status_code == 400
    assert identity(sso_plain, lotte) == (None, None) and accounts_with(sso_plain, "dave") == 0

    # Lotte starts linking, then the browser signs out and mees signs in: the answer is not
    # attached to either of them.
    mees = local_user(sso_plain, "mees")
    c, token = password_login(sso_plain, "lotte")
    auth_url = start_link(c, sso_plain, token)
    c.post(f"{sso_plain.url}/logout", data={"csrf_token": token})
    page = c.get(f"{sso_plain.url}/login")
    switched = c.post(
        f"{sso_plain.url}/login",
        data={
            "username": "mees",
            "password": LOCAL_PASSWORD,
            "csrf_token": _CSRF.search(page.text).group(1),  # type: ignore[union-attr]
            "next": "/account",
        },
    )
    assert switched.status_code == 303
    done = c.get(provider_login(c, sso_plain, auth_url, "dave"))
    assert done.status_code == 303 and done.headers["location"] == "/account?sso=failed"
    assert (
        "Linking your organisation account did not succeed"
        in c.get(f"{sso_plain.url}/account?sso=failed").text
    )
    assert identity(sso_plain, lotte) == (None, None) and identity(sso_plain, mees) == (None, None)
    assert accounts_with(sso_plain, "dave") == 0
