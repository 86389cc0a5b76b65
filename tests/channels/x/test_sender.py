"""Sending replies as X DMs through the outbox: text prompts, splitting, 429, 401/403, 5xx."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import requests
import responses
from sqlalchemy import select

from bot.channels.x import sender as sender_mod
from bot.channels.x.poller import DmPoller
from bot.channels.x.sender import XSender
from bot.core.types import Channel, InboundMessage
from bot.service.outbox import (
    Dispatcher,
    OutboundPayload,
    RecipientUnreachable,
    RetryAfter,
    TransientSendError,
)
from bot.store import models as m
from tests.channels.x.conftest import CITIZEN, add_me, add_page, dm_send_url, event, page
from tests.channels.x.test_poller import BEEPING, set_cursor

SEND = dm_send_url(CITIZEN)


def sent_ok(http: responses.RequestsMock, event_id: str = "1582838223") -> None:
    http.add(
        responses.POST,
        SEND,
        status=201,
        json={"data": {"dm_conversation_id": f"{CITIZEN}-9000000001", "dm_event_id": event_id}},
    )


def make_sender(services, conn, health, now=None) -> XSender:  # type: ignore[no-untyped-def]
    clock = now or time.time
    return XSender(conn, services.sessions, services.triage.library, health, clock=clock)


def sent_texts(http: responses.RequestsMock) -> list[str]:
    return [
        json.loads(c.request.body)["text"]
        for c in http.calls
        if c.request.method == "POST" and c.request.url == SEND
    ]


def payload(text: str = "Hello", buttons=(), item_id: int = 0) -> OutboundPayload:  # type: ignore[no-untyped-def]
    return OutboundPayload(
        recipient=CITIZEN, text=text, kind="text", buttons=tuple(buttons), item_id=item_id, channel="x"
    )


def test_dm_answered_end_to_end_through_the_outbox(services, http, conn, health, board):
    """A citizen's DM is polled, answered from the library and the reply is sent as a DM."""
    add_me(http)
    set_cursor(services, 1)
    add_page(http, page([event(2, BEEPING)]))
    for n in range(5):
        sent_ok(http, f"77{n}")
    DmPoller(conn, services, health, 15).poll_once()
    services.senders["x"] = make_sender(services, conn, health)
    dispatcher = Dispatcher(services.sessions, services.senders)

    assert asyncio.run(dispatcher.run_once()) == 2

    answer, prompt = sent_texts(http)
    with services.sessions() as session:
        library = services.triage.library(session)
        items = list(
            session.scalars(select(m.OutboxItem).where(m.OutboxItem.channel == "x").order_by(m.OutboxItem.id))
        )
    assert answer == items[0].payload["text"]  # the library answer, as stored
    assert "smoke" in answer.lower() or "battery" in answer.lower()
    assert prompt == "Did this help?\nReply yes or no."  # the button became a text prompt
    assert [(i.status, i.external_id) for i in items] == [("sent", "770"), ("sent", "771")]
    assert board["x"] == "ok"

    # The citizen answers by text: "no" → the offer to pass the question on, "ja" → routed.
    add_page(http, page([event(3, "no")]))
    DmPoller(conn, services, health, 15).poll_once()
    asyncio.run(dispatcher.run_once())
    offer = sent_texts(http)[-1]
    assert offer == library.text("utter_offer_handoff", _en())
    assert offer.endswith("Reply yes or no.")  # the library text already asks: not added twice
    add_page(http, page([event(4, "yes")]))
    DmPoller(conn, services, health, 15).poll_once()
    with services.sessions() as session:
        question = session.scalars(select(m.Question).where(m.Question.channel == "x")).one()
    assert question.text == BEEPING and not question.emergency


def _en():  # type: ignore[no-untyped-def]
    from bot.core.types import Language

    return Language.EN


def test_dutch_prompt_asks_for_ja_or_nee(sqlite_services, http, conn, health):
    services = sqlite_services
    result = services.triage.handle(
        InboundMessage(Channel.X, CITIZEN, "mijn rookmelder piept steeds, wat moet ik doen?", external_id="5")
    )
    feedback = next(r for r in result.replies if r.buttons)
    item_id = _item_for(services, result.reply_ids[result.replies.index(feedback)])
    sent_ok(http)
    out = asyncio.run(
        make_sender(services, conn, health).send(
            payload(feedback.text, [(b.label, b.data) for b in feedback.buttons], item_id)
        )
    )
    assert out == "1582838223"
    assert sent_texts(http) == ["Heb je hier iets aan?\nAntwoord met ja of nee."]
    # the citizen's typed "ja" is the answer to that prompt
    thanks = services.triage.handle(InboundMessage(Channel.X, CITIZEN, "ja", external_id="6"))
    with services.sessions() as session:
        library = services.triage.library(session)
    from bot.core.types import Language

    assert [r.text for r in thanks.replies] == [
        library.text("utter_feedback_thanks", Language.NL, **services.settings.contacts.values())
    ]


def _item_for(services, message_id: int) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as session:
        return session.scalars(select(m.OutboxItem.id).where(m.OutboxItem.message_id == message_id)).one()


def test_sending_a_reply_posts_a_dm_to_the_citizen(sqlite_services, http, conn, health):
    sent_ok(http, "1600000000000000001")
    out = asyncio.run(make_sender(sqlite_services, conn, health).send(payload("Call 112 now.")))
    assert out == "1600000000000000001"
    call = http.calls[0]
    assert call.request.url == SEND and json.loads(call.request.body) == {"text": "Call 112 now."}
    assert call.request.headers["Authorization"].startswith("OAuth ")


def test_long_text_is_split_below_the_dm_limit(sqlite_services, http, conn, health):
    text = ("word " * 2500).strip() + "\n\n" + ("woord " * 500).strip()  # 15,000 characters
    sent_ok(http, "1")
    sent_ok(http, "2")
    out = asyncio.run(make_sender(sqlite_services, conn, health).send(payload(text)))
    parts = sent_texts(http)
    assert out == "1,2" and len(parts) == 2
    assert all(len(p) <= sender_mod.DM_MAX_CHARS for p in parts)
    assert " ".join(parts).split() == text.split()


def test_429_on_send_waits_until_reset_and_pauses_the_batch(sqlite_services, http, conn, health):
    now = 1_800_000_000.0
    http.add(
        responses.POST,
        SEND,
        status=429,
        json={"title": "Too Many Requests"},
        headers={"x-rate-limit-reset": str(int(now) + 300)},
    )
    sender = make_sender(sqlite_services, conn, health, now=lambda: now)
    with pytest.raises(RetryAfter) as first:
        asyncio.run(sender.send(payload()))
    assert 300 <= first.value.seconds <= 302
    with pytest.raises(RetryAfter):  # the next item of the batch does not call X
        asyncio.run(sender.send(payload("second")))
    assert len(http.calls) == 1


def test_429_then_success_through_the_dispatcher(sqlite_services, http, conn, health):
    services = sqlite_services
    services.triage.handle(InboundMessage(Channel.X, CITIZEN, "hello", external_id="9"))
    http.add(
        responses.POST,
        SEND,
        status=429,
        json={"title": "Too Many Requests"},
        headers={"x-rate-limit-reset": str(int(time.time()) + 1)},
    )
    sent_ok(http, "42")
    services.senders["x"] = make_sender(services, conn, health)
    dispatcher = Dispatcher(services.sessions, services.senders)
    asyncio.run(dispatcher.run_once())
    with services.sessions() as session:
        item = session.scalars(select(m.OutboxItem).where(m.OutboxItem.channel == "x")).one()
        assert item.status == "pending" and item.attempts == 0  # a rate limit is no failed attempt
        item.next_attempt_at = item.created_at
        session.commit()
    services.senders["x"].paused_until = 0.0  # the reset time has come
    asyncio.run(dispatcher.run_once())
    with services.sessions() as session:
        item = session.scalars(select(m.OutboxItem).where(m.OutboxItem.channel == "x")).one()
    assert (item.status, item.external_id) == ("sent", "42")


@pytest.mark.parametrize(
    "status,body",
    [
        (401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}),
        (
            403,
            {
                "title": "Forbidden",
                "status": 403,
                "reason": "oauth1-permissions",
                "detail": "Your client app is not configured with the appropriate oauth1 app "
                "permissions for this endpoint.",
                "type": "https://api.twitter.com/2/problems/oauth1-permissions",
            },
        ),
    ],
)
def test_auth_failure_marks_the_channel_unhealthy_without_retry_storm(
    sqlite_services, http, conn, health, board, status, body
):
    http.add(responses.POST, SEND, status=status, json=body)
    sender = make_sender(sqlite_services, conn, health)
    with pytest.raises(RetryAfter) as raised:
        asyncio.run(sender.send(payload()))
    assert raised.value.seconds == sender_mod.CONFIG_PAUSE
    assert board["x"].startswith("send:") and str(status) in board["x"]
    for _ in range(3):
        with pytest.raises(RetryAfter):
            asyncio.run(sender.send(payload()))
    assert len(http.calls) == 1


def test_citizen_who_refuses_dms_is_unreachable(sqlite_services, http, conn, health, board):
    http.add(
        responses.POST,
        SEND,
        status=403,
        json={"errors": [{"code": 349, "message": "You cannot send messages to this user."}]},
    )
    with pytest.raises(RecipientUnreachable):
        asyncio.run(make_sender(sqlite_services, conn, health).send(payload()))
    assert board["x"] == "connecting"  # not a configuration problem


def test_server_and_network_errors_are_transient(sqlite_services, http, conn, health):
    http.add(responses.POST, SEND, status=503, json={"title": "Service Unavailable"})
    http.add(responses.POST, SEND, body=requests.ConnectionError("connection reset"))
    sender = make_sender(sqlite_services, conn, health)
    with pytest.raises(TransientSendError):
        asyncio.run(sender.send(payload()))
    with pytest.raises(TransientSendError):
        asyncio.run(sender.send(payload()))
