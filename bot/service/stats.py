"""The dashboard's numbers, computed from the decisions, messages and questions tables.

The queries only fetch rows; the arithmetic is in pure functions over those rows (so it is the
same on SQLite and PostgreSQL, and easy to test). Reply times count each role's working time
(`bot.core.calendar`), like its promises; "overdue" compares with the due time, which already does.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.calendar import ALWAYS_STAFFED, Calendar, working_between
from bot.store import models as m
from bot.store.library_repo import role_value

OUTCOMES = ("answer", "route", "emergency")


@dataclass(frozen=True)
class DayCount:
    day: date
    answer: int = 0
    route: int = 0
    emergency: int = 0

    @property
    def total(self) -> int:
        return self.answer + self.route + self.emergency


@dataclass(frozen=True)
class RoleTiming:
    role: str
    answered: int
    median_hours: float | None
    p90_hours: float | None


@dataclass
class Dashboard:
    since: date
    until: date
    days: list[DayCount]
    auto_answer_rate: float | None
    helped_yes: int
    helped_no: int
    timings: list[RoleTiming]
    overdue: list[m.Question]
    top_intents: list[tuple[str, int]]
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def helped_rate(self) -> float | None:
        asked = self.helped_yes + self.helped_no
        return self.helped_yes / asked if asked else None


# -- pure functions ---------------------------------------------------------------------------


def per_day(rows: Iterable[tuple[datetime, str]], since: date, until: date) -> list[DayCount]:
    """(created_at, action) rows -> one count per day from `since` to `until`, gaps as zeros."""
    counts: dict[date, Counter[str]] = {}
    for created, action in rows:
        if action in OUTCOMES:
            counts.setdefault(created.astimezone(UTC).date(), Counter())[action] += 1
    out = []
    day = since
    while day <= until:
        c = counts.get(day, Counter())
        out.append(DayCount(day, c["answer"], c["route"], c["emergency"]))
        day += timedelta(days=1)
    return out


def auto_answer_rate(days: Sequence[DayCount]) -> float | None:
    """Share of questions the library answered, of those answered or routed (emergencies are
    meant for people and do not count against the library)."""
    answered = sum(d.answer for d in days)
    routed = sum(d.route for d in days)
    return answered / (answered + routed) if answered + routed else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100), like numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def role_timings(
    rows: Iterable[tuple[str, datetime, datetime]], calendars: Mapping[str, Calendar] | None = None
) -> list[RoleTiming]:
    """(role, created_at, answered_at) -> median and 90th percentile hours to the first reply,
    counted in the role's working time (a night or a weekend of waiting is not the team's)."""
    hours: dict[str, list[float]] = {}
    for role, created, answered in rows:
        calendar = (calendars or {}).get(role, ALWAYS_STAFFED)
        waited = working_between(calendar, created, answered)
        hours.setdefault(role, []).append(waited.total_seconds() / 3600)
    return [
        RoleTiming(role, len(v), percentile(v, 50), percentile(v, 90))
        for role, v in sorted(hours.items())
    ]


# -- queries ----------------------------------------------------------------------------------


def dashboard(session: Session, days: int = 30, now: datetime | None = None) -> Dashboard:
    now = now or datetime.now(UTC)
    until = now.date()
    since = until - timedelta(days=days - 1)
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    decisions = session.execute(
        select(m.DecisionRecord.created_at, m.DecisionRecord.action, m.DecisionRecord.intent).where(
            m.DecisionRecord.created_at >= start
        )
    ).all()
    day_counts = per_day(((r[0], r[1]) for r in decisions), since, until)
    feedback = Counter(
        session.scalars(
            select(m.Message.feedback).where(
                m.Message.feedback.is_not(None), m.Message.created_at >= start
            )
        )
    )
    answered = session.execute(
        select(m.Question.role, m.Question.created_at, m.Question.answered_at).where(
            m.Question.answered_at.is_not(None), m.Question.created_at >= start
        )
    ).all()
    calendars = {r.slug: role_value(r).calendar for r in session.scalars(select(m.Role))}
    timings = role_timings(((r[0], r[1], r[2]) for r in answered if r[2] is not None), calendars)
    overdue = list(
        session.scalars(
            select(m.Question)
            .where(m.Question.status.in_(("open", "claimed")), m.Question.due_at < now)
            .order_by(m.Question.due_at)
            .limit(50)
        )
    )
    intents = Counter(r[2] for r in decisions if r[2] and r[1] in OUTCOMES)
    totals = {o: sum(getattr(d, o) for d in day_counts) for o in OUTCOMES}
    return Dashboard(
        since,
        until,
        day_counts,
        auto_answer_rate(day_counts),
        feedback["yes"],
        feedback["no"],
        timings,
        overdue,
        intents.most_common(10),
        totals,
    )


def to_csv(board: Dashboard) -> str:
    """The numbers behind the charts, one section per table, for a spreadsheet."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "key", "answered", "routed", "emergency", "total"])
    for d in board.days:
        w.writerow(["messages_per_day", d.day.isoformat(), d.answer, d.route, d.emergency, d.total])
    w.writerow([])
    w.writerow(["section", "metric", "value"])
    w.writerow(["summary", "auto_answer_rate", _num(board.auto_answer_rate)])
    w.writerow(["summary", "helped_yes", board.helped_yes])
    w.writerow(["summary", "helped_no", board.helped_no])
    w.writerow(["summary", "helped_rate", _num(board.helped_rate)])
    w.writerow(["summary", "overdue_questions", len(board.overdue)])
    w.writerow([])
    w.writerow(["section", "role", "answered", "median_hours", "p90_hours"])
    for t in board.timings:
        w.writerow(["first_reply", _safe_cell(t.role), t.answered, _num(t.median_hours), _num(t.p90_hours)])
    w.writerow([])
    w.writerow(["section", "intent", "messages"])
    for name, n in board.top_intents:
        w.writerow(["top_intents", _safe_cell(name), n])
    return buf.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: str) -> str:
    """Keep spreadsheet programs from reading a cell as a formula (CSV injection): a leading TAB
    or CR is skipped by some of them before they look for = + - @ (OWASP's list)."""
    return "'" + value if value[:1] in FORMULA_STARTS else value
