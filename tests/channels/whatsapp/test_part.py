"""The WhatsApp part inside `triage serve`'s app: started from WHATSAPP_* settings, its webhook
behind the app's own middleware, its health in /healthz."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from bot.web.api import create_app
from bot.web.plugins import PARTS
from tests.helpers import fake_graph as wa
from tests.helpers.fake_graph import APP_SECRET, PHONE_ID, TOKEN, VERIFY_TOKEN, FakeGraph

KEYS = ("PHONE_NUMBER_ID", "ACCESS_TOKEN", "APP_SECRET", "VERIFY_TOKEN", "GRAPH_URL", "REPLY_TEMPLATES")


def _env(monkeypatch, **values: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir("/")  # no .env with WHATSAPP_* values from the working directory
    for key in KEYS:
        monkeypatch.delenv(f"WHATSAPP_{key}", raising=False)
    for key, value in values.items():
        monkeypatch.setenv(f"WHATSAPP_{key.upper()}", value)


def test_the_part_is_listed() -> None:
    assert "bot.channels.whatsapp.part" in PARTS


def test_the_part_answers_a_citizen_inside_the_app_and_stops(sqlite_services, graph: FakeGraph, monkeypatch):  # type: ignore[no-untyped-def]
    services = sqlite_services
    _env(
        monkeypatch,
        phone_number_id=PHONE_ID,
        access_token=TOKEN,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        graph_url=graph.url,
    )
    with TestClient(create_app(services)) as client:
        assert "whatsapp" in services.senders and "whatsapp" in services.reply_windows
        assert client.get("/healthz").json()["channels"]["whatsapp"] == "ok"
        challenge = client.get(
            "/whatsapp/webhook",
            params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
        )
        assert challenge.status_code == 200 and challenge.text == "42"
        body = wa.post(messages=[wa.text("31612345678", "My smoke alarm keeps beeping")])
        assert client.post("/whatsapp/webhook", content=body, headers=wa.sign(body)).status_code == 200
        assert client.post("/whatsapp/webhook", content=body, headers={}).status_code == 403
        deadline = time.monotonic() + 30
        while len(graph.sent) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(graph.sent) == 2
    assert "whatsapp" not in services.senders and "whatsapp" not in services.channel_health


def test_missing_secrets_keep_the_channel_off_and_say_so(sqlite_services, monkeypatch):  # type: ignore[no-untyped-def]
    _env(monkeypatch, phone_number_id=PHONE_ID, access_token=TOKEN)
    with TestClient(create_app(sqlite_services)) as client:
        state = client.get("/healthz").json()["channels"]["whatsapp"]
    assert state == "not started: missing WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN"
    assert "whatsapp" not in sqlite_services.senders


def test_without_settings_there_is_no_channel(sqlite_services, monkeypatch):  # type: ignore[no-untyped-def]
    _env(monkeypatch)
    with TestClient(create_app(sqlite_services)) as client:
        assert "whatsapp" not in client.get("/healthz").json()["channels"]
        assert client.get("/whatsapp/webhook").status_code in (404, 405)
