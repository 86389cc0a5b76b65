"""WhatsApp in: the handshake, signatures, exactly once, batches, emergencies first, buttons,
media and locations, and status callbacks, through the real routes against a fake Graph API."""

from __future__ import annotations

import asyncio
import json
import logging

from sqlalchemy import func, select

from bot.app import Services
from bot.store import models as m
from tests.channels.whatsapp.conftest import HOOK, eventually, running, settle
from tests.helpers import fake_graph as wa
from tests.helpers.fake_graph import VERIFY_TOKEN, FakeGraph, buttons_of

SAM, ANOUK = "31612345678", "31687654321"
BURGLARY = "how do i prevent burglary when im on holiday"
DRUGS_TIP = "I think my neighbour is dealing drugs from his garage, anonymous tip"
FIRE = "there is a fire in my house right now, help"


def count(services: Services, stmt) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as session:
        return int(session.scalar(stmt) or 0)


def inbound(services: Services) -> list[m.Message]:
    with services.sessions() as session:
        return list(
            session.scalars(select(m.Message).where(m.Message.direction == "in").order_by(m.Message.id))
        )


def test_the_handshake_answers_the_challenge_only_with_our_verify_token(
    services: Services, graph: FakeGraph
) -> None:
    async def flow() -> None:
        async with running(services, graph) as wa_app:
            good = await wa_app.client.get(
                HOOK,
                params={
                    "hub.mode": "subscribe",
                    "hub.verify_token": VERIFY_TOKEN,
                    "hub.challenge": "1158201444",
                },
            )
            assert good.status_code == 200 and good.text == "1158201444"
            wrong = await wa_app.client.get(
                HOOK, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
            )
            mode = await wa_app.client.get(
                HOOK,
                params={"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
            )
            assert wrong.status_code == 403 and mode.status_code == 403

    asyncio.run(flow())


def test_a_post_without_our_signature_is_refused_and_nothing_is_stored(
    services: Services, graph: FakeGraph, caplog
) -> None:  # type: ignore[no-untyped-def]
    async def flow() -> None:
        async with running(services, graph) as wa_app:
            body = wa.post(messages=[wa.text(SAM, "My smoke alarm keeps beeping")])
            with caplog.at_level(logging.WARNING, logger="bot.channels.whatsapp.webhook"):
                missing = await wa_app.post(body, headers={"Content-Type": "application/json"})
                forged = await wa_app.post(body, headers=wa.sign(body, secret="not-the-app-secret"))
                tampered = await wa_app.post(body.replace(b"smoke", b"smoky"), headers=wa.sign(body))
            assert [r.status_code for r in (missing, forged, tampered)] == [403, 403, 403]
            assert "missing signature" in caplog.text and "wrong signature" in caplog.text
            await settle(0.3)
        assert inbound(services) == [] and graph.requests == []

    asyncio.run(flow())


def test_a_replayed_post_is_handled_once(services: Services, graph: FakeGraph) -> None:
    async def flow() -> None:
        async with running(services, graph) as wa_app:
            body = wa.post(messages=[wa.text(SAM, BURGLARY)])
            responses = [await wa_app.post(body) for _ in range(3)]
            assert [r.status_code for r in responses] == [200, 200, 200]
            await eventually(lambda: len(graph.texts(SAM)) == 2, what="answer and prompt")
            await settle()
        assert len(graph.texts(SAM)) == 2 and len(inbound(services)) == 1

    asyncio.run(flow())


def test_a_batch_of_several_messages_answers_each_once_and_ignores_other_numbers(
    services: Services, graph: FakeGraph
) -> None:
    async def flow() -> None:
        async with running(services, graph) as wa_app:
            body = wa.post(
                messages=[
                    wa.text(SAM, BURGLARY),
                    wa.text(ANOUK, DRUGS_TIP),
                    wa.text(SAM, "hoe voorkom ik fietsdiefstal"),
                ]
            )
            assert (await wa_app.post(body)).status_code == 200
            other = wa.post(messages=[wa.text(SAM, "for another number")], phone_id="999")
            assert (await wa_app.post(other)).status_code == 200
            await eventually(
                lambda: len(graph.texts(SAM)) == 4 and len(graph.texts(ANOUK)) == 2, what="replies"
            )
            await settle()
        assert [msg.text for msg in inbound(services)] == [
            BURGLARY,
            DRUGS_TIP,
            "hoe voorkom ik fietsdiefstal",
        ]
        assert graph.texts(ANOUK)[0].startswith("I've passed your question")
        assert len(graph.texts(SAM)) == 4

    asyncio.run(flow())


def test_the_emergency_reply_goes_out_before_the_rest_of_the_batch(
    services: Services, graph: FakeGraph
) -> None:
    async def flow() -> None:
        async with running(services, graph) as wa_app:
            at = 1_790_000_000
            body = wa.post(messages=[wa.text(SAM, DRUGS_TIP, at=at), wa.text(SAM, FIRE, at=at + 1)])
            assert (await wa_app.post(body)).status_code == 200
            await eventually(
                lambda: (
                    count(
                        services,
                        select(func.count()).select_from(m.OutboxItem).where(m.OutboxItem.status == "sent"),
                    )
                    >= 3
                ),
                what="replies sent and recorded",
            )
        with services.sessions() as session:
            kinds = {i.external_id: i.payload["kind"] for i in session.scalars(select(m.OutboxItem))}
        sent = [kinds[body["_id"]] for body in graph.sent]
        assert sent[0] == "emergency" and sorted(sent[1:]) == ["ack", "ask_area"]  # the tip came first
        with services.sessions() as session:
            assert session.scalars(select(m.Question).where(m.Question.emergency.is_(True))).one()

    asyncio.run(flow())


def test_feedback_and_hand_off_with_reply_buttons(services: Services, graph: FakeGraph) -> None:
    async def flow() -> None:
        async with running(services, graph) as wa_app:
            await wa_app.post(wa.post(messages=[wa.text(SAM, BURGLARY)]))
            await eventually(lambda: len(graph.sent) == 2, what="answer and prompt")
            prompt = graph.sent[1]
            choices = buttons_of(prompt)
            assert prompt["type"] == "interactive" and len(choices) == 2
            assert all(len(label) <= 20 for label, _ in choices)
            no = next(data for _, data in choices if data.endswith(":no"))
            assert no.startswith("fb:")

            pressed = wa.post(messages=[wa.button_reply(SAM, no, title="No")])
            await wa_app.post(pressed)
            await eventually(lambda: len(graph.sent) == 3, what="hand-off offer")
            offer = buttons_of(graph.sent[2])
            yes = next(data for _, data in offer if data.endswith(":yes"))
            assert yes.startswith("ho:")
            press_yes = wa.post(messages=[wa.button_reply(SAM, yes)])
            await wa_app.post(press_yes)
            await wa_app.post(press_yes)  # Meta delivers it again: counted once, no "expired" note
            await eventually(lambda: len(graph.sent) >= 5, what="hand-off ack and the postcode prompt")
            await settle()
        assert len(graph.sent) == 5 and count(services, select(func.count()).select_from(m.Question)) == 1
        assert graph.texts(SAM)[3].startswith("I've passed your question")
        assert [data.split(":")[0] for _, data in buttons_of(graph.sent[4])] == ["ar"]

    asyncio.run(flow())


def test_a_stale_button_gets_a_note_and_counts_for_nothing(services: Services, graph: FakeGraph) -> None:
    async def flow() -> None:
        async with running(services, graph) as wa_app:
            await wa_app.post(wa.post(messages=[wa.button_reply(SAM, "fb:999:yes")]))
            await eventually(lambda: graph.texts(SAM), what="note")
        assert "button" in graph.texts(SAM)[0].lower() or "no longer" in graph.texts(SAM)[0].lower()

    asyncio.run(flow())


def test_media_captions_and_locations(services: Services, graph: FakeGraph) -> None:
    async def flow() -> None:
        async with running(services, graph) as wa_app:
            body = wa.post(
                messages=[
                    wa.message(SAM, "image", {"id": "m1", "mime_type": "image/jpeg"}),
                    wa.message(ANOUK, "image", {"id": "m2", "caption": FIRE}),
                    wa.message("31600000001", "audio", {"id": "m3", "voice": True}),
                    wa.message(
                        "31600000002",
                        "location",
                        {"latitude": 52.37, "longitude": 4.89, "name": "Dam", "address": "Dam 1, Amsterdam"},
                    ),
                    wa.message("31600000003", "reaction", {"message_id": "wamid.x", "emoji": "👍"}),
                ]
            )
            await wa_app.post(body)
            await eventually(
                lambda: (
                    graph.texts(SAM)
                    and graph.texts(ANOUK)
                    and graph.texts("31600000001")
                    and graph.texts("31600000002")
                ),
                what="replies",
            )
            await settle()
        assert graph.texts(SAM)[0].startswith("Sorry, I can't read photos")
        assert graph.texts("31600000001")[0].startswith("Sorry, I can't read photos")
        assert "112" in graph.texts(ANOUK)[0]
        assert graph.texts("31600000003") == []  # a reaction is not a message
        kinds = {msg.kind: msg.text for msg in inbound(services)}
        assert kinds["venue"] == "📍 Dam, Dam 1, Amsterdam (52.370000, 4.890000)"
        assert kinds["voice"] == "" and kinds["photo"] in ("", FIRE)

    asyncio.run(flow())


def test_status_callbacks_are_recorded_on_the_outbox_item_not_read_as_messages(
    services: Services, graph: FakeGraph
) -> None:
    async def flow() -> None:
        async with running(services, graph) as wa_app:
            await wa_app.post(wa.post(messages=[wa.text(SAM, BURGLARY)]))
            await eventually(
                lambda: (
                    count(
                        services,
                        select(func.count()).select_from(m.OutboxItem).where(m.OutboxItem.status == "sent"),
                    )
                    == 2
                ),
                what="replies sent and recorded",
            )
            answer, prompt = graph.sent[0]["_id"], graph.sent[1]["_id"]
            statuses = [
                wa.status(answer, "read", SAM),
                wa.status(answer, "delivered", SAM),
                wa.status(prompt, "sent", SAM),
                wa.status(prompt, "failed", SAM, errors=[{"code": 131026, "title": "Message undeliverable"}]),
                wa.status("wamid.unknown", "delivered", SAM),
            ]
            assert (await wa_app.post(wa.post(statuses=statuses))).status_code == 200

            def recorded() -> dict[str, tuple[str | None, str, str | None]]:
                with services.sessions() as session:
                    return {
                        i.external_id: (i.delivery_status, i.status, i.last_error)
                        for i in session.scalars(select(m.OutboxItem))
                    }

            await eventually(lambda: recorded().get(prompt, (None,))[0] == "failed", what="statuses")
            await settle(0.2)
            items = recorded()
        assert items[answer][:2] == ("read", "sent")  # read, then a late "delivered": stays read
        assert items[prompt][:2] == ("failed", "failed") and "131026" in (items[prompt][2] or "")
        assert len(inbound(services)) == 1

    asyncio.run(flow())


def test_an_unreadable_post_is_acknowledged(services: Services, graph: FakeGraph) -> None:
    async def flow() -> None:
        async with running(services, graph) as wa_app:
            body = b"{not json"
            assert (await wa_app.post(body)).status_code == 200
            body = json.dumps({"object": "page", "entry": []}).encode()
            assert (await wa_app.post(body)).status_code == 200
        assert inbound(services) == []

    asyncio.run(flow())
