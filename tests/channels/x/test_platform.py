"""What the real X API does to a long-running DM channel: a first DM on a quiet account, v2 error
bodies (403 refusals vs configuration, 404s that are not about the user), a later part of a long
DM failing, the 24-hour send limit, and a citizen who comes back after being unreachable."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import responses
from sqlalchemy import select

from bot.channels.x.poller import DmPoller
from bot.channels.x.sender import DM_MAX_CHARS
from bot.channels.x.state import DM_CURSOR, load_cursor
from bot.core.text import split_text
from bot.core.types import Channel, InboundMessage
from bot.service.outbox import RecipientUnreachable, RetryAfter, TransientSendError
from bot.store import models as m
from tests.channels.x.conftest import (
    CITIZEN,
    CLIENT_FORBIDDEN,
    GENERIC_FORBIDDEN,
    GENERIC_NOT_FOUND,
    OTHER_CITIZEN,
    UNSUPPORTED_AUTH,
    add_me,
    add_page,
    dm_send_url,
    event,
    page,
    recipient_refused,
    user_not_found,
)
from tests.channels.x.test_poller import BEEPING, inbound
from tests.channels.x.test_sender import SEND, make_sender, payload, sent_ok, sent_texts

NOW = 1_800_000_000.0


def test_the_first_dm_to_a_quiet_account_is_answered(sqlite_services, http, conn, health):
    """No DMs in the last 30 days at the first start: the cursor must still be set, or the
    citizen's first DM is taken for history on the next poll."""
    services = sqlite_services
    add_me(http)
    add_page(http, page([]))  # the first poll: nothing in 30 days
    add_page(http, page([event(2001, BEEPING)]))  # then the citizen writes
    poller = DmPoller(conn, services, health, 15)
    assert poller.poll_once() == 0
    with services.sessions() as session:
        assert load_cursor(session, DM_CURSOR) == 0
    assert poller.poll_once() == 1
    assert [msg.text for msg in inbound(services)] == [BEEPING]


def test_an_unreachable_x_citizen_is_reachable_again_when_they_write(sqlite_services, http, conn, health):
    services = sqlite_services
    services.triage.handle(InboundMessage(Channel.X, CITIZEN, "hello", external_id="1"))
    with services.sessions.begin() as session:
        citizen = session.scalars(select(m.Citizen).where(m.Citizen.external_id == CITIZEN)).one()
        citizen.unreachable = True
    services.triage.handle(InboundMessage(Channel.X, CITIZEN, BEEPING, external_id="2"))
    with services.sessions() as session:
        citizen = session.scalars(select(m.Citizen).where(m.Citizen.external_id == CITIZEN)).one()
        assert citizen.unreachable is False
        pending = session.scalars(
            select(m.OutboxItem).where(m.OutboxItem.channel == "x", m.OutboxItem.status == "pending")
        ).all()
    assert pending  # the answer to the new message goes out


@pytest.mark.parametrize("body", [CLIENT_FORBIDDEN, UNSUPPORTED_AUTH], ids=["client-forbidden", "auth"])
def test_a_403_about_the_app_pauses_sending_and_shows_in_health(
    sqlite_services, http, conn, health, board, body
):
    http.add(responses.POST, SEND, status=403, json=body)
    sender = make_sender(sqlite_services, conn, health, now=lambda: NOW)
    with pytest.raises(RetryAfter):
        asyncio.run(sender.send(payload()))
    assert "403" in board["x"] and body["detail"][:40] in board["x"]
    with pytest.raises(RetryAfter):  # paused: the next item does not call X
        asyncio.run(sender.send(payload("second", item_id=2)))
    assert len(http.calls) == 1


def test_a_v2_403_refusal_by_the_recipient_makes_only_them_unreachable(
    sqlite_services, http, conn, health, board
):
    http.add(responses.POST, SEND, status=403, json=recipient_refused(CITIZEN))
    sent_ok_other = dm_send_url(OTHER_CITIZEN)
    http.add(responses.POST, sent_ok_other, status=201, json={"data": {"dm_event_id": "9"}})
    sender = make_sender(sqlite_services, conn, health, now=lambda: NOW)
    with pytest.raises(RecipientUnreachable):
        asyncio.run(sender.send(payload()))
    assert board["x"] == "connecting"  # not a configuration problem
    other = replace(payload("for someone else", item_id=2), recipient=OTHER_CITIZEN)
    assert asyncio.run(sender.send(other)) == "9"  # the others are still written to


def test_an_unexplained_403_holds_one_item_until_a_second_recipient_gets_one(
    sqlite_services, http, conn, health, board
):
    http.add(responses.POST, SEND, status=403, json=GENERIC_FORBIDDEN)
    http.add(responses.POST, dm_send_url(OTHER_CITIZEN), status=403, json=GENERIC_FORBIDDEN)
    sender = make_sender(sqlite_services, conn, health, now=lambda: NOW)
    with pytest.raises(TransientSendError):  # retried with backoff; the others go on
        asyncio.run(sender.send(payload()))
    assert board["x"] == "connecting"
    with pytest.raises(RetryAfter):  # a second recipient: it is the app's, pause and report
        asyncio.run(sender.send(replace(payload(item_id=2), recipient=OTHER_CITIZEN)))
    assert "403" in board["x"]


def test_not_every_404_means_the_recipient_is_gone(sqlite_services, http, conn, health):
    http.add(responses.POST, SEND, status=404, json=GENERIC_NOT_FOUND)
    http.add(responses.POST, SEND, status=404, json=user_not_found(CITIZEN))
    sender = make_sender(sqlite_services, conn, health, now=lambda: NOW)
    with pytest.raises(Exception) as first:
        asyncio.run(sender.send(payload()))
    assert not isinstance(first.value, RecipientUnreachable)  # a wrong path, not a gone user
    with pytest.raises(RecipientUnreachable):
        asyncio.run(sender.send(payload(item_id=2)))


def test_a_failing_later_part_of_a_long_dm_is_retried_not_dropped(sqlite_services, http, conn, health):
    text = ("word " * 3000).strip() + "\n\n" + ("woord " * 1500).strip()  # 24,000 characters
    assert len(split_text(text, DM_MAX_CHARS)) == 3
    sent_ok(http, "1")
    http.add(responses.POST, SEND, status=503, json={"title": "Service Unavailable"})
    sender = make_sender(sqlite_services, conn, health, now=lambda: NOW)
    with pytest.raises(TransientSendError):
        asyncio.run(sender.send(payload(text, item_id=7)))
    http.replace(responses.POST, SEND, status=201, json={"data": {"dm_event_id": "2"}})
    assert asyncio.run(sender.send(payload(text, item_id=7))) == "1,2,2"
    parts = sent_texts(http)
    assert len(parts) == 4  # part 1, part 2 failed, part 2 again, part 3: part 1 only once
    assert parts[1] == parts[2] and all(len(p) <= DM_MAX_CHARS for p in parts)
    assert " ".join([parts[0], *parts[2:]]).split() == text.split()


def test_the_24_hour_send_limit_is_read_and_waited_for(sqlite_services, http, conn, health, board):
    reset = int(NOW) + 6 * 3600
    http.add(
        responses.POST,
        SEND,
        status=201,
        json={"data": {"dm_event_id": "1"}},
        headers={
            "x-user-limit-24hour-limit": "1000",
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": str(reset),
        },
    )
    sender = make_sender(sqlite_services, conn, health, now=lambda: NOW)
    assert asyncio.run(sender.send(payload())) == "1"
    with pytest.raises(RetryAfter) as waited:  # the day's budget is gone: X is not asked
        asyncio.run(sender.send(payload("next", item_id=2)))
    assert waited.value.seconds == pytest.approx(6 * 3600, abs=2)
    assert len(http.calls) == 1
    assert "24-hour DM limit" in board["x"]


def test_a_429_on_the_24_hour_limit_waits_for_the_day_not_the_window(sqlite_services, http, conn, health):
    http.add(
        responses.POST,
        SEND,
        status=429,
        json={"title": "Too Many Requests", "type": "about:blank", "status": 429},
        headers={
            "x-rate-limit-reset": str(int(NOW) + 600),
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": str(int(NOW) + 5 * 3600),
        },
    )
    sender = make_sender(sqlite_services, conn, health, now=lambda: NOW)
    with pytest.raises(RetryAfter) as waited:
        asyncio.run(sender.send(payload()))
    assert waited.value.seconds == pytest.approx(5 * 3600, abs=2)
