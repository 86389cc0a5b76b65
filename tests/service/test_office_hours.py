"""Honest promises through the real intake: a question that arrives out of hours is promised for
a working moment, the citizen is told it in their language, and nothing is overdue over a
weekend, a public holiday or a daylight-saving change. Emergencies never wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import Services
from bot.core.types import Action, Channel, InboundMessage
from bot.service import stats, users
from bot.store import models as m

AMS = ZoneInfo("Europe/Amsterdam")
INSPECTION = "I would like a fire safety inspection of my building"  # fire_prevention_officer


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


def on_duty(services: Services) -> None:
    with services.sessions.begin() as session:
        users.create(session, "fenna", "a-long-password", roles="fire_prevention_officer")
    services.triage.knowledge.invalidate_staffing()


def ask(services: Services, when: str, text: str = INSPECTION, sender: str = "c1"):  # type: ignore[no-untyped-def]
    services.triage.knowledge.clock = lambda: at(when)
    return services.triage.handle(InboundMessage(Channel.API, sender, text))


def question(services: Services, question_id: int) -> m.Question:
    with services.sessions() as session:
        row = session.get(m.Question, question_id)
        assert row is not None
        session.expunge(row)
        return row


def test_friday_evening_is_promised_for_working_time_and_not_overdue_over_the_weekend(
    services: Services,
) -> None:
    on_duty(services)
    result = ask(services, "2026-12-04 18:00")  # a Friday; the role works mon-fri 08:30-17:00
    assert result.decision.role == "fire_prevention_officer"
    q = question(services, result.question_id)
    # 17 working hours: Monday 08:30-17:00 and Tuesday 08:30-17:00
    assert q.due_at == at("2026-12-08 17:00") and q.out_of_hours
    ack = result.replies[0].text
    assert ack.startswith("I've passed your question to a fire prevention officer.")
    assert "reads messages again from Monday 08:30" in ack
    assert "answer by Tuesday 17:00" in ack and "Call 112" in ack
    with services.sessions() as session:
        sunday = stats.dashboard(session, days=7, now=at("2026-12-06 23:00"))
        monday = stats.dashboard(session, days=7, now=at("2026-12-07 16:59"))
        wednesday = stats.dashboard(session, days=7, now=at("2026-12-09 09:00"))
    assert q.id not in [o.id for o in sunday.overdue]
    assert q.id not in [o.id for o in monday.overdue]
    assert q.id in [o.id for o in wednesday.overdue]


def test_dutch_citizens_read_the_moment_in_dutch(services: Services) -> None:
    on_duty(services)
    ask(services, "2026-12-04 18:00", "/language nl")
    result = ask(services, "2026-12-04 18:01")
    ack = result.replies[0].text
    assert "leest berichten weer vanaf maandag 08:30" in ack
    assert "uiterlijk dinsdag 17:00 antwoord" in ack and "Bel 112" in ack


def test_during_hours_the_reply_names_the_moment_without_an_out_of_hours_note(
    services: Services,
) -> None:
    on_duty(services)
    # Friday 24 April 2026, 16:00: one hour left that day, then Koningsdag (Monday) is closed
    result = ask(services, "2026-04-24 16:00")
    q = question(services, result.question_id)
    assert q.due_at == at("2026-04-29 16:00") and not q.out_of_hours  # 1 + 8.5 + 7.5 hours
    ack = result.replies[0].text
    assert "answer by Wednesday 16:00" in ack and "reads messages again" not in ack


def test_a_daylight_saving_change_over_the_weekend(services: Services) -> None:
    on_duty(services)
    result = ask(services, "2026-10-23 18:00")  # summer time on Friday, winter time on Monday
    q = question(services, result.question_id)
    assert q.due_at == datetime(2026, 10, 27, 16, 0, tzinfo=UTC)  # Tuesday 17:00 CET


def test_an_emergency_out_of_hours_is_due_at_once(services: Services) -> None:
    on_duty(services)
    result = ask(services, "2026-12-05 03:00", "er is brand in de flat hiernaast, veel rook!!")
    assert result.decision.action is Action.EMERGENCY
    q = question(services, result.question_id)
    assert q.due_at - at("2026-12-05 03:00") == timedelta(minutes=5) and not q.out_of_hours
    assert "112" in result.replies[0].text


def test_an_always_staffed_role_promises_hours_around_the_clock(services: Services) -> None:
    result = ask(services, "2026-12-05 03:00", "I want to speak to a person please")
    assert result.decision.action is Action.ROUTE
    with services.sessions() as session:
        role = session.get(m.Role, result.decision.role)
        assert role is not None and role.staffed_hours is None
        hours = role.response_hours
        q = session.scalars(select(m.Question)).one()
    assert q.due_at == at("2026-12-05 03:00") + timedelta(hours=hours) and not q.out_of_hours
    assert f"within {hours:g} hours" in result.replies[0].text


def test_the_dashboard_counts_reply_times_in_working_time(services: Services) -> None:
    on_duty(services)
    friday = ask(services, "2026-12-04 16:00")  # one working hour left on Friday
    with services.sessions.begin() as session:
        q = session.get(m.Question, friday.question_id)
        assert q is not None
        q.status, q.answered_at = "answered", at("2026-12-07 10:00")  # Monday 10:00
    with services.sessions() as session:
        board = stats.dashboard(session, days=30, now=at("2026-12-07 12:00"))
    timing = {t.role: t for t in board.timings}["fire_prevention_officer"]
    assert timing.answered == 1 and timing.median_hours == 2.5  # not the 66 wall-clock hours


def test_with_nobody_on_duty_the_citizen_is_promised_our_team_not_a_role_nobody_holds(
    services: Services,
) -> None:
    """A fresh install: nobody holds any role, so the admins answer (bot.core.staffing.place).
    The citizen is not told that "a fire prevention officer" will answer."""
    result = ask(services, "2026-12-02 10:00")  # a Wednesday, in office hours
    assert result.decision.action is Action.ROUTE
    assert question(services, result.question_id).for_admins
    ack = result.replies[0].text
    assert ack.startswith("I've passed your question to our team.") and "officer" not in ack
    ask(services, "2026-12-02 10:01", "/language nl")
    dutch = ask(services, "2026-12-02 10:02").replies[0].text
    assert dutch.startswith("Ik heb je vraag doorgestuurd naar ons team.")
    on_duty(services)
    staffed = ask(services, "2026-12-02 10:03", sender="c2").replies[0].text
    assert staffed.startswith("I've passed your question to a fire prevention officer.")
