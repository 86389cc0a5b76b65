"""Permission boundaries of the admin pages: anonymous, professional, admin (SQLite and PostgreSQL).

Only admins curate: a professional gets 403 on every /admin route, an anonymous visitor is sent
to the login page (GET) or refused (POST), and a POST without the CSRF token is refused.
"""

import re

from fastapi.routing import APIRoute
from sqlalchemy import select

from bot.core.types import Channel, InboundMessage
from bot.service import library_admin as lib
from bot.store import models as m
from tests.web.conftest import login, make_user, switch_to

ROLE = "community_police_officer"


def _walk(routes, prefix: str = ""):  # type: ignore[no-untyped-def]
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):  # FastAPI's lazily included router
            yield from _walk(route.original_router.routes, prefix + route.include_context.prefix)


def admin_routes(client) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every (method, path) under /admin, with real values for the path parameters."""
    values = {
        "name": "fire_alarm_beeping",
        "key": "utter_fire_alarm_beeping",
        "language": "en",
        "answer_id": "1",
        "example_id": "1",
        "pro_id": "1",
        "item_id": "1",
        "line_id": "1",
    }
    out = []
    for path, route in _walk(client.app.routes):
        if not path.startswith("/admin"):
            continue
        concrete = re.sub(r"\{(\w+)\}", lambda mt: values[mt.group(1)], path)
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, concrete))
    return out


def test_every_admin_route_is_for_admins_only(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "ada", admin=True)
    make_user(services, "piet", roles=ROLE)
    routes = admin_routes(app_client)
    assert len(routes) >= 25, routes
    for method, path in routes:  # anonymous
        r = app_client.request(method, path, follow_redirects=False)
        if method == "GET":
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), (
                path,
                r.status_code,
            )
        else:
            assert r.status_code == 401, (method, path, r.status_code)
    csrf = switch_to(app_client, "piet")
    for method, path in routes:  # a professional, even with a valid CSRF token
        r = app_client.request(
            method,
            path,
            data={"csrf_token": csrf} if method == "POST" else None,
            follow_redirects=False,
        )
        assert r.status_code == 403, (method, path, r.status_code)
    csrf = switch_to(app_client, "ada")
    for method, path in routes:
        if method == "GET":
            r = app_client.get(path, follow_redirects=False)
            if path == "/admin":  # the bare prefix opens the dashboard
                assert r.status_code == 303 and r.headers["location"] == "/admin/dashboard", r
                continue
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
        else:  # an admin without the CSRF token
            r = app_client.post(path, data={}, follow_redirects=False)
            assert r.status_code == 403, (path, r.status_code)
    with services.sessions() as s:
        assert s.scalars(select(m.AuditLog).where(m.AuditLog.action.like("answer.%"))).first() is None


def test_an_admin_edits_and_approves_an_answer(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "ada", admin=True)
    csrf = login(app_client, "ada")
    page = "/admin/answers/utter_fire_alarm_beeping/en"
    r = app_client.post(
        page,
        data={"csrf_token": csrf, "text": "Change the battery <b>today</b>."},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "Draft saved" in r.text
    assert "Change the battery &lt;b&gt;today&lt;/b&gt;." in r.text and "<b>today</b>" not in r.text
    with services.sessions() as s:
        draft = lib.versions(s, "utter_fire_alarm_beeping", "en")[0]
    assert draft.status == "draft" and "<ins>" in r.text
    assert "drops a required line" in r.text  # the live answer's {emergency_number} line is gone
    r = app_client.post(f"/admin/answer-versions/{draft.id}/approve", data={"csrf_token": csrf})
    assert r.status_code == 400 and "drops a required line" in r.text
    r = app_client.post(
        f"/admin/answer-versions/{draft.id}/approve", data={"csrf_token": csrf, "override": "yes"}
    )
    assert r.status_code == 200 and "Approved" in r.text
    result = services.triage.handle(
        InboundMessage(Channel.API, "c1", "my smoke alarm keeps beeping every minute")
    )
    assert result.replies[0].text == "Change the battery <b>today</b>."
    with services.sessions() as s:
        actions = list(s.scalars(select(m.AuditLog.action).where(m.AuditLog.actor == "ada")))
    assert actions[-2:] == ["answer.draft", "answer.approve"]


def test_a_refused_change_shows_the_reason(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "ada", admin=True)
    csrf = login(app_client, "ada")
    r = app_client.post(
        "/admin/intents", data={"csrf_token": csrf, "name": "fire_alarm_beeping", "mode": "answer"}
    )
    assert r.status_code == 400 and "already exists" in r.text


def test_creating_a_professional_shows_the_password_once(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "ada", admin=True)
    csrf = login(app_client, "ada")
    r = app_client.post(
        "/admin/team",
        data={"csrf_token": csrf, "username": "jan", "display_name": "Jan", "roles": [ROLE]},
    )
    assert r.status_code == 200
    password = re.search(r'id="new-password">([^<]+)<', r.text).group(1)
    assert "one-time" in r.text.lower()
    assert password not in app_client.get("/admin/team").text
    app_client.cookies.clear()
    csrf = login(app_client, "jan", password)
    # The password is one-time: the first login leads to choosing one's own (issue 15).
    assert app_client.get("/queue", follow_redirects=False).headers["location"] == "/account"
    new = "jan's own password"
    app_client.post(
        "/account/password", data={"csrf_token": csrf, "current": password, "new": new, "repeat": new}
    )
    assert app_client.get("/queue").status_code == 200
    assert app_client.get("/admin/team", follow_redirects=False).status_code == 403


def test_a_professional_suggests_a_reply_and_only_for_their_role(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "piet", roles=ROLE)
    make_user(services, "kees", roles="fire_prevention_officer")
    routed = services.triage.handle(
        InboundMessage(
            Channel.API,
            "c1",
            "I think my neighbour is dealing drugs from his garage, anonymous tip",
        )
    )
    qid = routed.question_id
    csrf = switch_to(app_client, "kees")
    assert app_client.post(f"/questions/{qid}/suggest", data={"csrf_token": csrf}).status_code == 403
    csrf = switch_to(app_client, "piet")
    assert app_client.post(f"/questions/{qid}/suggest", data={}).status_code == 403  # no CSRF token
    r = app_client.post(
        f"/questions/{qid}/reply", data={"csrf_token": csrf, "text": "Thanks, we will check."}
    )
    assert r.status_code in (200, 303)
    r = app_client.post(
        f"/questions/{qid}/suggest",
        data={"csrf_token": csrf},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert r.status_code == 200 and 'id="suggested"' in r.text
    app_client.cookies.clear()
    assert app_client.post(f"/questions/{qid}/suggest", data={"csrf_token": csrf}).status_code in (
        401,
        403,
    )
    make_user(services, "ada", admin=True)
    switch_to(app_client, "ada")
    page = app_client.get("/admin/suggestions").text
    assert "Thanks, we will check." in page and "dealing drugs" in page


def test_unstaffed_roles_are_warned_about_until_someone_holds_them(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "ada", admin=True)
    login(app_client, "ada")
    for page in ("/admin/team", "/admin/routing", "/admin/dashboard"):
        text = app_client.get(page).text
        assert 'id="unstaffed"' in text and "<li>Fire prevention officer</li>" in text, page
    with services.sessions() as s:
        every_role = ",".join(s.scalars(select(m.Role.slug)))
    make_user(services, "all", roles=every_role)
    assert 'id="unstaffed"' not in app_client.get("/admin/team").text


def test_an_escalation_path_is_set_on_the_roles_page_without_loops(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "ada", admin=True)
    csrf = login(app_client, "ada")
    role = {"csrf_token": csrf, "name_en": "x", "name_nl": "x", "response_hours": "24"}
    ok = app_client.post(
        "/admin/roles", data={**role, "slug": "crisis_management", "escalates_to": "municipal_office"}
    )
    assert ok.status_code in (200, 303)
    loop = app_client.post(
        "/admin/roles", data={**role, "slug": "municipal_office", "escalates_to": "crisis_management"}
    )
    assert loop.status_code == 400 and "leads back to municipal_office" in loop.text
    to_admins = app_client.post("/admin/roles", data={**role, "slug": "public_order_officer"})
    assert to_admins.status_code in (200, 303)
    with services.sessions() as s:
        assert s.get(m.Role, "crisis_management").escalates_to == "municipal_office"
        assert s.get(m.Role, "public_order_officer").escalates_to is None
    assert "escalates to the admins" in app_client.get("/admin/routing").text
