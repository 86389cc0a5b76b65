"""Retention: citizens' words and identities older than RETENTION_DAYS go; the statistics stay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from bot.core.types import Channel, InboundMessage, Language
from bot.service import queue, retention, stats
from bot.store import models as m
from bot.web.api import create_app

OLD_TEXT = "My neighbour Jan de Vries at Kerkstraat 12 sets off fireworks every night"
NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=100)


def _say(services, sender: str, text: str, channel: Channel = Channel.API):  # type: ignore[no-untyped-def]
    """Intake, then the outbox dispatch that delivers the replies (in-app channels)."""
    result = services.triage.handle(InboundMessage(channel, sender, text, Language.EN))
    asyncio.run(services.dispatcher().run_once())
    return result


def _age(services, citizen_id: int, when: datetime) -> None:  # type: ignore[no-untyped-def]
    """Move all of one citizen's rows back in time, as if written `when`."""
    with services.sessions.begin() as s:
        ids = select(m.Message.id).where(m.Message.citizen_id == citizen_id)
        s.execute(update(m.Message).where(m.Message.citizen_id == citizen_id).values(created_at=when))
        s.execute(update(m.DecisionRecord).where(m.DecisionRecord.message_id.in_(ids))
                  .values(created_at=when))
        s.execute(update(m.Question).where(m.Question.citizen_id == citizen_id)
                  .values(created_at=when, due_at=when + timedelta(hours=24)))
        s.execute(update(m.Citizen).where(m.Citizen.id == citizen_id)
                  .values(created_at=when, last_seen_at=when))


def _close_all(services, citizen_id: int) -> None:  # type: ignore[no-untyped-def]
    admin = queue.Viewer("admin", is_admin=True)
    with services.sessions.begin() as s:
        for qid in s.scalars(select(m.Question.id).where(m.Question.citizen_id == citizen_id)):
            queue.add_note(s, admin, qid, "called Jan de Vries back")
            queue.close(s, admin, qid, "resolved")


def _snapshot(services) -> dict:  # type: ignore[no-untyped-def]
    with services.sessions() as s:
        return {
            "decisions": sorted(s.execute(select(m.DecisionRecord.message_id, m.DecisionRecord.action,
                                                 m.DecisionRecord.intent, m.DecisionRecord.confidence,
                                                 m.DecisionRecord.created_at)).all()),
            "questions": sorted(s.execute(select(m.Question.id, m.Question.role, m.Question.status,
                                                 m.Question.created_at, m.Question.closed_at)).all()),
            "messages": s.scalar(select(func.count()).select_from(m.Message)),
            "board": stats.per_day(((r[0], r[1]) for r in s.execute(
                select(m.DecisionRecord.created_at, m.DecisionRecord.action))),
                (OLD - timedelta(days=1)).date(), NOW.date()),
        }


def test_old_citizen_data_is_anonymised_and_statistics_survive(services):  # type: ignore[no-untyped-def]
    old = _say(services, "tg-old", OLD_TEXT)
    _say(services, "tg-old", "Someone is dumping asbestos behind the school, who do I tell?")
    _close_all(services, old.citizen_id)
    _age(services, old.citizen_id, OLD)
    busy = _say(services, "tg-busy", "Help, there is a fire in our kitchen right now!")
    assert busy.question_id is not None
    _age(services, busy.citizen_id, OLD)  # its question is still open: kept until answered
    recent = _say(services, "tg-new", "My neighbour plays loud music every night")
    before = _snapshot(services)

    report = retention.run(services.sessions, services.settings.retention_days, now=NOW)

    assert report.messages >= 2 and report.citizens == 1 and report.outbox >= 1
    after = _snapshot(services)
    assert after == before  # decisions, question facts, message rows and daily counts all survive
    with services.sessions() as s:
        texts = {c: [t for t in s.scalars(select(m.Message.text).where(m.Message.citizen_id == c))]
                 for c in (old.citizen_id, busy.citizen_id, recent.citizen_id)}
        assert set(texts[old.citizen_id]) == {retention.EXPIRED}
        assert OLD_TEXT not in str(s.scalars(select(m.Question.text)).all())
        assert s.scalars(select(m.Note)).all() == []
        payloads = s.scalars(select(m.OutboxItem.payload)).all()
        assert not any("Jan de Vries" in str(p) for p in payloads)
        old_citizen = s.get(m.Citizen, old.citizen_id)
        assert old_citizen is not None and old_citizen.external_id.startswith("expired:")
        assert "tg-old" not in str(s.scalars(select(m.OutboxItem.recipient)).all())
        assert retention.EXPIRED not in texts[busy.citizen_id]  # open question: still needed
        assert s.get(m.Citizen, busy.citizen_id).external_id == "tg-busy"  # type: ignore[union-attr]
        assert retention.EXPIRED not in texts[recent.citizen_id]
        assert s.get(m.Citizen, recent.citizen_id).external_id == "tg-new"  # type: ignore[union-attr]

    again = retention.run(services.sessions, services.settings.retention_days, now=NOW)
    assert not any(again.counts().values())  # idempotent


def test_the_same_person_writing_again_starts_afresh(services):  # type: ignore[no-untyped-def]
    first = _say(services, "tg-42", OLD_TEXT)
    _close_all(services, first.citizen_id)
    _age(services, first.citizen_id, OLD)
    retention.run(services.sessions, 90, now=NOW)
    again = _say(services, "tg-42", "Hello, where can I report a broken street light?")
    assert again.citizen_id != first.citizen_id
    assert again.decision is not None


def test_a_shorter_period_and_the_serve_process_run_the_purge(tmp_path, trained_engine):  # type: ignore[no-untyped-def]
    from tests.conftest import make_services

    services = make_services(tmp_path, f"sqlite:///{tmp_path / 't.db'}", trained_engine, retention_days=7)
    try:
        old = _say(services, "web-1", OLD_TEXT, Channel.WEB)
        _close_all(services, old.citizen_id)
        _age(services, old.citizen_id, NOW - timedelta(days=8))
        with TestClient(create_app(services)) as client:  # the part purges at start
            assert client.get("/healthz").status_code == 200
        with services.sessions() as s:
            assert set(s.scalars(select(m.Message.text).where(
                m.Message.citizen_id == old.citizen_id))) == {retention.EXPIRED}
    finally:
        services.db.dispose()
