"""An admin removes a user's organisation-account link on the Team page, against the real OpenID
provider (oidc-provider on loopback), driven with httpx: after that the old identity no longer
reaches the user (signing in with it makes a new user waiting for a role, as a first sign-in
does), their SSO sessions end, and they link their new organisation account from the Account page.
Never when it would leave them no way in: a local password turned off, or none they can use,
refuses it with a clear message (also for an admin removing their own link). Only admins, with
the Team page's CSRF token; audited with the issuer, never the `sub`."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from sqlalchemy import select

from bot.store import models as m
from tests.oidc.conftest import ACCOUNTS, COMMUNITY, FIRE, SSOServer
from tests.oidc.test_sso import client, local_admin, pro_by_sub, provider_login, sso_login
from tests.oidc.test_sso_link import NL, identity, local_user, password_login, start_link

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def link_as(server: SSOServer, username: str, login: str) -> tuple[httpx.Client, str]:
    """`username` signs in with the password and links the provider's account `login`."""
    c, token = password_login(server, username)
    done = c.get(provider_login(c, server, start_link(c, server, token), login))
    assert done.status_code == 303 and done.headers["location"] == "/account?sso=linked"
    return c, token


def unlink(c: httpx.Client, server: SSOServer, pro_id: int, token: str) -> httpx.Response:
    return c.post(f"{server.url}/admin/team/{pro_id}/sso/unlink", data={"csrf_token": token})


def entry(page: str, username: str) -> str:
    """A user's entry on the Team page."""
    return page.split(f'id="user-{username}"', 1)[1].split("</li>", 1)[0]


def set_password_login(
    c: httpx.Client, server: SSOServer, pro_id: int, token: str, on: bool, roles: str, admin: bool = False
) -> httpx.Response:
    """The Team page's form of a user: their roles, Active, and Local password allowed or off."""
    data = {"csrf_token": token, "active": "true", "password_login": str(on).lower()}
    data |= {"roles": roles} if roles else {}
    return c.post(f"{server.url}/admin/team/{pro_id}", data=data | ({"is_admin": "true"} if admin else {}))


def audit_of(server: SSOServer, action: str, username: str) -> list[tuple[str, dict | None]]:  # type: ignore[type-arg]
    with server.services.sessions() as session:
        rows = session.execute(
            select(m.AuditLog.actor, m.AuditLog.detail).where(
                m.AuditLog.action == action, m.AuditLog.target == f"user:{username}"
            )
        ).all()
    return [(actor, detail) for actor, detail in rows]


def test_an_admin_removes_the_link_the_old_identity_no_longer_reaches_the_user_and_they_link_a_new_one(
    sso_plain: SSOServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.service.sso")
    issuer, old_sub = sso_plain.provider.issuer, ACCOUNTS["henk"]["sub"]
    kees = local_user(sso_plain, "kees", roles=FIRE)
    c, _ = link_as(sso_plain, "kees", "henk")
    sso_session = client()
    assert sso_login(sso_session, sso_plain, "henk").status_code == 303  # opens kees
    assert "<dd>kees</dd>" in sso_session.get(f"{sso_plain.url}/account").text

    admin, token = local_admin(sso_plain)
    team = admin.get(f"{sso_plain.url}/admin/team")
    kees_entry = entry(team.text, "kees")
    assert f'action="/admin/team/{kees}/sso/unlink"' in kees_entry and "sso-linked" in kees_entry
    assert "Remove the organisation-account link" in kees_entry
    assert 'data-confirm="Remove the organisation-account link of kees?' in kees_entry
    assert 'id="sso-unlink-kees" disabled' not in kees_entry
    dutch = entry(admin.get(f"{sso_plain.url}/admin/team", headers=NL).text, "kees")
    assert "Koppeling met organisatieaccount verwijderen" in dutch
    # The Team page's CSRF token, as for its other forms.
    assert unlink(admin, sso_plain, kees, "wrong").status_code == 403
    assert identity(sso_plain, kees) == (issuer, old_sub)

    done = unlink(admin, sso_plain, kees, token)
    assert done.status_code == 303 and done.headers["location"] == "/admin/team?done=unlinked#user-kees"
    page = admin.get(f"{sso_plain.url}/admin/team?done=unlinked")
    assert "The organisation-account link is removed" in page.text
    assert "sso-linked" not in entry(page.text, "kees") and "/sso/unlink" not in entry(page.text, "kees")
    assert (
        "De koppeling met het organisatieaccount is verwijderd"
        in admin.get(f"{sso_plain.url}/admin/team?done=unlinked", headers=NL).text
    )
    assert identity(sso_plain, kees) == (None, None)
    assert audit_of(sso_plain, "user.sso_unlinked", "kees") == [("boss", {"issuer": issuer})]
    assert "SSO link of kees (issuer" in caplog.text and old_sub not in caplog.text

    # His SSO session ended with the link; his password session goes on and says "not linked".
    assert sso_session.get(f"{sso_plain.url}/account").status_code in (302, 303, 401)
    account = c.get(f"{sso_plain.url}/account")
    assert account.status_code == 200 and 'id="sso-not-linked"' in account.text
    assert 'id="sso-link"' in account.text and old_sub not in account.text
    assert "Niet gekoppeld aan een organisatieaccount" in c.get(f"{sso_plain.url}/account", headers=NL).text

    # Signing in with the old identity no longer reaches kees: a new user, waiting for a role.
    stranger = client()
    assert sso_login(stranger, sso_plain, "henk").status_code == 303
    new = pro_by_sub(sso_plain, "henk")
    assert new is not None and new.id != kees and new.username != "kees"
    assert (new.roles, new.is_admin, new.password_hash) == ("", False, "")
    assert stranger.get(f"{sso_plain.url}/queue").headers["location"] == "/waiting"
    assert stranger.get(f"{sso_plain.url}/waiting").status_code == 200
    with sso_plain.services.sessions() as session:
        newest = session.scalars(select(m.WebSession).order_by(m.WebSession.created_at.desc())).first()
        assert newest is not None and newest.professional_id == new.id
    assert [a for a, _ in audit_of(sso_plain, "user.sso_created", new.username)] == ["sso"]
    assert identity(sso_plain, kees) == (None, None)

    # Kees links his new organisation account; signing in with it opens kees again.
    # (Another browser: the provider's own session of the old account would first ask to end it.)
    c, own_token = password_login(sso_plain, "kees")
    relinked = c.get(provider_login(c, sso_plain, start_link(c, sso_plain, own_token), "henk-new"))
    assert relinked.status_code == 303 and relinked.headers["location"] == "/account?sso=linked"
    assert identity(sso_plain, kees) == (issuer, ACCOUNTS["henk-new"]["sub"])
    fresh = client()
    assert sso_login(fresh, sso_plain, "henk-new").status_code == 303
    assert "<dd>kees</dd>" in fresh.get(f"{sso_plain.url}/account").text
    with sso_plain.services.sessions() as session:
        pro = session.get(m.Professional, kees)
        assert pro is not None and (pro.username, pro.roles) == ("kees", FIRE)


def test_unlinking_is_refused_while_it_would_leave_the_user_no_way_in(sso_plain: SSOServer) -> None:
    issuer = sso_plain.provider.issuer
    piet = local_user(sso_plain, "piet", roles=COMMUNITY)
    link_as(sso_plain, "piet", "dave")
    admin, token = local_admin(sso_plain)
    assert set_password_login(admin, sso_plain, piet, token, False, COMMUNITY).status_code == 303

    # The Team page says why before anyone tries; a stale page's form is refused all the same.
    piet_entry = entry(admin.get(f"{sso_plain.url}/admin/team").text, "piet")
    assert 'id="sso-unlink-piet" disabled' in piet_entry and 'id="sso-unlink-blocked-piet"' in piet_entry
    refused = unlink(admin, sso_plain, piet, token)
    assert refused.status_code == 400
    assert "The organisation-account link of piet is not removed" in refused.text
    assert "Turn their local password back on first" in refused.text
    url = f"{sso_plain.url}/admin/team/{piet}/sso/unlink"
    dutch = admin.post(url, data={"csrf_token": token}, headers=NL)
    assert dutch.status_code == 400 and "Zet eerst het eigen wachtwoord weer aan" in dutch.text
    assert identity(sso_plain, piet) == (issuer, ACCOUNTS["dave"]["sub"])
    assert [d for _, d in audit_of(sso_plain, "user.sso_unlink_refused", "piet")] == [
        {"reason": "password_off", "issuer": issuer}
    ] * 2
    assert sso_login(client(), sso_plain, "dave").status_code == 303
    assert pro_by_sub(sso_plain, "dave").id == piet  # type: ignore[union-attr]

    # The local password back on: now the link goes.
    assert set_password_login(admin, sso_plain, piet, token, True, COMMUNITY).status_code == 303
    assert unlink(admin, sso_plain, piet, token).status_code == 303
    assert identity(sso_plain, piet) == (None, None)
    # Without a link the local password cannot be turned off either (a stale form).
    off = set_password_login(admin, sso_plain, piet, token, False, COMMUNITY)
    assert off.status_code == 400 and "The local password of piet stays on" in off.text
    with sso_plain.services.sessions() as session:
        assert session.get(m.Professional, piet).password_login  # type: ignore[union-attr]

    # Someone who only ever signed in with SSO has no local password: a one-time one first.
    assert sso_login(client(), sso_plain, "carol").status_code == 303
    carol = pro_by_sub(sso_plain, "carol")
    assert carol is not None and carol.password_hash == ""
    assert 'id="sso-unlink-blocked-' + carol.username + '"' in admin.get(f"{sso_plain.url}/admin/team").text
    refused = unlink(admin, sso_plain, carol.id, token)
    assert refused.status_code == 400 and "Give them a new one-time password first" in refused.text
    assert identity(sso_plain, carol.id) == (issuer, ACCOUNTS["carol"]["sub"])
    reset = admin.post(f"{sso_plain.url}/admin/team/{carol.id}/password", data={"csrf_token": token})
    assert reset.status_code == 200 and 'id="new-password"' in reset.text
    assert unlink(admin, sso_plain, carol.id, token).status_code == 303
    assert identity(sso_plain, carol.id) == (None, None)


def test_an_admin_removes_their_own_link_only_while_they_keep_a_way_in(sso_plain: SSOServer) -> None:
    local_admin(sso_plain)  # boss, a local admin
    with sso_plain.services.sessions() as session:
        boss = session.scalars(select(m.Professional.id).where(m.Professional.username == "boss")).one()
    link_as(sso_plain, "boss", "erin")
    me = client()
    assert sso_login(me, sso_plain, "erin", next_="/admin/team").status_code == 303
    token = _CSRF.search(me.get(f"{sso_plain.url}/admin/team").text).group(1)  # type: ignore[union-attr]
    assert set_password_login(me, sso_plain, boss, token, False, "", admin=True).status_code == 303

    refused = unlink(me, sso_plain, boss, token)
    assert refused.status_code == 400 and "Turn their local password back on first" in refused.text
    assert identity(sso_plain, boss) == (sso_plain.provider.issuer, ACCOUNTS["erin"]["sub"])

    assert set_password_login(me, sso_plain, boss, token, True, "", admin=True).status_code == 303
    assert unlink(me, sso_plain, boss, token).status_code == 303
    assert identity(sso_plain, boss) == (None, None)
    # This session came through the link and ended with it; the password still lets boss in.
    assert me.get(f"{sso_plain.url}/admin/team").status_code in (302, 303, 401)
    again, _ = local_admin(sso_plain)
    assert again.get(f"{sso_plain.url}/admin/team").status_code == 200


def test_only_an_admin_can_remove_a_link(sso_plain: SSOServer) -> None:
    wim = local_user(sso_plain, "wim", roles=FIRE)
    link_as(sso_plain, "wim", "frank")
    jan = local_user(sso_plain, "jan2", roles=FIRE)
    c, token = password_login(sso_plain, "jan2")
    for target in (wim, jan):
        assert unlink(c, sso_plain, target, token).status_code == 403
    anonymous = client().post(f"{sso_plain.url}/admin/team/{wim}/sso/unlink")
    assert anonymous.status_code in (401, 403) or anonymous.headers["location"].startswith("/login")
    assert identity(sso_plain, wim) == (sso_plain.provider.issuer, ACCOUNTS["frank"]["sub"])
    assert audit_of(sso_plain, "user.sso_unlinked", "wim") == []
