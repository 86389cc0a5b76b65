"""Parsing through a real Rasa server's /model/parse, and the same triage decisions as the embedded
engine on the same messages."""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from bot.core.language import detect_language
from bot.core.policy import decide
from bot.core.types import Action, Channel, InboundMessage
from tests.rasa.conftest import Stack

# (message, the action both engines must take, the intent for answers)
MESSAGES = [
    ("my smoke alarm keeps beeping every minute", Action.ANSWER, "fire_alarm_beeping"),
    ("mijn rookmelder piept steeds", Action.ANSWER, "fire_alarm_beeping"),
    ("how can I stop my bike from being stolen", Action.ANSWER, "bike_theft_prevention"),
    ("there is a fire in my kitchen", Action.EMERGENCY, None),
    ("er ligt iemand bewusteloos op straat", Action.EMERGENCY, None),
    ("hello", Action.SMALLTALK, None),
    ("I want to speak to a real person", Action.ROUTE, None),
    ("who won the football match yesterday", Action.ROUTE, None),
]


def test_parse_through_model_parse(stack: Stack) -> None:
    parse = stack.rasa.parse("my smoke alarm keeps beeping every minute")
    assert parse.engine == "rasa"
    assert parse.top is not None and parse.top.name == "fire_alarm_beeping"
    assert parse.top.confidence > 0.45
    assert parse.model_version == "full-test"  # the loaded model's file name


def test_rasa_fallback_still_gives_the_policy_the_real_ranking(stack: Stack) -> None:
    raw = httpx.post(f"{stack.rasa.base_url}/model/parse", params={"token": stack.rasa.token},
                     json={"text": "qwxz blorp"}, timeout=30).json()
    assert raw["intent"]["name"] == "nlu_fallback"
    parse = stack.rasa.parse("qwxz blorp")
    assert parse.ranking and all(s.name != "nlu_fallback" for s in parse.ranking)
    assert parse.top is not None and parse.top.confidence < 0.45


def test_a_wrong_token_is_refused(stack: Stack) -> None:
    response = httpx.post(f"{stack.rasa.base_url}/model/parse", params={"token": "wrong"},
                          json={"text": "hello"}, timeout=30)
    assert response.status_code == 401


@pytest.mark.parametrize(("text", "action", "intent"), MESSAGES)
def test_both_engines_decide_alike(stack: Stack, trained_engine, text, action, intent) -> None:  # type: ignore[no-untyped-def]
    services = stack.services
    with services.sessions() as session:
        library = services.triage.library(session)
    language = detect_language(text)
    decisions = {
        engine.name: decide(text, language, engine.parse(text, language), library,
                            services.triage.thresholds)
        for engine in (trained_engine, stack.rasa)
    }
    for name, decision in decisions.items():
        assert decision.action is action, f"{name}: {decision}"
        if intent:
            assert decision.intent == intent, f"{name}: {decision}"


def test_the_intake_records_rasa_decisions(stack: Stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_services

    services = make_services(tmp_path, f"sqlite:///{tmp_path / 't.db'}", None)
    services.triage.set_engine(stack.rasa)
    inbound = InboundMessage(Channel.API, "c1", "my smoke alarm keeps beeping")
    result = services.triage.handle(inbound)
    assert result.decision is not None and result.decision.action is Action.ANSWER
    from sqlalchemy import select

    from bot.store import models as m

    with services.sessions() as session:
        record = session.scalars(select(m.DecisionRecord)).one()
    assert (record.engine, record.model_version) == ("rasa", "full-test")
    services.db.dispose()


def test_a_dead_server_is_restarted(stack: Stack) -> None:
    pid = stack.server.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    stack.server._proc.wait()  # type: ignore[union-attr]  # noqa: SLF001
    assert stack.server.ensure_running() is True
    assert stack.server.pid != pid and stack.server.restarts == 1
    assert stack.rasa.parse("hello").top.name == "greet"  # type: ignore[union-attr]
