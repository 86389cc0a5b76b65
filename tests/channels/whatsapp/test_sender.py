"""WhatsApp out: rate limits, an expired token, unreachable numbers, and the 24-hour window
(a professional's reply after 25 hours goes out as a template, or is refused with the options)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.app import Services
from bot.channels.whatsapp import errors, graph
from bot.channels.whatsapp.settings import Template, WhatsAppSettings
from bot.service import professional
from bot.service.queue import Viewer
from bot.service.reply_window import OutsideReplyWindow
from bot.store import models as m
from tests.channels.whatsapp.conftest import eventually, running, settle
from tests.helpers import fake_graph as wa
from tests.helpers.fake_graph import FakeGraph

SAM = "31612345678"
SMOKE = "my smoke alarm keeps beeping every minute"
DRUGS_TIP = "I think my neighbour is dealing drugs from his garage, anonymous tip"
ADMIN = Viewer("admin", is_admin=True)


def items(services: Services) -> list[m.OutboxItem]:
    with services.sessions() as session:
        return list(session.scalars(select(m.OutboxItem).order_by(m.OutboxItem.id)))


def test_a_rate_limit_waits_as_long_as_meta_says_then_sends_once(
    services: Services, graph: FakeGraph
) -> None:
    graph.fail(400, 130429, "(#130429) Rate limit hit", headers={"Retry-After": "3"})

    async def flow() -> None:
        async with running(services, graph) as wa_app:
            await wa_app.post(wa.post(messages=[wa.text(SAM, SMOKE)]))
            await eventually(lambda: len(graph.requests) == 1, what="the refused send")
            refused_at = time.monotonic()
            await settle(0.5)
            assert len(graph.requests) == 1  # paused: the prompt did not go either
            await eventually(lambda: len(graph.sent) == 2, timeout=30, what="both replies")
            assert graph.sent[0]["_at"] - refused_at >= 1.5
            # the fake saw the request before the dispatcher marked the item: wait for the mark
            await eventually(
                lambda: [i.status for i in items(services)] == ["sent", "sent"], what="both marked sent"
            )
        assert [i.attempts for i in items(services)] == [1, 1]  # a rate limit is not a failed attempt

    asyncio.run(flow())


def test_an_expired_token_shows_in_health_without_a_retry_storm(services: Services, graph: FakeGraph) -> None:
    async def flow() -> None:
        async with running(services, graph, access_token="EAAG-expired") as wa_app:
            await wa_app.post(wa.post(messages=[wa.text(SAM, SMOKE)]))
            await eventually(
                lambda: "access token has expired" in services.channel_health.get("whatsapp", ""),
                what="health",
            )
            # The sender reports to health before the dispatcher records the pause: wait for that too
            # (on a loaded machine the record took over a second).
            await eventually(
                lambda: [i.status for i in items(services)] == ["pending", "pending"], what="paused item"
            )
            await settle(1.0)
        assert len(graph.requests) == 1  # paused for 15 minutes, not a request per item or per second
        pending = items(services)
        assert [i.status for i in pending] == ["pending", "pending"]
        # The refused item waits out the pause; the chat's later item waits behind it (order per chat).
        assert pending[0].next_attempt_at > datetime.now(UTC) + timedelta(minutes=10)

    asyncio.run(flow())


def test_a_number_that_cannot_get_messages_is_marked_unreachable(
    services: Services, graph: FakeGraph
) -> None:
    graph.fail(400, 131026, "(#131026) Message undeliverable")

    async def flow() -> None:
        async with running(services, graph) as wa_app:
            await wa_app.post(wa.post(messages=[wa.text(SAM, SMOKE)]))
            await eventually(
                lambda: all(i.status == "failed" for i in items(services)) and items(services),
                what="failed items",
            )
            await settle(0.3)
        assert len(graph.requests) == 1  # the prompt is not tried after the answer failed
        with services.sessions() as session:
            assert session.scalars(select(m.Citizen)).one().unreachable

    asyncio.run(flow())


def _route_and_age(services: Services, hours: float) -> int:
    result = services.triage.handle(wa_inbound(DRUGS_TIP))
    assert result.question_id is not None
    with services.sessions.begin() as session:
        citizen = session.get(m.Citizen, result.citizen_id)
        assert citizen is not None
        citizen.last_seen_at = datetime.now(UTC) - timedelta(hours=hours)
        for item in session.scalars(select(m.OutboxItem)):
            item.status = "sent"  # the bot's own replies went out back then
    return result.question_id


def wa_inbound(text: str):  # type: ignore[no-untyped-def]
    from bot.core.types import Channel, InboundMessage

    return InboundMessage(Channel.WHATSAPP, SAM, text, external_id=f"wamid.{text[:8]}")


def test_a_reply_after_25_hours_without_a_template_is_refused_with_the_options(
    services: Services, graph: FakeGraph
) -> None:
    async def flow() -> None:
        question_id = await asyncio.to_thread(_route_and_age, services, 25)
        async with running(services, graph):
            with pytest.raises(OutsideReplyWindow) as refused:
                await asyncio.to_thread(
                    professional.answer, services, ADMIN, question_id, "We will look into it."
                )
            message = str(refused.value)
            assert "cannot be delivered on WhatsApp after 24 h" in message
            assert f"call them on +{SAM}" in message and "writes again" in message
            await settle(0.3)
        assert graph.sent == []
        with services.sessions() as session:
            question = session.get(m.Question, question_id)
            assert question is not None and question.status == "open"  # nothing happened

    asyncio.run(flow())


def test_a_reply_after_25_hours_goes_out_as_the_template_of_its_language(
    services: Services, graph: FakeGraph
) -> None:
    async def flow() -> None:
        question_id = await asyncio.to_thread(_route_and_age, services, 25)
        async with running(services, graph, reply_templates="en=citizen_reply:en_GB,nl=antwoord"):
            await asyncio.to_thread(
                professional.answer,
                services,
                ADMIN,
                question_id,
                "We will look into it.\nThanks for the tip.",
            )
            await eventually(lambda: graph.sent, what="the template")
        body = graph.sent[0]
        assert body["type"] == "template"
        assert body["template"]["name"] == "citizen_reply" and body["template"]["language"] == {
            "code": "en_GB"
        }
        parameter = wa.text_of(body)
        assert parameter.startswith("We will look into it. · Thanks for the tip.") and "\n" not in parameter

    asyncio.run(flow())


def test_a_reply_within_the_window_is_plain_text(services: Services, graph: FakeGraph) -> None:
    async def flow() -> None:
        question_id = await asyncio.to_thread(_route_and_age, services, 23)
        async with running(services, graph, reply_templates="en=citizen_reply"):
            await asyncio.to_thread(
                professional.answer, services, ADMIN, question_id, "We will look into it."
            )
            await eventually(lambda: graph.sent, what="the reply")
        assert graph.sent[0]["type"] == "text" and graph.sent[0]["text"]["body"].startswith(
            "We will look into it."
        )

    asyncio.run(flow())


def test_when_meta_says_the_window_closed_a_reply_uses_the_template(
    services: Services, graph: FakeGraph
) -> None:
    graph.fail(400, 131047, "(#131047) Re-engagement message")

    async def flow() -> None:
        question_id = await asyncio.to_thread(_route_and_age, services, 23.99)
        async with running(services, graph, reply_templates="en=citizen_reply"):
            await asyncio.to_thread(
                professional.answer, services, ADMIN, question_id, "We will look into it."
            )
            await eventually(lambda: graph.sent, what="the template")
        assert [r["type"] for r in graph.requests] == ["text", "template"]

    asyncio.run(flow())


# -- units: the message bodies and the error mapping ----------------------------------------------


def test_button_titles_are_cut_to_20_characters_and_long_bodies_are_split() -> None:
    from bot.channels.whatsapp.sender import bodies
    from bot.service.outbox import OutboundPayload

    payload = OutboundPayload(
        SAM,
        "x" * 1500,
        "feedback",
        (("Yes, pass it on to a person", "ho:1:yes"), ("No", "ho:1:no")),
        1,
        "whatsapp",
    )
    sent = bodies(payload)
    assert [b["type"] for b in sent] == ["text", "interactive"]
    assert len(sent[1]["interactive"]["body"]["text"]) <= graph.BUTTON_BODY_MAX
    titles = [b["reply"]["title"] for b in sent[1]["interactive"]["action"]["buttons"]]
    assert titles == ["Yes, pass it on to…", "No"] and all(len(t) <= 20 for t in titles)
    assert "".join(wa.text_of(b) for b in sent).replace("\n", "") == "x" * 1500


def _response(status: int, code: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": "m", "code": code}}, headers=headers or {})


def test_graph_errors_map_onto_what_the_channel_does() -> None:
    usage = '{"102290129340398": [{"type": "whatsapp", "estimated_time_to_regain_access": 3}]}'
    limited = errors.translate(_response(400, 80007, {"X-Business-Use-Case-Usage": usage}))
    assert isinstance(limited, errors.GraphRateLimited) and limited.seconds == 180
    for code in (4, 130429, 131056):
        assert isinstance(errors.translate(_response(400, code)), errors.GraphRateLimited)
    assert errors.translate(_response(400, 131056)).seconds == 6  # type: ignore[attr-defined]
    assert isinstance(errors.translate(_response(401, 190)), errors.GraphConfigError)
    assert isinstance(errors.translate(_response(400, 131026)), errors.GraphRecipientRefused)
    assert isinstance(errors.translate(_response(400, 131047)), errors.GraphWindowClosed)
    assert isinstance(errors.translate(_response(400, 132001)), errors.GraphTemplateError)
    assert isinstance(errors.translate(_response(503, 131016)), errors.GraphTransient)
    assert isinstance(errors.translate(_response(400, 100)), errors.GraphRequestError)


def test_template_settings_read_name_and_language_code() -> None:
    settings = WhatsAppSettings(_env_file=None, reply_templates="en=citizen_reply:en_GB, nl=antwoord")  # type: ignore[call-arg]
    assert settings.template("en") == Template("citizen_reply", "en_GB")
    assert settings.template("nl") == Template("antwoord", "nl")
    assert settings.template("de") is None
    assert settings.problem() == (
        "missing WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_ACCESS_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN"
    )
