"""GET /metrics: what an operator's Prometheus reads, and who may read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.store import models as m
from bot.web import plugins
from bot.web.api import create_app
from tests.web.conftest import make_question

LOOPBACK = ("127.0.0.1", 40000)
ELSEWHERE = ("203.0.113.7", 40000)


@pytest.fixture
def app(services, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(plugins, "PARTS", ["bot.web.metrics_part"])
    return create_app(services)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def test_messages_are_counted_by_channel_action_and_language(app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, client=LOOPBACK) as client:
        before = samples(client.get("/metrics").text)
        for i, text in enumerate(
            [
                "my smoke alarm keeps beeping",
                "There is a fire in my kitchen right now!",
                "mijn rookmelder piept steeds",
            ]
        ):
            r = client.post(
                "/api/v1/messages", json={"sender": f"m{i}", "text": text, "external_id": f"x{i}"}
            )
            assert r.status_code == 200
        # a redelivery is not a second message
        client.post(
            "/api/v1/messages",
            json={"sender": "m0", "text": "my smoke alarm keeps beeping", "external_id": "x0"},
        )
        after = samples(client.get("/metrics").text)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("triage_messages_total", channel="api", action="answer", language="en") == 1
    assert delta("triage_messages_total", channel="api", action="emergency", language="en") == 1
    assert delta("triage_messages_total", channel="api", action="answer", language="nl") == 1
    assert delta("triage_decision_seconds_count", channel="api") == 3
    assert delta("triage_decision_seconds_bucket", channel="api", le="+Inf") == 3


def test_the_database_gauges_are_read_at_scrape_time(app, services) -> None:  # type: ignore[no-untyped-def]
    make_question(services, "community_police_officer", due_hours=-2)  # overdue
    make_question(services, "community_police_officer", due_hours=10)
    emergency = make_question(services, "public_order_officer", emergency=True, due_hours=1)
    with services.sessions.begin() as session:
        question = session.get(m.Question, emergency)
        assert question is not None
        question.created_at = datetime.now(UTC) - timedelta(minutes=3)
        for age in (600, 30):
            session.add(
                m.OutboxItem(
                    message_id=question.message_id,
                    channel="telegram",
                    recipient="42",
                    payload={"text": "hi"},
                    status="pending",
                    created_at=datetime.now(UTC) - timedelta(seconds=age),
                )
            )
        session.add(m.ModelRecord(version="m-test-1", engine="sklearn", path="/nowhere", active=True))
    with TestClient(app, client=LOOPBACK) as client:
        scraped = samples(client.get("/metrics").text)
    assert value(scraped, "triage_database_up") == 1
    assert value(scraped, "triage_questions_open", role="community_police_officer") == 2
    assert value(scraped, "triage_questions_overdue", role="community_police_officer") == 1
    assert value(scraped, "triage_questions_overdue", role="public_order_officer") == 0
    assert ("triage_questions_open", (("role", "fire_prevention_officer"),)) in scraped  # 0, still there
    assert value(scraped, "triage_emergencies_unclaimed") == 1
    assert 170 < value(scraped, "triage_emergency_oldest_unclaimed_seconds") < 400
    assert value(scraped, "triage_outbox_backlog", channel="telegram") == 2
    assert 590 < value(scraped, "triage_outbox_oldest_seconds", channel="telegram") < 900
    assert value(scraped, "triage_active_model_info", version="m-test-1", engine="sklearn") == 1


def test_the_database_down_is_a_metric_not_a_failed_scrape(app, services) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, client=LOOPBACK) as client:
        services.db.dispose()
        services.sessions.configure(bind=_broken_engine())
        r = client.get("/metrics")
    assert r.status_code == 200
    assert value(samples(r.text), "triage_database_up") == 0


def _broken_engine():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_only_loopback_reads_without_a_token(services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(plugins, "PARTS", ["bot.web.metrics_part"])
    app = create_app(services)
    with TestClient(app, client=LOOPBACK) as client:
        assert client.get("/metrics").status_code == 200
        # through a reverse proxy on the same host: not loopback
        assert client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 401
    with TestClient(app, client=ELSEWHERE) as client:
        assert client.get("/metrics").status_code == 401


def test_a_token_opens_the_metrics_to_other_hosts(services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(plugins, "PARTS", ["bot.web.metrics_part"])
    services.settings.metrics_token = "scrape-me-7f3a"
    services.settings.metrics_loopback_open = False
    app = create_app(services)
    with TestClient(app, client=ELSEWHERE) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-7f3a"})
        assert ok.status_code == 200 and "triage_questions_open" in ok.text
    with TestClient(app, client=LOOPBACK) as client:  # METRICS_LOOPBACK_OPEN=false
        assert client.get("/metrics").status_code == 401
