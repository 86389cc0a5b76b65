"""The pure part of single sign-on: claims to roles, areas and admin rights, and usernames; and
the console without OIDC settings (no button, no SSO routes, the CSP as before)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bot.service.sso import ClaimRules, claim_values, grant_from, username_for
from bot.web.api import create_app
from bot.web.security import CSP

ROLES = {"fire_prevention_officer", "community_police_officer"}
AREAS = {"centrum", "noord"}


def test_claim_values_read_lists_strings_and_nested_claims() -> None:
    claims = {
        "roles": ["a", "b", 3, {"x": 1}],
        "groups": "a, b c",
        "realm_access": {"roles": ["kc-role"]},
    }
    assert claim_values(claims, "roles") == ["a", "b", "3"]
    assert claim_values(claims, "groups") == ["a", "b", "c"]
    assert claim_values(claims, "realm_access.roles") == ["kc-role"]
    assert claim_values(claims, "realm_access.missing") == []
    assert claim_values(claims, "nothing") == []


def test_grant_maps_values_ignores_unknown_ones_and_spots_the_admin() -> None:
    rules = ClaimRules("roles", "areas", {"Brandpreventie": "fire_prevention_officer"}, "triage-admin")
    claims = {
        "roles": ["Brandpreventie", "community_police_officer", "Brandpreventie", "HR", "triage-admin"],
        "areas": ["centrum", "zuid"],
    }
    grant = grant_from(claims, rules, ROLES, AREAS)
    assert grant.roles == ("fire_prevention_officer", "community_police_officer")
    assert grant.areas == ("centrum",)
    assert grant.is_admin
    assert grant.ignored == ("role:HR", "area:zuid")
    # A role slug someone put in the claim does not make an admin; no roles claim: nothing.
    assert not grant_from({"roles": ["admin"]}, rules, ROLES | {"admin"}, AREAS).is_admin
    assert grant_from(claims, ClaimRules(), ROLES, AREAS) == grant_from({}, ClaimRules(), ROLES, AREAS)
    assert grant_from(claims, ClaimRules(), ROLES, AREAS).roles == ()


def test_usernames_come_from_the_claims_and_never_take_an_existing_one() -> None:
    taken = {"alice", "alice-2", "jan.jansen"}
    assert username_for({"preferred_username": "Alice@politie.nl"}, taken.__contains__) == "alice-3"
    assert username_for({"email": "Bob.Smit@gemeente.nl"}, taken.__contains__) == "bob.smit"
    assert username_for({"name": "Jan Jansen"}, taken.__contains__) == "jan.jansen-2"
    assert username_for({"preferred_username": "x"}, taken.__contains__) == "sso-user"
    assert username_for({"preferred_username": "<script>"}, taken.__contains__) == "script"


def test_without_oidc_settings_the_console_is_as_before(sqlite_services) -> None:  # type: ignore[no-untyped-def]
    assert not sqlite_services.settings.oidc
    with TestClient(create_app(sqlite_services), headers={"Accept": "text/html"}) as client:
        page = client.get("/login")
        assert page.status_code == 200 and "sso-login" not in page.text
        assert page.headers["content-security-policy"] == CSP
        assert "form-action 'self';" in CSP
        assert client.get("/login/oidc", follow_redirects=False).status_code == 404
        assert client.get("/login/oidc/callback?code=x&state=y", follow_redirects=False).status_code == 404


def test_the_settings_read_from_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.config import Settings

    monkeypatch.setenv("OIDC_ISSUER", "https://login.example/realms/police/")
    monkeypatch.setenv("OIDC_CLIENT_ID", "triage")
    monkeypatch.setenv(
        "OIDC_ROLE_MAP", "Brandpreventie=fire_prevention_officer, Wijkagent=community_police_officer"
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.oidc and settings.oidc_issuer == "https://login.example/realms/police"
    assert settings.oidc_role_map == {
        "Brandpreventie": "fire_prevention_officer",
        "Wijkagent": "community_police_officer",
    }
    monkeypatch.setenv("OIDC_ISSUER", "http://login.example")  # tokens over plain HTTP: refused
    try:
        Settings(_env_file=None)  # type: ignore[call-arg]
    except ValueError as exc:
        assert "https" in str(exc)
    else:
        raise AssertionError("an http:// issuer was accepted")


def test_sign_in_matches_by_issuer_and_sub_on_both_databases(services) -> None:  # type: ignore[no-untyped-def]
    """Also on PostgreSQL: the same `sub` at another issuer is another person, and the pair is
    unique in the database."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from bot.service.sso import sign_in
    from bot.store import models as m

    rules = ClaimRules("roles")
    claims = {"sub": "42", "preferred_username": "jan", "roles": ["fire_prevention_officer"]}
    with services.sessions.begin() as session:
        first = sign_in(session, "https://idp-a.example", claims, rules)
        again = sign_in(session, "https://idp-a.example", {**claims, "preferred_username": "x"}, rules)
        other = sign_in(session, "https://idp-b.example", claims, rules)
    assert first.created and not again.created and first.professional_id == again.professional_id
    assert other.created and other.professional_id != first.professional_id
    assert (first.username, other.username) == ("jan", "jan-2")
    with services.sessions.begin() as session:
        session.get(m.Professional, first.professional_id).active = False
    with services.sessions.begin() as session:
        refused = sign_in(session, "https://idp-a.example", claims, rules)
    assert refused.professional_id is None and "disabled" in (refused.refusal or "")
    assert sign_in_without_sub_is_refused(services, rules)
    with pytest.raises(IntegrityError), services.sessions.begin() as session:
        session.add(m.Professional(username="copy", oidc_issuer="https://idp-a.example", oidc_subject="42"))


def sign_in_without_sub_is_refused(services, rules) -> bool:  # type: ignore[no-untyped-def]
    from bot.service.sso import sign_in

    with services.sessions.begin() as session:
        return sign_in(session, "https://idp-a.example", {"name": "No Sub"}, rules).professional_id is None
