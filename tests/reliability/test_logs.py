"""Logs never contain message text, tokens or passwords: a full run at DEBUG, then a grep.

The run: citizens write through the intake API, the web chat and Telegram (the real library against
the fake Bot API, which also fails a send once); a professional logs in (and someone guesses a
wrong password), answers, notes and changes a password; a database error happens mid-way.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.store import models as m
from bot.web.api import create_app
from tests.helpers.fake_telegram import FakeTelegram
from tests.web.conftest import PASSWORD, csrf_of, login, make_user

API_TOKEN = "api-token-Zq81mXv0TzLk"
SECRET_KEY = "secret-key-Qh3Lw9Vb7NcR2dYp"
WRONG_PASSWORD = "wrong-Passw0rd-Kx7"
NEW_PASSWORD = "new-Passw0rd-Rt5Ya9Lm"
CITIZEN_TEXTS = [
    "API-SECRET-7731 my neighbour Henk hits his dog every night, what can I do",
    "CHAT-SECRET-4410 someone is dealing drugs in the Vondelpark",
    "TG-SECRET-9920 is there a fire safety check for my restaurant",
    "TG-SECRET-9921 help there is a fire in our kitchen right now",
]
REPLY_TEXT = "PRO-SECRET-5502 we will send an officer tomorrow morning"
NOTE_TEXT = "NOTE-SECRET-6603 citizen sounded scared"


def _wait(check, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def debug_log(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(old)
    handler.close()


def test_a_full_run_at_debug_logs_no_text_token_or_password(sqlite_services, monkeypatch,  # type: ignore[no-untyped-def]
                                                             debug_log: Path):
    svc = sqlite_services
    svc.settings.api_token = API_TOKEN
    svc.settings.secret_key = SECRET_KEY
    fake = FakeTelegram().start()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    monkeypatch.setenv("TELEGRAM_API_URL", fake.url)
    monkeypatch.setenv("TELEGRAM_POLL_TIMEOUT", "1")
    make_user(svc, "officer", roles=",".join(_all_roles(svc)))
    try:
        with TestClient(create_app(svc), headers={"Accept": "text/html"}) as client:
            auth = {"Authorization": f"Bearer {API_TOKEN}"}
            assert client.post("/api/v1/messages", json={"sender": "a1", "text": CITIZEN_TEXTS[0]},
                               headers=auth).status_code == 200
            assert client.post("/api/v1/messages", json={"sender": "a1", "text": "x"},
                               headers={"Authorization": "Bearer wrong"}).status_code == 401
            token = csrf_of(client.get("/chat").text)
            client.post("/chat/send", data={"text": CITIZEN_TEXTS[1], "csrf_token": token})
            _wait(lambda: health(client) == "ok")
            fake.fail("sendMessage", 502, "Bad Gateway")  # one failed send on the way
            fake.push(fake.text(424242, CITIZEN_TEXTS[2]))
            fake.push(fake.text(424243, CITIZEN_TEXTS[3]))
            _wait(lambda: fake.texts(424242) and fake.texts(424243))

            client.cookies.clear()
            page = client.get("/login")
            client.post("/login", data={"username": "officer", "password": WRONG_PASSWORD,
                                        "csrf_token": csrf_of(page.text)})  # a failed login
            client.cookies.clear()
            csrf = login(client, "officer")
            with svc.sessions() as s:
                qid = s.scalars(select(m.Question.id).order_by(m.Question.id)).first()
            assert qid is not None
            client.post(f"/questions/{qid}/note", data={"text": NOTE_TEXT, "csrf_token": csrf})
            client.post(f"/questions/{qid}/reply", data={"text": REPLY_TEXT, "csrf_token": csrf})
            client.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD,
                                                   "repeat": NEW_PASSWORD, "csrf_token": csrf})
            _database_error(svc)
    finally:
        fake.stop()

    log = debug_log.read_text(errors="replace")
    assert len(log.splitlines()) > 20, "the run logged almost nothing: the test would prove nothing"
    secrets = {
        **{f"citizen text {i}": t.split()[0] for i, t in enumerate(CITIZEN_TEXTS)},
        "citizen words": "Vondelpark", "professional reply": "PRO-SECRET-5502",
        "note": "NOTE-SECRET-6603", "API token": API_TOKEN, "secret key": SECRET_KEY,
        "Telegram token": fake.token.split(":", 1)[1], "password": PASSWORD,
        "wrong password": WRONG_PASSWORD, "new password": NEW_PASSWORD,
    }
    leaked = {what: _line_with(log, value) for what, value in secrets.items() if value in log}
    assert leaked == {}


def health(client: TestClient) -> str:
    return str(client.get("/healthz").json().get("channels", {}).get("telegram"))


def _all_roles(svc) -> list[str]:  # type: ignore[no-untyped-def]
    with svc.sessions() as s:
        return list(s.scalars(select(m.Role.slug)))


def _database_error(svc) -> None:  # type: ignore[no-untyped-def]
    """A failing statement whose parameters hold citizen text: logged with its traceback."""
    try:
        with svc.sessions.begin() as s:
            citizen = s.scalars(select(m.Citizen)).first()
            s.add(m.Citizen(channel=citizen.channel, external_id=citizen.external_id,
                            area_label=CITIZEN_TEXTS[0]))
    except IntegrityError:
        logging.getLogger("bot.test").exception("intake failed")
    else:
        raise AssertionError("expected a unique violation")


def _line_with(log: str, value: str) -> str:
    return next(line for line in log.splitlines() if value in line)[:300]
