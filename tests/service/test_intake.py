"""The intake service on SQLite and PostgreSQL: store first, decide once, reply via the outbox."""

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from bot.core.types import Action, ButtonPress, Channel, InboundMessage, Language, Parse
from bot.nlu.engine import EngineUnavailable
from bot.store import models as m


def count(services, model, *where) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def msg(text: str, sender: str = "c1", **kw) -> InboundMessage:  # type: ignore[no-untyped-def]
    return InboundMessage(Channel.API, sender, text, **kw)


def test_library_answer_with_feedback_prompt(services) -> None:  # type: ignore[no-untyped-def]
    result = services.triage.handle(msg("my smoke alarm keeps beeping every minute"))
    assert result.decision.action is Action.ANSWER
    assert result.decision.intent == "fire_alarm_beeping"
    assert "battery" in result.replies[0].text.lower()
    assert [b.data.split(":")[2] for b in result.replies[1].buttons] == ["yes", "no"]
    assert count(services, m.OutboxItem) == 2
    assert count(services, m.Question) == 0
    with services.sessions() as s:
        record = s.scalars(select(m.DecisionRecord)).one()
        assert record.action == "answer" and record.engine == "sklearn" and len(record.ranking) == 3
        assert record.threshold == services.triage.thresholds.threshold


def test_emergency_gets_112_at_once_and_an_urgent_item(services) -> None:  # type: ignore[no-untyped-def]
    result = services.triage.handle(msg("er is brand in de flat hiernaast, veel rook!!"))
    assert result.decision.action is Action.EMERGENCY
    assert result.decision.language is Language.NL
    assert "112" in result.replies[0].text and result.replies[0].kind == "emergency"
    with services.sessions() as s:
        q = s.get(m.Question, result.question_id)
        assert q.emergency and q.priority == 100 and q.status == "open"


def test_route_to_an_area_bound_role_asks_for_the_postcode_once(services) -> None:  # type: ignore[no-untyped-def]
    first = services.triage.handle(msg("I think my neighbour is dealing drugs from his garage, anonymous tip"))
    assert first.decision.action is Action.ROUTE
    assert first.decision.role == "community_police_officer", first.decision.reasons
    assert [r.kind for r in first.replies] == ["ack", "ask_area"]
    with services.sessions() as s:  # the reply names the due moment, in Amsterdam time
        due = s.get(m.Question, first.question_id).due_at.astimezone(ZoneInfo("Europe/Amsterdam"))
    assert f" {due:%H:%M}." in first.replies[0].text
    area = services.triage.handle(msg("1012 AB"))
    assert area.decision is None and "1012 AB" in area.replies[0].text
    with services.sessions() as s:
        citizen = s.scalars(select(m.Citizen)).one()
        assert citizen.area_label == "1012 AB"
    again = services.triage.handle(msg("there is a suspicious car parked here every night, a tip for the police"))
    assert again.decision.action is Action.ROUTE
    assert [r.kind for r in again.replies] == ["ack"]


def test_negative_feedback_offers_a_person_and_yes_creates_a_question(services) -> None:  # type: ignore[no-untyped-def]
    answered = services.triage.handle(msg("how do i prevent burglary when im on holiday"))
    assert answered.decision.action is Action.ANSWER
    no = services.triage.handle(msg("nope"))
    assert no.decision is None and no.replies[0].kind == "feedback"
    yes = services.triage.handle(msg("yes please"))
    assert yes.question_id is not None
    with services.sessions() as s:
        q = s.get(m.Question, yes.question_id)
        assert q.message_id == answered.message_id and q.text.startswith("how do i prevent")
        assert s.get(m.Message, answered.message_id).feedback == "no"


def test_feedback_buttons_through_the_service(services) -> None:  # type: ignore[no-untyped-def]
    answered = services.triage.handle(msg("hoe voorkom ik fietsdiefstal"))
    assert answered.decision.action is Action.ANSWER and answered.decision.language is Language.NL
    thanks = services.triage.press(ButtonPress(Channel.API, "c1", f"fb:{answered.message_id}:yes"))
    assert thanks.replies[0].kind == "notice"
    with services.sessions() as s:
        assert s.get(m.Message, answered.message_id).feedback == "yes"


def test_a_redelivered_message_is_processed_once(services) -> None:  # type: ignore[no-untyped-def]
    first = services.triage.handle(msg("hallo", external_id="tg-1"))
    second = services.triage.handle(msg("hallo", external_id="tg-1"))
    assert second.duplicate and second.message_id == first.message_id
    assert [r.text for r in second.replies] == [r.text for r in first.replies]
    assert count(services, m.Message, m.Message.direction == "in") == 1
    assert count(services, m.DecisionRecord) == 1


def test_bad_input_is_stored_as_received_and_answered_clearly(services) -> None:  # type: ignore[no-untyped-def]
    raw = "   \x00\u200b  "
    result = services.triage.handle(msg(raw))
    assert result.decision is None and result.replies[0].kind == "notice"
    long = services.triage.handle(msg("please help " * 500))
    assert "4096" in long.replies[0].text
    emoji = services.triage.handle(msg("🔥🔥🔥"))
    assert emoji.replies[0].kind == "notice"
    html = services.triage.handle(msg("<script>alert(1)</script> my bike was stolen"))
    with services.sessions() as s:
        texts = [t for (t,) in s.execute(select(m.Message.text).where(m.Message.direction == "in")
                                         .order_by(m.Message.id))]
    assert texts[0] == raw and texts[-1].startswith("<script>")
    assert html.decision is not None


def test_a_long_emergency_is_not_refused(services) -> None:  # type: ignore[no-untyped-def]
    result = services.triage.handle(msg("I am writing because " + "blah " * 1000 + " the house is on fire help"))
    assert result.decision.action is Action.EMERGENCY


def test_a_message_stored_before_a_crash_is_decided_at_start(services) -> None:  # type: ignore[no-untyped-def]
    message_id, _ = services.triage.store_inbound(msg("how do I report noise nuisance"))
    assert count(services, m.DecisionRecord) == 0
    assert services.triage.process_pending() == 1
    assert services.triage.process_pending() == 0
    with services.sessions() as s:
        assert s.get(m.Message, message_id).processed
    assert count(services, m.DecisionRecord) == 1


class DownEngine:
    name, version = "rasa", "down"

    def parse(self, text: str, language: Language | None = None) -> Parse:
        raise EngineUnavailable("rasa is down")


def test_engine_down_keeps_the_message_and_routes_after_the_timeout(services, trained_engine) -> None:  # type: ignore[no-untyped-def]
    services.triage.set_engine(DownEngine())
    waiting = services.triage.handle(msg("how do i get an event permit"))
    assert waiting.decision is None and waiting.replies[0].kind == "notice"
    urgent = services.triage.handle(msg("help my house is on fire", sender="c2"))
    assert urgent.decision.action is Action.EMERGENCY
    assert services.triage.process_pending() == 0  # still waiting
    services.triage.set_engine(trained_engine)
    assert services.triage.process_pending() == 1  # back: decided normally
    services.triage.set_engine(DownEngine())
    services.triage.handle(msg("something odd", sender="c3"))
    with services.sessions.begin() as s:
        s.execute(update(m.Message).where(m.Message.processed.is_(False))
                  .values(created_at=datetime.now(UTC) - timedelta(hours=1)))
    assert services.triage.process_pending() == 1  # timed out: to a person
    with services.sessions() as s:
        record = s.scalars(select(m.DecisionRecord).order_by(m.DecisionRecord.id.desc())).first()
        assert record.action == "route" and record.engine == "unavailable"


def test_in_app_replies_are_delivered_by_the_commit_that_stores_them(services) -> None:  # type: ignore[no-untyped-def]
    result = services.triage.handle(msg("hi"))
    assert count(services, m.OutboxItem, m.OutboxItem.status == "sent", m.OutboxItem.attempts == 1,
                 m.OutboxItem.sent_at.is_not(None)) == len(result.reply_ids) == 1
    assert asyncio.run(services.dispatcher().run_once()) == 0  # nothing left for the dispatcher
