"""What the database knows, read when Prometheus scrapes: a custom collector, so the message path
never pays for it.

Every instance reads the same database, so each reports the same fleet-wide values: dashboards and
alerts take `max()` of them across instances. When the database cannot be read, only
`triage_database_up 0` is reported (an alert, not a scrape error).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.types import OutboxStatus, QuestionStatus
from bot.store import models as m

log = logging.getLogger(__name__)

WAITING = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
UNANSWERED = (QuestionStatus.OPEN.value, QuestionStatus.CLAIMED.value)


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


class DatabaseCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("triage_database_up", "1 when the database answered this scrape.")
        try:
            with self.sessions() as session:
                families = list(self._read(session, datetime.now(UTC)))
        except Exception:  # the database is down: say so, and keep answering the scrape
            log.warning("metrics: the database could not be read", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self, session: Session, now: datetime) -> Iterator[Metric]:
        backlog = GaugeMetricFamily(
            "triage_outbox_backlog",
            "Replies waiting to be sent (pending or sending), per channel.",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "triage_outbox_oldest_seconds",
            "Age of the oldest reply waiting to be sent, per channel.",
            labels=["channel"],
        )
        rows = session.execute(
            select(m.OutboxItem.channel, func.count(), func.min(m.OutboxItem.created_at))
            .where(m.OutboxItem.status.in_(WAITING))
            .group_by(m.OutboxItem.channel)
        ).all()
        for channel, count, first in rows:
            backlog.add_metric([channel], count)
            oldest.add_metric([channel], _age(now, first))
        yield backlog
        yield oldest

        roles = list(session.scalars(select(m.Role.slug)))
        open_by_role = dict.fromkeys(roles, 0)
        overdue_by_role = dict.fromkeys(roles, 0)
        unanswered = m.Question.status.in_(UNANSWERED)
        for role, count in session.execute(
            select(m.Question.role, func.count()).where(unanswered).group_by(m.Question.role)
        ).all():
            open_by_role[role] = count
        for role, count in session.execute(
            select(m.Question.role, func.count())
            .where(unanswered, m.Question.due_at < now)
            .group_by(m.Question.role)
        ).all():
            overdue_by_role[role] = count
        opened = GaugeMetricFamily(
            "triage_questions_open",
            "Questions waiting for an answer (open or claimed), per role.",
            labels=["role"],
        )
        overdue = GaugeMetricFamily(
            "triage_questions_overdue",
            "Questions past their response-time promise, per role.",
            labels=["role"],
        )
        for role in sorted(open_by_role):
            opened.add_metric([role], open_by_role[role])
            overdue.add_metric([role], overdue_by_role.get(role, 0))
        yield opened
        yield overdue

        count, first = session.execute(
            select(func.count(), func.min(m.Question.created_at)).where(
                m.Question.emergency.is_(True), m.Question.status == QuestionStatus.OPEN.value
            )
        ).one()
        unclaimed = GaugeMetricFamily("triage_emergencies_unclaimed", "Emergencies nobody has claimed yet.")
        unclaimed.add_metric([], count)
        yield unclaimed
        waiting = GaugeMetricFamily(
            "triage_emergency_oldest_unclaimed_seconds",
            "How long the oldest unclaimed emergency has waited (0: none waits).",
        )
        waiting.add_metric([], _age(now, first))
        yield waiting

        model = GaugeMetricFamily(
            "triage_active_model_info",
            "The model in use (1), with its version and engine.",
            labels=["version", "engine"],
        )
        for version, engine in session.execute(
            select(m.ModelRecord.version, m.ModelRecord.engine).where(m.ModelRecord.active.is_(True))
        ).all():
            model.add_metric([version, engine], 1)
        yield model
