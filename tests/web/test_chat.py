"""The citizen web chat: the same treatment as on Telegram, through the outbox."""

from __future__ import annotations

import time

from sqlalchemy import select

from bot.store import models as m
from tests.web.conftest import csrf_of, make_user, switch_to

JSON = {"Accept": "application/json"}


def _say(client, text: str) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/chat").text)
    assert client.post(
        "/chat/send", data={"text": text, "csrf_token": token}, headers=JSON
    ).json() == {"ok": True}


def _wait_for(client, predicate, after: int = 0, timeout: float = 10.0) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    deadline = time.monotonic() + timeout
    while True:
        messages = client.get(f"/chat/messages?after={after}", headers=JSON).json()["messages"]
        if predicate(messages) or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


def _press(client, data: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/chat").text)
    return client.post("/chat/button", data={"data": data, "csrf_token": token}, headers=JSON)


def test_library_answer_feedback_and_handoff(app_client, services):  # type: ignore[no-untyped-def]
    page = app_client.get("/chat")
    assert "Ask the public-safety team" in page.text and "call 112" in page.text
    _say(app_client, "how often should I test my smoke alarm")
    messages = _wait_for(app_client, lambda ms: any(x["buttons"] for x in ms))
    assert [x["kind"] for x in messages] == ["text", "answer", "feedback"]
    assert "smoke alarm" in messages[1]["text"].lower()
    no = next(b["data"] for b in messages[2]["buttons"] if b["data"].endswith(":no"))
    assert _press(app_client, no).status_code == 200
    offer = _wait_for(
        app_client, lambda ms: any(x["buttons"] for x in ms), after=messages[-1]["id"]
    )
    assert _press(app_client, no).status_code == 409  # a button works once
    yes = next(b["data"] for b in offer[-1]["buttons"] if b["data"].endswith(":yes"))
    assert _press(app_client, yes).status_code == 200
    ack = _wait_for(
        app_client, lambda ms: any(x["kind"] == "ack" for x in ms), after=offer[-1]["id"]
    )
    assert any(x["kind"] == "ack" for x in ack)
    with services.sessions() as session:
        question = session.scalars(select(m.Question)).one()
        assert question.channel == "web" and "smoke alarm" in question.text


def test_dutch_page_and_emergency_reply(app_client):  # type: ignore[no-untyped-def]
    assert "Vraag het team openbare veiligheid" in app_client.get("/chat?lang=nl").text
    _say(app_client, "help there is a fire in my kitchen and smoke everywhere")
    messages = _wait_for(app_client, lambda ms: any(x["kind"] == "emergency" for x in ms))
    emergency = next(x for x in messages if x["kind"] == "emergency")
    assert "112" in emergency["text"]


def test_a_citizen_cannot_press_another_citizens_buttons(app_client):  # type: ignore[no-untyped-def]
    _say(app_client, "how often should I test my smoke alarm")
    messages = _wait_for(app_client, lambda ms: any(x["buttons"] for x in ms))
    data = messages[-1]["buttons"][0]["data"]
    switch_to(app_client, None)  # another browser
    assert app_client.get("/chat/messages", headers=JSON).json() == {"messages": []}
    assert _press(app_client, data).status_code == 409


def test_the_professionals_reply_appears_in_the_chat(app_client, services):  # type: ignore[no-untyped-def]
    _say(app_client, "I would like a fire safety inspection for my restaurant")
    messages = _wait_for(app_client, lambda ms: any(x["kind"] == "ack" for x in ms))
    assert any(x["kind"] == "ack" for x in messages), messages
    citizen_cookies = dict(app_client.cookies)
    with services.sessions() as session:
        question = session.scalars(select(m.Question)).one()
    make_user(services, "fiona", roles=question.role)
    token = switch_to(app_client, "fiona")
    app_client.post(
        f"/questions/{question.id}/reply",
        data={"csrf_token": token, "text": "We can come on Tuesday at 10."},
    )
    app_client.cookies.clear()
    for name, value in citizen_cookies.items():
        app_client.cookies.set(name, value, domain="testserver.local")
    replies = _wait_for(
        app_client,
        lambda ms: any(x["kind"] == "professional" for x in ms),
        after=messages[-1]["id"],
    )
    assert "We can come on Tuesday at 10." in replies[-1]["text"]
    assert "We can come on Tuesday at 10." in app_client.get("/chat").text
