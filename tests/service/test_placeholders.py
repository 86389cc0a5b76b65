"""No citizen reads an unfilled placeholder: professionals' replies are filled like the bot's
answers, and a text with an unknown one is refused with its name."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import Services
from bot.core.library import unknown_placeholders
from bot.core.replies import ORGANISATION_PLACEHOLDERS
from bot.core.types import Channel, InboundMessage
from bot.service import library_admin, professional
from bot.service.library_admin import LibraryError
from bot.service.queue import QueueError, Viewer
from bot.store import models as m

ADMIN = Viewer("ada", is_admin=True)


def test_what_counts_as_an_unknown_placeholder() -> None:
    text = "Call {emergency_number} or {emergency_numbr}; see { municipality_url } and {Role}."
    assert unknown_placeholders(text, ORGANISATION_PLACEHOLDERS) == [
        "emergency_numbr",
        " municipality_url ",
        "Role",
    ]
    assert unknown_placeholders("No braces at all.", ORGANISATION_PLACEHOLDERS) == []


def routed(services: Services) -> int:
    result = services.triage.handle(
        InboundMessage(Channel.API, "c1", "I want to invite the mayor to our street party")
    )
    assert result.question_id is not None
    return result.question_id


def test_a_reply_started_from_a_library_answer_is_filled(services: Services) -> None:
    question_id = routed(services)
    out = professional.answer(
        services,
        ADMIN,
        question_id,
        "Call the police on {non_emergency_number}; in an emergency {emergency_number}.",
    )
    assert "{" not in out.text and "0900-8844" in out.text and "112" in out.text
    with services.sessions() as s:
        item = s.scalars(select(m.OutboxItem).where(m.OutboxItem.message_id == out.id)).one()
    assert "{" not in item.payload["text"]


def test_a_reply_with_a_misspelt_placeholder_is_refused(services: Services) -> None:
    question_id = routed(services)
    with pytest.raises(QueueError, match="emergency_numbr"):
        professional.answer(services, ADMIN, question_id, "Call {emergency_numbr} now.")
    with services.sessions() as s:
        assert s.get(m.Question, question_id).status == "open"  # nothing sent, nothing claimed


def test_an_answer_with_a_typo_cannot_be_saved(services: Services) -> None:
    with services.sessions.begin() as s, pytest.raises(LibraryError, match=r"\{emergency_numbr\}"):
        library_admin.save_draft(s, "ada", "utter_fire_alarm_beeping", "en", "Call {emergency_numbr} now.")
    with services.sessions.begin() as s:  # a system text keeps its own placeholders
        draft = library_admin.save_draft(
            s,
            "ada",
            "utter_routed",
            "en",
            "Passed to {role_name}: within {response_time}. Danger? {emergency_number}.",
        )
        assert draft.status == "draft"


def test_no_draft_for_an_answer_that_does_not_exist(services: Services) -> None:
    with services.sessions.begin() as s, pytest.raises(LibraryError, match="no answer or text called"):
        library_admin.save_draft(s, "ada", "utter_no_such_intent", "en", "Hello.")
    with services.sessions() as s:
        assert s.scalars(select(m.Answer).where(m.Answer.key == "utter_no_such_intent")).all() == []


def test_an_unknown_area_says_how_to_make_one(services: Services) -> None:
    from bot.service import users

    with services.sessions.begin() as s, pytest.raises(users.UserError, match="Roles and areas"):
        users.create(s, "jan", "a-long-password", roles="community_police_officer", areas="x")


def test_an_unset_municipality_reads_as_a_phrase_in_the_answers_language(services: Services) -> None:
    """MUNICIPALITY_URL and MUNICIPALITY_PHONE not set (a fresh `make serve`): a Dutch answer
    said "via the municipality's website of bel 0900-8844", English words and the police's
    number for the municipality. Now it names the citizen's municipality in their language."""
    dutch = services.triage.handle(
        InboundMessage(Channel.API, "nl1", "mijn paspoort is kwijt, waar meld ik dat")
    )
    text = dutch.replies[0].text
    assert "via de website van je gemeente of bel je gemeente" in text, text
    assert "0900" not in text and "municipality" not in text
    english = services.triage.handle(
        InboundMessage(Channel.API, "en1", "I lost my passport, where do I report it")
    )
    assert "via your municipality's website or call your municipality" in english.replies[0].text


def test_a_set_municipality_is_used_in_every_language() -> None:
    from bot.core.replies import Contacts
    from bot.core.types import Language

    contacts = Contacts(municipality_url="www.gemeente.example", municipality_phone="14 020")
    for language in Language:
        values = contacts.values(language)
        assert (
            values["municipality_url"] == "www.gemeente.example" and values["municipality_phone"] == "14 020"
        )


def test_only_set_values_turn_a_reply_back_into_placeholders() -> None:
    """A professional's "contact your municipality" must not become {municipality_phone}, which
    would read "contact 14 020" once the phone number is set."""
    from bot.core.library import unfill
    from bot.core.replies import Contacts

    contacts = Contacts(non_emergency_number="0900-8844")
    assert "municipality_phone" not in contacts.configured()
    reply = "Please contact your municipality, or call 0900-8844."
    assert (
        unfill(reply, contacts.configured())
        == "Please contact your municipality, or call {non_emergency_number}."
    )
