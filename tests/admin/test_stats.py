"""Dashboard numbers: pure arithmetic, then the queries on SQLite and PostgreSQL."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.core.calendar import calendar, working_between
from bot.core.types import ButtonPress, Channel, InboundMessage
from bot.service import stats
from bot.service.queue import Viewer, reply
from bot.store import models as m

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_per_day_counts_outcomes_and_fills_gaps() -> None:
    rows = [(T0, "answer"), (T0, "route"), (T0 + timedelta(days=2), "emergency"), (T0, "followup")]
    days = stats.per_day(rows, date(2026, 3, 1), date(2026, 3, 4))
    assert [(d.day.day, d.answer, d.route, d.emergency) for d in days] == [
        (1, 0, 0, 0),
        (2, 1, 1, 0),
        (3, 0, 0, 0),
        (4, 0, 0, 1),
    ]
    assert stats.auto_answer_rate(days) == 0.5
    assert stats.auto_answer_rate(days[:1]) is None


def test_percentiles_and_role_timings() -> None:
    assert stats.percentile([], 50) is None
    assert stats.percentile([4.0, 1.0, 2.0, 3.0], 50) == 2.5
    assert stats.percentile(list(map(float, range(11))), 90) == 9.0
    rows = [("fire", T0, T0 + timedelta(hours=h)) for h in (1, 2, 3, 10)] + [
        ("police", T0, T0 + timedelta(minutes=30))
    ]
    timings = {t.role: t for t in stats.role_timings(rows)}
    assert timings["fire"].answered == 4 and timings["fire"].median_hours == 2.5
    assert abs(timings["fire"].p90_hours - 7.9) < 1e-9
    assert timings["police"].median_hours == 0.5


def test_reply_times_count_working_time_only() -> None:
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 16:00 in Amsterdam
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 10:00
    calendars = {"fire": calendar("mon-fri 08:30-17:00")}
    rows = [("fire", friday, monday), ("police", friday, monday)]
    timings = {t.role: t for t in stats.role_timings(rows, calendars)}
    assert timings["fire"].median_hours == 2.5  # Friday 16:00-17:00, Monday 08:30-10:00
    assert timings["police"].median_hours == 66.0  # always staffed: every hour counts


def test_dashboard_from_real_traffic_and_its_csv(services) -> None:  # type: ignore[no-untyped-def]
    handle = lambda text, who: services.triage.handle(InboundMessage(Channel.API, who, text))  # noqa: E731
    answered = handle("my smoke alarm keeps beeping every minute", "c1")
    services.triage.press(ButtonPress(Channel.API, "c1", f"fb:{answered.message_id}:yes"))
    routed = handle("I think my neighbour is dealing drugs from his garage, anonymous tip", "c2")
    handle("er is brand in de flat hiernaast, veel rook!!", "c3")
    late = handle("can I fly my drone over the stadium on sunday", "c4")
    with services.sessions.begin() as s:
        q = s.get(m.Question, routed.question_id)
        q.created_at = datetime.now(UTC) - timedelta(hours=3)
        reply(s, Viewer("piet", frozenset({q.role})), q.id, "We will look into it.")
        s.execute(
            update(m.Question)
            .where(m.Question.id == late.question_id)
            .values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )
    with services.sessions() as s:
        board = stats.dashboard(s, days=7)
    assert len(board.days) == 7
    assert board.totals == {"answer": 1, "route": 2, "emergency": 1}
    assert board.auto_answer_rate == 1 / 3
    assert (board.helped_yes, board.helped_no, board.helped_rate) == (1, 0, 1.0)
    timing = {t.role: t for t in board.timings}["community_police_officer"]
    with services.sessions() as s:  # counted in the role's working time (office hours)
        q = s.get(m.Question, routed.question_id)
        office = services.triage.library(s).role(q.role).calendar
        worked = working_between(office, q.created_at, q.answered_at)
    assert timing.answered == 1 and abs(timing.median_hours - worked.total_seconds() / 3600) < 0.01
    assert late.question_id in [q.id for q in board.overdue]
    assert ("fire_alarm_beeping", 1) in board.top_intents
    rows = list(csv.reader(io.StringIO(stats.to_csv(board))))
    today = [r for r in rows if r[:2] == ["messages_per_day", date.today().isoformat()]]
    assert today == [["messages_per_day", date.today().isoformat(), "1", "2", "1", "4"]]
    assert ["summary", "helped_rate", "1.0000"] in rows


def test_csv_cells_cannot_become_formulas() -> None:
    board = stats.Dashboard(
        date(2026, 1, 1), date(2026, 1, 1), [], None, 0, 0, [], [], [('=HYPERLINK("x")', 3)]
    )
    assert ["top_intents", '\'=HYPERLINK("x")', "3"] in list(
        csv.reader(io.StringIO(stats.to_csv(board)))
    )


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_neutralised(start: str) -> None:
    cell = f"{start}cmd|' /C calc'!A0"
    timing = stats.RoleTiming(cell, 1, 1.0, 2.0)
    board = stats.Dashboard(date(2026, 1, 1), date(2026, 1, 1), [], None, 0, 0, [timing], [], [(cell, 3)])
    rows = list(csv.reader(io.StringIO(stats.to_csv(board))))
    assert ["top_intents", "'" + cell, "3"] in rows
    assert ["first_reply", "'" + cell, "1", "1.0000", "2.0000"] in rows
