"""The X part inside the app's lifespan, and the optional public mention replies."""

from __future__ import annotations

import json
import time

import responses
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.channels.x import state
from bot.channels.x.mentions import MentionResponder
from bot.store import models as m
from bot.web.api import create_app
from bot.web.plugins import PARTS
from tests.channels.x.conftest import (
    API,
    CITIZEN,
    DM_EVENTS,
    OWN_ID,
    add_me,
    add_page,
    dm_send_url,
    event,
    page,
)
from tests.channels.x.test_poller import BEEPING, set_cursor

X_ENV = {"X_API_KEY": "ck", "X_API_SECRET": "cs", "X_ACCESS_TOKEN": f"{OWN_ID}-at",
         "X_ACCESS_TOKEN_SECRET": "ats", "X_POLL_SECONDS": "3"}
MENTIONS = f"{API}/2/users/{OWN_ID}/mentions"
TWEETS = f"{API}/2/tweets"


def _clear_x_env(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir("/")  # no .env with X_* values from the working directory
    for key in (*X_ENV, "X_BEARER_USER_TOKEN", "X_PUBLIC_MENTION_REPLIES"):
        monkeypatch.delenv(key, raising=False)


def wait_for(check, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_the_part_is_listed():
    assert "bot.channels.x.part" in PARTS


def test_part_starts_answers_and_stops_inside_the_lifespan(sqlite_services, http, monkeypatch):
    services = sqlite_services
    _clear_x_env(monkeypatch)
    for key, value in X_ENV.items():
        monkeypatch.setenv(key, value)
    set_cursor(services, 1)
    add_me(http)
    add_page(http, page([event(2, BEEPING)]))
    http.add(responses.POST, dm_send_url(CITIZEN), status=201,
             json={"data": {"dm_conversation_id": f"{CITIZEN}-{OWN_ID}", "dm_event_id": "5"}})

    with TestClient(create_app(services)) as client:
        assert "x" in services.senders
        assert wait_for(lambda: client.get("/healthz").json()["channels"].get("x") == "ok")
        body = client.get("/healthz").json()
        assert body["status"] == "ok"
        assert body["pollers"]["x"]["last_call"] is not None  # the DM poller's heartbeat
        # the DM was polled, triaged and both replies went out as DMs
        assert wait_for(lambda: len([c for c in http.calls if c.request.method == "POST"]) == 2)
    assert "x" not in services.senders
    texts = [json.loads(c.request.body)["text"] for c in http.calls if c.request.method == "POST"]
    assert texts[-1] == "Did this help?\nReply yes or no."
    assert not any(c.request.url.startswith(MENTIONS) for c in http.calls)  # off by default


def test_auth_failure_shows_in_healthz(sqlite_services, http, monkeypatch):
    _clear_x_env(monkeypatch)
    for key, value in X_ENV.items():
        monkeypatch.setenv(key, value)
    add_me(http, status=401)
    with TestClient(create_app(sqlite_services)) as client:
        assert wait_for(lambda: "401" in client.get("/healthz").json()["channels"].get("x", ""))
        assert client.get("/healthz").json()["status"] == "degraded"
        time.sleep(0.5)
    assert len(http.calls) == 1  # one attempt, then a long pause: no retry storm
    assert not any(c.request.url.startswith(DM_EVENTS) for c in http.calls)


def test_without_credentials_the_part_does_not_start(sqlite_services, monkeypatch):
    _clear_x_env(monkeypatch)
    with TestClient(create_app(sqlite_services)) as client:
        assert "x" not in sqlite_services.senders
        assert "x" not in client.get("/healthz").json()["channels"]


def test_incomplete_credentials_are_reported(sqlite_services, monkeypatch):
    _clear_x_env(monkeypatch)
    monkeypatch.setenv("X_API_KEY", "ck")
    with TestClient(create_app(sqlite_services)) as client:
        health = client.get("/healthz").json()
    assert "X_ACCESS_TOKEN" in health["channels"]["x"] and health["status"] == "degraded"
    assert "x" not in sqlite_services.senders


def test_oauth2_user_token_is_sent_as_bearer(sqlite_services, http, monkeypatch, health):
    from bot.channels.x.client import connect
    from bot.channels.x.poller import DmPoller
    from bot.channels.x.settings import XSettings

    add_me(http)
    set_cursor(sqlite_services, 1)
    add_page(http, page([]))
    conn = connect(XSettings(_env_file=None, bearer_user_token="user-token"))  # type: ignore[call-arg]
    DmPoller(conn, sqlite_services, health, 15).poll_once()
    assert all(c.request.headers["Authorization"] == "Bearer user-token" for c in http.calls)


def _mention(tweet_id: int, text: str, author: str = CITIZEN, reply_to: str | None = None) -> dict:  # type: ignore[type-arg]
    tweet = {"id": str(tweet_id), "text": text, "author_id": author,
             "created_at": "2026-03-01T10:00:00.000Z",
             "edit_history_tweet_ids": [str(tweet_id)]}
    if reply_to:
        tweet["in_reply_to_user_id"] = reply_to
    return tweet


def test_public_mentions_get_only_an_invitation_to_dm(sqlite_services, http, conn, health):
    services = sqlite_services
    add_me(http)
    with services.sessions.begin() as session:
        state.save_cursor(session, state.MENTION_CURSOR, 100)
    question = "@veilig_test er is ingebroken bij mij op de Dorpsstraat 12, wat nu?"
    http.add(responses.GET, MENTIONS, json={"data": [
        _mention(104, "@veilig_test dank je, ik stuur een DM", reply_to=OWN_ID),
        _mention(103, "@veilig_test en nog iets"),
        _mention(102, question),
        _mention(101, "@veilig_test our own tweet", author=OWN_ID),
    ], "meta": {"result_count": 4, "newest_id": "104", "oldest_id": "101"}})
    http.add(responses.POST, TWEETS, status=201, json={"data": {"id": "200", "text": "..."}})

    assert MentionResponder(conn, services, health, 60).poll_once() == 1

    posts = [json.loads(c.request.body) for c in http.calls if c.request.method == "POST"]
    assert len(posts) == 1  # one invite per author per day; none to ourselves or to replies to us
    with services.sessions() as session:
        from bot.core.types import Language

        invite = services.triage.library(session).text(
            "utter_x_mention_invite", Language.NL, **services.settings.contacts.values())
    assert posts[0]["text"] == invite and "Dorpsstraat" not in posts[0]["text"]
    assert posts[0]["reply"] == {"in_reply_to_tweet_id": "102"}
    assert posts[0]["direct_message_deep_link"].endswith(f"recipient_id={OWN_ID}")
    assert len(posts[0]["text"]) <= 280
    query = http.calls[1].request.url
    assert "since_id=100" in query
    with services.sessions() as session:
        assert state.load_cursor(session, state.MENTION_CURSOR) == 104
        # a mention is not a citizen's message: nothing was stored or triaged
        assert session.scalars(select(m.Message).limit(1)).first() is None
