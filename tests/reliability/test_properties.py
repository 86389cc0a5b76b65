"""Property-based: any Unicode text up to 10,000 characters gets one of the four actions (or, when
it cannot be classified, a notice) and never an exception, through the policy and the whole intake."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.core import conversation as core
from bot.core import text as textcheck
from bot.core.language import detect_language
from bot.core.policy import decide
from bot.core.types import Action, Channel, InboundMessage, Language
from bot.store import decisions as decision_records
from bot.store import models as m

# Every code point Python can hold, surrogates included (they arrive as JSON \ud800 escapes).
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF)
WORDS = st.sampled_from(
    [
        "fire",
        "brand",
        "help",
        "112",
        "stabbed",
        "noise",
        "overlast",
        "what if",
        "ja",
        "nee",
        "yes",
        "no",
        "1012 AB",
        "\u202e",
        "\x00",
        "🔥",
        "\u0301",
        "\ud800",
        "\udfff",
    ]
)
TEXTS = st.one_of(
    st.text(ANY_CHAR, max_size=200),
    st.text(ANY_CHAR, min_size=4000, max_size=10_000),
    st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=40).map(" ".join),
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def policy_parts(tmp_path_factory, trained_engine):  # type: ignore[no-untyped-def]
    from tests.conftest import make_services

    tmp = tmp_path_factory.mktemp("policy")
    services = make_services(tmp, f"sqlite:///{tmp / 'p.db'}", trained_engine)
    with services.sessions() as session:
        library = services.triage.library(session)
    yield trained_engine, library, services.triage.thresholds
    services.db.dispose()


@FAST
@given(text=TEXTS, language=st.sampled_from(list(Language)), area_known=st.booleans())
def test_the_policy_gives_one_of_four_actions_for_any_text(
    policy_parts,
    text,
    language,  # type: ignore[no-untyped-def]
    area_known,
):
    engine, library, thresholds = policy_parts
    cleaned = textcheck.classifiable(text)
    detected = detect_language(text)
    assert detected in set(Language)
    decision = decide(
        cleaned, language, engine.parse(cleaned, language), library, thresholds, area_known=area_known
    )
    assert decision.action in set(Action)
    assert decision.reasons
    if decision.action in (Action.EMERGENCY, Action.ROUTE):
        assert decision.role


_senders = itertools.count()


@SLOW
@given(text=TEXTS)
def test_the_intake_stores_and_decides_any_text_exactly_once(sqlite_services, text):  # type: ignore[no-untyped-def]
    svc = sqlite_services
    sender = f"h{next(_senders)}"
    result = svc.triage.handle(InboundMessage(Channel.API, sender, text, external_id=f"x-{sender}"))
    again = svc.triage.handle(InboundMessage(Channel.API, sender, text, external_id=f"x-{sender}"))
    assert again.duplicate and again.message_id == result.message_id
    assert result.replies, "every message gets an answer of some kind"
    if result.decision is not None:
        assert result.decision.action in set(Action)
    else:  # not classifiable (empty, symbols only, too long with no emergency in it), or read by
        # the conversation (a command, "skip", a lone "ja"): answered, and recorded as a follow-up
        with svc.sessions() as session:
            library = svc.triage.library(session)
        conversation = core.step(core.CLOSED, core.Text(text, 1), library)
        unclassifiable = textcheck.check(text, svc.triage.emergency, svc.settings.max_message_chars)
        assert unclassifiable is not None or not conversation.classify
        assert result.replies[0].kind == "notice"
    with svc.sessions() as session:
        stored = session.get(m.Message, result.message_id)
        assert stored is not None and stored.text == text and stored.processed
        record = decision_records.of_message(session, result.message_id)
        assert record is not None and (record.action == "followup") == (result.decision is None)
        decisions = session.scalar(
            select(func.count())
            .select_from(m.DecisionRecord)
            .where(m.DecisionRecord.message_id == result.message_id)
        )
        assert decisions == 1
