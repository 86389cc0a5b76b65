"""The endpoints Rasa's custom actions call: authenticated, recorded, and still the triage policy
(on SQLite and PostgreSQL; no Rasa needed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.core.types import IntentScore, Language
from bot.service.rasa_handover import Handover, Requested, handle
from bot.store import models as m
from bot.web.api import create_app
from tests.conftest import make_services

TOKEN = "handover-token"


@pytest.fixture
def svc(tmp_path, db_url, trained_engine) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    services = make_services(tmp_path, db_url, trained_engine, api_token=TOKEN)
    yield services
    services.db.dispose()


def ranking(*pairs: tuple[str, float]) -> tuple[IntentScore, ...]:
    return tuple(IntentScore(n, c) for n, c in pairs)


def test_route_opens_a_queue_item_with_the_conversation_and_ranking(svc: Services) -> None:
    h = Handover("s1", "is there a way to get someone to look at our street lights",
                 ranking(("neighbourhood_safety_concern", 0.41), ("noise_nuisance", 0.2)),
                 conversation=("hi", "is there a way to get someone to look at our street lights"),
                 message_id="m1", model_version="nlu-x")
    result = handle(svc, Requested.ROUTE, h)
    assert result.action == "route" and result.question_id is not None
    with svc.sessions() as session:
        question = session.get(m.Question, result.question_id)
        assert question is not None
        assert question.text == "hi\nis there a way to get someone to look at our street lights"
        record = session.scalars(select(m.DecisionRecord)).one()
        assert record.engine == "rasa" and record.model_version == "nlu-x"
        assert record.ranking[0] == ["neighbourhood_safety_concern", 0.41]
    again = handle(svc, Requested.ROUTE, h)  # a retried action: nothing new
    assert again.duplicate and again.question_id == result.question_id


def test_answer_is_the_approved_answer_in_the_language(svc: Services) -> None:
    result = handle(svc, Requested.ANSWER, Handover(
        "s2", "mijn rookmelder piept", ranking(("fire_alarm_beeping", 0.93), ("greet", 0.01))))
    assert result.action == "answer" and result.language == "nl" and result.question_id is None
    with svc.sessions() as session:
        library = svc.triage.library(session)
    expected = library.answer("fire_alarm_beeping", Language.NL) or "-"
    assert result.replies[0].startswith(expected[:30])


def test_the_emergency_rules_overrule_an_answer(svc: Services) -> None:
    result = handle(svc, Requested.ANSWER, Handover(
        "s3", "my smoke alarm is going off and there is smoke everywhere, help",
        ranking(("fire_alarm_beeping", 0.9),)))
    assert result.action == "emergency" and result.question_id is not None
    assert any("112" in r for r in result.replies)


def test_the_api_needs_the_token(svc: Services) -> None:
    body = {"sender_id": "s4", "text": "hello",
            "intent_ranking": [{"name": "greet", "confidence": 0.9}]}
    with TestClient(create_app(svc)) as client:
        assert client.post("/api/v1/rasa/answer", json=body).status_code == 401
        assert client.post("/api/v1/rasa/answer", json=body,
                           headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.post("/api/v1/rasa/emergency", json=body,
                         headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["action"] == "emergency"


def test_without_a_configured_token_the_api_is_closed(tmp_path, trained_engine) -> None:  # type: ignore[no-untyped-def]
    services = make_services(tmp_path, f"sqlite:///{tmp_path / 't.db'}", trained_engine)
    with TestClient(create_app(services)) as client:
        response = client.post("/api/v1/rasa/route", json={"sender_id": "x", "text": "hi"},
                               headers={"Authorization": "Bearer "})
        assert response.status_code == 503
    services.db.dispose()


def test_the_language_slot_is_only_a_hint(svc: Services) -> None:
    result = handle(svc, Requested.ANSWER, Handover(
        "s5", "mijn rookmelder piept steeds", ranking(("fire_alarm_beeping", 0.9),),
        language=Language.EN))
    assert result.language == "nl"
