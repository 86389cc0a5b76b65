"""X DMs without words (a photo, a shared post) get the same reply as Telegram's non-text
messages; a DM with words and a photo is read as text. Events as X API v2 returns them: the
`attachments` and `referenced_tweets` fields, and the t.co link X puts in the text for them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from sqlalchemy import select

from bot.channels.x.poller import DmPoller
from bot.core.types import Language
from bot.store import models as m
from tests.channels.x.conftest import DM_EVENTS, add_me, add_page, event, page
from tests.channels.x.test_poller import BEEPING, inbound, outbox, set_cursor

PHOTO = {"media_keys": ["3_1455952740635586573"]}
SHARED_POST = [{"type": "quoted", "id": "1460323737035677698"}]


def _text_only_reply(services) -> str:  # type: ignore[no-untyped-def]
    with services.sessions() as session:  # the intake's one text for messages without words
        return services.triage.library(session).text("utter_text_only", Language.EN)


def test_a_dm_with_only_a_photo_or_a_shared_post_gets_the_non_text_reply(services, http, conn, health):
    add_me(http)
    set_cursor(services, 1)
    add_page(
        http,
        page(
            [
                event(3, "https://t.co/Pq7sZx2Lm1", referenced_tweets=SHARED_POST),
                event(2, "https://t.co/Wn3kRt8Yb0", attachments=PHOTO),
            ]
        ),
    )
    assert DmPoller(conn, services, health, 15).poll_once() == 2

    call = next(c for c in http.calls if c.request.url.startswith(DM_EVENTS))
    fields = set(parse_qs(urlparse(call.request.url).query)["dm_event.fields"][0].split(","))
    assert {"attachments", "referenced_tweets"} <= fields
    assert [(msg.kind, msg.text) for msg in inbound(services)] == [("media", ""), ("post", "")]
    replies = [item.payload["text"] for item in outbox(services)]
    expected = _text_only_reply(services)
    assert expected.startswith("Sorry, I can't read photos")
    assert [r.split(" In an emergency")[0] for r in replies] == [expected.split(" In an emergency")[0]] * 2
    with services.sessions() as session:
        assert session.scalars(select(m.Question)).first() is None  # nothing to route


def test_a_dm_with_words_and_a_photo_is_read_as_text(services, http, conn, health):
    add_me(http)
    set_cursor(services, 1)
    add_page(http, page([event(2, f"{BEEPING} https://t.co/Wn3kRt8Yb0", attachments=PHOTO)]))
    DmPoller(conn, services, health, 15).poll_once()

    (message,) = inbound(services)
    assert message.text == BEEPING and message.kind == "media"
    replies = [item.payload["text"] for item in outbox(services)]
    assert replies and not any(r.startswith("Sorry, I can't read photos") for r in replies)
    with services.sessions() as session:
        decision = session.scalars(select(m.DecisionRecord)).one()
    assert decision.intent is not None and decision.action == "answer"
