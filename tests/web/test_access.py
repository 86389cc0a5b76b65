"""Permission boundaries of the desk: anonymous, another role, another area, same role, admin."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import select

from bot.store import models as m
from bot.web.auth import User, require_admin
from tests.web.conftest import csrf_of, login, make_question, make_user, switch_to

FIRE = "fire_prevention_officer"
POLICE = "community_police_officer"


@pytest.fixture
def desk(services):  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles=FIRE)
    make_user(services, "frank", roles=FIRE)
    make_user(services, "paul", roles=POLICE, areas="noord")
    make_user(services, "zoe", roles=POLICE, areas="zuid")
    make_user(services, "ada", admin=True)
    return {
        "fire": make_question(services, FIRE, "Can you check the fire exits of our café?"),
        "noord": make_question(services, POLICE, "Drug dealing near the playground", area="noord"),
        "emergency": make_question(
            services, FIRE, "Smoke from the neighbours' roof", emergency=True, due_hours=0.1
        ),
    }


ACTIONS = [
    ("claim", {}),
    ("reply", {"text": "We will come by."}),
    ("note", {"text": "Called them"}),
    ("reassign", {"role": FIRE, "note": "not mine"}),
    ("close", {"reason": "spam"}),
]


def test_anonymous_pages_redirect_to_login_and_fragments_get_401(app_client, desk):  # type: ignore[no-untyped-def]
    for path in ("/queue", f"/questions/{desk['fire']}", "/account"):
        response = app_client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=%2F")
    assert app_client.get("/queue/list", headers={"HX-Request": "true"}).status_code == 401
    assert app_client.get("/events", headers={"Accept": "text/event-stream"}).status_code == 401
    token = csrf_of(app_client.get("/login").text)  # a valid anonymous token: still no access
    for action, data in ACTIONS:
        response = app_client.post(
            f"/questions/{desk['fire']}/{action}",
            data={"csrf_token": token, **data},
            follow_redirects=False,
        )
        assert response.status_code == 401, action


def test_login_redirects_back_to_the_page_asked_for(app_client, desk):  # type: ignore[no-untyped-def]
    page = app_client.get(f"/questions/{desk['fire']}")  # follows to the login page
    assert 'name="next" value="/questions/' in page.text
    response = app_client.post(
        "/login",
        follow_redirects=False,
        data={
            "username": "fiona",
            "password": "correct horse battery",
            "csrf_token": csrf_of(page.text),
            "next": f"/questions/{desk['fire']}",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/questions/{desk['fire']}"


def test_login_never_redirects_off_site(app_client, desk):  # type: ignore[no-untyped-def]
    page = app_client.get("/login")
    response = app_client.post(
        "/login",
        follow_redirects=False,
        data={
            "username": "fiona",
            "password": "correct horse battery",
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/phish",
        },
    )
    assert response.headers["location"] == "/queue"


def test_professional_sees_only_own_roles_and_areas_in_the_queue(app_client, desk):  # type: ignore[no-untyped-def]
    login(app_client, "fiona")
    page = app_client.get("/queue").text
    assert "fire exits" in page and "roof" in page
    assert "playground" not in page
    assert page.index("roof") < page.index("fire exits"), "emergencies are pinned on top"
    switch_to(app_client, "zoe")  # police, other area
    assert "playground" not in app_client.get("/queue").text
    switch_to(app_client, "paul")  # police, this area
    page = app_client.get("/queue").text
    assert "playground" in page and "fire exits" not in page


@pytest.mark.parametrize("who,question", [("paul", "fire"), ("zoe", "noord"), ("fiona", "noord")])
def test_other_role_or_area_gets_403_on_view_and_every_action(
    app_client, desk, services, who, question
):  # type: ignore[no-untyped-def]
    token = login(app_client, who)
    qid = desk[question]
    assert app_client.get(f"/questions/{qid}").status_code == 403
    assert (
        app_client.get(f"/questions/{qid}/live", headers={"HX-Request": "true"}).status_code == 403
    )
    for action, data in ACTIONS:
        response = app_client.post(f"/questions/{qid}/{action}", data={"csrf_token": token, **data})
        assert response.status_code == 403, action
    with services.sessions() as session:
        question = session.get(m.Question, qid)
        assert question.status == "open" and question.assignee is None
        assert not session.scalars(select(m.Note).where(m.Note.question_id == qid)).all()


def test_same_role_works_the_question_and_every_action_is_audited(app_client, desk, services):  # type: ignore[no-untyped-def]
    token = login(app_client, "fiona")
    qid = desk["fire"]
    page = app_client.get(f"/questions/{qid}")
    assert page.status_code == 200 and "fire exits" in page.text
    assert (
        "You have claimed"
        in app_client.post(f"/questions/{qid}/claim", data={"csrf_token": token}).text
    )
    assert (
        "Note added"
        in app_client.post(
            f"/questions/{qid}/note", data={"csrf_token": token, "text": "Phoned the owner"}
        ).text
    )
    sent = app_client.post(
        f"/questions/{qid}/reply", data={"csrf_token": token, "text": "We come Monday."}
    )
    assert "sent to the citizen" in sent.text
    closed = app_client.post(
        f"/questions/{qid}/close",
        data={"csrf_token": token, "reason": "resolved"},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    with services.sessions() as session:
        question = session.get(m.Question, qid)
        assert question.status == "closed" and question.close_reason == "resolved"
        reply = session.scalars(
            select(m.Message).where(m.Message.question_id == qid, m.Message.kind == "professional")
        ).one()
        assert "We come Monday." in reply.text and "Fire prevention officer" in reply.text  # signed
        assert session.scalars(
            select(m.OutboxItem).where(m.OutboxItem.message_id == reply.id)
        ).one()
        actions = [
            a
            for (a,) in session.execute(
                select(m.AuditLog.action).where(m.AuditLog.actor == "fiona").order_by(m.AuditLog.id)
            )
        ]
    assert actions == ["login", "claim", "note", "reply", "close"]


def test_the_second_claimer_is_told_who_has_it(app_client, desk):  # type: ignore[no-untyped-def]
    token = login(app_client, "fiona")
    app_client.post(f"/questions/{desk['fire']}/claim", data={"csrf_token": token})
    token = switch_to(app_client, "frank")
    response = app_client.post(f"/questions/{desk['fire']}/claim", data={"csrf_token": token})
    assert response.status_code == 409
    assert "Already claimed by fiona" in response.text
    reply = app_client.post(
        f"/questions/{desk['fire']}/reply", data={"csrf_token": token, "text": "me too"}
    )
    assert reply.status_code == 409 and "fiona has claimed this question" in reply.text


def test_reassign_moves_the_question_out_of_my_queue(app_client, desk, services):  # type: ignore[no-untyped-def]
    token = login(app_client, "fiona")
    response = app_client.post(
        f"/questions/{desk['fire']}/reassign",
        follow_redirects=False,
        data={"csrf_token": token, "role": POLICE, "area": "noord", "note": "this is about crime"},
    )
    assert response.status_code == 303
    assert app_client.get(f"/questions/{desk['fire']}").status_code == 403
    switch_to(app_client, "paul")
    page = app_client.get(f"/questions/{desk['fire']}").text
    assert "Reassigned to community_police_officer / noord: this is about crime" in page


def test_admin_sees_and_acts_on_everything(app_client, desk):  # type: ignore[no-untyped-def]
    token = login(app_client, "ada")
    page = app_client.get("/queue").text
    assert all(t in page for t in ("fire exits", "playground", "roof"))
    assert app_client.get(f"/questions/{desk['noord']}").status_code == 200
    assert (
        "You have claimed"
        in app_client.post(f"/questions/{desk['noord']}/claim", data={"csrf_token": token}).text
    )
    assert 'href="/admin/library"' in page  # admins get the admin menu


def test_require_admin_refuses_professionals(app_client, desk):  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.get("/admin/_probe")
    def probe(user: User = Depends(require_admin)) -> dict[str, str]:  # noqa: B008
        return {"user": user.username}

    app_client.app.include_router(router)
    assert app_client.get("/admin/_probe", follow_redirects=False).status_code == 303
    login(app_client, "fiona")
    assert app_client.get("/admin/_probe").status_code == 403
    assert 'href="/admin/library"' not in app_client.get("/queue").text
    switch_to(app_client, "ada")
    assert app_client.get("/admin/_probe").json() == {"user": "ada"}


def test_a_browser_gets_a_readable_page_for_403_and_404_and_scripts_keep_json(app_client, desk):  # type: ignore[no-untyped-def]
    login(app_client, "paul")
    page = {"Accept": "text/html,application/xhtml+xml"}
    forbidden = app_client.get(f"/questions/{desk['fire']}", headers=page)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith("text/html")
    assert 'id="error"' in forbidden.text and "Back to the queue" in forbidden.text
    missing = app_client.get("/questions/999999", headers=page)
    assert missing.status_code == 404 and "Not found" in missing.text
    assert app_client.get("/admin/library", headers=page).status_code == 403
    script = app_client.get(f"/questions/{desk['fire']}", headers={"Accept": "application/json"})
    assert script.status_code == 403 and script.json()["detail"]
    swap = app_client.get(f"/questions/{desk['fire']}", headers={**page, "HX-Request": "true"})
    assert swap.status_code == 403 and swap.headers["content-type"].startswith("application/json")


def test_admins_find_the_privacy_page_in_the_menu(app_client, desk):  # type: ignore[no-untyped-def]
    login(app_client, "ada")
    assert 'href="/admin/privacy"' in app_client.get("/queue").text
    login(app_client, "paul")
    assert 'href="/admin/privacy"' not in app_client.get("/queue").text
