"""The intake API: decisions and replies over HTTP, and bad input answered with a clear 4xx."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.store import models as m

from bot.web import plugins
from bot.web.api import create_app


@pytest.fixture
def client(services, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(plugins, "PARTS", [])  # the bare intake API; parts have their own tests
    with TestClient(create_app(services)) as c:
        yield c


def post(client, **body):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/messages", json={"sender": "c1", **body})


def test_a_message_gets_the_decision_and_replies(client) -> None:  # type: ignore[no-untyped-def]
    r = post(client, text="my smoke alarm keeps beeping")
    assert r.status_code == 200
    body = r.json()
    assert body["action"] == "answer" and body["intent"] == "fire_alarm_beeping"
    assert len(body["ranking"]) == 3 and body["replies"][1]["buttons"][0]["data"].startswith("fb:")
    fb = client.post(
        "/api/v1/feedback", json={"sender": "c1", "message_id": body["message_id"], "helpful": False}
    )
    assert fb.status_code == 200 and fb.json()["replies"][0]["buttons"][0]["data"].startswith("ho:")
    ho = client.post(
        "/api/v1/handoff", json={"sender": "c1", "message_id": body["message_id"], "accept": True}
    )
    assert ho.json()["question_id"] is not None


def test_professional_reply_reaches_the_api_citizen(client, services) -> None:  # type: ignore[no-untyped-def]
    from bot.service import professional
    from bot.service.queue import Viewer

    body = post(client, text="I want to invite the mayor to our street party").json()
    assert body["action"] == "route" and body["question_id"]
    professional.answer(services, Viewer("admin", is_admin=True), body["question_id"], "We'll pass it on!")
    import asyncio

    asyncio.run(services.dispatcher().run_once())
    replies = client.get("/api/v1/conversations/api/c1/replies", params={"after": body["message_id"]}).json()
    assert replies[-1]["kind"] == "professional" and replies[-1]["text"].startswith("We'll pass it on!")
    assert "—" in replies[-1]["text"]


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"",
        b"[]",
        b'{"sender": "c1"}',
        b'{"sender": "", "text": "hi"}',
        b'{"sender": "c1", "text": 5}',
        b'{"sender": "c1", "text": "hi", "language": "fr"}',
        b'{"sender": "c1", "text": "hi", "channel": "carrier-pigeon"}',
        b"\xff\xfe\xfd",
    ],
)
def test_malformed_requests_get_a_4xx_with_a_reason(client, payload: bytes) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/messages", content=payload, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    assert r.json()["detail"]


def test_channel_adapters_are_not_impersonated(client) -> None:  # type: ignore[no-untyped-def]
    r = post(client, text="hi", channel="telegram")
    assert r.status_code == 422 and "adapter" in r.json()["detail"]


@pytest.mark.parametrize(
    "text",
    ["", "   ", "🙂🙂", "x" * 5000, "<script>alert(1)</script>", "\u202e\u0000control", "brand!! fire!!"],
)
def test_odd_texts_never_crash(client, text: str) -> None:  # type: ignore[no-untyped-def]
    r = post(client, text=text)
    assert r.status_code == 200
    assert r.json()["replies"]


def test_retry_with_the_same_external_id_is_not_processed_twice(client) -> None:  # type: ignore[no-untyped-def]
    a = post(client, text="hoi", external_id="m-1").json()
    b = post(client, text="hoi", external_id="m-1").json()
    assert b["duplicate"] and a["message_id"] == b["message_id"]


def test_api_token_is_enforced_when_configured(client, services) -> None:  # type: ignore[no-untyped-def]
    services.settings.api_token = "s3cret-token-for-tests"
    assert post(client, text="hi").status_code == 401
    ok = client.post(
        "/api/v1/messages",
        json={"sender": "c1", "text": "hi"},
        headers={"Authorization": "Bearer s3cret-token-for-tests"},
    )
    assert ok.status_code == 200


def test_health_and_openapi(client) -> None:  # type: ignore[no-untyped-def]
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["database"] == "ok"
    assert "/api/v1/messages" in client.get("/openapi.json").json()["paths"]


def test_handoff_three_times_opens_one_question(client, services) -> None:  # type: ignore[no-untyped-def]
    body = post(client, text="how do i prevent burglary when im on holiday").json()
    assert body["action"] == "answer"
    ref = {"sender": "c1", "message_id": body["message_id"]}
    assert client.post("/api/v1/feedback", json={**ref, "helpful": False}).status_code == 200
    codes = [client.post("/api/v1/handoff", json={**ref, "accept": True}).status_code for _ in range(3)]
    assert codes == [200, 409, 409]
    assert client.post("/api/v1/feedback", json={**ref, "helpful": False}).status_code == 409
    with services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.Question)) == 1


def test_a_press_names_the_citizen_and_only_their_own_prompt_counts(client, services) -> None:  # type: ignore[no-untyped-def]
    theirs = post(client, text="my smoke alarm keeps beeping", sender="victim").json()
    post(client, text="hello", sender="other")
    forged = {"message_id": theirs["message_id"], "helpful": False}
    assert client.post("/api/v1/feedback", json=forged).status_code == 422  # who is pressing?
    for who in ({"sender": "other"}, {"sender": "nobody"}, {"sender": "victim", "channel": "web"}):
        assert client.post("/api/v1/feedback", json={**forged, **who}).status_code == 409
        answer = client.post(
            "/api/v1/handoff", json={"message_id": theirs["message_id"], "accept": True, **who}
        )
        assert answer.status_code == 409
    assert client.get("/api/v1/conversations/api/other/replies").json()[-1]["kind"] == "smalltalk"
    with services.sessions() as session:
        assert session.get(m.Message, theirs["message_id"]).feedback is None
        assert session.scalar(select(func.count()).select_from(m.Question)) == 0
    ok = client.post("/api/v1/feedback", json={**forged, "sender": "victim"})
    assert ok.status_code == 200 and ok.json()["replies"][0]["buttons"]


def test_any_reply_button_through_the_buttons_endpoint(client) -> None:  # type: ignore[no-untyped-def]
    ask = post(client, text="/forget").json()
    assert ask["action"] is None and ask["replies"][0]["text"].startswith("Are you sure")
    no = next(b["data"] for b in ask["replies"][0]["buttons"] if b["data"].endswith(":no"))
    kept = client.post("/api/v1/buttons", json={"sender": "c1", "data": no})
    assert kept.status_code == 200 and kept.json()["replies"][0]["text"].startswith("Okay, I haven't")
    assert client.post("/api/v1/buttons", json={"sender": "c1", "data": no}).status_code == 409
    assert client.post("/api/v1/buttons", json={"sender": "c1", "data": "pq:c:1"}).status_code == 409


def test_the_same_external_id_from_another_citizen_is_their_own_message(client) -> None:  # type: ignore[no-untyped-def]
    first = post(client, text="I want to invite the mayor to our street party", external_id="7").json()
    second = post(
        client, text="I would like a fire safety inspection for my restaurant", sender="c2", external_id="7"
    ).json()
    assert not second["duplicate"] and second["message_id"] != first["message_id"]
    assert second["question_id"] != first["question_id"]
    assert all("mayor" not in r["text"] for r in second["replies"])
