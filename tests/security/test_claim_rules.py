"""Claim rules: a claimed question is replied to, reassigned and closed by its claimant only.

A colleague of the same role is refused on every path (console, Telegram buttons and replies), so
is an admin until they take it over: an explicit action, noted on the question, audited, and told
to the claimant on their queue page and on Telegram when linked.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.service import queue
from bot.store import models as m
from bot.web.api import create_app
from tests.web.conftest import login, make_question, make_user, switch_to

FIRE = "fire_prevention_officer"
POLICE = "community_police_officer"


@pytest.fixture
def claimed(sqlite_services) -> Iterator[tuple[TestClient, Services, int]]:  # type: ignore[no-untyped-def]
    """fiona (fire) has claimed a fire question; frank is her colleague, ada an admin."""
    svc = sqlite_services
    make_user(svc, "fiona", roles=FIRE)
    make_user(svc, "frank", roles=FIRE)
    make_user(svc, "ada", admin=True)
    qid = make_question(svc, FIRE)
    with svc.sessions.begin() as s:
        assert queue.claim(s, queue.Viewer("fiona", frozenset({FIRE})), qid).won
    with TestClient(create_app(svc), headers={"Accept": "text/html"}) as client:
        yield client, svc, qid


def _state(svc: Services, qid: int) -> tuple[str, str | None, str]:
    with svc.sessions() as s:
        q = s.get(m.Question, qid)
        assert q is not None
        return q.status, q.assignee, q.role


def _replies(svc: Services, qid: int) -> int:
    with svc.sessions() as s:
        return len(
            s.scalars(
                select(m.Message).where(m.Message.question_id == qid, m.Message.kind == "professional")
            ).all()
        )


@pytest.mark.parametrize("who", ["frank", "ada"])
def test_nobody_but_the_claimant_replies_reassigns_or_closes_in_the_console(claimed, who) -> None:  # type: ignore[no-untyped-def]
    client, svc, qid = claimed
    token = login(client, who)
    post = {"X-CSRF-Token": token}
    # The hole: a reassignment to the same role cleared the claim, and the colleague claimed it.
    same_role = client.post(
        f"/questions/{qid}/reassign",
        headers=post,
        data={"role": FIRE, "note": "mine now"},
        follow_redirects=False,
    )
    assert same_role.status_code == 400 and "fiona has claimed this question" in same_role.text
    assert _state(svc, qid) == ("claimed", "fiona", FIRE)
    assert client.post(f"/questions/{qid}/claim", headers=post).status_code == 409
    other_role = client.post(
        f"/questions/{qid}/reassign",
        headers=post,
        data={"role": POLICE, "note": "not fire"},
        follow_redirects=False,
    )
    assert other_role.status_code == 400
    closed = client.post(
        f"/questions/{qid}/close", headers=post, data={"reason": "spam"}, follow_redirects=False
    )
    assert closed.status_code == 400 and "fiona has claimed this question" in closed.text
    replied = client.post(f"/questions/{qid}/reply", headers=post, data={"text": "I answer instead"})
    assert replied.status_code == 409 and "fiona has claimed this question" in replied.text
    assert _state(svc, qid) == ("claimed", "fiona", FIRE) and _replies(svc, qid) == 0
    page = client.get(f"/questions/{qid}").text
    assert 'id="send-reply"' not in page and "Close question" not in page
    assert ('id="take-over"' in page) is (who == "ada")  # only an admin is offered the take-over


def test_the_claimant_keeps_the_claim_when_reassigning_within_the_team(claimed) -> None:  # type: ignore[no-untyped-def]
    client, svc, qid = claimed
    token = login(client, "fiona")
    post = {"X-CSRF-Token": token}
    client.post(
        f"/questions/{qid}/reassign",
        headers=post,
        data={"role": FIRE, "note": "stays"},
        follow_redirects=False,
    )
    assert _state(svc, qid) == ("claimed", "fiona", FIRE)
    client.post(
        f"/questions/{qid}/reassign",
        headers=post,
        data={"role": POLICE, "note": "crime"},
        follow_redirects=False,
    )
    assert _state(svc, qid) == ("open", None, POLICE)


def test_an_admin_takes_over_explicitly_and_the_claimant_is_told(claimed) -> None:  # type: ignore[no-untyped-def]
    client, svc, qid = claimed
    token = login(client, "frank")
    refused = client.post(
        f"/questions/{qid}/takeover", headers={"X-CSRF-Token": token}, data={"reason": "she is away"}
    )
    assert refused.status_code == 403 and _state(svc, qid)[1] == "fiona"
    token = switch_to(client, "ada")
    post = {"X-CSRF-Token": token}
    no_reason = client.post(f"/questions/{qid}/takeover", headers=post, data={"reason": " "})
    assert no_reason.status_code == 409 and _state(svc, qid)[1] == "fiona"
    taken = client.post(f"/questions/{qid}/takeover", headers=post, data={"reason": "Fiona is ill"})
    assert taken.status_code == 200 and "You took this question over" in taken.text
    assert _state(svc, qid) == ("claimed", "ada", FIRE)
    with svc.sessions() as s:
        entry = s.scalars(select(m.AuditLog).where(m.AuditLog.action == "take_over")).one()
        assert (entry.actor, entry.target) == ("ada", f"question:{qid}")
        assert entry.detail == {"from": "fiona", "reason": "Fiona is ill"}
        notes = [n.text for n in s.scalars(select(m.Note).where(m.Note.question_id == qid))]
    assert notes == ["Taken over from fiona by ada: Fiona is ill"]
    sent = client.post(f"/questions/{qid}/reply", headers=post, data={"text": "We come Monday."})
    assert "sent to the citizen" in sent.text and _replies(svc, qid) == 1
    switch_to(client, "fiona")
    queue_page = client.get("/queue").text
    assert "ada took over" in queue_page and f"question #{qid}" in queue_page
    assert "Fiona is ill" in queue_page
    switch_to(client, "frank")
    assert "took over" not in client.get("/queue").text  # only the claimant is told


def _deps(svc: Services):  # type: ignore[no-untyped-def]
    from bot.channels.telegram.context import Deps, Texts
    from bot.channels.telegram.settings import TelegramSettings
    from bot.config import PROJECT_ROOT

    settings = TelegramSettings(_env_file=None, bot_token="1:x", staff_language="en")  # type: ignore[call-arg]
    return Deps(svc, settings, None, Texts(PROJECT_ROOT / "responses"), lambda: None)  # type: ignore[arg-type]


def _link(svc: Services, username: str, chat: str) -> None:
    with svc.sessions.begin() as s:
        pro = s.scalars(select(m.Professional).where(m.Professional.username == username)).one()
        pro.telegram_chat_id = chat


def test_telegram_buttons_and_replies_follow_the_same_rule(claimed) -> None:  # type: ignore[no-untyped-def]
    from bot.channels.telegram import staff_actions as staff

    _client, svc, qid = claimed
    _link(svc, "frank", "7002")
    deps = _deps(svc)
    for data in (f"pq:rr:{qid}:{FIRE}", f"pq:rr:{qid}:{POLICE}", f"pq:xx:{qid}:spam"):
        outcome = staff.act(deps, "7002", data, update_id=1)
        assert outcome.text and "fiona has claimed this question" in outcome.text, data
        assert _state(svc, qid) == ("claimed", "fiona", FIRE), data
    staff.remember_card(deps, "7002", [555], qid)
    answered = staff.answer(deps, "7002", 555, "I answer instead", update_id=2)
    assert answered.text and "fiona" in answered.text and _replies(svc, qid) == 0


def test_a_linked_claimant_gets_a_telegram_notice_of_the_take_over(claimed) -> None:  # type: ignore[no-untyped-def]
    from bot.channels.telegram import staff_actions as staff

    _client, svc, qid = claimed
    deps = _deps(svc)
    admin = queue.Viewer("ada", is_admin=True)
    with svc.sessions.begin() as s:
        queue.take_over(s, admin, qid, "Fiona is ill")
    assert staff.take_over_notice(deps, qid) is None  # not linked: the console tells her
    _link(svc, "fiona", "7001")
    chat, text = staff.take_over_notice(deps, qid)  # type: ignore[misc]
    assert chat == "7001" and text == f"ada took over question #{qid} from you: Fiona is ill"
