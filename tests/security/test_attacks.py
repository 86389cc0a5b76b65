"""Attacks on the console, the API and the channels: session fixation, login brute force, stored XSS
(citizen text and library text), SQL injection, the Telegram webhook secret, path traversal in
exports and hostile ids. (CSRF on every form: tests/web/test_security.py and the matrix here.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from bot.nlu.rasa_format import Example, LibraryFileError, LibraryFiles, write_library
from bot.store import models as m
from bot.web import security
from bot.web.api import create_app
from bot.web.auth import SESSION_COOKIE
from tests.channels.telegram.conftest import running
from tests.helpers.fake_telegram import FakeTelegram
from tests.web.conftest import PASSWORD, csrf_of, login, make_question, make_user

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">'
SQLI = ["' OR '1'='1", "1; DROP TABLE messages;--", "\" OR 1=1 --", "x') UNION SELECT text FROM messages--",
        "%' OR 1=1 --", "\\'; DELETE FROM citizens; --"]
TOKEN = "attacks-api-token-77aa"


@pytest.fixture
def client(sqlite_services) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    sqlite_services.settings.api_token = TOKEN
    with TestClient(create_app(sqlite_services), headers={"Accept": "text/html"}) as c:
        yield c


def _no_raw_markup(page: str, where: str) -> None:
    assert "<script>alert" not in page and "<img src=x" not in page, where
    assert 'href="javascript:' not in page, where


# -- sessions and logins ---------------------------------------------------------------------------


def test_a_planted_session_cookie_is_worthless_and_login_issues_a_new_one(client, sqlite_services):  # type: ignore[no-untyped-def]
    make_user(sqlite_services, "fiona", roles="fire_prevention_officer")
    planted = security.new_token()
    client.cookies.set(SESSION_COOKIE, planted)
    assert client.get("/queue", follow_redirects=False).status_code == 303  # not logged in by it
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "fiona", "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    issued = response.cookies.get(SESSION_COOKIE)
    assert issued and issued != planted
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, issued)
    with sqlite_services.sessions() as s:
        hashes = set(s.scalars(select(m.WebSession.token_hash)))
    assert security.token_hash(issued) in hashes and issued not in hashes  # only the hash is stored
    assert security.token_hash(planted) not in hashes
    # The attacker who planted the cookie is still anonymous; after logout the old token is dead.
    attacker = TestClient(client.app, headers={"Accept": "text/html"})
    attacker.cookies.set(SESSION_COOKIE, planted)
    assert attacker.get("/queue", follow_redirects=False).status_code == 303
    client.post("/logout", headers={"X-CSRF-Token": csrf_of(client.get("/account").text)})
    replay = TestClient(client.app, headers={"Accept": "text/html"})
    replay.cookies.set(SESSION_COOKIE, issued)
    assert replay.get("/queue", follow_redirects=False).status_code == 303


def test_login_brute_force_is_locked_out_even_with_the_right_password(client, sqlite_services):  # type: ignore[no-untyped-def]
    make_user(sqlite_services, "fiona", roles="fire_prevention_officer")
    statuses = []
    for attempt in range(8):
        token = csrf_of(client.get("/login").text)
        r = client.post("/login", data={"username": "fiona", "password": f"guess-{attempt}",
                                        "csrf_token": token}, follow_redirects=False)
        statuses.append(r.status_code)
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "FIONA ", "password": PASSWORD, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 429 and SESSION_COOKIE not in r.cookies  # locked, whatever the case
    with sqlite_services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.LoginAttempt)) >= 5  # recorded for review


def test_login_refuses_a_post_from_another_site(client, sqlite_services):  # type: ignore[no-untyped-def]
    make_user(sqlite_services, "fiona", roles="fire_prevention_officer")
    r = client.post("/login", data={"username": "fiona", "password": PASSWORD},
                    headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403 and SESSION_COOKIE not in r.cookies


# -- stored XSS ------------------------------------------------------------------------------------


def test_citizen_and_library_text_is_escaped_in_every_console_page(client, sqlite_services):  # type: ignore[no-untyped-def]
    svc = sqlite_services
    make_user(svc, "ada", admin=True)
    qid = make_question(svc, "fire_prevention_officer", text=XSS)
    with svc.sessions.begin() as s:  # a library answer (imported or edited) carrying markup
        s.execute(update(m.Answer).where(m.Answer.key == "utter_fire_alarm_beeping",
                                         m.Answer.language == "en").values(text=XSS))
    svc.triage.invalidate_library()
    token = csrf_of(client.get("/chat").text)  # a citizen asks, and gets the poisoned answer
    client.post("/chat/send", data={"text": f"my fire alarm keeps beeping {XSS}", "csrf_token": token})
    chat = client.get("/chat").text
    _no_raw_markup(chat, "/chat")
    assert "&lt;script&gt;" in chat  # the text is there, escaped
    assert "<script>" not in client.get("/chat/messages", headers={"Accept": "application/json"}).text \
        .replace("\\u003c", "<").split('"text"')[0]
    client.cookies.clear()
    login(client, "ada")
    pages = ["/queue", "/queue/list?view=all", f"/questions/{qid}", f"/questions/{qid}/live",
             "/admin/library", "/admin/answers/utter_fire_alarm_beeping/en", "/admin/unrecognised",
             "/admin/suggestions", "/admin/dashboard", "/admin/intents/fire_alarm_beeping"]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        _no_raw_markup(r.text, path)
    assert "text/csv" in client.get("/admin/dashboard.csv").headers["content-type"]


# -- SQL injection ---------------------------------------------------------------------------------


def test_sql_injection_attempts_are_just_text(client, sqlite_services):  # type: ignore[no-untyped-def]
    svc = sqlite_services
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = client.post("/api/v1/messages", json={"sender": "victim", "text": "VICTIM-SECRET my address"},
                    headers=auth)
    assert r.status_code == 200
    with svc.sessions() as s:
        before = {t.__tablename__: s.scalar(select(func.count()).select_from(t))
                  for t in (m.Citizen, m.Message, m.Professional, m.Intent)}
    for i, payload in enumerate(SQLI):
        r = client.post("/api/v1/messages", json={"sender": payload, "text": payload,
                                                   "external_id": f"{payload}{i}"}, headers=auth)
        assert r.status_code == 200, payload
        for path in (f"/api/v1/conversations/api/{payload}/replies",
                     "/api/v1/conversations/api/victim' OR '1'='1/replies"):
            got = client.get(path, headers=auth)
            assert got.status_code in (200, 404, 422) and "VICTIM-SECRET" not in got.text, path
        token = csrf_of(client.get("/login").text)
        r = client.post("/login", data={"username": payload, "password": payload, "csrf_token": token})
        assert r.status_code in (401, 429), payload
        assert client.get(f"/queue/list?view={payload}", follow_redirects=False).status_code in (401, 303)
    with svc.sessions() as s:
        after = {t.__tablename__: s.scalar(select(func.count()).select_from(t))
                 for t in (m.Citizen, m.Message, m.Professional, m.Intent)}
        stored = set(s.scalars(select(m.Message.text).where(m.Message.direction == "in")))
    assert after["professionals"] == before["professionals"] and after["intents"] == before["intents"]
    assert after["citizens"] == before["citizens"] + len(SQLI)  # each payload is one more citizen
    assert set(SQLI) <= stored  # stored verbatim, as data


# -- hostile ids -----------------------------------------------------------------------------------


def test_out_of_range_ids_are_refused_not_crashed(client):  # type: ignore[no-untyped-def]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    huge = 2**70
    for path, body in (("/api/v1/feedback", {"message_id": huge, "helpful": True}),
                       ("/api/v1/handoff", {"message_id": -huge, "accept": True})):
        assert client.post(path, json=body, headers=auth).status_code == 422
    assert client.get(f"/api/v1/conversations/api/x/replies?after={huge}", headers=auth).status_code == 422
    token = csrf_of(client.get("/chat").text)
    client.post("/chat/send", data={"text": "hello there", "csrf_token": token})
    r = client.post("/chat/button", data={"data": f"fb:{huge}:yes", "csrf_token": token})
    assert r.status_code < 500
    assert client.get(f"/chat/messages?after={huge}").status_code < 500


# -- path traversal in exports ---------------------------------------------------------------------


def test_a_library_export_never_writes_outside_its_directory(tmp_path):  # type: ignore[no-untyped-def]
    for evil in ("../../escaped.yml", "/tmp/escaped-absolute.yml", "en/../../../escaped.yml"):
        lib = LibraryFiles()
        lib.examples.append(Example("greet", "hello", "en", source_file=evil))
        out = tmp_path / "export"
        with pytest.raises(LibraryFileError, match="outside"):
            write_library(lib, out / "nlu", out / "domain")
        assert not (tmp_path / "escaped.yml").exists() and not list(tmp_path.rglob("escaped*"))


def test_the_dashboard_export_takes_only_a_number(client, sqlite_services):  # type: ignore[no-untyped-def]
    make_user(sqlite_services, "ada", admin=True)
    login(client, "ada")
    for days in ("../../etc/passwd", "7;rm -rf /", "%2e%2e%2f"):
        r = client.get("/admin/dashboard.csv", params={"days": days})
        assert r.status_code == 422 and "root:" not in r.text
    r = client.get("/admin/dashboard.csv", params={"days": 7})
    assert r.headers["content-disposition"] == 'attachment; filename="dashboard-7d.csv"'


# -- the Telegram webhook secret ---------------------------------------------------------------------


def test_the_telegram_webhook_refuses_requests_without_the_secret(sqlite_services):  # type: ignore[no-untyped-def]
    svc = sqlite_services
    fake = FakeTelegram().start()
    update_of = fake.text(5550001, "WEBHOOK-SECRET-TEXT where do I report noise?")

    async def scenario() -> dict[str, int]:
        async with running(svc, fake, webhook_url="https://bot.example.org/telegram/hook") as app:
            secret = fake.webhook["secret_token"] if fake.webhook else ""
            assert secret and len(secret) >= 32
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                out = {}
                for name, headers in (("none", {}), ("wrong", {"X-Telegram-Bot-Api-Secret-Token": "x" * 64}),
                                      ("prefix", {"X-Telegram-Bot-Api-Secret-Token": secret[:-1]})):
                    r = await http.post("/telegram/hook", json={"update_id": 1, **update_of}, headers=headers)
                    out[name] = r.status_code
                stored_before = await asyncio.to_thread(_inbound, svc)
                r = await http.post("/telegram/hook", json={"update_id": 2, **update_of},
                                    headers={"X-Telegram-Bot-Api-Secret-Token": secret})
                out["right"] = r.status_code
                out["stored_before"] = stored_before
                out["stored_after"] = await asyncio.to_thread(_inbound, svc)
                return out

    try:
        result = asyncio.run(scenario())
    finally:
        fake.stop()
    assert result["none"] == result["wrong"] == result["prefix"] == 403
    assert result["stored_before"] == 0  # nothing from the forged requests reached the database
    assert result["right"] == 200 and result["stored_after"] == 1


def _inbound(svc) -> int:  # type: ignore[no-untyped-def]
    with svc.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(m.Message).where(
            m.Message.direction == "in", m.Message.channel == "telegram")) or 0)


def _now() -> datetime:
    return datetime.now(UTC)


def test_in_production_the_api_is_closed_without_a_token(sqlite_services):  # type: ignore[no-untyped-def]
    sqlite_services.settings.api_token = ""
    sqlite_services.settings.environment = "production"
    with TestClient(create_app(sqlite_services)) as c:
        r = c.post("/api/v1/messages", json={"sender": "a", "text": "hello"})
        assert r.status_code == 401
        assert c.get("/api/v1/conversations/api/a/replies").status_code == 401
