"""Removing an organisation-account link (bot.service.sso.unlink) on SQLite and PostgreSQL: the
old identity then makes a new user, SSO sessions end and password sessions go on, and it is
refused whenever the user would be left with no way in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.service import users
from bot.service.sso import ClaimRules, UnlinkOutcome, sign_in, unlink, unlink_refusal
from bot.store import models as m

ISSUER = "https://idp.example"
CLAIMS = {"sub": "sub-7", "preferred_username": "kees"}


def _linked(session, username: str = "kees", **fields) -> m.Professional:  # type: ignore[no-untyped-def]
    pro = users.create(session, username, "local password 123", one_time=False)
    pro.oidc_issuer, pro.oidc_subject = ISSUER, "sub-7"
    for name, value in fields.items():
        setattr(pro, name, value)
    session.flush()
    return pro


def test_the_rule_a_way_in_must_remain() -> None:
    now = datetime.now(UTC)
    pro = m.Professional(username="x", password_hash="h", password_login=True)
    assert unlink_refusal(pro, now) is None
    pro.password_login = False
    assert unlink_refusal(pro, now) is UnlinkOutcome.PASSWORD_OFF
    pro.password_login, pro.password_hash = True, ""
    assert unlink_refusal(pro, now) is UnlinkOutcome.NO_PASSWORD
    pro.password_hash, pro.password_expires_at = "h", now - timedelta(minutes=1)  # one-time, unused
    assert unlink_refusal(pro, now) is UnlinkOutcome.NO_PASSWORD
    pro.password_expires_at = now + timedelta(hours=1)
    assert unlink_refusal(pro, now) is None


def test_unlinking_on_both_databases(services) -> None:  # type: ignore[no-untyped-def]
    later = datetime.now(UTC) + timedelta(hours=1)
    with services.sessions.begin() as session:
        kees = _linked(session, sso_admin_kept_at=datetime.now(UTC)).id
        session.add_all(
            [
                m.WebSession(token_hash="pw", csrf_token="c1", professional_id=kees, expires_at=later),
                m.WebSession(
                    token_hash="sso",
                    csrf_token="c2",
                    professional_id=kees,
                    expires_at=later,
                    oidc_id_token="id-token",
                ),
            ]
        )
    with services.sessions.begin() as session:
        assert unlink(session, "boss", kees) is UnlinkOutcome.UNLINKED
    with services.sessions.begin() as session:
        pro = session.get(m.Professional, kees)
        assert (pro.oidc_issuer, pro.oidc_subject, pro.sso_admin_kept_at) == (None, None, None)
        assert set(session.scalars(select(m.WebSession.token_hash))) == {"pw"}
        entry = session.scalars(select(m.AuditLog).where(m.AuditLog.action == "user.sso_unlinked")).one()
        assert (entry.actor, entry.target, entry.detail) == ("boss", "user:kees", {"issuer": ISSUER})
        assert unlink(session, "boss", kees) is UnlinkOutcome.NOT_LINKED
        assert unlink(session, "boss", 999_999) is UnlinkOutcome.MISSING
        # The old identity reaches kees no more: a new user, with no role, as at a first sign-in.
        result = sign_in(session, ISSUER, CLAIMS, ClaimRules())
        assert result.created and result.professional_id != kees and result.username == "kees-2"
        assert session.get(m.Professional, result.professional_id).roles == ""


def test_unlinking_never_leaves_no_way_in_on_both_databases(services) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as session:
        pro = _linked(session, password_login=False)
        assert unlink(session, pro.username, pro.id) is UnlinkOutcome.PASSWORD_OFF  # also one's own
        pro.password_login, pro.password_hash = True, ""
        assert unlink(session, "boss", pro.id) is UnlinkOutcome.NO_PASSWORD
        assert pro.oidc_subject == "sub-7"
        refused = session.scalars(
            select(m.AuditLog.detail).where(m.AuditLog.action == "user.sso_unlink_refused")
        ).all()
        assert [d["reason"] for d in refused] == ["password_off", "no_password"]
        assert all("sub-7" not in str(d) for d in refused)
