"""The console on a WhatsApp question: the 24-hour window's end, and a reply after it refused with
the citizen's other options (the draft kept)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.service.reply_window import ReplyWindow
from bot.store import models as m
from tests.web.conftest import login, make_question, make_user

POLICE = "community_police_officer"


def _whatsapp_question(services, hours_ago: float) -> int:  # type: ignore[no-untyped-def]
    services.reply_windows["whatsapp"] = ReplyWindow("WhatsApp", 24.0)  # as the part registers it
    question_id = make_question(services, POLICE, "Drug dealing near the playground", channel="whatsapp")
    with services.sessions.begin() as session:
        question = session.get(m.Question, question_id)
        citizen = session.get(m.Citizen, question.citizen_id)
        citizen.last_seen_at = datetime.now(UTC) - timedelta(hours=hours_ago)
    return question_id


def test_the_question_page_shows_when_the_window_ends(services, app_client) -> None:  # type: ignore[no-untyped-def]
    question_id = _whatsapp_question(services, hours_ago=2)
    web = make_question(services, POLICE, "Same question on the web chat")
    make_user(services, "ada", admin=True)
    login(app_client, "ada")
    page = app_client.get(f"/questions/{question_id}").text
    ends = (datetime.now(UTC) + timedelta(hours=22)).strftime("%d %b")
    assert 'id="reply-window"' in page and "WhatsApp: a reply can go out until" in page
    assert ends in page.split('id="window-end"')[1][:80]
    assert 'id="reply-window"' not in app_client.get(f"/questions/{web}").text


def test_a_reply_after_the_window_is_refused_with_the_options(services, app_client) -> None:  # type: ignore[no-untyped-def]
    question_id = _whatsapp_question(services, hours_ago=25)
    make_user(services, "ada", admin=True)
    token = login(app_client, "ada")
    page = app_client.get(f"/questions/{question_id}").text
    assert "24-hour window closed" in page and "until the citizen writes again" in page
    response = app_client.post(
        f"/questions/{question_id}/reply", data={"csrf_token": token, "text": "We will come by."}
    )
    assert response.status_code == 409
    assert "cannot be delivered on WhatsApp after 24 h" in response.text
    assert "We will come by." in response.text  # the draft is kept
    with services.sessions() as session:
        out = session.scalars(select(m.Message).where(m.Message.direction == "out")).all()
    assert out == []
