"""Rasa run on its own: a message to Rasa's REST channel goes through the rules and our custom
actions (the action server) into the triage service, and ends as a queue item."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from bot.store import models as m
from tests.rasa.conftest import Stack


def say(stack: Stack, sender: str, text: str) -> list[str]:
    response = httpx.post(f"{stack.server.engine.base_url}/webhooks/rest/webhook",
                          json={"sender": sender, "message": text}, timeout=60)
    response.raise_for_status()
    return [m["text"] for m in response.json() if "text" in m]


def questions_of(stack: Stack, sender: str) -> list[m.Question]:
    with stack.services.sessions() as session:
        citizen = session.scalars(select(m.Citizen).where(
            m.Citizen.external_id == f"rasa:{sender}")).first()
        if citizen is None:
            return []
        return list(session.scalars(select(m.Question).where(m.Question.citizen_id == citizen.id)))


def test_a_question_rasa_is_unsure_of_ends_in_the_queue(stack: Stack) -> None:
    sender = f"citizen-{uuid.uuid4().hex[:8]}"
    text = "qwxz blorp vrrt"  # nlu_fallback -> action_route_to_professional
    replies = say(stack, sender, text)
    [question] = questions_of(stack, sender)
    assert question.text == text and question.status == "open" and not question.emergency
    assert question.role == "public_order_officer"  # the default role
    with stack.services.sessions() as session:
        record = session.scalars(select(m.DecisionRecord).where(
            m.DecisionRecord.message_id == question.message_id)).one()
    assert record.engine == "rasa" and record.action == "route"
    assert record.ranking and all(name != "nlu_fallback" for name, _ in record.ranking)
    assert "rasa: action_route" in record.reasons[0]
    assert replies and "passed your question" in replies[0]


def test_a_route_intent_goes_to_its_role_with_the_conversation(stack: Stack) -> None:
    sender = f"citizen-{uuid.uuid4().hex[:8]}"
    say(stack, sender, "hello")
    say(stack, sender, "I want to request a fire safety inspection of our community centre")
    [question] = questions_of(stack, sender)
    assert question.role == "fire_prevention_officer"
    assert question.text.splitlines() == [
        "hello", "I want to request a fire safety inspection of our community centre"]


def test_an_emergency_opens_an_emergency_item_and_says_call_112(stack: Stack) -> None:
    sender = f"citizen-{uuid.uuid4().hex[:8]}"
    replies = say(stack, sender, "help there is a fire in my kitchen")
    [question] = questions_of(stack, sender)
    assert question.emergency and question.priority == 100
    assert any("112" in r for r in replies)


def test_a_library_answer_in_the_citizens_language(stack: Stack) -> None:
    sender = f"citizen-{uuid.uuid4().hex[:8]}"
    replies = say(stack, sender, "mijn rookmelder piept steeds")
    with stack.services.sessions() as session:
        expected = session.scalars(select(m.Answer.text).where(
            m.Answer.key == "utter_fire_alarm_beeping", m.Answer.language == "nl")).one()
    assert replies and replies[0].startswith(expected.split("{")[0][:40])
    assert questions_of(stack, sender) == []
