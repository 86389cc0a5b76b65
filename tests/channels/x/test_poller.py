"""Polling DM events: pages, the stored cursor across restarts, own messages, 429 and 401."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qs, urlparse

import responses
from sqlalchemy import select

from bot.channels.x import poller as poller_mod
from bot.channels.x import state
from bot.channels.x.client import connect
from bot.channels.x.health import ChannelHealth
from bot.channels.x.poller import DmPoller
from bot.core.types import Action, Channel, InboundMessage
from bot.store import models as m
from tests.channels.x.conftest import (
    CITIZEN,
    DM_EVENTS,
    ME,
    OTHER_CITIZEN,
    OWN_ID,
    add_me,
    add_page,
    event,
    oauth1_settings,
    page,
)

BEEPING = "my smoke alarm keeps beeping every minute, what should I do?"
FIRE_NL = "help er is brand in mijn huis en de keuken staat in vuur en vlam"
INSPECTION = "Can the fire department come and inspect the fire safety of our community centre?"


def set_cursor(services, value: int) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as session:
        state.save_cursor(session, state.DM_CURSOR, value)


def cursor(services) -> int | None:  # type: ignore[no-untyped-def]
    with services.sessions() as session:
        return state.load_cursor(session, state.DM_CURSOR)


def inbound(services) -> list[m.Message]:  # type: ignore[no-untyped-def]
    with services.sessions() as session:
        return list(session.scalars(select(m.Message).where(
            m.Message.channel == "x", m.Message.direction == "in").order_by(m.Message.id)))


def outbox(services) -> list[m.OutboxItem]:  # type: ignore[no-untyped-def]
    with services.sessions() as session:
        return list(session.scalars(select(m.OutboxItem).where(m.OutboxItem.channel == "x")
                                    .order_by(m.OutboxItem.id)))


def test_pagination_across_pages_handles_new_events_oldest_first(services, http, conn, health):
    add_me(http)
    set_cursor(services, 1000)
    add_page(http, page([event(1005, BEEPING), event(1004, FIRE_NL, OTHER_CITIZEN)], "PAGE2"))
    add_page(http, page([event(1003, INSPECTION), event(1000, "already handled"),
                         event(999, "older still")], "PAGE3"), token="PAGE2")

    handled = DmPoller(conn, services, health, 15).poll_once()

    assert handled == 3
    messages = inbound(services)
    assert [(msg.external_id, msg.text) for msg in messages] == [
        ("1003", INSPECTION), ("1004", FIRE_NL), ("1005", BEEPING)]
    assert cursor(services) == 1005
    calls = [c for c in http.calls if c.request.url.startswith(DM_EVENTS)]
    assert len(calls) == 2  # stopped at the cursor: page 3 was never asked for
    query = parse_qs(urlparse(calls[1].request.url).query)
    assert query["pagination_token"] == ["PAGE2"]
    assert query["event_types"] == ["MessageCreate"]
    assert set(query["dm_event.fields"][0].split(",")) >= {
        "id", "text", "created_at", "sender_id", "dm_conversation_id"}
    assert "OAuth " in calls[0].request.headers["Authorization"]  # OAuth 1.0a user context
    with services.sessions() as session:
        seen = set(session.scalars(select(m.ProcessedUpdate.update_id).where(
            m.ProcessedUpdate.channel == "x")))
    assert seen == {"1003", "1004", "1005"}
    # every message was decided and its replies wait in the outbox for the X sender
    assert {item.recipient for item in outbox(services)} == {CITIZEN, OTHER_CITIZEN}


def test_a_dm_is_triaged_exactly_like_a_telegram_message(services, http, conn, health):
    add_me(http)
    set_cursor(services, 1)
    add_page(http, page([event(4, INSPECTION), event(3, FIRE_NL), event(2, BEEPING)]))
    DmPoller(conn, services, health, 15).poll_once()

    by_text = {}
    with services.sessions() as session:
        for msg in inbound(services):
            record = session.scalars(select(m.DecisionRecord).where(
                m.DecisionRecord.message_id == msg.id)).one()
            by_text[msg.text] = (record.action, record.intent, record.role, record.language)
    for number, text in enumerate((BEEPING, FIRE_NL, INSPECTION)):
        telegram = services.triage.handle(InboundMessage(Channel.TELEGRAM, f"tg{number}", text))
        d = telegram.decision
        assert by_text[text] == (d.action.value, d.intent, d.role, d.language.value)
    assert by_text[BEEPING][0] == Action.ANSWER.value
    assert by_text[FIRE_NL][0] == Action.EMERGENCY.value
    assert by_text[FIRE_NL][3] == "nl"
    assert by_text[INSPECTION][0] == Action.ROUTE.value
    with services.sessions() as session:
        questions = list(session.scalars(select(m.Question).where(m.Question.channel == "x")))
    assert {q.emergency for q in questions} == {True, False}  # escalated and routed


def test_restart_resumes_from_the_stored_cursor(sqlite_services, http, health):
    services = sqlite_services
    add_me(http)
    # First start ever: the channel starts from "now" and answers none of the history.
    add_page(http, page([event(20, "old question from last week")]))
    first = connect(oauth1_settings())
    assert DmPoller(first, services, health, 15).poll_once() == 0
    assert cursor(services) == 20 and inbound(services) == []
    add_page(http, page([event(22, BEEPING), event(21, "thanks"), event(20, "old question")]))
    assert DmPoller(first, services, health, 15).poll_once() == 2
    first.close()

    # A restart: a new process, a new client; X returns the same events and one new one.
    add_me(http)
    add_page(http, page([event(23, INSPECTION), event(22, BEEPING), event(21, "thanks"),
                         event(20, "old question")]))
    second = connect(oauth1_settings())
    assert DmPoller(second, services, health, 15).poll_once() == 1
    second.close()
    assert [msg.external_id for msg in inbound(services)] == ["21", "22", "23"]
    assert cursor(services) == 23


def test_an_event_handled_before_a_crash_is_not_handled_twice(sqlite_services, http, conn, health):
    services = sqlite_services
    add_me(http)
    set_cursor(services, 10)
    # the process died after the intake stored event 11 but before the cursor moved
    services.triage.handle(InboundMessage(Channel.X, CITIZEN, BEEPING, external_id="11"))
    replies_before = len(outbox(services))
    add_page(http, page([event(11, BEEPING)]))
    DmPoller(conn, services, health, 15).poll_once()
    assert len(inbound(services)) == 1
    assert len(outbox(services)) == replies_before
    assert cursor(services) == 11


def test_own_messages_and_group_conversations_are_skipped(sqlite_services, http, conn, health):
    services = sqlite_services
    add_me(http)
    set_cursor(services, 50)
    group = event(52, "anyone here?", OTHER_CITIZEN) | {"dm_conversation_id": "1588888888888"}
    add_page(http, page([event(53, "Our answer to you", OWN_ID, to=CITIZEN), group,
                         event(51, BEEPING)]))
    assert DmPoller(conn, services, health, 15).poll_once() == 1
    assert [msg.text for msg in inbound(services)] == [BEEPING]
    with services.sessions() as session:
        citizens = set(session.scalars(
            select(m.Citizen.external_id).where(m.Citizen.channel == "x")))
    assert citizens == {CITIZEN}  # the organisation's own account never becomes a citizen
    assert cursor(services) == 53


def test_429_waits_until_the_reset_then_succeeds(sqlite_services, http, conn, health, board):
    services = sqlite_services
    add_me(http)
    set_cursor(services, 1)
    reset = int(time.time()) + 42
    http.add(responses.GET, DM_EVENTS, status=429,
             json={"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
             headers={"x-rate-limit-limit": "300", "x-rate-limit-remaining": "0",
                      "x-rate-limit-reset": str(reset)})
    add_page(http, page([event(2, BEEPING)]),
             headers={"x-rate-limit-limit": "300", "x-rate-limit-remaining": "299",
                      "x-rate-limit-reset": str(reset + 900)})
    poller = DmPoller(conn, services, health, 15)
    woken = []
    poller.wake = lambda: woken.append(True)

    wait = asyncio.run(poller.step())
    assert wait is not None and 40 <= wait <= 44  # until x-rate-limit-reset, not a retry loop
    assert inbound(services) == [] and board["x"] == "connecting"

    assert asyncio.run(poller.step()) == 15
    assert [msg.text for msg in inbound(services)] == [BEEPING]
    assert board["x"] == "ok" and woken == [True]


def test_an_exhausted_window_slows_the_next_poll(sqlite_services, http, conn, health):
    services = sqlite_services
    add_me(http)
    set_cursor(services, 1)
    reset = int(time.time()) + 120
    add_page(http, page([]), headers={"x-rate-limit-limit": "300", "x-rate-limit-remaining": "0",
                                      "x-rate-limit-reset": str(reset)})
    wait = asyncio.run(DmPoller(conn, services, health, 15).step())
    assert wait is not None and 118 <= wait <= 122


def test_auth_failure_is_a_configuration_error_without_retry_storm(sqlite_services, http, conn,
                                                                    health, board):
    add_me(http, status=401)
    poller = DmPoller(conn, sqlite_services, health, 15)
    wait = asyncio.run(poller.step())
    assert wait == poller_mod.CONFIG_PAUSE
    assert "401" in board["x"] and board["x"].startswith("poll:")
    assert len([c for c in http.calls if c.request.url.startswith(ME)]) == 1
    assert not any(c.request.url.startswith(DM_EVENTS) for c in http.calls)


def test_server_errors_back_off_and_recover(sqlite_services, http, conn, health, board):
    services = sqlite_services
    add_me(http)
    set_cursor(services, 1)
    http.add(responses.GET, DM_EVENTS, status=503, json={"title": "Service Unavailable"})
    add_page(http, page([event(2, BEEPING)]))
    poller = DmPoller(conn, services, health, 15)
    assert asyncio.run(poller.step()) is None  # the loop backs off exponentially
    assert board["x"] == "connecting"
    assert asyncio.run(poller.step()) == 15
    assert len(inbound(services)) == 1


def test_health_recovers_after_a_fixed_token(sqlite_services, http, board):
    health = ChannelHealth(board)
    health.problem("poll", "X rejected the credentials (401 Unauthorized)")
    assert board["x"].startswith("poll: X rejected")
    health.ok("poll")
    assert board["x"] == "ok"
