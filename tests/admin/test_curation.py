"""Curation with a safety net (SQLite and PostgreSQL): a professional's reply becomes a draft (not
the live answer) without their signature; required lines; the other language out of step; the
intent picker in the model's order; going back to an earlier version."""

import pytest
from sqlalchemy import select

from bot.core.types import Channel, InboundMessage, Language
from bot.service import answer_checks, professional
from bot.service import library_admin as lib
from bot.service.queue import Viewer
from bot.store import models as m
from tests.web.conftest import login, make_user, switch_to

KEY = "utter_fire_alarm_beeping"
SAFETY_EN = (
    "Do you see or smell smoke? Get everyone out, close the doors behind you and call "
    "{emergency_number} from outside."
)


def _routed_question(services, text: str = "can I fly my drone over the stadium on sunday") -> int:  # type: ignore[no-untyped-def]
    routed = services.triage.handle(InboundMessage(Channel.API, "c1", text))
    assert routed.question_id is not None
    return routed.question_id


def test_a_suggested_reply_becomes_a_draft_without_signature(services) -> None:  # type: ignore[no-untyped-def]
    qid = _routed_question(services)
    with services.sessions() as s:
        role = s.get(m.Question, qid).role
    pro = Viewer("piet", frozenset({role}))
    professional.answer(services, pro, qid, "Drones need a permit. In danger? Call {emergency_number}.")
    with services.sessions.begin() as s:
        sent = s.scalars(select(m.Message.text).where(m.Message.question_id == qid)).all()[-1]
        assert "112" in sent and "\u2014" in sent  # the citizen read the filled, signed reply
        suggestion = lib.suggest_from_reply(s, pro, qid, services.settings.contacts.values())
        assert suggestion.text == "Drones need a permit. In danger? Call {emergency_number}."
        live_before = lib.current_approved(s, KEY, "en").text
        draft = lib.draft_from_suggestion(s, "ada", suggestion.id, "fire_alarm_beeping", "en")
        assert draft.status == "draft" and suggestion.status == "retired"
    services.triage.invalidate_library()
    with services.sessions() as s:  # citizens still get the live answer
        assert services.triage.library(s).answer("fire_alarm_beeping", Language.EN) == live_before


def test_the_intent_picker_follows_the_questions_ranking(services) -> None:  # type: ignore[no-untyped-def]
    qid = _routed_question(services)
    with services.sessions() as s:
        question = s.get(m.Question, qid)
        record = s.scalars(
            select(m.DecisionRecord).where(m.DecisionRecord.message_id == question.message_id)
        ).one()
        answer_intents = sorted(i.name for i in s.scalars(select(m.Intent).where(m.Intent.mode == "answer")))
        choices = lib.intent_choices(s, question, answer_intents)
    ranked = [name for name, _ in record.ranking if name in answer_intents]
    assert ranked and ranked[0] != answer_intents[0], record.ranking  # not alphabetical
    assert [name for name, _ in choices[: len(ranked)]] == ranked
    assert all(conf is not None for _, conf in choices[: len(ranked)])
    assert sorted(name for name, _ in choices) == answer_intents  # every intent still offered once
    assert [name for name, _ in choices[len(ranked) :]] == sorted(set(answer_intents) - set(ranked))


def test_a_draft_dropping_a_required_line_needs_an_override(services) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as s:
        answer_checks.add_required_line(s, "ada", KEY, "en", "Never take the battery out")
        assert len(answer_checks.required_lines(s, KEY, "en")) == 1
        answer_checks.add_required_line(s, "ada", KEY, "en", "never take the  battery out")  # once
        assert len(answer_checks.required_lines(s, KEY, "en")) == 1
        keeps = lib.save_draft(s, "ada", KEY, "en", f"Never take the battery out. {SAFETY_EN}")
        lib.approve(s, "ada", keeps.id)
        drops = lib.save_draft(s, "ada", KEY, "en", f"Replace the battery. {SAFETY_EN}")
        assert answer_checks.missing_required(s, drops, lib.current_approved(s, KEY, "en")) == [
            "Never take the battery out"
        ]
        with pytest.raises(lib.LibraryError, match="drops a required line"):
            lib.approve(s, "ada", drops.id)
        assert drops.status == "draft"
        no_112 = lib.save_draft(s, "ada", KEY, "en", "Never take the battery out. Replace it.")
        with pytest.raises(lib.LibraryError, match=r"\{emergency_number\}"):
            lib.approve(s, "ada", no_112.id)  # the emergency number is never dropped silently
        lib.approve(s, "ada", drops.id, override=True)
        detail = s.scalars(
            select(m.AuditLog.detail)
            .where(m.AuditLog.action == "answer.approve")
            .order_by(m.AuditLog.id.desc())
        ).first()
        assert detail["dropped_required"] == ["Never take the battery out"]


def test_the_other_language_is_flagged_until_checked(services) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as s:
        assert answer_checks.out_of_step(s, KEY, "en") is None
        assert answer_checks.out_of_step(s, KEY, "nl") is None
        nl = lib.current_approved(s, KEY, "nl").text
        lib.approve(s, "ada", lib.save_draft(s, "ada", KEY, "nl", "Eerst dit. " + nl).id)
    with services.sessions.begin() as s:
        flag = answer_checks.out_of_step(s, KEY, "en")
        assert flag is not None and flag.other.language == "nl"
        assert answer_checks.out_of_step(s, KEY, "nl") is None
        answer_checks.mark_in_step(s, "ada", KEY, "en")
    with services.sessions() as s:
        assert answer_checks.out_of_step(s, KEY, "en") is None


def test_an_earlier_version_comes_back_as_a_draft(services) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as s:
        first = lib.current_approved(s, KEY, "en")
        lib.approve(s, "ada", lib.save_draft(s, "ada", KEY, "en", f"Version two. {SAFETY_EN}").id)
        restored = lib.restore(s, "ada", first.id)
        assert (restored.status, restored.version, restored.text) == ("draft", 3, first.text)
        assert lib.current_approved(s, KEY, "en").text.startswith("Version two")
        lib.approve(s, "ada", restored.id)
        assert lib.current_approved(s, KEY, "en").text == first.text
        assert "answer.restore" in s.scalars(select(m.AuditLog.action)).all()


def test_the_console_curates_a_reply_into_a_reviewed_answer(services, app_client) -> None:  # type: ignore[no-untyped-def]
    qid = _routed_question(services)
    with services.sessions() as s:
        role = s.get(m.Question, qid).role
    make_user(services, "piet", roles=role)
    make_user(services, "ada", admin=True)
    csrf = switch_to(app_client, "piet")
    app_client.post(f"/questions/{qid}/reply", data={"csrf_token": csrf, "text": "Replace the battery."})
    assert app_client.post(f"/questions/{qid}/suggest", data={"csrf_token": csrf}).status_code in (200, 303)
    csrf = switch_to(app_client, "ada")
    page = app_client.get("/admin/suggestions").text
    assert "Make it a draft answer" in page and "Replace the battery." in page and "\u2014 " not in page
    with services.sessions() as s:
        suggestion_id = lib.suggestions(s)[0][0].id
    r = app_client.post(
        f"/admin/suggestions/{suggestion_id}/approve",
        data={
            "csrf_token": csrf,
            "intent": "fire_alarm_beeping",
            "language": "en",
            "text": "Replace the battery.",
        },
    )
    assert r.status_code == 200 and str(r.url).endswith(
        "/admin/answers/utter_fire_alarm_beeping/en?done=suggested#diff"
    )
    assert "now a draft" in r.text and "<del>" in r.text and 'id="drops-required"' in r.text
    with services.sessions() as s:
        draft = lib.versions(s, KEY, "en")[0]
    assert draft.status == "draft"
    r = app_client.post(f"/admin/answer-versions/{draft.id}/approve", data={"csrf_token": csrf})
    assert r.status_code == 400 and "drops a required line" in r.text
    # a required line is marked from the answer page and listed there
    r = app_client.post(f"/admin/answers/{KEY}/en/required", data={"csrf_token": csrf, "text": SAFETY_EN})
    assert r.status_code == 200 and "a draft without this line is flagged" in r.text


def test_adding_an_example_twice_says_so(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "ada", admin=True)
    csrf = login(app_client, "ada")
    url = "/admin/intents/fire_alarm_beeping/examples"
    r = app_client.post(url, data={"csrf_token": csrf, "text": "my detector chirps all night"})
    assert "Example added" in r.text
    r = app_client.post(url, data={"csrf_token": csrf, "text": "my detector  chirps all night"})
    assert "already there" in r.text and "Example added" not in r.text


def test_the_reply_preview_is_what_the_citizen_would_read(services, app_client) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import make_question

    make_user(services, "alice", roles="fire_prevention_officer")
    qid = make_question(services, "fire_prevention_officer", "My smoke alarm beeps, what now?")
    csrf = login(app_client, "alice")
    url = f"/questions/{qid}/preview"
    r = app_client.post(url, data={"csrf_token": csrf, "text": "Call {emergency_number} now."})
    assert "Call 112 now.\n\n\u2014 Fire prevention officer" in r.text
    r = app_client.post(url, data={"csrf_token": csrf, "text": "Call {emergency_numbr} now."})
    assert 'id="preview-error"' in r.text and "{emergency_numbr}" in r.text
    with services.sessions() as s:  # a preview sends and claims nothing
        assert s.get(m.Question, qid).status == "open"
        assert s.scalars(select(m.Message).where(m.Message.direction == "out")).all() == []
