"""Curating the library (SQLite and PostgreSQL): answer versions, examples, intents, suggestions."""

import pytest
from sqlalchemy import select

from bot.core.types import Action, Channel, InboundMessage
from bot.service import library_admin as lib
from bot.service.queue import NotAllowed, Viewer, reply
from bot.store import models as m
from bot.store.library_repo import library_version, load_library

KEY = "utter_fire_alarm_beeping"


def test_a_draft_reaches_citizens_only_once_approved(services) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as s:
        old = lib.current_approved(s, KEY, "en").text
        draft = lib.save_draft(
            s,
            "ada",
            KEY,
            "en",
            "Replace the 9V battery now. Smoke? Call {emergency_number} from outside.",
        )
        draft_id, version_before = draft.id, library_version(s)
    services.triage.invalidate_library()
    first = services.triage.handle(
        InboundMessage(Channel.API, "c1", "my smoke alarm keeps beeping every minute")
    )
    assert first.replies[0].text.startswith(old.split("{")[0])
    with services.sessions.begin() as s:
        approved = lib.approve(s, "ada", draft_id)
        assert (approved.status, approved.approved_by) == (
            "approved",
            "ada",
        ) and approved.approved_at
        assert library_version(s) == version_before + 1
    with services.sessions() as s:
        answers = load_library(s, services.triage.emergency).answers
        assert answers[("fire_alarm_beeping", "en")].startswith("Replace the 9V")
        assert [v.version for v in lib.versions(s, KEY, "en")] == [2, 1]
        actions = list(s.scalars(select(m.AuditLog.action).order_by(m.AuditLog.id)))
        assert actions[-2:] == ["answer.draft", "answer.approve"]
    services.triage.invalidate_library()
    second = services.triage.handle(
        InboundMessage(Channel.API, "c2", "my smoke alarm keeps beeping every minute")
    )
    assert second.replies[0].text.startswith("Replace the 9V")


def test_approving_twice_or_an_empty_draft_is_refused(services) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as s:
        with pytest.raises(lib.LibraryError):
            lib.save_draft(s, "ada", KEY, "en", "   ")
        draft = lib.save_draft(s, "ada", KEY, "nl", "Nieuwe batterij. Rook? Bel {emergency_number}.")
        lib.approve(s, "ada", draft.id)
        with pytest.raises(lib.LibraryError):
            lib.approve(s, "ada", draft.id)


def test_diff_marks_added_and_removed_words() -> None:
    lines = lib.diff("Call 112 when there is fire", "Call 112 at once when there is smoke")
    assert [(d.kind, d.text) for d in lines] == [
        ("same", "Call 112"),
        ("added", " at once"),
        ("same", " when there is "),
        ("removed", "fire"),
        ("added", "smoke"),
    ]
    multiline = lib.diff("one\ntwo", "one\n2")
    assert "".join(d.text for d in multiline if d.kind != "removed") == "one\n2"


def test_examples_added_moved_and_removed(services) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as s:
        example = lib.add_example(s, "ada", "fire_alarm_beeping", "my detector chirps all night")
        assert example.language == "en"
        assert (
            lib.add_example(s, "ada", "fire_alarm_beeping", " my detector  chirps all night ").id
            == example.id
        )
        with pytest.raises(lib.LibraryError):
            lib.add_example(s, "ada", "no_such_intent", "text")
        moved = lib.move_example(s, "ada", example.id, "noise_nuisance")
        assert moved.intent == "noise_nuisance"
        lib.remove_example(s, "ada", moved.id)
    with services.sessions() as s:
        texts = {e.text for e in lib.examples(s, "noise_nuisance")} | {
            e.text for e in lib.examples(s, "fire_alarm_beeping")
        }
        assert "my detector chirps all night" not in texts
        assert list(s.scalars(select(m.AuditLog.action).order_by(m.AuditLog.id))) == [
            "example.add",
            "example.move",
            "example.remove",
        ]


def test_intents_created_and_changed_with_counts(services) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as s:
        lib.create_intent(s, "ada", "Drone Rules", "answer", None)
        with pytest.raises(lib.LibraryError):
            lib.create_intent(s, "ada", "drone_rules", "answer", None)
        with pytest.raises(lib.LibraryError):
            lib.update_intent(s, "ada", "drone_rules", "route", "no_such_role")
        lib.update_intent(s, "ada", "drone_rules", "route", "community_police_officer")
    services.triage.handle(InboundMessage(Channel.API, "c1", "my smoke alarm keeps beeping every minute"))
    with services.sessions() as s:
        rows = {r.name: r for r in lib.intent_summaries(s)}
        assert (rows["drone_rules"].mode, rows["drone_rules"].role) == (
            "route",
            "community_police_officer",
        )
        beeping = rows["fire_alarm_beeping"]
        assert beeping.examples > 5 and beeping.decided == 1 and beeping.auto_answer_rate == 1.0


def test_a_professionals_reply_becomes_a_library_answer_and_an_example(services) -> None:  # type: ignore[no-untyped-def]
    text = "can I fly my drone over the stadium on sunday"
    routed = services.triage.handle(InboundMessage(Channel.API, "c1", text))
    assert routed.decision.action is Action.ROUTE
    with services.sessions.begin() as s:
        question = s.get(m.Question, routed.question_id)
        pro = Viewer("piet", frozenset({question.role}))
        outsider = Viewer("kees", frozenset({"fire_prevention_officer"}))
        with pytest.raises(lib.LibraryError):  # nothing replied yet
            lib.suggest_from_reply(s, pro, question.id)
        reply(s, pro, question.id, "Not over a stadium: drones need a permit near crowds.")
        with pytest.raises(NotAllowed):
            lib.suggest_from_reply(s, outsider, question.id)
        suggestion = lib.suggest_from_reply(s, pro, question.id)
        assert suggestion.status == "suggested" and suggestion.suggested_from_question == question.id
        assert lib.suggest_from_reply(s, pro, question.id).id == suggestion.id  # once only
        lib.create_intent(s, "ada", "drone_rules", "answer", None)
    with services.sessions.begin() as s:
        assert [a.id for a, _ in lib.suggestions(s)] == [suggestion.id]
        draft = lib.draft_from_suggestion(s, "ada", suggestion.id, "drone_rules", "en")
        assert (draft.key, draft.status) == ("utter_drone_rules", "draft")
        assert lib.suggestions(s) == []  # handled: a draft now, not a suggestion
        lib.approve(s, "ada", draft.id)
    with services.sessions() as s:
        answers = load_library(s, services.triage.emergency).answers
        assert answers[("drone_rules", "en")].startswith("Not over a stadium")
        assert [e.text for e in lib.examples(s, "drone_rules")] == [text]
        assert lib.suggestions(s) == []


def test_a_suggestion_cannot_become_the_answer_of_a_routing_intent(services) -> None:  # type: ignore[no-untyped-def]
    routed = services.triage.handle(InboundMessage(Channel.API, "c1", "can I fly my drone over the stadium"))
    with services.sessions.begin() as s:
        question = s.get(m.Question, routed.question_id)
        pro = Viewer("piet", frozenset({question.role}))
        reply(s, pro, question.id, "Ask the municipality.")
        suggestion = lib.suggest_from_reply(s, pro, question.id)
        routing = s.scalars(select(m.Intent.name).where(m.Intent.mode == "route")).first()
        with pytest.raises(lib.LibraryError):
            lib.draft_from_suggestion(s, "ada", suggestion.id, routing, "en")
